//! One JSON Schema file per message, for QA tools and SDK generators that do not
//! read AsyncAPI: `schemas/<route>.request.json`, `.reply.json` and `error.json`.

use crate::model::Api;

/// (relative path, pretty JSON) for every message.
pub fn files(api: &Api) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for route in &api.routes {
        files.push((format!("schemas/{}.request.json", route.channel), pretty(&route.request.json_schema)));
        files.push((format!("schemas/{}.reply.json", route.channel), pretty(&route.reply.json_schema)));
    }
    files.push(("schemas/error.json".to_owned(), pretty(&api.error.message.json_schema)));
    files
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
