//! HTML documentation: one self-contained page (no network fetches, readable on
//! a phone) rendered by askama from the model: how to connect (paths,
//! parameters, query; served, the URLs on the server the page came from),
//! every operation with its messages as collapsible field tables and
//! examples, events the server pushes, errors, security and close codes; a
//! contents sidebar with a search over the operations, and a link to the
//! document itself (`asyncapi.yaml`, beside the page). Its one inline script
//! is allowed by its hash, like its style (the server's `docs_policy`).

use askama::Template;
use heck::ToLowerCamelCase;

use crate::diagnostics::{Diagnostics, SpecError};
use crate::model::binding::{Body, Lead};
use crate::model::{Action, Api, Enforcement, MessageId, Scheduling};
use crate::schema::{Additional, SchemaId, Shape};
use crate::types::{constraints, describe};

/// The documentation page.
pub fn html(api: &Api) -> Result<String, Diagnostics> {
    let endpoints = api.endpoints();
    let paths = endpoints
        .iter()
        .map(|e| PathView {
            address: e.address.clone(),
            channels: e
                .channels
                .iter()
                .map(|c| {
                    let channel = &api.channels[*c];
                    ChannelView {
                        key: channel.key.clone(),
                        title: channel.title.clone().unwrap_or_default(),
                        description: prose(
                            channel.description.as_deref().or(channel.summary.as_deref()).unwrap_or_default(),
                        ),
                        parameters: channel
                            .parameters
                            .iter()
                            .map(|p| {
                                let mut text = p.description.clone().unwrap_or_default();
                                if !p.allowed.is_empty() {
                                    text.push_str(&format!(" One of: `{}`.", p.allowed.join("`, `")));
                                }
                                (p.name.clone(), prose(text.trim()))
                            })
                            .collect(),
                        query: channel.query.map(|q| fields(api, q, "")).unwrap_or_default(),
                    }
                })
                .collect(),
            discriminator: e.discriminator.clone().unwrap_or_default(),
            enveloped: e.enveloped,
        })
        .collect();
    let discriminator = endpoints.iter().find_map(|e| e.discriminator.clone());
    let http_routes = api.http_routes();
    let mut operations = Vec::new();
    for (id, op) in api.operations.iter().enumerate() {
        let http: Vec<String> =
            http_routes.iter().filter(|r| r.operation == id).map(|r| format!("{} {}", r.method, r.path)).collect();
        let credential = api.credential_property(id);
        let message =
            |m: MessageId, credential: Option<&str>| message_view(api, m, discriminator.as_deref(), credential);
        let title = op.title.clone().or_else(|| op.summary.clone()).unwrap_or_else(|| op.key.clone());
        let messages = op.messages.iter().chain(op.reply.iter().flat_map(|r| &r.messages));
        // What the page's search matches: the words a reader would type.
        let search = [op.key.as_str(), &title, &api.channels[op.channel].key, &op.group]
            .into_iter()
            .map(str::to_owned)
            .chain(messages.map(|m| api.messages[*m].key.clone()))
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        operations.push(OperationView {
            search,
            anchor: anchor(&op.key),
            key: op.key.clone(),
            title,
            summary: prose(op.summary.as_deref().unwrap_or_default()),
            description: prose(op.description.as_deref().unwrap_or_default()),
            receive: op.action == Action::Receive,
            channel: api.channels[op.channel].key.clone(),
            group: op.group.clone(),
            client_method: match op.http {
                Some(_) => format!("new HttpApi(url).{}", op.key.to_lower_camel_case()),
                None => format!("client.{}.{}", op.group.to_lower_camel_case(), op.method.to_lower_camel_case()),
            },
            http,
            served_by: op.handler.map(|h| anchor(&api.operations[h].key)).unwrap_or_default(),
            security: op.security.iter().map(|s| api.security_schemes[*s].key.clone()).collect(),
            scopes: op
                .security
                .iter()
                .map(|s| api.security_schemes[*s].scopes.join(" + "))
                .filter(|scopes| !scopes.is_empty())
                .collect(),
            rate_limit: op.rate_limit.clone().unwrap_or_default(),
            exclusive: op.scheduling == Scheduling::Exclusive,
            ordered: op.scheduling == Scheduling::Ordered,
            audit: op.audit.as_ref().map(|a| a.event.clone()).unwrap_or_default(),
            messages: op.messages.iter().map(|m| message(*m, credential)).collect(),
            replies: api.success_replies(op).into_iter().map(|m| message(m, None)).collect(),
            has_reply: op.reply.is_some(),
            error: api.error_reply(op).map(|m| anchor(&format!("message-{}", api.messages[m].key))),
        });
    }
    let errors: Vec<MessageView> = api
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.error_body.is_some())
        .map(|(i, _)| message_view(api, i, discriminator.as_deref(), None))
        .collect();
    let codes_description = api
        .messages
        .iter()
        .find(|m| m.error_body.is_some())
        .and_then(|m| {
            let under = m.error_body.as_deref()?.trim_start_matches('/');
            let Shape::Object(rules) = &api.schemas.get(m.payload?).shape else { return None };
            let body = rules.properties.iter().find(|p| p.name == under)?;
            let Shape::Object(body) = &api.schemas.get(body.schema).shape else { return None };
            let code = body.properties.iter().find(|p| p.name == "code")?;
            describe(api, code.schema).map(prose)
        })
        .unwrap_or_default();
    let page = DocsPage {
        title: api.info.title.clone(),
        version: api.info.version.clone(),
        asyncapi: api.asyncapi.clone(),
        description: prose(api.info.description.as_deref().unwrap_or_default()),
        servers: api
            .servers
            .iter()
            .map(|s| {
                let pathname = s.pathname.as_deref().unwrap_or("").trim_end_matches('/');
                let mut description = s.description.clone().unwrap_or_default();
                if !s.security.is_empty() {
                    let schemes: Vec<&str> = s.security.iter().map(|i| api.security_schemes[*i].key.as_str()).collect();
                    description.push_str(&format!(
                        "\n\nA connection must present a credential of one of `{}`, checked at the upgrade (401 otherwise).",
                        schemes.join("`, `")
                    ));
                }
                (s.key.clone(), format!("{}://{}{pathname}", s.protocol, s.host), prose(&description))
            })
            .collect(),
        any_enveloped: endpoints.iter().any(|e| e.enveloped),
        paths,
        security: api
            .security_schemes
            .iter()
            .map(|s| {
                let how = match &s.enforcement {
                    Enforcement::Bearer => "`Authorization: Bearer <credential>` on the upgrade".to_owned(),
                    Enforcement::Basic => "`Authorization: Basic <base64 of user:password>` on the upgrade".to_owned(),
                    Enforcement::Header(h) => format!("the `{h}` header of the upgrade"),
                    Enforcement::Query(q) => format!("the `{q}` query parameter of the upgrade"),
                    Enforcement::Cookie(c) => format!("the `{c}` cookie"),
                    Enforcement::MessageOnly => "each message".to_owned(),
                    Enforcement::NotEnforced(reason) => format!("documented only, not enforced: {reason}"),
                };
                let how = match &s.message_property {
                    Some(p) => format!("{how}, or the `{p}` property of each message (which wins)"),
                    None => how,
                };
                let how = match s.scopes.as_slice() {
                    [] => how,
                    scopes => format!("{how}; needs the scopes `{}`", scopes.join("`, `")),
                };
                (s.key.clone(), prose(&how), prose(s.description.as_deref().unwrap_or_default()))
            })
            .collect(),
        groups: api.groups().into_iter().map(str::to_owned).collect(),
        operations,
        errors,
        error_codes: api.error_codes(),
        codes_description,
        close_codes: api.close_codes(),
    };
    page.render().map_err(|e| SpecError::new("", format!("docs template error: {e}")).into())
}

#[derive(Template)]
#[template(path = "docs.html.askama")]
struct DocsPage {
    title: String,
    version: String,
    asyncapi: String,
    description: String,
    servers: Vec<(String, String, String)>,
    paths: Vec<PathView>,
    any_enveloped: bool,
    security: Vec<(String, String, String)>,
    groups: Vec<String>,
    operations: Vec<OperationView>,
    errors: Vec<MessageView>,
    error_codes: Vec<String>,
    codes_description: String,
    close_codes: Vec<crate::model::CloseCode>,
}

struct PathView {
    address: String,
    channels: Vec<ChannelView>,
    discriminator: String,
    enveloped: bool,
}

struct ChannelView {
    key: String,
    title: String,
    description: String,
    parameters: Vec<(String, String)>,
    query: Vec<FieldRow>,
}

struct OperationView {
    /// Lower-case words the page's search matches (key, title, channel, group, messages).
    search: String,
    anchor: String,
    key: String,
    title: String,
    summary: String,
    description: String,
    receive: bool,
    channel: String,
    group: String,
    client_method: String,
    /// `POST /api/auth/register`, for an operation served over HTTP.
    http: Vec<String>,
    /// The operation whose handler serves it (`x-specserve-handler`).
    served_by: String,
    security: Vec<String>,
    /// Per scheme that needs scopes: what a credential must hold for it.
    scopes: Vec<String>,
    rate_limit: String,
    exclusive: bool,
    ordered: bool,
    audit: String,
    messages: Vec<MessageView>,
    replies: Vec<MessageView>,
    has_reply: bool,
    error: Option<String>,
}

struct MessageView {
    anchor: String,
    key: String,
    title: String,
    summary: String,
    /// The properties the runtime writes: (name, what).
    runtime: Vec<(String, String)>,
    fields: Vec<FieldRow>,
    headers: Vec<FieldRow>,
    examples: Vec<(String, String)>,
}

struct FieldRow {
    name: String,
    ty: String,
    required: bool,
    constraints: String,
    description: String,
}

fn message_view(api: &Api, id: MessageId, discriminator: Option<&str>, credential: Option<&str>) -> MessageView {
    let message = &api.messages[id];
    let layout = api.layout(id, discriminator, credential);
    let runtime = layout
        .leading
        .iter()
        .map(|(name, lead)| {
            let what = match lead {
                Lead::Const(json) => format!("always `{json}`"),
                Lead::Discriminator => "the request's value, echoed".to_owned(),
                Lead::CorrelationId => "the correlation id (optional in requests, echoed in replies)".to_owned(),
                Lead::Credential => "the credential, unless the connection sent one at upgrade".to_owned(),
            };
            (name.clone(), prose(&what))
        })
        .collect();
    let rows = match (&layout.body, message.payload) {
        (_, None) => Vec::new(),
        (Body::Whole, Some(payload)) => fields(api, payload, ""),
        (_, Some(payload)) => fields(api, payload, "")
            .into_iter()
            .filter(|row| {
                !layout.leading.iter().any(|(name, _)| row.name == *name || row.name.starts_with(&format!("{name}.")))
            })
            .collect(),
    };
    MessageView {
        anchor: anchor(&format!("message-{}", message.key)),
        key: message.key.clone(),
        title: message.title.clone().or_else(|| message.name.clone()).unwrap_or_else(|| message.key.clone()),
        summary: prose(message.summary.as_deref().or(message.description.as_deref()).unwrap_or_default()),
        runtime,
        fields: rows,
        headers: message.headers.map(|h| fields(api, h, "")).unwrap_or_default(),
        examples: message
            .examples
            .iter()
            .map(|e| {
                let value = match (&e.headers, &e.payload) {
                    (Some(headers), Some(payload)) => serde_json::json!({"headers": headers, "payload": payload}),
                    (_, Some(payload)) => payload.clone(),
                    (Some(headers), None) => serde_json::json!({ "headers": headers }),
                    (None, None) => serde_json::Value::Null,
                };
                (
                    e.summary.clone().or_else(|| e.name.clone()).unwrap_or_default(),
                    serde_json::to_string_pretty(&value).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// Field rows of an object, nested objects flattened as `payload.email`.
fn fields(api: &Api, id: SchemaId, prefix: &str) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    let mut seen = Vec::new();
    collect(api, id, prefix, &mut rows, &mut seen);
    rows
}

fn collect(api: &Api, id: SchemaId, prefix: &str, rows: &mut Vec<FieldRow>, seen: &mut Vec<SchemaId>) {
    if seen.contains(&id) || seen.len() > 8 {
        return; // recursion: shown once
    }
    seen.push(id);
    if let Shape::Object(rules) = &api.schemas.get(id).shape {
        for property in &rules.properties {
            let name = format!("{prefix}{}", property.name);
            let target = api.schemas.get(property.schema);
            rows.push(FieldRow {
                name: name.clone(),
                ty: type_name(api, property.schema),
                required: property.required,
                constraints: prose(
                    constraints(api, property.schema).unwrap_or_default().trim_start_matches("Constraints: "),
                ),
                description: prose(
                    property.description.as_deref().or_else(|| describe(api, property.schema)).unwrap_or_default(),
                ),
            });
            match &target.shape {
                Shape::Object(_) => collect(api, property.schema, &format!("{name}."), rows, seen),
                Shape::Array(array) => {
                    if let Some(items) = array.items
                        && matches!(api.schemas.get(items).shape, Shape::Object(_))
                    {
                        collect(api, items, &format!("{name}[]."), rows, seen);
                    }
                }
                _ => {}
            }
        }
        if let Additional::Schema(extra) = rules.additional {
            rows.push(FieldRow {
                name: format!("{prefix}*"),
                ty: type_name(api, extra),
                required: false,
                constraints: String::new(),
                description: "Any other property.".into(),
            });
        }
    }
    seen.pop();
}

fn type_name(api: &Api, id: SchemaId) -> String {
    let def = api.schemas.get(id);
    let base = match &def.shape {
        Shape::Any => "any".into(),
        Shape::Never => "nothing".into(),
        Shape::Null => "null".into(),
        Shape::Boolean => "boolean".into(),
        Shape::Integer(_) => "integer".into(),
        Shape::Number(_) => "number".into(),
        Shape::String(_) => "string".into(),
        Shape::Const(value) => format!("constant {value}"),
        Shape::Enum(values) => format!(
            "one of {}",
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Shape::Array(array) => match array.items {
            Some(items) => format!("array of {}", type_name(api, items)),
            None => "array".into(),
        },
        Shape::Object(rules) if rules.properties.is_empty() => match rules.additional {
            Additional::Schema(v) => format!("map of {}", type_name(api, v)),
            _ => "object".into(),
        },
        Shape::Object(_) => def.component.clone().unwrap_or_else(|| "object".into()),
        Shape::OneOf(a) | Shape::AnyOf(a) => match &a.tag {
            Some(tag) => format!("one of (by `{}`)", tag.property),
            None => format!("one of {} alternatives", a.variants.len()),
        },
        Shape::Union(parts) => parts.iter().map(|p| type_name(api, *p)).collect::<Vec<_>>().join(" or "),
    };
    if def.nullable { format!("{base} or null") } else { base }
}

/// An HTML id for a name.
pub fn anchor(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
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
