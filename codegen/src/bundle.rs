//! Standalone JSON Schemas: a message's payload schema with every
//! `#/components/schemas/...` it reaches copied under `definitions`.
//!
//! These are the schemas the generated validators compile, the files under
//! `generated/schemas/`, and what examples are checked against: one source.

use serde_json::{Map, Value, json};

use crate::error::{Result, SpecError};
use crate::spec::Node;

const COMPONENT_SCHEMAS: &str = "#/components/schemas/";

/// JSON Schema dialect of AsyncAPI 3.0's default schema format.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// Bundles the schema at `node` into one self-contained draft-07 document.
pub fn bundle(node: &Node<'_>, title: &str) -> Result<Value> {
    let doc = node.document();
    let components = doc.root().child("components").and_then(|c| c.child("schemas"));
    let mut definitions = Map::new();
    let mut pending = Vec::new();
    let body = rewrite(node.value(), &mut pending);
    while let Some(name) = pending.pop() {
        if definitions.contains_key(&name) {
            continue;
        }
        let Some(target) = components.as_ref().and_then(|c| c.child(&name)) else {
            return Err(SpecError::new(
                node.path(),
                format!("schema `{name}` is referenced but not defined in components.schemas"),
            ));
        };
        let copy = rewrite(target.value(), &mut pending);
        definitions.insert(name, copy);
    }
    let mut out = Map::new();
    out.insert("$schema".into(), json!(DRAFT));
    out.insert("title".into(), json!(title));
    if let Value::Object(body) = body {
        for (key, value) in body {
            if key != "title" {
                out.insert(key, value);
            }
        }
    }
    if !definitions.is_empty() {
        definitions.sort_keys();
        out.insert("definitions".into(), Value::Object(definitions));
    }
    Ok(Value::Object(out))
}

/// Copies `value`, pointing component references at `#/definitions/` and noting them.
fn rewrite(value: &Value, pending: &mut Vec<String>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.starts_with("x-"))
                .map(|(key, v)| match (key.as_str(), v.as_str().and_then(|r| r.strip_prefix(COMPONENT_SCHEMAS))) {
                    ("$ref", Some(name)) => {
                        pending.push(name.to_owned());
                        (key.clone(), json!(format!("#/definitions/{name}")))
                    }
                    _ => (key.clone(), rewrite(v, pending)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite(v, pending)).collect()),
        other => other.clone(),
    }
}

/// Compiles a bundled schema the way the generated code does: draft-07, formats on.
pub fn validator(schema: &Value) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::draft7::options().should_validate_formats(true).build(schema).map_err(|e| e.to_string())
}
