//! HTML documentation: one self-contained page (no network fetches, readable on a
//! phone) rendered by askama from the model, with an anchor per route.

use askama::Template;

use crate::error::{Result, SpecError};
use crate::model::{API_TOKEN, Api, CHANNEL, Message, REQUEST_ID, Route, SUCCESS};
use crate::schema::{Kind, ObjectRules, Schema, resolve};
use crate::types::TypeSpace;

/// The documentation page.
pub fn html(api: &Api) -> Result<String> {
    let space = TypeSpace::new(&api.schemas);
    let routes = api.routes.iter().map(|route| route_view(api, &space, route)).collect();
    let code_schema = api.schemas.iter().find(|(name, _)| name == "ErrorCode").map(|(_, s)| s);
    let page = DocsPage {
        title: api.info.title.clone(),
        version: api.info.version.clone(),
        description: prose(api.info.description.as_deref().unwrap_or_default()),
        address: api.channel.address.clone(),
        servers: api.server_urls().into_iter().map(|(name, url)| (name.to_owned(), url)).collect(),
        security: api
            .security_schemes
            .iter()
            .map(|(name, s)| (name.clone(), prose(s.description.as_deref().unwrap_or_default())))
            .collect(),
        routes,
        error_codes: api.error.codes.clone(),
        error_codes_description: prose(code_schema.and_then(|s| s.description.as_deref()).unwrap_or_default()),
        error_fields: fields(api, &space, &api.error.message.frame, ""),
        error_examples: examples(&api.error.message),
        close_codes: api.channel.close_codes.clone(),
    };
    page.render().map_err(|e| SpecError::new("", format!("docs template error: {e}")))
}

#[derive(Template)]
#[template(path = "docs.html.askama")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    address: String,
    servers: Vec<(String, String)>,
    security: Vec<(String, String)>,
    routes: Vec<RouteView>,
    error_codes: Vec<String>,
    error_codes_description: String,
    error_fields: Vec<FieldRow>,
    error_examples: Vec<ExampleView>,
    close_codes: Vec<crate::model::CloseCode>,
}

struct RouteView {
    anchor: String,
    channel: String,
    title: String,
    summary: String,
    description: String,
    secured: bool,
    rate_limit: String,
    exclusive: bool,
    request_fields: Vec<FieldRow>,
    reply_fields: Vec<FieldRow>,
    request_examples: Vec<ExampleView>,
    reply_examples: Vec<ExampleView>,
}

struct FieldRow {
    name: String,
    ty: String,
    required: bool,
    constraints: String,
    description: String,
}

struct ExampleView {
    name: String,
    json: String,
}

fn route_view(api: &Api, space: &TypeSpace<'_>, route: &Route) -> RouteView {
    RouteView {
        anchor: anchor(&route.channel),
        channel: route.channel.clone(),
        title: route.title.clone().unwrap_or_else(|| route.channel.clone()),
        summary: prose(route.summary.as_deref().unwrap_or_default()),
        description: prose(route.description.as_deref().unwrap_or_default()),
        secured: route.security.is_some(),
        rate_limit: route.rate_limit.clone().unwrap_or_default(),
        exclusive: route.exclusive,
        request_fields: fields(api, space, &route.request.frame, ""),
        reply_fields: fields(api, space, &route.reply.frame, ""),
        request_examples: examples(&route.request),
        reply_examples: examples(&route.reply),
    }
}

/// `user/read` -> `user-read`: the route's anchor.
pub fn anchor(channel: &str) -> String {
    channel.replace('/', "-")
}

/// Field rows of an object, nested objects flattened as `payload.email`.
fn fields(api: &Api, space: &TypeSpace<'_>, object: &ObjectRules, prefix: &str) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    for property in &object.properties {
        let name = format!("{prefix}{}", property.name);
        let target = resolve(&property.schema, &api.schemas);
        let description = match (prefix.is_empty(), property.name.as_str()) {
            (true, CHANNEL) => "The route.".to_owned(),
            (true, REQUEST_ID) => "Optional; echoed in the reply.".to_owned(),
            (true, API_TOKEN) => "The token, unless the connection sent `Authorization: Bearer` at upgrade.".to_owned(),
            (true, SUCCESS) => "`true` on success, `false` on the error reply.".to_owned(),
            _ => space.describe(&property.schema).unwrap_or_default().to_owned(),
        };
        rows.push(FieldRow {
            name: name.clone(),
            ty: type_name(target),
            required: property.required,
            constraints: prose(
                space.constraints(&property.schema).unwrap_or_default().trim_start_matches("Constraints: "),
            ),
            description: prose(&description),
        });
        let nested = match &target.kind {
            Kind::Object(inner) => Some(inner),
            Kind::Array(array) => match &resolve(&array.items, &api.schemas).kind {
                Kind::Object(inner) => Some(inner),
                _ => None,
            },
            _ => None,
        };
        if let Some(inner) = nested {
            let sep = if matches!(target.kind, Kind::Array(_)) { "[]." } else { "." };
            rows.extend(fields(api, space, inner, &format!("{name}{sep}")));
        }
    }
    rows
}

fn type_name(schema: &Schema) -> String {
    let base = match &schema.kind {
        Kind::Ref(name) => name.clone(),
        Kind::Any => "any".into(),
        Kind::Boolean => "boolean".into(),
        Kind::Integer(_) => "integer".into(),
        Kind::Number(_) => "number".into(),
        Kind::String(_) => "string".into(),
        Kind::Const(value) => format!("constant {value}"),
        Kind::Enum(values) => format!("one of {}", values.join(", ")),
        Kind::Array(_) => "array".into(),
        Kind::Object(_) => "object".into(),
        Kind::Tagged(tagged) => format!("one of (by `{}`)", tagged.tag),
    };
    if schema.nullable { format!("{base} or null") } else { base }
}

fn examples(message: &Message) -> Vec<ExampleView> {
    message
        .examples
        .iter()
        .map(|e| ExampleView {
            name: e.summary.clone().or_else(|| e.name.clone()).unwrap_or_default(),
            json: serde_json::to_string_pretty(&e.payload).unwrap_or_default(),
        })
        .collect()
}

/// Description text as HTML: escaped, `code` spans kept, blank lines as paragraphs.
fn prose(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(&part.replace("\n\n", "</p><p>"));
        }
    }
    out.trim().to_owned()
}
