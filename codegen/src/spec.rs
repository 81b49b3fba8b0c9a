//! Reading an AsyncAPI 3.0 document: YAML to a JSON tree, walked by [`Node`]s that
//! know their YAML path, with local `$ref`s resolved on demand.
//!
//! The subset we accept is closed: every object is checked against the keys we
//! understand, so a construct we would silently ignore is an error instead.
//! Leaf objects (info, servers, security schemes) are plain serde structs.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Result, SpecError};

/// A loaded document: the JSON tree every [`Node`] points into.
#[derive(Debug)]
pub struct Document {
    root: Value,
}

impl Document {
    /// Parses YAML (or JSON, which is YAML) text.
    pub fn parse(text: &str) -> Result<Self> {
        let root: Value = serde_norway::from_str(text).map_err(|e| {
            SpecError::new("", format!("not a valid YAML document: {e}"))
                .hint("AsyncAPI documents are YAML or JSON objects with string keys")
        })?;
        if !root.is_object() {
            return Err(SpecError::new("", "the document must be a mapping"));
        }
        Ok(Self { root })
    }

    /// The document root.
    pub fn root(&self) -> Node<'_> {
        Node { doc: self, value: &self.root, path: String::new() }
    }

    /// Follows `node` if it is a `{"$ref": "#/..."}` (transitively), else returns it.
    ///
    /// Only references inside this document are supported. The returned node's
    /// path is the target's, so later errors point at the definition.
    pub fn resolve<'a>(&'a self, node: &Node<'a>) -> Result<Node<'a>> {
        let mut current = node.clone();
        for _ in 0..32 {
            let Some(reference) = current.ref_target()? else {
                return Ok(current);
            };
            current = self.lookup(&current, reference)?;
        }
        Err(node.error("`$ref` chain is too long or circular"))
    }

    fn lookup<'a>(&'a self, from: &Node<'a>, reference: &str) -> Result<Node<'a>> {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(from
                .error(format!("`$ref: {reference}` points outside this document"))
                .hint("only local references (`#/components/...`) are supported; inline the target"));
        };
        let mut node = self.root();
        for raw in pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            node = match node.child(&key) {
                Some(child) => child,
                None => {
                    return Err(from
                        .error(format!(
                            "`$ref: {reference}` points at nothing: `{}` has no `{key}`",
                            node.display_path()
                        ))
                        .hint("define the target or correct the reference"));
                }
            };
        }
        Ok(node)
    }
}

/// A position in the document: a value and the YAML path that reaches it.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    doc: &'a Document,
    value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    /// The JSON value here.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// The dotted YAML path of this node (`channels.api.messages.error`).
    pub fn path(&self) -> &str {
        &self.path
    }

    fn display_path(&self) -> &str {
        if self.path.is_empty() { "(document root)" } else { &self.path }
    }

    /// The last segment of the path: the key this node is stored under.
    pub fn key(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or_default()
    }

    /// An error located here.
    pub fn error(&self, message: impl Into<String>) -> SpecError {
        SpecError::new(self.path.clone(), message)
    }

    /// The document this node belongs to.
    pub fn document(&self) -> &'a Document {
        self.doc
    }

    /// This node with `$ref`s followed.
    pub fn resolve(&self) -> Result<Node<'a>> {
        self.doc.resolve(self)
    }

    /// The `$ref` string, if this node is a reference.
    pub fn ref_target(&self) -> Result<Option<&'a str>> {
        match self.value.get("$ref") {
            None => Ok(None),
            Some(Value::String(target)) => Ok(Some(target)),
            Some(_) => Err(self.error("`$ref` must be a string")),
        }
    }

    /// The child under `key`, if this is a mapping that has it.
    pub fn child(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key)?;
        Some(Node { doc: self.doc, value, path: join(&self.path, key) })
    }

    /// The child under `key`, or an error naming it.
    pub fn required(&self, key: &str) -> Result<Node<'a>> {
        self.child(key).ok_or_else(|| self.error(format!("`{key}` is required here")))
    }

    /// This node as a mapping.
    pub fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value.as_object().ok_or_else(|| self.error("expected a mapping"))
    }

    /// The entries of this mapping, in document order.
    pub fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>> {
        Ok(self
            .object()?
            .iter()
            .map(|(key, value)| (key.as_str(), Node { doc: self.doc, value, path: join(&self.path, key) }))
            .collect())
    }

    /// The items of this sequence.
    pub fn items(&self) -> Result<Vec<Node<'a>>> {
        let items = self.value.as_array().ok_or_else(|| self.error("expected a sequence"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node { doc: self.doc, value, path: format!("{}[{i}]", self.path) })
            .collect())
    }

    /// This node as a string.
    pub fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.error("expected a string"))
    }

    /// The string under `key`, if present.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        self.child(key).map(|n| n.str()).transpose()
    }

    /// Deserializes this node into a leaf serde struct, with the path in errors.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(self.value).map_err(|e| self.error(e.to_string()))
    }

    /// Fails on any key not in `allowed`. Extension keys (`x-...`) pass, except
    /// `x-specserve-...` ones we do not know, which are typos until proven otherwise.
    pub fn check_keys(&self, what: &str, allowed: &[&str]) -> Result<()> {
        for key in self.object()?.keys() {
            let known = allowed.contains(&key.as_str());
            let foreign_extension = key.starts_with("x-") && !key.starts_with("x-specserve-");
            if !known && !foreign_extension {
                return Err(SpecError::new(join(&self.path, key), format!("`{key}` is not supported in {what}"))
                    .hint(format!("specserve understands {}; remove `{key}` or ask for support", list(allowed))));
            }
        }
        Ok(())
    }
}

fn join(path: &str, key: &str) -> String {
    let key = if key.contains('.') || key.contains(' ') { format!("\"{key}\"") } else { key.to_owned() };
    if path.is_empty() { key } else { format!("{path}.{key}") }
}

fn list(keys: &[&str]) -> String {
    keys.iter().filter(|k| !k.starts_with('$')).map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// `info`: the title, version and description of the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    /// Human title.
    pub title: String,
    /// The API's own version (not AsyncAPI's).
    pub version: String,
    /// Long description, Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// License, passed through to docs.
    #[serde(default)]
    pub license: Option<License>,
}

/// `info.license`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct License {
    /// License name, e.g. MIT.
    pub name: String,
    /// Where the license text lives.
    #[serde(default)]
    pub url: Option<String>,
}

/// An entry of `servers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// `host[:port]`.
    pub host: String,
    /// `ws` or `wss`.
    pub protocol: String,
    /// Human description.
    #[serde(default)]
    pub description: Option<String>,
    /// Optional base path.
    #[serde(default)]
    pub pathname: Option<String>,
}

/// An entry of `components.securitySchemes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityScheme {
    /// AsyncAPI scheme type; we support `httpApiKey` and `http` (bearer).
    #[serde(rename = "type")]
    pub kind: String,
    /// For `httpApiKey`: `header`, `query` or `cookie`.
    #[serde(default, rename = "in")]
    pub location: Option<String>,
    /// For `httpApiKey`: the header, query or cookie name.
    #[serde(default)]
    pub name: Option<String>,
    /// For `http`: the scheme, e.g. `bearer`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// How a client presents the credential.
    #[serde(default)]
    pub description: Option<String>,
}

/// An entry of a message's `examples`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// Short machine-friendly name.
    #[serde(default)]
    pub name: Option<String>,
    /// One line saying what the example shows.
    #[serde(default)]
    pub summary: Option<String>,
    /// The whole frame.
    pub payload: Value,
}
