//! From schemas to type definitions: the type space of one API, shared by the
//! Rust and TypeScript emitters so both SDKs name every type the same way.
//!
//! Component schemas keep their names; inline objects and enums are named after
//! where they appear (`UserCreateRequest` + `role` -> `UserCreateRequestRole`).
//! Only types reachable from a payload, a reply body or the error body are emitted.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::error::{Result, SpecError};
use crate::model::Api;
use crate::schema::{Kind, ObjectRules, Schema, TaggedRules};

/// A type as the emitters see it; each renders it in its own language.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// A type defined in the space (or a component alias).
    Named(String),
    /// `boolean`.
    Bool,
    /// `integer` with `format: int32`.
    I32,
    /// `integer` (64-bit unless told otherwise).
    I64,
    /// `number`.
    F64,
    /// `string`.
    String,
    /// `{}`: any JSON value.
    Any,
    /// An object without declared properties that allows any.
    OpenObject,
    /// `array` of the item type.
    List(Box<Ty>),
    /// The value may also be `null`.
    Nullable(Box<Ty>),
}

impl Ty {
    /// The Rust spelling.
    pub fn rust(&self) -> String {
        match self {
            Ty::Named(name) => name.clone(),
            Ty::Bool => "bool".into(),
            Ty::I32 => "i32".into(),
            Ty::I64 => "i64".into(),
            Ty::F64 => "f64".into(),
            Ty::String => "String".into(),
            Ty::Any => "serde_json::Value".into(),
            Ty::OpenObject => "serde_json::Map<String, serde_json::Value>".into(),
            Ty::List(item) => format!("Vec<{}>", item.rust()),
            Ty::Nullable(inner) => format!("Option<{}>", inner.rust()),
        }
    }

    /// The TypeScript spelling. Integers are `number`: the API's ids stay
    /// far below 2^53, and JSON.parse yields numbers.
    pub fn typescript(&self) -> String {
        match self {
            Ty::Named(name) => name.clone(),
            Ty::Bool => "boolean".into(),
            Ty::I32 | Ty::I64 | Ty::F64 => "number".into(),
            Ty::String => "string".into(),
            Ty::Any => "unknown".into(),
            Ty::OpenObject => "Record<string, unknown>".into(),
            Ty::List(item) => match **item {
                Ty::Nullable(_) => format!("Array<{}>", item.typescript()),
                _ => format!("{}[]", item.typescript()),
            },
            Ty::Nullable(inner) => format!("{} | null", inner.typescript()),
        }
    }
}

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
        /// The aliased type.
        target: Ty,
    },
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Rust identifier (raw if a keyword).
    pub ident: String,
    /// JSON property name.
    pub json: String,
    /// The property's type (`Nullable` if the schema allows `null`).
    pub ty: Ty,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Optional (not in `required`): skipped when `None`.
    pub optional: bool,
}

impl Field {
    /// The Rust field type: absent and null read the same for an optional
    /// nullable field, so it gets one `Option`.
    pub fn rust_type(&self) -> String {
        match &self.ty {
            ty if self.optional && !matches!(ty, Ty::Nullable(_)) => format!("Option<{}>", ty.rust()),
            ty => ty.rust(),
        }
    }
}

/// One API's type space with the names of each route's request and reply
/// types: what the Rust and TypeScript emitters both start from.
#[derive(Debug)]
pub struct ApiTypes<'a> {
    /// Every definition, in emission order.
    pub space: TypeSpace<'a>,
    /// Per route, in the model's order: (request type, reply type name).
    pub routes: Vec<(Ty, String)>,
    /// The error reply's `error` object.
    pub error: Ty,
}

impl<'a> ApiTypes<'a> {
    /// Requests are `{Group}{Action}Request` unless the payload references a
    /// component; replies are always `{Group}{Action}Reply`.
    ///
    /// Request types are defined first and keep their schemas' closedness. Types
    /// first needed by replies and the error body are tolerant readers: a field
    /// added to something clients receive (compatible, says `diff`) must not
    /// break clients built from the older spec. A type shared with requests
    /// stays closed; the server's validators hold replies to the closed schemas.
    pub fn new(api: &'a Api) -> Result<Self> {
        let mut space = TypeSpace::new(&api.schemas);
        let mut requests = Vec::new();
        for route in &api.routes {
            requests.push(space.type_of(&route.payload, &format!("{}Request", route.variant()))?);
        }
        space.tolerant = true;
        let mut routes = Vec::new();
        for (route, request) in api.routes.iter().zip(requests) {
            let reply = space.define_struct(
                &format!("{}Reply", route.variant()),
                route.reply.summary.as_deref().or(route.reply.description.as_deref()),
                &route.reply_body,
                &route.reply.frame_path,
            )?;
            routes.push((request, reply));
        }
        let error = space.type_of(&api.error.body, "ErrorBody")?;
        Ok(ApiTypes { space, routes, error })
    }
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
    /// Structs defined from now on read what a server sends: they accept unknown fields.
    tolerant: bool,
}

impl<'a> TypeSpace<'a> {
    /// An empty space resolving references against `components`.
    pub fn new(components: &'a [(String, Schema)]) -> Self {
        Self { components, ..Self::default() }
    }

    /// The type of `schema`, defining what it needs; `context` names inline types.
    pub fn type_of(&mut self, schema: &Schema, context: &str) -> Result<Ty> {
        let ty = match &schema.kind {
            Kind::Ref(name) => Ty::Named(self.component(name, &schema.path)?),
            Kind::Any => Ty::Any,
            Kind::Boolean => Ty::Bool,
            Kind::Integer(rules) if rules.format.as_deref() == Some("int32") => Ty::I32,
            Kind::Integer(_) => Ty::I64,
            Kind::Number(_) => Ty::F64,
            Kind::String(_) => Ty::String,
            Kind::Const(value) => match value {
                Value::String(_) => Ty::String,
                Value::Bool(_) => Ty::Bool,
                Value::Number(n) if n.is_i64() => Ty::I64,
                Value::Number(_) => Ty::F64,
                _ => {
                    return Err(SpecError::new(
                        schema.path.clone(),
                        "only string, boolean and number `const` values are supported",
                    ));
                }
            },
            Kind::Enum(values) => Ty::Named(self.define_enum(context, schema, values)?),
            Kind::Array(array) => Ty::List(Box::new(self.type_of(&array.items, &format!("{context}Item"))?)),
            Kind::Object(object) if object.properties.is_empty() && !object.closed => Ty::OpenObject,
            Kind::Object(object) => {
                Ty::Named(self.define_struct(context, schema.description.as_deref(), object, &schema.path)?)
            }
            Kind::Tagged(tagged) => Ty::Named(self.define_tagged(context, schema, tagged)?),
        };
        Ok(if schema.nullable { Ty::Nullable(Box::new(ty)) } else { ty })
    }

    /// Every component schema's type, in document order (golden tests of the
    /// type mapping, which have no routes).
    pub fn for_components(components: &'a [(String, Schema)]) -> Result<Self> {
        let mut space = TypeSpace::new(components);
        for (name, schema) in components {
            if !space.contains(name) {
                let reference = Schema {
                    kind: Kind::Ref(name.clone()),
                    description: None,
                    nullable: false,
                    path: schema.path.clone(),
                };
                space.type_of(&reference, name)?;
            }
        }
        Ok(space)
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
            let ty = self.type_of(&property.schema, &format!("{name}{}", property.name.to_upper_camel_case()))?;
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
                ty,
                doc,
                optional,
            });
        }
        self.types.push(TypeDef {
            name: name.to_owned(),
            doc: lines(description),
            body: TypeBody::Struct { fields, closed: object.closed && !self.tolerant },
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
                self.type_of(schema, &rust)?;
            }
            _ => {
                self.claim(&rust, &schema.path)?;
                let target = self.type_of(schema, &format!("{rust}Inner"))?;
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
