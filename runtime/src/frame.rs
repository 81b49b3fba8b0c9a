//! A received text frame, parsed once into a JSON value: matched to a message,
//! validated against its schema (so errors carry JSON pointers), then moved
//! into the operation's typed input.
//!
//! specserve's WebSocket binding: a frame is the message's payload; on a path
//! where some message declares `headers`, every frame is the object
//! `{"headers": ..., "payload": ...}` instead.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Detail};

/// At most this many validation details are returned for one frame.
pub const MAX_DETAILS: usize = 32;

/// Which part of a message a location points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `$message.payload#/...`
    Payload,
    /// `$message.header#/...`
    Headers,
}

/// Which correlation ids are echoed: those the correlation property's schema
/// accepts in kind and length (an id too long to echo is simply not echoed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdRule {
    /// A string of `min..=max` characters.
    String {
        /// Fewest characters.
        min: usize,
        /// Most characters, if bounded.
        max: Option<usize>,
    },
    /// An integer.
    Integer,
    /// Any string or number.
    Scalar,
}

/// Where a message keeps its correlation id: the spec's `correlationId.location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correlation {
    /// Payload or headers.
    pub part: Part,
    /// JSON pointer inside that part.
    pub pointer: &'static str,
    /// Which values are echoed.
    pub rule: IdRule,
}

impl Correlation {
    /// Whether `value` is an id this message echoes.
    pub fn accepts(&self, value: &Value) -> bool {
        match (self.rule, value) {
            (IdRule::String { min, max }, Value::String(s)) => {
                let n = s.chars().count();
                n >= min && max.is_none_or(|max| n <= max)
            }
            (IdRule::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (IdRule::Scalar, Value::String(_) | Value::Number(_)) => true,
            _ => false,
        }
    }
}

/// A parsed frame: a JSON object.
#[derive(Debug)]
pub struct Frame {
    value: Value,
    enveloped: bool,
}

impl Frame {
    /// Parses text into a JSON object; anything else is `bad_request`.
    /// `enveloped`: the path's frames are `{"headers", "payload"}` objects.
    pub fn parse(text: &str, enveloped: bool) -> Result<Frame, ApiError> {
        let value: Value = serde_json::from_str(text).map_err(|_| ApiError::bad_request("frame is not valid JSON"))?;
        Frame::from_value(value, enveloped)
    }

    /// A frame from a JSON value built in process.
    pub fn from_value(value: Value, enveloped: bool) -> Result<Frame, ApiError> {
        if !value.is_object() {
            return Err(ApiError::bad_request("frame is not a JSON object"));
        }
        Ok(Frame { value, enveloped })
    }

    /// The message payload.
    pub fn payload(&self) -> &Value {
        if self.enveloped { self.value.get("payload").unwrap_or(&Value::Null) } else { &self.value }
    }

    /// The message headers, when the path carries them.
    pub fn headers(&self) -> Option<&Value> {
        self.value.get("headers").filter(|_| self.enveloped)
    }

    /// A top-level property of the payload (a discriminator, say).
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.payload().get(name)
    }

    /// The correlation id at `correlation`, if present and echoable.
    pub fn correlation(&self, correlation: &Correlation) -> Option<Value> {
        let part = match correlation.part {
            Part::Payload => self.payload(),
            Part::Headers => self.headers()?,
        };
        at_pointer(part, correlation.pointer).filter(|v| correlation.accepts(v)).cloned()
    }

    /// Checks the payload (and headers) against the message's schemas. Pointers
    /// are relative to the frame: `/payload/...` and `/headers/...` on
    /// enveloped paths.
    pub fn validate(
        &self,
        payload: &jsonschema::Validator,
        headers: Option<&jsonschema::Validator>,
    ) -> Result<(), ApiError> {
        let payload_ok = payload.is_valid(self.payload());
        let headers_ok = headers.is_none_or(|h| h.is_valid(self.headers().unwrap_or(&Value::Null)));
        // The common case first: a yes/no check stops early and builds no errors.
        if payload_ok && headers_ok {
            return Ok(());
        }
        let mut details = Vec::new();
        let prefix = |part: &str| if self.enveloped { format!("/{part}") } else { String::new() };
        if !payload_ok {
            details.extend(violations(payload, self.payload(), &prefix("payload")));
        }
        if let Some(headers) = headers.filter(|_| !headers_ok) {
            details.extend(violations(headers, self.headers().unwrap_or(&Value::Null), &prefix("headers")));
        }
        details.truncate(MAX_DETAILS);
        if details.is_empty() { Ok(()) } else { Err(ApiError::validation_failed(details)) }
    }

    /// Moves the value at `pointer` in the payload (`""` for all of it) into `T`.
    /// After [`Frame::validate`] this fails only if a generated type and its
    /// schema disagree.
    pub fn take<T: DeserializeOwned>(&mut self, pointer: &str) -> Result<T, ApiError> {
        let payload = if self.enveloped { self.value.get_mut("payload") } else { Some(&mut self.value) };
        let value = payload.and_then(|p| p.pointer_mut(pointer)).map(Value::take).unwrap_or(Value::Null);
        // serde's message may quote the value, so the client gets a fixed text.
        serde_json::from_value(value).map_err(|_| {
            ApiError::validation_failed(vec![Detail {
                pointer: format!("{}{pointer}", if self.enveloped { "/payload" } else { "" }),
                keyword: "type".into(),
                message: "the message does not match the operation's input type".into(),
            }])
        })
    }

    /// Moves the headers into `T`.
    pub fn take_headers<T: DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let value = self.value.get_mut("headers").map(Value::take).unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|_| {
            ApiError::validation_failed(vec![Detail {
                pointer: "/headers".into(),
                keyword: "type".into(),
                message: "the headers do not match the message's header type".into(),
            }])
        })
    }
}

/// The value at JSON pointer `pointer` (RFC 6901) in `value`, as
/// [`Value::pointer`] finds it, without its two allocations per token: every
/// frame's correlation id is looked up this way (2.1k instructions per frame
/// with `Value::pointer`). Only a token with `~` escapes is copied to unescape.
pub fn at_pointer<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer.strip_prefix('/')?.split('/').try_fold(value, |target, token| {
        let unescaped;
        let token = if token.contains('~') {
            unescaped = token.replace("~1", "/").replace("~0", "~");
            unescaped.as_str()
        } else {
            token
        };
        match target {
            Value::Object(map) => map.get(token),
            Value::Array(items) => array_index(token).and_then(|index| items.get(index)),
            _ => None,
        }
    })
}

/// An array index token: decimal digits, no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    let canonical =
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) && (token == "0" || !token.starts_with('0'));
    canonical.then(|| token.parse().ok()).flatten()
}

/// Masked, pointer-precise violations of `value`, pointers prefixed.
fn violations(validator: &jsonschema::Validator, value: &Value, prefix: &str) -> Vec<Detail> {
    validator
        .iter_errors(value)
        .take(MAX_DETAILS)
        .map(|error| Detail {
            pointer: format!("{prefix}{}", error.instance_path()),
            keyword: error.kind().keyword().to_owned(),
            // Masked: the offending value (maybe a password) is never echoed.
            message: error.masked().to_string(),
        })
        .collect()
}

/// Checks a frame the server is about to send (an event) against its
/// message's schemas: what the spec promises clients, enforced where it is
/// cheap to (generated publishers call it in debug builds and tests). A frame
/// that breaks them is an `internal` error naming the violations in its source.
pub fn check_outgoing(
    text: &str,
    enveloped: bool,
    payload: &jsonschema::Validator,
    headers: Option<&jsonschema::Validator>,
) -> Result<(), ApiError> {
    let frame = Frame::parse(text, enveloped)?;
    frame.validate(payload, headers).map_err(|error| {
        let broken: Vec<String> = error.details().iter().map(|d| format!("{} [{}]", d.pointer, d.keyword)).collect();
        ApiError::internal(format!("an outgoing event breaks its schema: {}", broken.join(", ")))
    })
}

/// Compiles a schema the generated code embeds: draft-07 (AsyncAPI's default
/// schema dialect), formats validated, unknown formats ignored.
///
/// # Panics
/// If the schema does not compile. The same schema was compiled when the spec
/// was built, so this is a codegen bug; generated services compile every
/// validator at start-up so it shows there.
pub fn compile_schema(schema: &str) -> jsonschema::Validator {
    let mut value: Value = serde_json::from_str(schema).expect("embedded schema is JSON");
    inline_local_refs(&mut value);
    jsonschema::draft7::options().should_validate_formats(true).build(&value).expect("embedded schema compiles")
}

/// Most schema nodes one document may grow to by [`inline_local_refs`]; past
/// it the document keeps its references (a pathological fan-out of shared
/// definitions is validated as written, only slower).
const INLINE_BUDGET: usize = 20_000;

/// Replaces each non-recursive `{"$ref": "#/..."}` with the schema it points
/// to. Draft-07 ignores a `$ref`'s siblings, so the document validates the
/// same values; what changes is the cost: the validator follows no
/// reference, and an error no longer records its path through them (a third
/// of an invalid frame's validation, #33). A reference to one of its own
/// ancestors (a recursive type) stays a reference. A document with an `$id`
/// below its root (which would move the base of the pointers) is left whole.
fn inline_local_refs(root: &mut Value) {
    fn has_nested_id(value: &Value, depth: usize) -> bool {
        match value {
            Value::Object(map) => {
                (depth > 0 && map.get("$id").is_some_and(Value::is_string))
                    || map.values().any(|child| has_nested_id(child, depth + 1))
            }
            Value::Array(items) => items.iter().any(|child| has_nested_id(child, depth + 1)),
            _ => false,
        }
    }
    /// `value` with its references inlined; `open` holds the references
    /// being expanded above it; `None` once the budget is spent.
    fn inlined(value: &Value, root: &Value, open: &mut Vec<String>, budget: &mut usize) -> Option<Value> {
        *budget = budget.checked_sub(1)?;
        Some(match value {
            Value::Object(map) => {
                let target = map.get("$ref").and_then(Value::as_str).filter(|r| !r.contains('%'));
                if let Some(reference) = target.and_then(|r| r.strip_prefix('#')) {
                    let resolved = root.pointer(reference).filter(|_| !open.iter().any(|o| o == reference));
                    if let Some(resolved) = resolved {
                        open.push(reference.to_owned());
                        let expanded = inlined(resolved, root, open, budget);
                        open.pop();
                        return expanded;
                    }
                }
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, child) in map {
                    out.insert(key.clone(), inlined(child, root, open, budget)?);
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| inlined(item, root, open, budget)).collect::<Option<_>>()?)
            }
            scalar => scalar.clone(),
        })
    }
    if has_nested_id(root, 0) {
        return;
    }
    if let Some(expanded) = inlined(root, root, &mut Vec::new(), &mut { INLINE_BUDGET }) {
        *root = expanded;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::at_pointer;

    /// Pointers resolve as serde_json's own `Value::pointer` resolves them,
    /// escapes, array indices and malformed pointers included.
    #[test]
    fn at_pointer_agrees_with_serde_json() {
        let value = json!({
            "id": "r-1",
            "a/b": 1,
            "m~n": 2,
            "~1": 3,
            "": {"": 4},
            "list": [10, 11, {"deep": [true]}],
            "nested": {"requestId": 7, "0": "zero"},
        });
        let pointers = [
            "",
            "/",
            "/id",
            "/a~1b",
            "/m~0n",
            "/~01",
            "//",
            "/list",
            "/list/0",
            "/list/2/deep/0",
            "/list/3",
            "/list/01",
            "/list/+1",
            "/list/-",
            "/list/1x",
            "/nested/requestId",
            "/nested/0",
            "/nested/missing",
            "/id/0",
            "id",
            "/list/18446744073709551616",
        ];
        for pointer in pointers {
            assert_eq!(at_pointer(&value, pointer), value.pointer(pointer), "{pointer:?}");
        }
    }

    /// A schema with its references inlined accepts and refuses what the
    /// schema as written does, with the same pointers: shared and nested
    /// definitions, a recursive type, a reference with siblings (ignored by
    /// draft-07), and a document with a nested `$id` (left as written).
    #[test]
    fn inlined_references_validate_as_written() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["id", "tree"],
            "properties": {
                "id": {"$ref": "#/definitions/Id"},
                "other": {"$ref": "#/definitions/Id", "type": "string"},
                "tree": {"$ref": "#/definitions/Tree"},
                "pair": {"type": "array", "items": [{"$ref": "#/definitions/Id"}, {"$ref": "#/definitions/Name"}]}
            },
            "definitions": {
                "Id": {"type": "integer", "minimum": 1},
                "Name": {"type": "string", "maxLength": 3},
                "Tree": {"type": "object", "required": ["name"], "properties": {
                    "name": {"$ref": "#/definitions/Name"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}
                }}
            }
        });
        let instances = [
            json!({"id": 1, "tree": {"name": "r"}}),
            json!({"id": 0, "tree": {"name": "root"}}),
            json!({"id": 1, "other": 5, "tree": {"name": "r", "children": [{"name": "a", "children": [{"name": 7}]}]}}),
            json!({"id": 1, "other": "five", "tree": {"name": "r"}, "pair": [2, "abcd"]}),
            json!({"id": "1", "tree": {"children": []}, "extra": true}),
        ];
        let inlined = super::compile_schema(&schema.to_string());
        let written = jsonschema::draft7::options().should_validate_formats(true).build(&schema).unwrap();
        for instance in &instances {
            let errors = |v: &jsonschema::Validator| {
                let mut errors: Vec<String> =
                    v.iter_errors(instance).map(|e| format!("{} {}", e.instance_path(), e.masked())).collect();
                errors.sort();
                errors
            };
            assert_eq!(inlined.is_valid(instance), written.is_valid(instance), "{instance}");
            assert_eq!(errors(&inlined), errors(&written), "{instance}");
        }
        // What is left of the references: only those that recur, one per copy of the type.
        let mut value = recursive_document();
        super::inline_local_refs(&mut value);
        let text = value.to_string();
        assert_eq!(text.matches("$ref").count(), 2, "{text}");
        assert!(!text.contains("#/definitions/Id"), "{text}");
        assert_eq!(value["properties"]["id"], json!({"type": "integer"}));
        // A nested `$id` moves the base of references: such a document stays as written.
        let with_id = json!({
            "properties": {"a": {"$id": "http://example.com/a.json", "type": "string"}, "b": {"$ref": "#/definitions/Id"}},
            "definitions": {"Id": {"type": "integer"}}
        });
        let mut value = with_id.clone();
        super::inline_local_refs(&mut value);
        assert_eq!(value, with_id);
    }

    fn recursive_document() -> serde_json::Value {
        json!({
            "properties": {"id": {"$ref": "#/definitions/Id"}, "tree": {"$ref": "#/definitions/Tree"}},
            "definitions": {
                "Id": {"type": "integer"},
                "Tree": {"properties": {"children": {"items": {"$ref": "#/definitions/Tree"}}}}
            }
        })
    }
}
