//! `generated/schemas/`: one standalone JSON Schema (draft-07) per message
//! payload and headers, for QA tools and other languages' validators.

use crate::model::Api;

/// (path under `schemas/`, contents) for every message.
pub fn files(api: &Api) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for message in &api.messages {
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
        if let Some(payload) = &message.payload_json {
            files.push((format!("schemas/{}.payload.json", message.key), pretty(payload)));
        }
        if let Some(headers) = &message.headers_json {
            files.push((format!("schemas/{}.headers.json", message.key), pretty(headers)));
        }
    }
    files
}
