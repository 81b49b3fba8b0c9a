//! Outgoing frames: replies, errors and events, in the shape their message's
//! schema gives. The runtime writes what the application does not choose (the
//! schema's `const` properties, the request's discriminator where a reply
//! echoes it, the correlation id) and the handler's value supplies the rest.
//! The body is serialized once and spliced after those properties, with no
//! intermediate JSON tree.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;

/// A property the runtime writes itself, before the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    /// A `const` of the schema (its JSON text).
    Const(&'static str),
    /// The request's discriminator value, where a reply declares the same
    /// property without a `const` (an error reply naming the failed route).
    Discriminator,
    /// The request's correlation id.
    CorrelationId,
    /// The caller's credential, where a request message carries it
    /// (`x-specserve-message-property`; written by clients only).
    Credential,
}

/// Where the handler's value goes in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Its fields follow the leading properties (an object body).
    Flat,
    /// It is the value of this property (an error body under `error`).
    Under(&'static str),
    /// It is the whole payload (a union, an array, a scalar).
    Whole,
}

/// How one outgoing message is laid out: generated per message from its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The properties written first, in schema order, by name.
    pub leading: &'static [(&'static str, Lead)],
    /// Where the value goes.
    pub body: Body,
    /// The path's frames are `{"headers", "payload"}` objects.
    pub enveloped: bool,
}

impl Shape {
    /// An object body whose fields follow `leading`.
    pub const fn flat(leading: &'static [(&'static str, Lead)]) -> Shape {
        Shape { leading, body: Body::Flat, enveloped: false }
    }

    /// `leading`, then the body as the value of `property`.
    pub const fn under(leading: &'static [(&'static str, Lead)], property: &'static str) -> Shape {
        Shape { leading, body: Body::Under(property), enveloped: false }
    }

    /// The body as the whole payload, with `leading` put into it when it is an object.
    pub const fn whole(leading: &'static [(&'static str, Lead)]) -> Shape {
        Shape { leading, body: Body::Whole, enveloped: false }
    }

    /// The same layout inside `{"payload": ..}`.
    pub const fn enveloped(self) -> Shape {
        Shape { enveloped: true, ..self }
    }
}

/// What the runtime fills in: for a reply, what the request gave it to echo;
/// for a client's request, its correlation id and credential.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo<'a> {
    /// The request's discriminator value as JSON text, when it named a
    /// known message (the route's, written once by the generator).
    pub discriminator: Option<&'a str>,
    /// The correlation id.
    pub correlation: Option<&'a Value>,
    /// The credential.
    pub credential: Option<&'a str>,
}

/// The whole frame for `value` laid out as `shape`, echoing `echo`.
/// A value that cannot be serialized is a codegen bug; it becomes an `internal`
/// error in the runtime's error frame.
pub fn encode<T: Serialize + ?Sized>(shape: &Shape, echo: Echo<'_>, value: &T) -> Result<String, ApiError> {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let mut out = String::with_capacity(body.len() + 96);
    if shape.enveloped {
        out.push_str("{\"payload\":");
    }
    match shape.body {
        Body::Whole if shape.leading.is_empty() => out.push_str(&body),
        Body::Whole => {
            // Leading properties go into the value itself, when it is an object.
            let mut whole: Value = serde_json::from_str(&body).map_err(ApiError::internal)?;
            if let Value::Object(map) = &mut whole {
                for (name, lead) in shape.leading {
                    if let Some(value) = lead_value(lead, echo) {
                        map.insert((*name).to_owned(), value);
                    }
                }
            }
            out.push_str(&whole.to_string());
        }
        Body::Flat | Body::Under(_) => {
            out.push('{');
            let mut first = true;
            for (name, lead) in shape.leading {
                match lead {
                    Lead::Const(json) => {
                        push_key(&mut out, &mut first, name);
                        out.push_str(json);
                    }
                    Lead::Discriminator => {
                        if let Some(json) = echo.discriminator {
                            push_key(&mut out, &mut first, name);
                            out.push_str(json);
                        }
                    }
                    Lead::Credential => push_echoed(&mut out, &mut first, name, echo.credential),
                    Lead::CorrelationId => {
                        if let Some(id) = echo.correlation {
                            push_key(&mut out, &mut first, name);
                            // `Value`'s Display is its JSON text, written without a copy.
                            let _ = write!(out, "{id}");
                        }
                    }
                }
            }
            match shape.body {
                Body::Under(key) => {
                    push_key(&mut out, &mut first, key);
                    out.push_str(&body);
                }
                _ => {
                    // An object body: splice its fields after the leading ones.
                    let inner = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')).unwrap_or_default();
                    if !inner.is_empty() {
                        if !first {
                            out.push(',');
                        }
                        out.push_str(inner);
                    }
                }
            }
            out.push('}');
        }
    }
    if shape.enveloped {
        out.push('}');
    }
    Ok(out)
}

fn lead_value(lead: &Lead, echo: Echo<'_>) -> Option<Value> {
    match lead {
        Lead::Const(json) => serde_json::from_str(json).ok(),
        Lead::Discriminator => echo.discriminator.and_then(|json| serde_json::from_str(json).ok()),
        Lead::CorrelationId => echo.correlation.cloned(),
        Lead::Credential => echo.credential.map(|c| Value::String(c.to_owned())),
    }
}

/// `key` with the echoed string `text`, when the request gave one.
fn push_echoed(out: &mut String, first: &mut bool, key: &str, text: Option<&str>) {
    if let Some(text) = text {
        push_key(out, first, key);
        push_json_string(out, text);
    }
}

fn push_key(out: &mut String, first: &mut bool, key: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    push_json_string(out, key);
    out.push(':');
}

/// `text` as a JSON string, exactly as serde_json writes it. Keys and echoed
/// values rarely need escapes; those that do not are copied between quotes
/// (serde_json's own path allocated a string per key, ~400 instructions).
fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Serializing a &str cannot fail.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// Whether `frame` carries every `const` of `shape` (how a client tells which
/// of an operation's replies, or which event, a frame is).
pub fn has_consts(shape: &Shape, frame: &Value) -> bool {
    let payload = if shape.enveloped { frame.get("payload").unwrap_or(&Value::Null) } else { frame };
    shape.leading.iter().all(|(name, lead)| match lead {
        Lead::Const(json) => {
            serde_json::from_str::<Value>(json).is_ok_and(|expected| payload.get(*name) == Some(&expected))
        }
        _ => true,
    })
}

/// The runtime's own error frame, for specs that declare no error message:
/// `{"<correlation>":..,"error":{"code","message","details"?}}`.
pub const RUNTIME_ERROR: Shape = Shape { leading: &[], body: Body::Under("error"), enveloped: false };

/// `value` read as `T` and written back: whether a payload survives the
/// generated types unchanged (the generated `round_trip`).
pub fn round_trip<T: Serialize + serde::de::DeserializeOwned>(value: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// [`round_trip`] for a message without fields of its own: `{}` comes back,
/// anything else is refused.
pub fn round_trip_empty(value: Value) -> Result<Value, String> {
    match &value {
        Value::Object(map) if map.is_empty() => Ok(value),
        other => Err(format!("a message without fields, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const REPLY: Shape = Shape {
        leading: &[
            ("success", Lead::Const("true")),
            ("channel", Lead::Const("\"user/create\"")),
            ("requestId", Lead::CorrelationId),
        ],
        body: Body::Flat,
        enveloped: false,
    };

    #[test]
    fn a_flat_reply_keeps_the_seed_protocols_bytes() {
        let id = json!("c-1");
        let echo = Echo { discriminator: Some("\"user/create\""), correlation: Some(&id), credential: None };
        let text = encode(&REPLY, echo, &json!({"userId": 2})).unwrap();
        assert_eq!(text, r#"{"success":true,"channel":"user/create","requestId":"c-1","userId":2}"#);
        let text = encode(&REPLY, Echo::default(), &json!({})).unwrap();
        assert_eq!(text, r#"{"success":true,"channel":"user/create"}"#);
    }

    #[test]
    fn an_error_goes_under_its_property_and_echoes_the_route() {
        const ERROR: Shape = Shape {
            leading: &[
                ("success", Lead::Const("false")),
                ("channel", Lead::Discriminator),
                ("requestId", Lead::CorrelationId),
            ],
            body: Body::Under("error"),
            enveloped: false,
        };
        let text = encode(&ERROR, Echo::default(), &json!({"code": "bad_request"})).unwrap();
        assert_eq!(text, r#"{"success":false,"error":{"code":"bad_request"}}"#);
        let id = json!(42);
        let echo = Echo { discriminator: Some("\"user/read\""), correlation: Some(&id), credential: None };
        let text = encode(&ERROR, echo, &json!({"code": "forbidden"})).unwrap();
        assert_eq!(text, r#"{"success":false,"channel":"user/read","requestId":42,"error":{"code":"forbidden"}}"#);
    }

    #[test]
    fn a_whole_body_gets_its_leading_properties_inside() {
        const PONG: Shape = Shape {
            leading: &[("event", Lead::Const("\"pong\"")), ("reqid", Lead::CorrelationId)],
            body: Body::Whole,
            enveloped: true,
        };
        let id = json!(42);
        let echo = Echo { correlation: Some(&id), ..Echo::default() };
        let text = encode(&PONG, echo, &json!({})).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, json!({"payload": {"event": "pong", "reqid": 42}}));
    }

    /// Keys and echoed strings read exactly as serde_json writes them, with
    /// or without characters to escape.
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "requestId",
            "user/create",
            "é ü 日本",
            "quote\"d",
            "back\\slash",
            "tab\tnew\nline",
            "\u{1}\u{1f}",
            "\u{7f}",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }
}
