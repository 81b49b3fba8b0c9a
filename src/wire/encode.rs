//! Reply frames. Success replies keep the seed protocol's flat bodies
//! (`{"success":true,"userId":2}`) and add `channel` and `requestId`; the body
//! struct is serialized once and spliced after the envelope, with no
//! intermediate JSON tree.

use serde::Serialize;

use super::ApiError;

/// `{"success":true?,"channel":..,"requestId":..?, <body fields>}`.
pub fn encode_success<T: Serialize>(channel: &str, request_id: Option<&str>, success: bool, body: &T) -> String {
    let mut out = String::with_capacity(96);
    out.push('{');
    if success {
        out.push_str("\"success\":true,");
    }
    push_envelope(&mut out, Some(channel), request_id);
    match serde_json::to_string(body) {
        Ok(body) if body.len() > 2 => {
            out.push(',');
            out.push_str(&body[1..]);
        }
        Ok(_) => out.push('}'),
        Err(error) => return encode_error(Some(channel), request_id, &ApiError::internal(error)),
    }
    out
}

/// `{"success":false,"channel":..?,"requestId":..?,"error":{..}}`.
pub fn encode_error(channel: Option<&str>, request_id: Option<&str>, error: &ApiError) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"success\":false");
    if channel.is_some() || request_id.is_some() {
        out.push(',');
        push_envelope(&mut out, channel, request_id);
    }
    out.push_str(",\"error\":");
    // An ErrorBody of strings and enums always serializes.
    out.push_str(&serde_json::to_string(&error.body()).unwrap_or_else(|_| "{}".into()));
    out.push('}');
    out
}

fn push_envelope(out: &mut String, channel: Option<&str>, request_id: Option<&str>) {
    if let Some(channel) = channel {
        out.push_str("\"channel\":");
        push_json_string(out, channel);
    }
    if let Some(id) = request_id {
        if channel.is_some() {
            out.push(',');
        }
        out.push_str("\"requestId\":");
        push_json_string(out, id);
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}
