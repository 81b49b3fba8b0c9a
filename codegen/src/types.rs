//! From schemas to Rust type definitions: the type space of one API.
//!
//! Component schemas keep their names; inline objects and enums are named after
//! where they appear (`UserCreateRequest` + `role` -> `UserCreateRequestRole`).
//! Only types reachable from a payload, a reply body or the error body are emitted.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::error::{Result, SpecError};
use crate::schema::{Kind, ObjectRules, Schema, TaggedRules};

/// A Rust item to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// Type name.
    pub name: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// What it is.
    pub body: TypeBody,
}

/// The shape of a [`TypeDef`].
#[derive(Debug, Clone, PartialEq)]
pub enum TypeBody {
    /// A struct with named fields.
    Struct {
        /// Fields in schema order.
        fields: Vec<Field>,
        /// `additionalProperties: false` -> `deny_unknown_fields`.
        closed: bool,
    },
    /// A string enum.
    Enum {
        /// (Rust variant, JSON value).
        variants: Vec<(String, String)>,
    },
    /// An internally tagged enum of structs.
    Tagged {
        /// The JSON tag property.
        tag: String,
        /// (Rust variant, tag value, struct type).
        variants: Vec<(String, String, String)>,
    },
    /// `pub type Name = Target;`
    Alias {
        /// The aliased Rust type.
        target: String,
    },
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Rust identifier (raw if a keyword).
    pub ident: String,
    /// JSON property name.
    pub json: String,
    /// Rust type, `Option<..>` included.
    pub ty: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Optional (not in `required`): skipped when `None`.
    pub optional: bool,
}

/// Every type an API needs, in emission order.
#[derive(Debug, Default)]
pub struct TypeSpace<'a> {
    components: &'a [(String, Schema)],
    /// Emitted definitions.
    pub types: Vec<TypeDef>,
    names: BTreeSet<String>,
    done: BTreeSet<String>,
    variant_components: BTreeSet<String>,
}

impl<'a> TypeSpace<'a> {
    /// An empty space resolving references against `components`.
    pub fn new(components: &'a [(String, Schema)]) -> Self {
        Self { components, ..Self::default() }
    }

    /// The Rust type for `schema`, defining what it needs; `context` names inline types.
    pub fn rust_type(&mut self, schema: &Schema, context: &str) -> Result<String> {
        let ty = match &schema.kind {
            Kind::Ref(name) => self.component(name, &schema.path)?,
            Kind::Any => "serde_json::Value".to_owned(),
            Kind::Boolean => "bool".to_owned(),
            Kind::Integer(rules) => if rules.format.as_deref() == Some("int32") { "i32" } else { "i64" }.to_owned(),
            Kind::Number(_) => "f64".to_owned(),
            Kind::String(_) => "String".to_owned(),
            Kind::Const(value) => match value {
                Value::String(_) => "String",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_i64() => "i64",
                Value::Number(_) => "f64",
                _ => {
                    return Err(SpecError::new(
                        schema.path.clone(),
                        "only string, boolean and number `const` values are supported",
                    ));
                }
            }
            .to_owned(),
            Kind::Enum(values) => self.define_enum(context, schema, values)?,
            Kind::Array(array) => format!("Vec<{}>", self.rust_type(&array.items, &format!("{context}Item"))?),
            Kind::Object(object) if object.properties.is_empty() && !object.closed => {
                "serde_json::Map<String, serde_json::Value>".to_owned()
            }
            Kind::Object(object) => self.define_struct(context, schema.description.as_deref(), object, &schema.path)?,
            Kind::Tagged(tagged) => self.define_tagged(context, schema, tagged)?,
        };
        Ok(if schema.nullable { format!("Option<{ty}>") } else { ty })
    }

    /// Whether component `name` already has a type (or is a `oneOf` variant).
    pub fn contains(&self, name: &str) -> bool {
        self.done.contains(name)
    }

    /// Defines the struct `name` from `object` (used for reply bodies, which are
    /// objects without a schema of their own).
    pub fn define_struct(
        &mut self,
        name: &str,
        description: Option<&str>,
        object: &ObjectRules,
        path: &str,
    ) -> Result<String> {
        self.claim(name, path)?;
        let mut fields = Vec::new();
        for property in &object.properties {
            let ty = self.rust_type(&property.schema, &format!("{name}{}", property.name.to_upper_camel_case()))?;
            let optional = !property.required;
            let mut doc = lines(self.describe(&property.schema));
            if let Some(rules) = self.constraints(&property.schema) {
                if !doc.is_empty() {
                    doc.push(String::new());
                }
                doc.push(rules);
            }
            fields.push(Field {
                ident: ident(&property.name.to_snake_case()),
                json: property.name.clone(),
                // Absent and null read the same for an optional nullable field: one Option.
                ty: if optional && !property.schema.nullable { format!("Option<{ty}>") } else { ty },
                doc,
                optional,
            });
        }
        self.types.push(TypeDef {
            name: name.to_owned(),
            doc: lines(description),
            body: TypeBody::Struct { fields, closed: object.closed },
        });
        Ok(name.to_owned())
    }

    /// The description of `schema`, else that of the component it references.
    pub fn describe<'s>(&'s self, schema: &'s Schema) -> Option<&'s str> {
        schema.description.as_deref().or_else(|| match &schema.kind {
            Kind::Ref(name) => self.lookup(name).and_then(|s| self.describe(s)),
            _ => None,
        })
    }

    /// A one-line summary of a schema's constraints, for doc comments.
    pub fn constraints(&self, schema: &Schema) -> Option<String> {
        let target = self.deref(schema);
        let mut parts = Vec::new();
        match &target.kind {
            Kind::String(rules) => {
                match (rules.min_length, rules.max_length) {
                    (Some(min), Some(max)) => parts.push(format!("{min} to {max} characters")),
                    (Some(min), None) => parts.push(format!("at least {min} characters")),
                    (None, Some(max)) => parts.push(format!("at most {max} characters")),
                    (None, None) => {}
                }
                if let Some(format) = &rules.format {
                    parts.push(format!("format `{format}`"));
                }
                if let Some(pattern) = &rules.pattern {
                    parts.push(format!("matches `{pattern}`"));
                }
            }
            Kind::Integer(rules) => push_bounds(&mut parts, rules.minimum, rules.maximum, ""),
            Kind::Number(rules) => push_bounds(&mut parts, rules.minimum, rules.maximum, ""),
            Kind::Array(rules) => push_bounds(&mut parts, rules.min_items, rules.max_items, " items"),
            Kind::Const(value) => parts.push(format!("always `{value}`")),
            _ => {}
        }
        (!parts.is_empty()).then(|| format!("Constraints: {}.", parts.join(", ")))
    }

    fn lookup(&self, name: &str) -> Option<&'a Schema> {
        self.components.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    fn deref<'s>(&'s self, schema: &'s Schema) -> &'s Schema {
        crate::schema::resolve(schema, self.components)
    }

    /// The type of component `name`, defining it on first use.
    fn component(&mut self, name: &str, from: &str) -> Result<String> {
        let rust = name.to_upper_camel_case();
        if self.variant_components.contains(name) {
            return Err(SpecError::new(
                from,
                format!("`{name}` is a `oneOf` variant and cannot also be used on its own"),
            )
            .hint("reference a separate schema here, or wrap the variant"));
        }
        if !self.done.insert(name.to_owned()) {
            return Ok(rust);
        }
        let schema =
            self.lookup(name).ok_or_else(|| SpecError::new(from, format!("`{name}` is not in components.schemas")))?;
        match &schema.kind {
            Kind::Object(_) | Kind::Enum(_) | Kind::Tagged(_) if !schema.nullable => {
                self.rust_type(schema, &rust)?;
            }
            _ => {
                self.claim(&rust, &schema.path)?;
                let target = self.rust_type(schema, &format!("{rust}Inner"))?;
                let mut doc = lines(schema.description.as_deref());
                if let Some(rules) = self.constraints(schema) {
                    if !doc.is_empty() {
                        doc.push(String::new());
                    }
                    doc.push(rules);
                }
                self.types.push(TypeDef { name: rust.clone(), doc, body: TypeBody::Alias { target } });
            }
        }
        Ok(rust)
    }

    fn define_enum(&mut self, name: &str, schema: &Schema, values: &[String]) -> Result<String> {
        self.claim(name, &schema.path)?;
        let mut variants: Vec<(String, String)> = Vec::new();
        for value in values {
            let variant = value.to_upper_camel_case();
            if variant.is_empty() || variants.iter().any(|(v, _)| *v == variant) {
                return Err(SpecError::new(
                    schema.path.clone(),
                    format!("enum value `{value}` does not make a distinct Rust variant name"),
                ));
            }
            variants.push((variant, value.clone()));
        }
        self.types.push(TypeDef {
            name: name.to_owned(),
            doc: lines(schema.description.as_deref()),
            body: TypeBody::Enum { variants },
        });
        Ok(name.to_owned())
    }

    fn define_tagged(&mut self, name: &str, schema: &Schema, tagged: &TaggedRules) -> Result<String> {
        self.claim(name, &schema.path)?;
        let mut variants = Vec::new();
        for variant in &tagged.variants {
            let rust_variant = variant.value.to_upper_camel_case();
            let struct_name = match &variant.component {
                Some(component) => {
                    if self.done.contains(component) {
                        return Err(SpecError::new(
                            schema.path.clone(),
                            format!("`{component}` is used on its own and cannot also be a `oneOf` variant"),
                        )
                        .hint("give the variant its own schema"));
                    }
                    self.done.insert(component.clone());
                    self.variant_components.insert(component.clone());
                    component.to_upper_camel_case()
                }
                None => format!("{name}{rust_variant}"),
            };
            self.define_struct(&struct_name, variant.description.as_deref(), &variant.object, &schema.path)?;
            variants.push((rust_variant, variant.value.clone(), struct_name));
        }
        self.types.push(TypeDef {
            name: name.to_owned(),
            doc: lines(schema.description.as_deref()),
            body: TypeBody::Tagged { tag: tagged.tag.clone(), variants },
        });
        Ok(name.to_owned())
    }

    fn claim(&mut self, name: &str, path: &str) -> Result<()> {
        if self.names.insert(name.to_owned()) {
            Ok(())
        } else {
            Err(SpecError::new(path, format!("two types would be named `{name}`"))
                .hint("rename the component schema, or reference it instead of repeating it inline"))
        }
    }
}

/// "at least {min}{unit}" and "at most {max}{unit}", for the bounds that are set.
fn push_bounds<T: std::fmt::Display>(parts: &mut Vec<String>, min: Option<T>, max: Option<T>, unit: &str) {
    if let Some(min) = min {
        parts.push(format!("at least {min}{unit}"));
    }
    if let Some(max) = max {
        parts.push(format!("at most {max}{unit}"));
    }
}

/// Splits a description into doc lines, trimming the trailing newline YAML leaves.
pub fn lines(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.trim_end().lines().map(str::to_owned).collect()).unwrap_or_default()
}

/// A Rust identifier for `name`, raw when it is a keyword.
pub fn ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
        "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "static", "struct", "trait", "true", "try", "type", "unsafe", "use", "where", "while", "yield",
    ];
    match name {
        "self" | "Self" | "super" | "crate" => format!("{name}_"),
        _ if KEYWORDS.contains(&name) => format!("r#{name}"),
        _ => name.to_owned(),
    }
}
