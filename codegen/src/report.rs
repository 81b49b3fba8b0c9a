//! What a loaded document means once served, as text a designer reads in
//! `specserve-tools lint` and the corpus keeps on record
//! (tests/corpus/contract.txt): the URLs a client may open, the credentials
//! each admits, and what the document says that is not served as written.

use crate::model::{Api, Enforcement, SchemeId};

/// Every URL a client may open, one per line: the URL, the server, the
/// channel; then each HTTP operation's method and URL.
pub fn served_urls(api: &Api) -> String {
    let urls = api.served_urls();
    let width = urls.iter().map(|u| u.url.len()).max().unwrap_or(0);
    let mut text = String::new();
    for url in urls {
        let server = url.server.map_or_else(String::new, |s| format!("server {s}, "));
        text += &format!("  {:width$}  {server}channel {}\n", url.url, url.channel);
    }
    let http: Vec<(String, String)> = api
        .http_routes()
        .iter()
        .map(|route| {
            let url = format!("{} {}{}", route.method, api.server_base(route.server), route.path);
            let server = &api.servers[route.server].key;
            (url, format!("server {server}, operation {}", api.operations[route.operation].key))
        })
        .collect();
    let width = http.iter().map(|(url, _)| url.len()).max().unwrap_or(0);
    for (url, what) in http {
        text += &format!("  {url:width$}  {what}\n");
    }
    text
}

/// What each WebSocket path asks at the upgrade and each operation on its
/// frames, one line each; empty when the document secures nothing.
pub fn enforced_security(api: &Api) -> String {
    let mut lines = Vec::new();
    for endpoint in api.endpoints().iter().filter(|e| !e.security.is_empty()) {
        lines.push(format!("  upgrade at {}: any of {}", endpoint.address, schemes(api, &endpoint.security)));
    }
    for operation in api.operations.iter().filter(|o| !o.security.is_empty()) {
        lines.push(format!("  operation {}: any of {}", operation.key, schemes(api, &operation.security)));
    }
    if lines.is_empty() {
        return String::new();
    }
    format!("security enforced:\n{}\n", lines.join("\n"))
}

fn schemes(api: &Api, ids: &[SchemeId]) -> String {
    let described: Vec<String> = ids
        .iter()
        .map(|id| {
            let scheme = &api.security_schemes[*id];
            let how = match &scheme.enforcement {
                Enforcement::Bearer => "Authorization: Bearer".to_owned(),
                Enforcement::Basic => "Authorization: Basic".to_owned(),
                Enforcement::Header(name) => format!("header {name}"),
                Enforcement::Query(name) => format!("query {name}"),
                Enforcement::Cookie(name) => format!("cookie {name}"),
                Enforcement::MessageOnly => "in messages only".to_owned(),
                Enforcement::NotEnforced(_) => "NOT ENFORCED".to_owned(),
            };
            let carried = scheme.message_property.as_ref().map(|p| format!(" or message property {p}"));
            let scopes =
                if scheme.scopes.is_empty() { String::new() } else { format!(", scopes {}", scheme.scopes.join(" ")) };
            format!("`{}` ({how}{}{scopes})", scheme.key, carried.unwrap_or_default())
        })
        .collect();
    described.join(", ")
}

/// What the document says that specserve does not do, one line each with its
/// JSON pointer (each is also among the warnings, which say why); empty when
/// everything is served as written.
pub fn not_served(api: &Api) -> String {
    if api.unsupported.is_empty() {
        return String::new();
    }
    let width = api.unsupported.iter().map(|u| u.pointer.len()).max().unwrap_or(0);
    let mut text = format!(
        "not served as written ({}): `--strict` refuses the document while any remain\n",
        api.unsupported.len()
    );
    for construct in &api.unsupported {
        text += &format!("  {:width$}  {}\n", construct.pointer, construct.construct);
    }
    text
}
