//! Standalone JSON Schemas: a schema as written, with every `$ref` it reaches
//! (in any file, to any depth) copied under `definitions` and pointed there.
//!
//! These are what the generated validators compile, what `generated/schemas/`
//! holds and what examples are checked against: the schema's own keywords, so
//! whatever the type model leaves out (`not`, `if`/`then`, `multipleOf` ...)
//! is still enforced.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::diagnostics::{Result, SpecError};
use crate::spec::{Documents, Loc};

/// JSON Schema dialect of AsyncAPI's default schema format.
pub const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// The schema at `loc` as one self-contained draft-07 document titled `title`.
pub fn bundle(docs: &Documents, loc: &Loc, title: &str) -> Result<Value> {
    let mut bundler =
        Bundler { docs, root: loc.clone(), names: BTreeMap::new(), definitions: Map::new(), pending: Vec::new() };
    let root = docs.at(loc).ok_or_else(|| SpecError::new("", "schema to bundle not found"))?;
    let body = bundler.rewrite(root.value(), loc.file)?;
    while let Some((name, target)) = bundler.pending.pop() {
        let node = docs.at(&target).ok_or_else(|| SpecError::new("", format!("`{name}` not found")))?;
        let copy = bundler.rewrite(node.value(), target.file)?;
        bundler.definitions.insert(name, copy);
    }
    let mut out = Map::new();
    out.insert("$schema".into(), json!(DRAFT));
    out.insert("title".into(), json!(title));
    match body {
        Value::Object(body) => {
            for (key, value) in body {
                if key != "title" && key != "$schema" {
                    out.insert(key, value);
                }
            }
        }
        // A boolean schema: `true` allows anything, `false` nothing.
        Value::Bool(false) => {
            out.insert("not".into(), json!({}));
        }
        _ => {}
    }
    if !bundler.definitions.is_empty() {
        bundler.definitions.sort_keys();
        out.insert("definitions".into(), Value::Object(bundler.definitions));
    }
    Ok(Value::Object(out))
}

struct Bundler<'a> {
    docs: &'a Documents,
    root: Loc,
    /// Definition name of every location reached.
    names: BTreeMap<Loc, String>,
    definitions: Map<String, Value>,
    pending: Vec<(String, Loc)>,
}

impl Bundler<'_> {
    /// Copies `value` (in file `file`), pointing references at `#/definitions/`.
    fn rewrite(&mut self, value: &Value, file: usize) -> Result<Value> {
        Ok(match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map {
                    if key.starts_with("x-") {
                        continue;
                    }
                    match (key.as_str(), v) {
                        ("$ref", Value::String(target)) => {
                            out.insert(key.clone(), json!(self.reference(target, file)?));
                        }
                        // Keywords whose values are not schemas are copied as they are.
                        ("enum" | "const" | "examples" | "example" | "default" | "required", _) => {
                            out.insert(key.clone(), v.clone());
                        }
                        _ => {
                            out.insert(key.clone(), self.rewrite(v, file)?);
                        }
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.rewrite(v, file)).collect::<Result<_>>()?),
            other => other.clone(),
        })
    }

    /// The bundled reference for `target` written in file `file`.
    fn reference(&mut self, target: &str, file: usize) -> Result<String> {
        let node = self.docs.follow(file, target)?;
        let loc = node.loc();
        if loc == self.root {
            return Ok("#".into());
        }
        if let Some(name) = self.names.get(&loc) {
            return Ok(format!("#/definitions/{name}"));
        }
        let base = loc.pointer.rsplit('/').next().unwrap_or("schema").replace("~1", "_").replace("~0", "_");
        let base = if base.is_empty() { "schema".to_owned() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while self.names.values().any(|existing| *existing == name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.names.insert(loc.clone(), name.clone());
        self.pending.push((name.clone(), loc));
        Ok(format!("#/definitions/{name}"))
    }
}

/// Compiles a bundled schema the way the generated code does: draft-07, formats on.
pub fn validator(schema: &Value) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::draft7::options().should_validate_formats(true).build(schema).map_err(|e| e.to_string())
}
