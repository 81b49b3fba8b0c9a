//! The JSON Schema subset specserve turns into Rust types.
//!
//! Parsing is strict: a keyword outside the subset is an error naming its path,
//! never a silent `serde_json::Value`. Only the deliberately free-form `{}` maps to
//! an untyped value.

use serde_json::Value;

use crate::error::{Result, SpecError};
use crate::spec::Node;

const COMPONENT_SCHEMAS: &str = "#/components/schemas/";

/// A parsed schema and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// What kind of value this is.
    pub kind: Kind,
    /// `description`, which becomes doc comments and docs.
    pub description: Option<String>,
    /// `type: [T, "null"]`: the value may also be `null`.
    pub nullable: bool,
    /// YAML path of the schema, for errors found later.
    pub path: String,
}

/// The kinds of schema in the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `$ref: '#/components/schemas/Name'`.
    Ref(String),
    /// `{}`: any JSON value, on purpose.
    Any,
    /// `type: boolean`.
    Boolean,
    /// `type: integer`.
    Integer(IntegerRules),
    /// `type: number`.
    Number(NumberRules),
    /// `type: string`.
    String(StringRules),
    /// `const: value` (the type follows the value).
    Const(Value),
    /// `type: string` with `enum`.
    Enum(Vec<String>),
    /// `type: array`.
    Array(ArrayRules),
    /// `type: object`.
    Object(ObjectRules),
    /// `oneOf`/`anyOf` of objects told apart by a string `const` property.
    Tagged(TaggedRules),
}

/// Constraints of an integer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegerRules {
    /// `format`: `int32` or `int64` (the default).
    pub format: Option<String>,
    /// Inclusive lower bound.
    pub minimum: Option<i64>,
    /// Inclusive upper bound.
    pub maximum: Option<i64>,
}

/// Constraints of a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberRules {
    /// Inclusive lower bound.
    pub minimum: Option<f64>,
    /// Inclusive upper bound.
    pub maximum: Option<f64>,
}

/// Constraints of a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringRules {
    /// Minimum length in characters.
    pub min_length: Option<u64>,
    /// Maximum length in characters.
    pub max_length: Option<u64>,
    /// ECMA-262 regular expression.
    pub pattern: Option<String>,
    /// One of [`FORMATS`].
    pub format: Option<String>,
}

/// Constraints of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayRules {
    /// Schema of every item.
    pub items: Box<Schema>,
    /// Minimum number of items.
    pub min_items: Option<u64>,
    /// Maximum number of items.
    pub max_items: Option<u64>,
}

/// An object's properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRules {
    /// Properties in document order.
    pub properties: Vec<Property>,
    /// `additionalProperties: false`: unknown keys are rejected.
    pub closed: bool,
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// JSON name.
    pub name: String,
    /// Listed in `required`.
    pub required: bool,
    /// Its schema.
    pub schema: Schema,
}

/// A tagged union: each variant is an object with `tag: {const: value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedRules {
    /// The discriminating property.
    pub tag: String,
    /// Variants in document order.
    pub variants: Vec<Variant>,
}

/// One variant of a [`TaggedRules`].
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The tag's constant value.
    pub value: String,
    /// Component name when the variant is a `$ref`.
    pub component: Option<String>,
    /// The variant's description.
    pub description: Option<String>,
    /// The object's properties other than the tag.
    pub object: ObjectRules,
}

/// String formats we accept (and validate, since validators run with formats on).
pub const FORMATS: &[&str] = &["email", "date-time", "date", "time", "uuid", "uri", "ipv4", "ipv6", "hostname"];

const ANNOTATIONS: &[&str] =
    &["description", "title", "examples", "default", "deprecated", "readOnly", "writeOnly", "$comment"];

impl Schema {
    /// Parses the schema at `node` (which may itself be a `$ref`).
    pub fn parse(node: &Node<'_>) -> Result<Schema> {
        let object = node.object()?;
        let description = node.opt_str("description")?.map(str::to_owned);
        let path = node.path().to_owned();
        if let Some(target) = node.ref_target()? {
            // `$ref` siblings other than annotations would be ignored by draft-07 validators.
            node.check_keys("a schema `$ref`", &["$ref", "description", "title"])?;
            let Some(name) = target.strip_prefix(COMPONENT_SCHEMAS) else {
                return Err(node
                    .error(format!("schema `$ref: {target}` must point into `components.schemas`"))
                    .hint("move the schema under components.schemas and reference it there"));
            };
            node.resolve()?; // the target must exist
            return Ok(Schema { kind: Kind::Ref(name.to_owned()), description, nullable: false, path });
        }
        if object.keys().all(|k| ANNOTATIONS.contains(&k.as_str()) || k.starts_with("x-")) {
            return Ok(Schema { kind: Kind::Any, description, nullable: false, path });
        }
        let (ty, nullable) = schema_type(node)?;
        let kind = if node.child("const").is_some() {
            node.check_keys("a `const` schema", &with_annotations(&["type", "const"]))?;
            Kind::Const(node.value()["const"].clone())
        } else if let Some(alternatives) = node.child("oneOf").or_else(|| node.child("anyOf")) {
            node.check_keys("a `oneOf`/`anyOf` schema", &with_annotations(&["type", "oneOf", "anyOf"]))?;
            Kind::Tagged(parse_tagged(&alternatives)?)
        } else {
            match ty.as_deref() {
                Some("boolean") => {
                    node.check_keys("a boolean schema", &with_annotations(&["type"]))?;
                    Kind::Boolean
                }
                Some("integer") => {
                    node.check_keys("an integer schema", &with_annotations(&["type", "format", "minimum", "maximum"]))?;
                    let format = node.opt_str("format")?.map(str::to_owned);
                    if let Some(f) = &format
                        && f != "int32"
                        && f != "int64"
                    {
                        return Err(node
                            .error(format!("integer format `{f}` is not supported"))
                            .hint("use `int32` or `int64`"));
                    }
                    Kind::Integer(IntegerRules {
                        format,
                        minimum: int(node, "minimum")?,
                        maximum: int(node, "maximum")?,
                    })
                }
                Some("number") => {
                    node.check_keys("a number schema", &with_annotations(&["type", "format", "minimum", "maximum"]))?;
                    Kind::Number(NumberRules { minimum: float(node, "minimum")?, maximum: float(node, "maximum")? })
                }
                Some("string") if node.child("enum").is_some() => {
                    node.check_keys("a string enum", &with_annotations(&["type", "enum"]))?;
                    Kind::Enum(parse_enum(&node.required("enum")?)?)
                }
                Some("string") => {
                    node.check_keys(
                        "a string schema",
                        &with_annotations(&["type", "minLength", "maxLength", "pattern", "format"]),
                    )?;
                    let format = node.opt_str("format")?.map(str::to_owned);
                    if let Some(f) = &format
                        && !FORMATS.contains(&f.as_str())
                    {
                        return Err(node
                            .error(format!("string format `{f}` is not supported"))
                            .hint(format!("use one of {}", FORMATS.join(", "))));
                    }
                    Kind::String(StringRules {
                        min_length: uint(node, "minLength")?,
                        max_length: uint(node, "maxLength")?,
                        pattern: node.opt_str("pattern")?.map(str::to_owned),
                        format,
                    })
                }
                Some("array") => {
                    node.check_keys("an array schema", &with_annotations(&["type", "items", "minItems", "maxItems"]))?;
                    let items = node.required("items").map_err(|e| e.hint("give the array an `items` schema"))?;
                    Kind::Array(ArrayRules {
                        items: Box::new(Schema::parse(&items)?),
                        min_items: uint(node, "minItems")?,
                        max_items: uint(node, "maxItems")?,
                    })
                }
                Some("object") => Kind::Object(parse_object(node)?),
                None if node.child("enum").is_some() => {
                    return Err(node.error("an `enum` needs `type: string`").hint("only string enums are supported"));
                }
                None if node.child("properties").is_some() => {
                    return Err(node.error("an object schema needs `type: object`"));
                }
                None => {
                    let key = object.keys().find(|k| !ANNOTATIONS.contains(&k.as_str())).map_or("", String::as_str);
                    return Err(SpecError::new(format!("{path}.{key}"), format!("`{key}` is not supported in a schema"))
                        .hint("specserve supports type, properties, required, additionalProperties: false, items, enum, const, oneOf/anyOf of tagged objects and $ref"));
                }
                Some(other) => return Err(node.error(format!("`type: {other}` is not supported"))),
            }
        };
        Ok(Schema { kind, description, nullable, path })
    }
}

fn with_annotations(keys: &[&'static str]) -> Vec<&'static str> {
    keys.iter().chain(ANNOTATIONS).copied().collect()
}

/// Reads `type`, allowing `[T, "null"]` for nullable values.
fn schema_type(node: &Node<'_>) -> Result<(Option<String>, bool)> {
    match node.value().get("type") {
        None => Ok((None, false)),
        Some(Value::String(ty)) => Ok((Some(ty.clone()), false)),
        Some(Value::Array(types)) => {
            let mut named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            let nullable = named.contains(&"null");
            named.retain(|t| *t != "null");
            if named.len() != 1 || types.len() != named.len() + usize::from(nullable) {
                return Err(node
                    .error("a `type` list must be one type plus \"null\"")
                    .hint("use `type: [string, \"null\"]` for a nullable value; unions of types are not supported"));
            }
            Ok((Some(named[0].to_owned()), nullable))
        }
        Some(_) => Err(node.error("`type` must be a string or a list")),
    }
}

fn parse_object(node: &Node<'_>) -> Result<ObjectRules> {
    node.check_keys(
        "an object schema",
        &with_annotations(&["type", "properties", "required", "additionalProperties"]),
    )?;
    let closed = match node.value().get("additionalProperties") {
        None | Some(Value::Bool(true)) => false,
        Some(Value::Bool(false)) => true,
        Some(_) => {
            return Err(node
                .required("additionalProperties")?
                .error("`additionalProperties` with a schema (a map) is not supported")
                .hint("use `additionalProperties: false` and name the properties"));
        }
    };
    let required: Vec<&str> = match node.child("required") {
        None => Vec::new(),
        Some(list) => list.items()?.iter().map(|item| item.str()).collect::<Result<_>>()?,
    };
    let mut properties = Vec::new();
    if let Some(props) = node.child("properties") {
        for (name, schema) in props.entries()? {
            properties.push(Property {
                name: name.to_owned(),
                required: required.contains(&name),
                schema: Schema::parse(&schema)?,
            });
        }
    }
    if let Some(missing) = required.iter().find(|r| !properties.iter().any(|p| p.name == **r)) {
        return Err(node
            .required("required")?
            .error(format!("`{missing}` is required but not among `properties`"))
            .hint(format!("add a `{missing}` property or drop it from `required`")));
    }
    Ok(ObjectRules { properties, closed })
}

fn parse_enum(node: &Node<'_>) -> Result<Vec<String>> {
    let values = node
        .items()?
        .iter()
        .map(|item| item.str().map(str::to_owned).map_err(|e| e.hint("only string enums are supported")))
        .collect::<Result<Vec<_>>>()?;
    if values.is_empty() {
        return Err(node.error("an `enum` needs at least one value"));
    }
    Ok(values)
}

/// `oneOf`/`anyOf` whose alternatives are objects sharing a required string `const`
/// property: the tag that tells them apart on the wire.
fn parse_tagged(node: &Node<'_>) -> Result<TaggedRules> {
    let unsupported = |reason: &str| {
        node.error(format!("this `{}` is not supported: {reason}", node.key()))
            .hint("make every alternative an object with the same required property holding a distinct string `const`")
    };
    let mut variants = Vec::new();
    let mut tag: Option<String> = None;
    for alternative in node.items()? {
        let component =
            alternative.ref_target()?.map(|target| target.strip_prefix(COMPONENT_SCHEMAS).unwrap_or(target).to_owned());
        let resolved = alternative.resolve()?;
        let Kind::Object(mut object) = Schema::parse(&resolved)?.kind else {
            return Err(unsupported("an alternative is not an object"));
        };
        let candidates: Vec<&Property> = object
            .properties
            .iter()
            .filter(|p| p.required && matches!(&p.schema.kind, Kind::Const(Value::String(_))))
            .collect();
        let chosen = match &tag {
            Some(tag) => candidates.iter().find(|p| &p.name == tag).copied(),
            None => candidates.first().copied(),
        };
        let Some(chosen) = chosen else {
            return Err(unsupported("an alternative has no required string `const` property to tag it"));
        };
        let Kind::Const(Value::String(value)) = &chosen.schema.kind else { unreachable!("filtered above") };
        let (name, value) = (chosen.name.clone(), value.clone());
        if variants.iter().any(|v: &Variant| v.value == value) {
            return Err(unsupported(&format!("two alternatives share the tag value `{value}`")));
        }
        object.properties.retain(|p| p.name != name);
        tag = Some(name);
        let description = resolved.opt_str("description")?.map(str::to_owned);
        variants.push(Variant { value, component, description, object });
    }
    let Some(tag) = tag else {
        return Err(unsupported("it has no alternatives"));
    };
    Ok(TaggedRules { tag, variants })
}

fn int(node: &Node<'_>, key: &str) -> Result<Option<i64>> {
    node.child(key).map(|n| n.value().as_i64().ok_or_else(|| n.error("expected an integer"))).transpose()
}

fn uint(node: &Node<'_>, key: &str) -> Result<Option<u64>> {
    node.child(key).map(|n| n.value().as_u64().ok_or_else(|| n.error("expected a non-negative integer"))).transpose()
}

fn float(node: &Node<'_>, key: &str) -> Result<Option<f64>> {
    node.child(key).map(|n| n.value().as_f64().ok_or_else(|| n.error("expected a number"))).transpose()
}

/// Follows component references from `schema` to the schema that says what a
/// value is (bounded, so a reference cycle stops instead of looping).
pub fn resolve<'a>(schema: &'a Schema, components: &'a [(String, Schema)]) -> &'a Schema {
    let mut current = schema;
    for _ in 0..32 {
        let Kind::Ref(name) = &current.kind else { return current };
        match components.iter().find(|(n, _)| n == name) {
            Some((_, target)) => current = target,
            None => return current,
        }
    }
    current
}

/// Parses every schema under `components.schemas` of a document, in order.
pub fn components(doc: &crate::spec::Document) -> Result<Vec<(String, Schema)>> {
    let Some(schemas) = doc.root().child("components").and_then(|c| c.child("schemas")) else {
        return Ok(Vec::new());
    };
    schemas.entries()?.into_iter().map(|(name, node)| Ok((name.to_owned(), Schema::parse(&node)?))).collect()
}
