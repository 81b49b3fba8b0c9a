//! JSON Schema as people write it, read once into an arena of [`SchemaDef`]s
//! addressed by [`SchemaId`]. A `$ref` is resolved to its target's id, so a
//! schema referenced from many places (or from itself) has one id and one
//! generated type; recursion is just an id that appears below itself.
//!
//! The shape recorded here is what the type emitters need. Everything else a
//! schema says (`not`, `if`/`then`, `patternProperties`, `multipleOf`, unknown
//! formats ...) is still enforced: validators compile the schema's own JSON
//! (see [`bundle`]), never this model.

pub mod bundle;

use std::collections::HashMap;

use serde_json::Value;

use crate::diagnostics::{Diagnostics, Result, SpecError};
use crate::spec::{Loc, Node};

/// A schema of the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaId(usize);

impl SchemaId {
    /// Its index in the arena.
    pub fn index(self) -> usize {
        self.0
    }
}

/// One schema: what kind of value it describes, and its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    /// Where it is written (`None` for the parts a `type` list is split into).
    pub loc: Option<Loc>,
    /// Its dotted path, for messages.
    pub path: String,
    /// Its key when it is `components.schemas.<key>` (of any file).
    pub component: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `default`, applied when a field is absent on deserialization.
    pub default: Option<Value>,
    /// `deprecated`.
    pub deprecated: bool,
    /// `null` is allowed too (`type: [T, "null"]`, or OpenAPI's `nullable`).
    pub nullable: bool,
    /// What it is.
    pub shape: Shape,
}

/// The kinds of value a schema describes.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Any JSON value: `{}`, or a schema whose type cannot be stated (the
    /// validator still enforces it).
    Any,
    /// `false`: nothing validates.
    Never,
    /// `type: null`.
    Null,
    /// `type: boolean`.
    Boolean,
    /// `type: integer`.
    Integer(NumberRules),
    /// `type: number`.
    Number(NumberRules),
    /// `type: string`.
    String(StringRules),
    /// `const`.
    Const(Value),
    /// `enum` (of any JSON values).
    Enum(Vec<Value>),
    /// `type: array`.
    Array(ArrayRules),
    /// `type: object` (also what `allOf` of objects merges into).
    Object(ObjectRules),
    /// `oneOf`.
    OneOf(Alternatives),
    /// `anyOf`.
    AnyOf(Alternatives),
    /// `type: [a, b, ...]`: one of several JSON types.
    Union(Vec<SchemaId>),
}

/// Bounds of a number or integer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberRules {
    /// `format` (`int32`, `int64`, `float`, `double`, or anything: annotation).
    pub format: Option<String>,
    /// Inclusive lower bound.
    pub minimum: Option<f64>,
    /// Inclusive upper bound.
    pub maximum: Option<f64>,
    /// Exclusive lower bound.
    pub exclusive_minimum: Option<f64>,
    /// Exclusive upper bound.
    pub exclusive_maximum: Option<f64>,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
}

/// Constraints of a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringRules {
    /// Fewest characters.
    pub min_length: Option<u64>,
    /// Most characters.
    pub max_length: Option<u64>,
    /// ECMA-262 regular expression.
    pub pattern: Option<String>,
    /// `format` (validated when known, an annotation otherwise).
    pub format: Option<String>,
}

/// Constraints of an array.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrayRules {
    /// Schema of every item (`None`: any).
    pub items: Option<SchemaId>,
    /// Fewest items.
    pub min_items: Option<u64>,
    /// Most items.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique: bool,
}

/// An object's declared properties and what else it allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectRules {
    /// Properties in document order.
    pub properties: Vec<Property>,
    /// What other keys may hold.
    pub additional: Additional,
}

/// `additionalProperties`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Additional {
    /// Absent or `true`: anything.
    #[default]
    Open,
    /// `false`: nothing else.
    Closed,
    /// A schema: a map of these.
    Schema(SchemaId),
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// JSON name.
    pub name: String,
    /// Listed in `required`.
    pub required: bool,
    /// Its schema.
    pub schema: SchemaId,
    /// The description written at the property (beside a `$ref`, say).
    pub description: Option<String>,
}

/// The alternatives of a `oneOf`/`anyOf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternatives {
    /// In document order.
    pub variants: Vec<SchemaId>,
    /// When one property tells them apart: a `discriminator`, or a required
    /// property every variant fixes to a distinct string.
    pub tag: Option<Tag>,
}

/// What tells a union's variants apart on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// The property.
    pub property: String,
    /// Its value in each variant, in variant order.
    pub values: Vec<String>,
}

/// Keywords that only annotate; a schema of nothing else describes any value.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "examples",
    "example",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "$id",
    "$schema",
    "externalDocs",
    "discriminator",
    "xml",
];

/// The arena.
#[derive(Debug, Default)]
pub struct Schemas {
    defs: Vec<SchemaDef>,
    by_loc: HashMap<Loc, SchemaId>,
}

impl Schemas {
    /// An empty arena.
    pub fn new() -> Schemas {
        Schemas::default()
    }

    /// The schema `id`.
    pub fn get(&self, id: SchemaId) -> &SchemaDef {
        &self.defs[id.0]
    }

    /// Every schema, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = (SchemaId, &SchemaDef)> {
        self.defs.iter().enumerate().map(|(i, d)| (SchemaId(i), d))
    }

    /// The schema written at `loc`, if read.
    pub fn at(&self, loc: &Loc) -> Option<SchemaId> {
        self.by_loc.get(loc).copied()
    }

    /// Reads the schema at `node` (which may be a `$ref`), and everything it
    /// reaches. Problems go to `diags`; a schema that cannot be read becomes
    /// [`Shape::Any`], so one bad schema does not hide the others' problems.
    pub fn read(&mut self, node: &Node<'_>, diags: &mut Diagnostics) -> SchemaId {
        let node = match node.resolve() {
            Ok(node) => node,
            Err(error) => {
                diags.push(error);
                return self.push(SchemaDef::any(None, node.path()));
            }
        };
        let loc = node.loc();
        if let Some(id) = self.by_loc.get(&loc) {
            return *id;
        }
        // Reserve the id first: a schema that refers to itself finds it.
        let id = self.push(SchemaDef::any(Some(loc.clone()), node.path()));
        self.by_loc.insert(loc.clone(), id);
        let def = match node.value() {
            Value::Bool(true) => SchemaDef::any(Some(loc), node.path()),
            Value::Bool(false) => SchemaDef { shape: Shape::Never, ..SchemaDef::any(Some(loc), node.path()) },
            Value::Object(_) => self.read_object_schema(&node, diags),
            _ => {
                diags.push(node.error("a schema must be an object or a boolean"));
                SchemaDef::any(Some(loc), node.path())
            }
        };
        self.defs[id.0] = def;
        id
    }

    fn push(&mut self, def: SchemaDef) -> SchemaId {
        self.defs.push(def);
        SchemaId(self.defs.len() - 1)
    }

    fn read_object_schema(&mut self, node: &Node<'_>, diags: &mut Diagnostics) -> SchemaDef {
        let mut def = SchemaDef::any(Some(node.loc()), node.path());
        def.component = component_name(node);
        def.title = text(node, "title");
        def.description = text(node, "description");
        def.default = node.value().get("default").cloned();
        def.deprecated = node.value().get("deprecated").and_then(Value::as_bool).unwrap_or(false);
        let (types, nullable) = match schema_types(node) {
            Ok(types) => types,
            Err(error) => {
                diags.push(error);
                return def;
            }
        };
        def.nullable = nullable || node.value().get("nullable") == Some(&Value::Bool(true));
        def.shape = self.shape(node, &types, diags);
        def
    }

    /// What `node` describes, given its `type` list (without `null`).
    fn shape(&mut self, node: &Node<'_>, types: &[String], diags: &mut Diagnostics) -> Shape {
        let value = node.value();
        if let Some(all) = node.child("allOf") {
            return self.all_of(node, &all, diags);
        }
        if let Some(one) = node.child("oneOf") {
            return Shape::OneOf(self.alternatives(node, &one, diags));
        }
        if let Some(any) = node.child("anyOf") {
            return Shape::AnyOf(self.alternatives(node, &any, diags));
        }
        if let Some(constant) = value.get("const") {
            return Shape::Const(constant.clone());
        }
        if let Some(values) = value.get("enum") {
            return match values.as_array() {
                Some(values) if !values.is_empty() => {
                    let values: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
                    if values.len() == 1 { Shape::Const(values[0].clone()) } else { Shape::Enum(values) }
                }
                _ => {
                    diags.push(node.error("`enum` must be a non-empty list"));
                    Shape::Any
                }
            };
        }
        match types {
            [] => self.untyped(node, diags),
            [one] => self.typed(node, one, diags),
            many => {
                // `type: [string, integer]`: one part per type, sharing the other keywords.
                let parts = many
                    .iter()
                    .map(|ty| {
                        let shape = self.typed(node, ty, diags);
                        self.push(SchemaDef { shape, ..SchemaDef::any(None, node.path()) })
                    })
                    .collect();
                Shape::Union(parts)
            }
        }
    }

    /// A schema without `type`: what its keywords imply.
    fn untyped(&mut self, node: &Node<'_>, diags: &mut Diagnostics) -> Shape {
        let has = |keys: &[&str]| keys.iter().any(|k| node.value().get(*k).is_some());
        if has(&["properties", "additionalProperties", "required", "patternProperties"]) {
            self.typed(node, "object", diags)
        } else if has(&["items", "minItems", "maxItems", "uniqueItems"]) {
            self.typed(node, "array", diags)
        } else if has(&["minLength", "maxLength", "pattern"]) {
            self.typed(node, "string", diags)
        } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) {
            self.typed(node, "number", diags)
        } else {
            Shape::Any
        }
    }

    fn typed(&mut self, node: &Node<'_>, ty: &str, diags: &mut Diagnostics) -> Shape {
        let value = node.value();
        let number = |key: &str| value.get(key).and_then(Value::as_f64);
        let count = |key: &str| value.get(key).and_then(Value::as_u64);
        let rules = || NumberRules {
            format: text(node, "format"),
            minimum: number("minimum"),
            maximum: number("maximum"),
            // Draft-04 wrote `exclusiveMinimum: true` beside `minimum`; draft-06+ a number.
            exclusive_minimum: number("exclusiveMinimum").or_else(|| {
                (value.get("exclusiveMinimum") == Some(&Value::Bool(true))).then(|| number("minimum")).flatten()
            }),
            exclusive_maximum: number("exclusiveMaximum").or_else(|| {
                (value.get("exclusiveMaximum") == Some(&Value::Bool(true))).then(|| number("maximum")).flatten()
            }),
            multiple_of: number("multipleOf"),
        };
        match ty {
            "null" => Shape::Null,
            "boolean" => Shape::Boolean,
            "integer" => Shape::Integer(rules()),
            "number" => Shape::Number(rules()),
            "string" => Shape::String(StringRules {
                min_length: count("minLength"),
                max_length: count("maxLength"),
                pattern: text(node, "pattern"),
                format: text(node, "format"),
            }),
            "array" => {
                let items = match node.child("items") {
                    Some(items) if items.value().is_array() => {
                        // Tuple validation (draft-07 `items: [...]`): typed as a list of any.
                        None
                    }
                    Some(items) => Some(self.read(&items, diags)),
                    None => None,
                };
                Shape::Array(ArrayRules {
                    items,
                    min_items: count("minItems"),
                    max_items: count("maxItems"),
                    unique: value.get("uniqueItems") == Some(&Value::Bool(true)),
                })
            }
            "object" => Shape::Object(self.object(node, diags)),
            other => {
                diags.push(node.error(format!("`type: {other}` is not a JSON Schema type")));
                Shape::Any
            }
        }
    }

    fn object(&mut self, node: &Node<'_>, diags: &mut Diagnostics) -> ObjectRules {
        let required: Vec<String> = node
            .value()
            .get("required")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut properties = Vec::new();
        if let Some(props) = node.child("properties") {
            match props.entries() {
                Ok(entries) => {
                    for (name, schema) in entries {
                        let description = text(&schema, "description");
                        let id = self.read(&schema, diags);
                        properties.push(Property { required: required.contains(&name), name, schema: id, description });
                    }
                }
                Err(error) => diags.push(error),
            }
        }
        let additional = match node.child("additionalProperties") {
            None => Additional::Open,
            Some(extra) => match extra.value() {
                Value::Bool(true) => Additional::Open,
                Value::Bool(false) => Additional::Closed,
                _ => {
                    let id = self.read(&extra, diags);
                    if self.get(id).shape == Shape::Any { Additional::Open } else { Additional::Schema(id) }
                }
            },
        };
        ObjectRules { properties, additional }
    }

    /// `allOf`: objects merge into one object (properties and `required` of
    /// every part; closed only if every part is). Anything else cannot be
    /// stated as one type: it is typed as any JSON, and validated as written.
    fn all_of(&mut self, node: &Node<'_>, all: &Node<'_>, diags: &mut Diagnostics) -> Shape {
        let parts = match all.items() {
            Ok(parts) => parts,
            Err(error) => {
                diags.push(error);
                return Shape::Any;
            }
        };
        let mut merged = ObjectRules { properties: Vec::new(), additional: Additional::Closed };
        let mut any_closed_only = true;
        let mut objects = 0;
        // The schema's own keywords beside `allOf` are one more part.
        let own_keys = node.value().as_object().map_or(0, |m| {
            m.keys().filter(|k| !["allOf", "type"].contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str())).count()
        });
        let mut shapes = Vec::new();
        if own_keys > 0 {
            shapes.push(Shape::Object(self.object(node, diags)));
        }
        for part in parts {
            let id = self.read(&part, diags);
            shapes.push(self.get(id).shape.clone());
        }
        for shape in shapes {
            match shape {
                Shape::Object(rules) => {
                    objects += 1;
                    for property in rules.properties {
                        match merged.properties.iter_mut().find(|p| p.name == property.name) {
                            Some(existing) => existing.required |= property.required,
                            None => merged.properties.push(property),
                        }
                    }
                    match rules.additional {
                        Additional::Closed => {}
                        other => {
                            any_closed_only = false;
                            if let Additional::Schema(_) = other {
                                merged.additional = other;
                            }
                        }
                    }
                }
                Shape::Any => {}
                _ => return Shape::Any,
            }
        }
        if objects == 0 {
            return Shape::Any;
        }
        if !any_closed_only && merged.additional == Additional::Closed {
            merged.additional = Additional::Open;
        }
        // `required` written beside allOf parts that declare the properties.
        if let Some(required) = node.value().get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if let Some(property) = merged.properties.iter_mut().find(|p| p.name == name) {
                    property.required = true;
                }
            }
        }
        Shape::Object(merged)
    }

    fn alternatives(&mut self, node: &Node<'_>, list: &Node<'_>, diags: &mut Diagnostics) -> Alternatives {
        let items = match list.items() {
            Ok(items) => items,
            Err(error) => {
                diags.push(error);
                return Alternatives { variants: Vec::new(), tag: None };
            }
        };
        let variants: Vec<SchemaId> = items.iter().map(|item| self.read(item, diags)).collect();
        let discriminator = match node.value().get("discriminator") {
            Some(Value::String(property)) => Some(property.clone()),
            // OpenAPI style: `discriminator: {propertyName: ...}`.
            Some(Value::Object(map)) => map.get("propertyName").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let tag = self.find_tag(&variants, discriminator.as_deref());
        if let (Some(property), None) = (&discriminator, &tag) {
            diags.push(
                node.warning(format!(
                    "discriminator `{property}` does not tell the alternatives apart (each must fix it to a distinct string)"
                ))
                .hint("give every alternative `{property}: {const: <its name>}`; until then the union is matched by validation"),
            );
        }
        Alternatives { variants, tag }
    }

    /// The property every variant fixes to a distinct string (`wanted` first).
    fn find_tag(&self, variants: &[SchemaId], wanted: Option<&str>) -> Option<Tag> {
        let fixed = |id: SchemaId| -> Vec<(String, String)> {
            match &self.get(id).shape {
                Shape::Object(rules) => rules
                    .properties
                    .iter()
                    .filter_map(|p| self.fixed_string(p.schema).map(|v| (p.name.clone(), v)))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let first = fixed(*variants.first()?);
        let candidates: Vec<&String> = match wanted {
            Some(name) => first.iter().map(|(n, _)| n).filter(|n| *n == name).collect(),
            None => first.iter().map(|(n, _)| n).collect(),
        };
        'candidates: for property in candidates {
            let mut values = Vec::new();
            for variant in variants {
                let Some((_, value)) = fixed(*variant).into_iter().find(|(n, _)| n == property) else {
                    continue 'candidates;
                };
                if values.contains(&value) {
                    continue 'candidates;
                }
                values.push(value);
            }
            return Some(Tag { property: property.clone(), values });
        }
        None
    }

    /// Whether every value `id` describes is an object that declares `name`
    /// (an object schema, or a union of them).
    pub fn always_has_property(&self, id: SchemaId, name: &str) -> bool {
        match &self.get(id).shape {
            Shape::Object(rules) => rules.properties.iter().any(|p| p.name == name),
            Shape::OneOf(alternatives) | Shape::AnyOf(alternatives) => {
                !alternatives.variants.is_empty()
                    && alternatives.variants.iter().all(|v| self.always_has_property(*v, name))
            }
            _ => false,
        }
    }

    /// The one string a schema allows (`const`), if it does.
    pub fn fixed_string(&self, id: SchemaId) -> Option<String> {
        match &self.get(id).shape {
            Shape::Const(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

impl SchemaDef {
    fn any(loc: Option<Loc>, path: &str) -> SchemaDef {
        SchemaDef {
            loc,
            path: path.to_owned(),
            component: None,
            title: None,
            description: None,
            default: None,
            deprecated: false,
            nullable: false,
            shape: Shape::Any,
        }
    }
}

/// `type` as a list of type names without `null`, and whether `null` was in it.
fn schema_types(node: &Node<'_>) -> Result<(Vec<String>, bool)> {
    match node.value().get("type") {
        None => Ok((Vec::new(), false)),
        Some(Value::String(ty)) if ty == "null" => Ok((vec!["null".into()], false)),
        Some(Value::String(ty)) => Ok((vec![ty.clone()], false)),
        Some(Value::Array(types)) => {
            let names: Vec<String> = types.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            if names.len() != types.len() {
                return Err(node.error("`type` must list type names"));
            }
            let nullable = names.iter().any(|t| t == "null");
            let rest: Vec<String> = names.into_iter().filter(|t| t != "null").collect();
            if rest.is_empty() { Ok((vec!["null".into()], false)) } else { Ok((rest, nullable)) }
        }
        Some(_) => Err(node.error("`type` must be a string or a list")),
    }
}

fn text(node: &Node<'_>, key: &str) -> Option<String> {
    node.value().get(key).and_then(Value::as_str).map(str::to_owned)
}

/// `User` for `components.schemas.User`, in any file.
fn component_name(node: &Node<'_>) -> Option<String> {
    let pointer = node.loc().pointer;
    let name = pointer.strip_prefix("/components/schemas/")?;
    (!name.contains('/')).then(|| name.replace("~1", "/").replace("~0", "~"))
}

/// Whether `value` is a schema of nothing but annotations (any value).
pub fn is_annotation_only(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.keys().all(|k| ANNOTATIONS.contains(&k.as_str()) || k.starts_with("x-")))
}

/// Raises the error a builder stopped at into the diagnostics (helper).
pub fn note(diags: &mut Diagnostics, result: Result<()>) {
    if let Err(error) = result {
        diags.push(error);
    }
}

/// A warning that a keyword is validated but not reflected in generated types.
pub fn untyped_keyword(node: &Node<'_>, keyword: &str) -> SpecError {
    node.warning(format!("`{keyword}` is enforced by the validator but not reflected in generated types"))
}
