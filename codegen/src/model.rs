//! The normalized API model: routes, their request and reply messages, the shared
//! error message, security and examples. Every emitter reads only this.
//!
//! Building it checks what the official parser does not: that operations name
//! messages their channel holds, that every frame follows the envelope
//! (`channel`, `requestId`, `apiToken`, `payload`), that routes are unique, and
//! that every example matches its schema.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::Value;

use crate::bundle;
use crate::error::{Result, SpecError};
use crate::schema::{Kind, ObjectRules, Property, Schema};
use crate::spec::{Document, Example, Info, Node, SecurityScheme, Server};

/// Frame property naming the route.
pub const CHANNEL: &str = "channel";
/// Frame property echoed from request to reply.
pub const REQUEST_ID: &str = "requestId";
/// Frame property carrying the caller's token.
pub const API_TOKEN: &str = "apiToken";
/// Request frame property holding the route's payload.
pub const PAYLOAD: &str = "payload";
/// Reply frame property: `true` on success, `false` on the error reply.
pub const SUCCESS: &str = "success";
/// Error frame property holding code, message and details.
pub const ERROR: &str = "error";

/// Error codes the generated dispatcher and the server runtime emit themselves;
/// the spec's error code enum must contain them.
pub const RUNTIME_ERROR_CODES: &[&str] = &[
    "bad_request",
    "validation_failed",
    "unknown_channel",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "too_large",
    "internal",
    "unavailable",
];

/// Extension keys an operation may carry.
pub const OPERATION_EXTENSIONS: &[&str] = &["x-specserve-rate-limit", "x-specserve-exclusive"];

/// Extension keys the channel may carry.
pub const CHANNEL_EXTENSIONS: &[&str] = &["x-specserve-close-codes"];

/// A whole API, normalized.
#[derive(Debug, Clone)]
pub struct Api {
    /// `info`.
    pub info: Info,
    /// `id`, if any.
    pub id: Option<String>,
    /// `servers`, in order.
    pub servers: Vec<(String, Server)>,
    /// The one channel (WebSocket path).
    pub channel: Channel,
    /// Routes in operation order.
    pub routes: Vec<Route>,
    /// The error reply every route shares.
    pub error: ErrorMessage,
    /// `components.securitySchemes`.
    pub security_schemes: Vec<(String, SecurityScheme)>,
    /// `components.schemas`, parsed, in order.
    pub schemas: Vec<(String, Schema)>,
    /// `maxLength` of the `requestId` envelope field: longer ids are not echoed.
    pub request_id_max_length: u64,
}

/// The WebSocket channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Key under `channels`.
    pub key: String,
    /// The WebSocket path.
    pub address: String,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `x-specserve-close-codes`: every WebSocket close code the server sends,
    /// and when. Docs and both SDKs publish them; the server's tests check
    /// that every code it can send is listed.
    pub close_codes: Vec<CloseCode>,
}

/// A WebSocket close code and when the server sends it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseCode {
    /// 1000-4999.
    pub code: u16,
    /// When it is sent, one sentence.
    pub when: String,
}

/// One request/reply route: a `receive` operation.
#[derive(Debug, Clone)]
pub struct Route {
    /// The request frame's `channel` const, e.g. `user/read`.
    pub channel: String,
    /// Text before the slash: the handler trait (`user` -> `UserApi`).
    pub group: String,
    /// Text after the slash: the trait method (`read`).
    pub action: String,
    /// Key under `operations`.
    pub operation: String,
    /// `title`.
    pub title: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// The security scheme, when the route needs a token.
    pub security: Option<String>,
    /// `x-specserve-rate-limit`: the rate-limit class, if any.
    pub rate_limit: Option<String>,
    /// `x-specserve-exclusive: true`: the frame runs alone on its connection.
    /// Frames read before it are answered first and frames after it start after
    /// its reply, so a route that revokes credentials (logout) takes effect for
    /// every frame pipelined behind it.
    pub exclusive: bool,
    /// The request message.
    pub request: Message,
    /// The request's `payload` schema.
    pub payload: Schema,
    /// Whether the request frame declares `apiToken`.
    pub accepts_token: bool,
    /// The success reply message.
    pub reply: Message,
    /// The success reply's body: its properties without the envelope.
    pub reply_body: ObjectRules,
    /// Whether the success reply carries `"success": true`.
    pub reply_success: bool,
}

impl Route {
    /// `user/read` -> `UserRead`: the stem of the route's type and variant names.
    pub fn variant(&self) -> String {
        format!("{}{}", self.group.to_upper_camel_case(), self.action.to_upper_camel_case())
    }
}

/// A message and its standalone schema.
#[derive(Debug, Clone)]
pub struct Message {
    /// Key under the channel's `messages`.
    pub key: String,
    /// `name`.
    pub name: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// The payload (frame) schema.
    pub frame: ObjectRules,
    /// YAML path of the payload schema.
    pub frame_path: String,
    /// Bundled draft-07 schema of the frame, as validators and `generated/schemas/` use it.
    pub json_schema: Value,
    /// `examples`, each checked against `json_schema`.
    pub examples: Vec<Example>,
}

/// The shared error reply.
#[derive(Debug, Clone)]
pub struct ErrorMessage {
    /// The message.
    pub message: Message,
    /// The `error` property's schema (code, message, details).
    pub body: Schema,
    /// Error codes in spec order.
    pub codes: Vec<String>,
}

impl Api {
    /// Loads, checks and normalizes a document.
    pub fn from_yaml(text: &str) -> Result<Api> {
        let doc = Document::parse(text)?;
        Api::from_document(&doc)
    }

    /// Normalizes a parsed document.
    pub fn from_document(doc: &Document) -> Result<Api> {
        let root = doc.root();
        root.check_keys(
            "an AsyncAPI document",
            &["asyncapi", "id", "info", "defaultContentType", "servers", "channels", "operations", "components"],
        )?;
        let version = root.required("asyncapi")?;
        if version.str()? != "3.0.0" {
            return Err(version
                .error(format!("AsyncAPI `{}` is not supported", version.str()?))
                .hint("write the document for AsyncAPI 3.0.0"));
        }
        if let Some(ct) = root.child("defaultContentType")
            && ct.str()? != "application/json"
        {
            return Err(ct.error("only `application/json` is supported"));
        }
        let info: Info = root.required("info")?.parse()?;
        let id = root.opt_str("id")?.map(str::to_owned);
        let servers = parse_servers(&root)?;
        let components = root.child("components");
        if let Some(c) = &components {
            c.check_keys("components", &["schemas", "messages", "securitySchemes", "correlationIds"])?;
        }
        let security_schemes = parse_security_schemes(components.as_ref())?;
        let schemas = crate::schema::components(doc)?;
        let (channel, messages) = parse_channel(&root)?;
        let ctx = Context { schemas: &schemas };

        let mut routes: Vec<Route> = Vec::new();
        let mut error: Option<(ErrorMessage, String)> = None;
        let mut used = BTreeSet::new();
        let operations = root.required("operations")?;
        for (name, op) in operations.entries()? {
            let (route, error_message) = parse_operation(&ctx, &channel, &messages, &security_schemes, name, &op)?;
            used.insert(route.request.key.clone());
            used.insert(route.reply.key.clone());
            used.insert(error_message.key.clone());
            if let Some(other) = routes.iter().find(|r| r.channel == route.channel) {
                return Err(SpecError::new(
                    route.request.frame_path.clone(),
                    format!(
                        "two operations route the channel `{}`: `{}` and `{}`",
                        route.channel, other.operation, route.operation
                    ),
                )
                .hint("every request message needs its own `channel` const"));
            }
            match &error {
                None => error = Some((ctx.error_message(error_message)?, name.to_owned())),
                Some((shared, first)) if shared.message.key != error_message.key => {
                    return Err(op
                        .required("reply")?
                        .error(format!(
                            "replies with the error message `{}`, but `{first}` uses `{}`",
                            error_message.key, shared.message.key
                        ))
                        .hint("every route must share one error message"));
                }
                Some(_) => {}
            }
            routes.push(route);
        }
        let Some((error, _)) = error else {
            return Err(operations.error("there are no operations").hint("add one `receive` operation per route"));
        };
        if let Some((key, _)) = messages.iter().find(|(key, _)| !used.contains(key)) {
            return Err(SpecError::new(
                format!("channels.{}.messages.{key}", channel.key),
                "no operation receives or replies with this message",
            )
            .hint("use it in an operation or remove it"));
        }
        let request_id_max_length = routes
            .iter()
            .find_map(|r| r.request.frame.properties.iter().find(|p| p.name == REQUEST_ID))
            .and_then(|p| ctx.string_max_length(&p.schema))
            .unwrap_or(64);
        Ok(Api { info, id, servers, channel, routes, error, security_schemes, schemas, request_id_max_length })
    }

    /// The routes of one handler group, in order.
    pub fn group(&self, group: &str) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.group == group)
    }

    /// Each server's WebSocket URL (`protocol://host` + the channel address), by server name.
    pub fn server_urls(&self) -> Vec<(&str, String)> {
        self.servers
            .iter()
            .map(|(name, s)| (name.as_str(), format!("{}://{}{}", s.protocol, s.host, self.channel.address)))
            .collect()
    }

    /// Handler groups in order of first appearance.
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = Vec::new();
        for route in &self.routes {
            if !groups.contains(&route.group.as_str()) {
                groups.push(&route.group);
            }
        }
        groups
    }

    /// A component schema by name.
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

fn parse_servers(root: &Node<'_>) -> Result<Vec<(String, Server)>> {
    let Some(servers) = root.child("servers") else {
        return Ok(Vec::new());
    };
    servers
        .entries()?
        .into_iter()
        .map(|(name, node)| {
            let server: Server = node.resolve()?.parse()?;
            if server.protocol != "ws" && server.protocol != "wss" {
                return Err(node
                    .required("protocol")?
                    .error(format!("protocol `{}` is not a WebSocket protocol", server.protocol))
                    .hint("use `wss` (or `ws` behind a TLS proxy)"));
            }
            Ok((name.to_owned(), server))
        })
        .collect()
}

fn parse_security_schemes(components: Option<&Node<'_>>) -> Result<Vec<(String, SecurityScheme)>> {
    let Some(schemes) = components.and_then(|c| c.child("securitySchemes")) else {
        return Ok(Vec::new());
    };
    schemes
        .entries()?
        .into_iter()
        .map(|(name, node)| {
            let scheme: SecurityScheme = node.parse()?;
            match scheme.kind.as_str() {
                "httpApiKey" if scheme.location.is_some() && scheme.name.is_some() => {}
                "httpApiKey" => return Err(node.error("an `httpApiKey` scheme needs `in` and `name`")),
                "http" if scheme.scheme.as_deref() == Some("bearer") => {}
                other => {
                    return Err(node
                        .error(format!("security scheme type `{other}` is not supported"))
                        .hint("use `httpApiKey` (token in the frame or header) or `http` with `scheme: bearer`"));
                }
            }
            Ok((name.to_owned(), scheme))
        })
        .collect()
}

/// The one channel and its messages (resolved), keyed by the channel's message keys.
fn parse_channel<'a>(root: &Node<'a>) -> Result<(Channel, Vec<(String, Node<'a>)>)> {
    let channels = root.required("channels")?;
    let entries = channels.entries()?;
    let [(key, node)] = entries.as_slice() else {
        return Err(channels
            .error(format!("found {} channels; specserve serves exactly one", entries.len()))
            .hint("put every message in one channel whose address is the WebSocket path"));
    };
    let node = node.resolve()?;
    let mut allowed = vec!["address", "title", "summary", "description", "messages"];
    allowed.extend(CHANNEL_EXTENSIONS);
    node.check_keys("a channel", &allowed)?;
    let channel = Channel {
        key: (*key).to_owned(),
        address: node.required("address")?.str()?.to_owned(),
        title: node.opt_str("title")?.map(str::to_owned),
        description: node.opt_str("description")?.map(str::to_owned),
        close_codes: parse_close_codes(node.child("x-specserve-close-codes"))?,
    };
    let messages = node
        .required("messages")?
        .entries()?
        .into_iter()
        .map(|(k, n)| Ok((k.to_owned(), n.resolve()?)))
        .collect::<Result<_>>()?;
    Ok((channel, messages))
}

/// `x-specserve-close-codes`: a list of `{code, when}`, codes valid and distinct.
fn parse_close_codes(node: Option<Node<'_>>) -> Result<Vec<CloseCode>> {
    let Some(node) = node else { return Ok(Vec::new()) };
    let mut codes: Vec<CloseCode> = Vec::new();
    for item in node.items()? {
        let code: CloseCode = item.parse()?;
        if !(1000..=4999).contains(&code.code) || [1004, 1005, 1006, 1015].contains(&code.code) {
            return Err(item
                .error(format!("{} is not a close code a server can send", code.code))
                .hint("use 1000-1003, 1007-1014 or an application code 3000-4999"));
        }
        if codes.iter().any(|c| c.code == code.code) {
            return Err(item.error(format!("close code {} is listed twice", code.code)));
        }
        codes.push(code);
    }
    Ok(codes)
}

/// Read-only lookups shared while building the model.
struct Context<'s> {
    schemas: &'s [(String, Schema)],
}

impl Context<'_> {
    fn deref<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        crate::schema::resolve(schema, self.schemas)
    }

    fn string_max_length(&self, schema: &Schema) -> Option<u64> {
        match &self.deref(schema).kind {
            Kind::String(rules) => rules.max_length,
            _ => None,
        }
    }

    fn const_value<'a>(&'a self, schema: &'a Schema) -> Option<&'a Value> {
        match &self.deref(schema).kind {
            Kind::Const(value) => Some(value),
            _ => None,
        }
    }

    /// The shared error message: `success: false` and an `error` object with
    /// `code` (an enum holding [`RUNTIME_ERROR_CODES`]), `message` and `details`.
    fn error_message(&self, message: Message) -> Result<ErrorMessage> {
        let at = |what: &str| SpecError::new(message.frame_path.clone(), what.to_owned());
        let body = message
            .frame
            .properties
            .iter()
            .find(|p| p.name == ERROR)
            .ok_or_else(|| at("the error message has no `error` property"))?;
        let Kind::Object(rules) = &self.deref(&body.schema).kind else {
            return Err(SpecError::new(
                body.schema.path.clone(),
                "`error` must be an object with `code`, `message` and `details`",
            ));
        };
        let field = |name: &str| rules.properties.iter().find(|p| p.name == name);
        let code =
            field("code").ok_or_else(|| SpecError::new(body.schema.path.clone(), "the error object has no `code`"))?;
        let Kind::Enum(codes) = &self.deref(&code.schema).kind else {
            return Err(SpecError::new(code.schema.path.clone(), "`error.code` must be a string enum of error codes"));
        };
        if let Some(missing) = RUNTIME_ERROR_CODES.iter().find(|c| !codes.iter().any(|have| have == *c)) {
            return Err(SpecError::new(
                self.deref(&code.schema).path.clone(),
                format!("the error codes lack `{missing}`, which the server emits"),
            )
            .hint(format!("the enum must contain {}", RUNTIME_ERROR_CODES.join(", "))));
        }
        let text = field("message").map(|p| &self.deref(&p.schema).kind);
        if !matches!(text, Some(Kind::String(_))) || !code.required || !field("message").is_some_and(|p| p.required) {
            return Err(SpecError::new(
                body.schema.path.clone(),
                "the error object needs required string `message` and `code`",
            ));
        }
        let details_ok = field("details").is_some_and(|d| match &self.deref(&d.schema).kind {
            Kind::Array(array) => match &self.deref(&array.items).kind {
                Kind::Object(item) => ["pointer", "keyword", "message"].iter().all(|name| {
                    item.properties
                        .iter()
                        .any(|p| p.name == *name && p.required && matches!(self.deref(&p.schema).kind, Kind::String(_)))
                }),
                _ => false,
            },
            _ => false,
        });
        if !details_ok {
            return Err(SpecError::new(
                body.schema.path.clone(),
                "the error object needs `details`: an array of objects with required strings `pointer`, `keyword` and `message`",
            ));
        }
        let codes = codes.clone();
        let body = body.schema.clone();
        Ok(ErrorMessage { message, body, codes })
    }
}

fn parse_operation(
    ctx: &Context<'_>,
    channel: &Channel,
    messages: &[(String, Node<'_>)],
    schemes: &[(String, SecurityScheme)],
    name: &str,
    op: &Node<'_>,
) -> Result<(Route, Message)> {
    let mut allowed =
        vec!["action", "channel", "title", "summary", "description", "messages", "reply", "security", "tags"];
    allowed.extend(OPERATION_EXTENSIONS);
    op.check_keys("an operation", &allowed)?;
    let action = op.required("action")?;
    if action.str()? != "receive" {
        return Err(action
            .error(format!("`action: {}` is not supported yet", action.str()?))
            .hint("routes are `receive` operations (the server receives the request and replies)"));
    }
    check_channel_ref(channel, &op.required("channel")?)?;
    let request_refs = op.required("messages")?.items()?;
    let [request_ref] = request_refs.as_slice() else {
        return Err(op.required("messages")?.error("a route receives exactly one message"));
    };
    let request = message(channel, messages, request_ref)?;

    let reply = op.required("reply")?;
    reply.check_keys("a reply", &["channel", "messages"])?;
    check_channel_ref(channel, &reply.required("channel")?)?;
    let mut success = None;
    let mut error = None;
    for reply_ref in reply.required("messages")?.items()? {
        let message = message(channel, messages, &reply_ref)?;
        let is_error =
            message.frame.properties.iter().find(|p| p.name == SUCCESS).and_then(|p| ctx.const_value(&p.schema))
                == Some(&Value::Bool(false));
        let slot = if is_error { &mut error } else { &mut success };
        if slot.is_some() {
            return Err(reply_ref.error(format!(
                "a second {} message; a reply lists one success message and one error message",
                if is_error { "error" } else { "success" }
            )));
        }
        *slot = Some(message);
    }
    let missing = |what: &str| {
        reply
            .error(format!("the reply lists no {what} message"))
            .hint("list the success message and the shared error message (`success: false`)")
    };
    let reply_message = success.ok_or_else(|| missing("success"))?;
    let error_message = error.ok_or_else(|| missing("error"))?;

    let security = match op.child("security") {
        None => None,
        Some(list) => {
            let items = list.items()?;
            let [item] = items.as_slice() else {
                return Err(list.error("list exactly one security scheme"));
            };
            let target = item
                .ref_target()?
                .ok_or_else(|| item.error("a security requirement must be a `$ref` to components.securitySchemes"))?;
            let scheme =
                target.strip_prefix("#/components/securitySchemes/").filter(|n| schemes.iter().any(|(s, _)| s == n));
            let Some(scheme) = scheme else {
                return Err(item
                    .error(format!("`{target}` is not a security scheme in components.securitySchemes"))
                    .hint(format!(
                        "use one of: {}",
                        schemes
                            .iter()
                            .map(|(n, _)| format!("#/components/securitySchemes/{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
            };
            Some(scheme.to_owned())
        }
    };
    let rate_limit = op.opt_str("x-specserve-rate-limit")?.map(str::to_owned);
    let exclusive = match op.child("x-specserve-exclusive") {
        None => false,
        Some(flag) => {
            flag.value().as_bool().ok_or_else(|| flag.error("`x-specserve-exclusive` must be true or false"))?
        }
    };

    let mut route = request_route(ctx, name, op, request, reply_message, security, rate_limit)?;
    route.exclusive = exclusive;
    Ok((route, error_message))
}

fn check_channel_ref(channel: &Channel, node: &Node<'_>) -> Result<()> {
    let expected = format!("#/channels/{}", channel.key);
    match node.ref_target()? {
        Some(target) if target == expected => Ok(()),
        _ => Err(node.error("must reference the channel").hint(format!("write `$ref: '{expected}'`"))),
    }
}

/// Resolves an operation's message reference, which must name a message of the channel.
fn message(channel: &Channel, messages: &[(String, Node<'_>)], reference: &Node<'_>) -> Result<Message> {
    let prefix = format!("#/channels/{}/messages/", channel.key);
    let target =
        reference.ref_target()?.ok_or_else(|| reference.error("must be a `$ref` to a message of the channel"))?;
    let key = target.strip_prefix(&prefix);
    let Some((key, node)) = key.and_then(|k| messages.iter().find(|(m, _)| m == k)) else {
        return Err(reference.error(format!("`{target}` is not a message of channel `{}`", channel.key)).hint(
            format!("add the message under channels.{}.messages and reference it as `{prefix}<name>`", channel.key),
        ));
    };
    node.check_keys(
        "a message",
        &["name", "title", "summary", "description", "contentType", "correlationId", "payload", "examples", "tags"],
    )?;
    let payload = node.required("payload")?;
    let resolved = payload.resolve()?;
    let frame = match Schema::parse(&resolved)?.kind {
        Kind::Object(rules) => rules,
        _ => return Err(resolved.error("a message payload must be an object schema (the whole frame)")),
    };
    let title = node.opt_str("title")?.map(str::to_owned);
    let json_schema = bundle::bundle(&resolved, title.as_deref().unwrap_or(key))?;
    let validator =
        bundle::validator(&json_schema).map_err(|e| resolved.error(format!("the schema does not compile: {e}")))?;
    let mut examples = Vec::new();
    if let Some(list) = node.child("examples") {
        for item in list.items()? {
            let example: Example = item.parse()?;
            if let Some(error) = validator.iter_errors(&example.payload).next() {
                return Err(item
                    .error(format!(
                        "example `{}` does not match the message schema: at `{}`: {}",
                        example.name.as_deref().unwrap_or("?"),
                        error.instance_path(),
                        error
                    ))
                    .hint("fix the example or the schema"));
            }
            examples.push(example);
        }
    }
    Ok(Message {
        key: key.clone(),
        name: node.opt_str("name")?.map(str::to_owned),
        title,
        summary: node.opt_str("summary")?.map(str::to_owned),
        description: node.opt_str("description")?.map(str::to_owned),
        frame,
        frame_path: resolved.path().to_owned(),
        json_schema,
        examples,
    })
}

/// Checks the request and reply envelopes and builds the route.
fn request_route(
    ctx: &Context<'_>,
    operation: &str,
    op: &Node<'_>,
    request: Message,
    reply: Message,
    security: Option<String>,
    rate_limit: Option<String>,
) -> Result<Route> {
    let frame_error = |message: &Message, what: String| SpecError::new(message.frame_path.clone(), what);
    let prop = |message: &Message, name: &str| message.frame.properties.iter().find(|p| p.name == name).cloned();

    let channel = prop(&request, CHANNEL)
        .filter(|p| p.required)
        .and_then(|p| ctx.const_value(&p.schema).and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| {
            frame_error(
                &request,
                "a request frame needs a required `channel` property with a string `const` (the route)".into(),
            )
            .hint("add `channel: {type: string, const: group/action}` and list it in `required`")
        })?;
    let Some((group, action)) = channel.split_once('/').filter(|(g, a)| is_identifier(g) && is_identifier(a)) else {
        return Err(frame_error(&request, format!("route `{channel}` must look like `group/action`"))
            .hint("name routes `group/action` with letters and digits, e.g. `user/read`"));
    };
    let payload = prop(&request, PAYLOAD)
        .filter(|p| p.required)
        .ok_or_else(|| frame_error(&request, "a request frame needs a required `payload` property".into()))?;
    if !matches!(ctx.deref(&payload.schema).kind, Kind::Object(_)) {
        return Err(SpecError::new(payload.schema.path.clone(), "a request `payload` must be an object schema"));
    }
    for p in &request.frame.properties {
        if ![CHANNEL, REQUEST_ID, API_TOKEN, PAYLOAD].contains(&p.name.as_str()) {
            return Err(SpecError::new(p.schema.path.clone(), format!("`{}` is not part of the request envelope", p.name))
                .hint(format!("a request frame holds only {CHANNEL}, {REQUEST_ID}, {API_TOKEN} and {PAYLOAD}; move `{}` into `payload`", p.name)));
        }
    }
    let accepts_token = prop(&request, API_TOKEN).is_some();
    if accepts_token && security.is_none() {
        return Err(frame_error(
            &request,
            format!("`{API_TOKEN}` is declared but operation `{operation}` has no `security`"),
        )
        .hint("add `security` to the operation or remove `apiToken` from the frame"));
    }

    let reply_channel =
        prop(&reply, CHANNEL).and_then(|p| ctx.const_value(&p.schema).and_then(Value::as_str).map(str::to_owned));
    if reply_channel.as_deref() != Some(channel.as_str()) {
        return Err(frame_error(
            &reply,
            format!("the reply's `channel` must be `const: {channel}`, the request's route"),
        ));
    }
    let reply_success = match prop(&reply, SUCCESS) {
        None => false,
        Some(p) if ctx.const_value(&p.schema) == Some(&Value::Bool(true)) => true,
        Some(p) => {
            return Err(SpecError::new(p.schema.path.clone(), "`success` in a success reply must be `const: true`"));
        }
    };
    let body = ObjectRules {
        properties: reply
            .frame
            .properties
            .iter()
            .filter(|p| ![CHANNEL, REQUEST_ID, SUCCESS].contains(&p.name.as_str()))
            .cloned()
            .collect::<Vec<Property>>(),
        closed: reply.frame.closed,
    };
    Ok(Route {
        group: group.to_owned(),
        action: action.to_owned(),
        channel,
        operation: operation.to_owned(),
        title: op.opt_str("title")?.map(str::to_owned),
        summary: op.opt_str("summary")?.map(str::to_owned),
        description: op.opt_str("description")?.map(str::to_owned),
        security,
        rate_limit,
        exclusive: false,
        payload: payload.schema,
        accepts_token,
        request,
        reply,
        reply_body: body,
        reply_success,
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric())
}
