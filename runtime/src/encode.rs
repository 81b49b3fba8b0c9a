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
    lay_out(shape, echo, &body)
}

/// The whole frame for `error` laid out as `shape`: [`encode`] of its
/// [`ApiError::body`], written by hand instead of through serde (every
/// refused frame is answered this way; serde's writer cost ~2k instructions
/// per reply, and building the body copied its details, #33).
pub fn encode_error(shape: &Shape, echo: Echo<'_>, error: &ApiError) -> Result<String, ApiError> {
    lay_out(shape, echo, &error_body(error))
}

/// `error`'s body as JSON, exactly as serde writes [`ApiError::body`]:
/// `{"code","message","details"?}`, never the source.
fn error_body(error: &ApiError) -> String {
    let details = error.details();
    let mut out = String::with_capacity(64 + error.message().len() + 96 * details.len());
    out.push_str("{\"code\":");
    push_json_string(&mut out, error.code().as_str());
    out.push_str(",\"message\":");
    push_json_string(&mut out, error.message());
    if !details.is_empty() {
        out.push_str(",\"details\":[");
        for (index, detail) in details.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str("{\"pointer\":");
            push_json_string(&mut out, &detail.pointer);
            out.push_str(",\"keyword\":");
            push_json_string(&mut out, &detail.keyword);
            out.push_str(",\"message\":");
            push_json_string(&mut out, &detail.message);
            out.push('}');
        }
        out.push(']');
    }
    out.push('}');
    out
}

/// `body` (a serialized value) laid out as `shape`, echoing `echo`.
fn lay_out(shape: &Shape, echo: Echo<'_>, body: &str) -> Result<String, ApiError> {
    let mut out = String::with_capacity(body.len() + 96);
    if shape.enveloped {
        out.push_str("{\"payload\":");
    }
    match shape.body {
        Body::Whole if shape.leading.is_empty() => out.push_str(body),
        Body::Whole => {
            // Leading properties go into the value itself, when it is an object.
            let mut whole: Value = serde_json::from_str(body).map_err(ApiError::internal)?;
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
                    out.push_str(body);
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

/// `text` as a JSON string, exactly as serde_json writes it (the same
/// escapes: `\"`, `\\`, the short forms of control characters, `\u00xx` for
/// the others), copied in runs between escapes straight into `out`: every
/// key, echoed id and error text goes through here (serde's writer cost
/// ~200 instructions per string, #33).
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(text.len() + 2);
    out.push('"');
    let mut run = 0;
    while let Some(at) = next_escape(bytes, run) {
        // Every escaped byte is ASCII, so `run` and `at` are char boundaries.
        out.push_str(&text[run..at]);
        match bytes[at] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            control => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(control >> 4)]));
                out.push(char::from(HEX[usize::from(control & 0xf)]));
            }
        }
        run = at + 1;
    }
    out.push_str(&text[run..]);
    out.push('"');
}

/// The index of the first byte at or after `from` that JSON must escape (a
/// quote, a backslash, a control character), looked for eight bytes at a
/// time: a word holds one exactly when one of the bit tests below is set.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let escaped = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        if below_space | has_zero(word ^ (ONES * u64::from(b'"'))) | has_zero(word ^ (ONES * u64::from(b'\\'))) != 0 {
            break;
        }
        at += 8;
    }
    bytes.get(at..)?.iter().position(escaped).map(|offset| at + offset)
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
            "\u{8}\u{c}\r\u{0}",
            "a\"b\\c\u{1b}d é\n",
            "eight by\"sixteen bytes and a tail\\",
            "no escape in a text longer than eight bytes",
            "\u{ff}\u{80}\u{7f}\u{20}\u{21}~ all near a bound, and a quote at last\"",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
        // Every ASCII byte at every offset of an eight-byte word and past it.
        for byte in 0..=0x7f_u8 {
            for before in 0..17 {
                let text = format!("{}{}{}", "a".repeat(before), char::from(byte), "b".repeat(17 - before));
                let mut out = String::new();
                push_json_string(&mut out, &text);
                assert_eq!(out, serde_json::to_string(&text).unwrap(), "{text:?}");
            }
        }
    }

    /// An error's body reads exactly as serde writes its `ErrorBody`: with
    /// and without details, with texts that need escapes, without its source.
    #[test]
    fn an_error_body_is_what_serde_writes() {
        use crate::error::{Code, Detail};
        let detail = |pointer: &str, message: &str| Detail {
            pointer: pointer.into(),
            keyword: "type".into(),
            message: message.into(),
        };
        let errors = [
            ApiError::bad_request("frame is not valid JSON"),
            ApiError::new(Code::new("conflict"), "the \"name\" is taken\n"),
            ApiError::validation_failed(vec![detail("/payload/id", "value is not of type \"integer\"")]),
            ApiError::validation_failed(vec![detail("/payload/a~1b", "x"), detail("", "tab\there")]),
            ApiError::internal("the database said no"),
        ];
        for error in errors {
            assert_eq!(error_body(&error), serde_json::to_string(&error.body()).unwrap());
            let text = encode_error(&RUNTIME_ERROR, Echo::default(), &error).unwrap();
            assert_eq!(text, encode(&RUNTIME_ERROR, Echo::default(), &error.body()).unwrap());
            assert!(!text.contains("the database said no"), "{text}");
        }
    }
}
