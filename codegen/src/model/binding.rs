//! specserve's WebSocket binding: what a document means on the wire.
//!
//! - Each channel address, joined to a `ws`/`wss` server's `pathname` by
//!   [`served_path`], is a WebSocket path; channels with one address share a
//!   socket. Parameters come
//!   from the path, the `ws` binding's query from the query string.
//! - A text frame is the message payload; on a path where a message declares
//!   `headers`, frames are `{"headers": .., "payload": ..}` objects.
//! - A frame is matched to one of the path's received messages by a
//!   discriminator: a property every such message fixes to a distinct string
//!   (`channel` in specserve's own API, `event` in Kraken's). Without one, by
//!   validating against each: exactly one must match.
//! - Replies follow each message's `correlationId`; the runtime writes what the
//!   application does not choose: `const` properties, the correlation id, and
//!   the request's discriminator value where a reply declares that property
//!   without a `const`.
//! - A reply message marked `x-specserve-error: /error` carries errors: the
//!   runtime's own (validation, authentication ...) and the handler's.

use serde_json::Value;

use super::{Action, Api, ChannelId, Correlation, MessageId, OperationId, SchemeId};
use crate::diagnostics::{Diagnostics, SpecError};
use crate::schema::{Additional, Property, SchemaId, Shape};

/// The codes the runtime sends by itself (`specserve_runtime::Code::RUNTIME`):
/// an error body's `code` enum must hold them.
pub const RUNTIME_ERROR_CODES: &[&str] =
    &["bad_request", "validation_failed", "unknown_channel", "unauthorized", "rate_limited", "internal", "unavailable"];

/// One WebSocket path and what it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The path template (`/room/{roomId}`).
    pub address: String,
    /// The channels at it, in document order.
    pub channels: Vec<ChannelId>,
    /// The messages received there, each with its operation.
    pub routes: Vec<Route>,
    /// The property that tells the received messages apart, if one does.
    pub discriminator: Option<String>,
    /// Frames are `{"headers", "payload"}` objects.
    pub enveloped: bool,
    /// Where every received message keeps its correlation id, when they agree
    /// (so even a frame that matches no message gets its id echoed).
    pub correlation: Option<Correlation>,
    /// The servers' `security` at this path: any one admits a connection at
    /// the upgrade (empty: open). When the path is on a secured and an open
    /// server, it is secured (`check` warns).
    pub security: Vec<SchemeId>,
}

/// A message received at an endpoint, and the operation that receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The operation.
    pub operation: OperationId,
    /// The message.
    pub message: MessageId,
    /// Its discriminator value, when the endpoint has a discriminator.
    pub value: Option<String>,
}

/// An operation served over HTTP at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    /// The method, upper case.
    pub method: String,
    /// The path template (`/api/rooms/{roomId}/messages`).
    pub path: String,
    /// The server it is on.
    pub server: usize,
    /// The operation.
    pub operation: OperationId,
    /// Its message: the request's body, parameters and query.
    pub message: MessageId,
}

/// A property the runtime writes (or reads) itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lead {
    /// A `const`: its JSON text.
    Const(String),
    /// The request's discriminator value, echoed.
    Discriminator,
    /// The correlation id.
    CorrelationId,
    /// The caller's credential (requests only).
    Credential,
}

/// Where the application's value goes in a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// An object: these properties are the application's, the rest are [`Lead`]s.
    Flat(Vec<Property>),
    /// The error body, under this property.
    Under(String),
    /// The whole payload (not an object with properties).
    Whole,
}

/// How a message is laid out between runtime and application.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The properties the runtime handles, in schema order.
    pub leading: Vec<(String, Lead)>,
    /// The application's part.
    pub body: Body,
}

impl Layout {
    /// The one field a handler takes instead of the whole message: the only
    /// application property, when it is a required object (`payload` in
    /// specserve's own API). Handlers, clients and QA tools all unwrap by this rule.
    pub fn wrapper<'a>(&'a self, api: &Api) -> Option<&'a Property> {
        let Body::Flat(fields) = &self.body else { return None };
        match fields.as_slice() {
            [field] if field.required => match &api.schemas.get(field.schema).shape {
                Shape::Object(rules) if !matches!(rules.additional, Additional::Schema(_)) => Some(field),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Api {
    /// Every WebSocket path the document serves, in document order.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        endpoints(self)
    }

    /// How `message` is laid out when the runtime echoes the discriminator
    /// `discriminator` and reads a credential from `credential`.
    pub fn layout(&self, message: MessageId, discriminator: Option<&str>, credential: Option<&str>) -> Layout {
        layout(self, message, discriminator, credential)
    }

    /// The message property that carries a secured operation's credential, if any.
    pub fn credential_property(&self, operation: OperationId) -> Option<&str> {
        self.operations[operation].security.iter().find_map(|s| self.security_schemes[*s].message_property.as_deref())
    }

    /// The discriminator of the WebSocket path `channel` is served at, if it has one.
    pub fn endpoint_discriminator(&self, channel: ChannelId) -> Option<String> {
        self.endpoints().into_iter().find(|e| e.channels.contains(&channel)).and_then(|e| e.discriminator)
    }

    /// Every operation served over HTTP, at each path its channel has on
    /// its servers, in document order.
    pub fn http_routes(&self) -> Vec<HttpRoute> {
        let mut routes: Vec<HttpRoute> = Vec::new();
        for (operation, op) in self.operations.iter().enumerate() {
            let Some(http) = &op.http else { continue };
            let channel = &self.channels[op.channel];
            for server in channel.servers.iter().flatten() {
                for pathname in server_pathnames(&self.servers[*server]) {
                    let path = served_path(&pathname, channel.address.as_deref());
                    let route = HttpRoute {
                        method: http.method.clone(),
                        path,
                        server: *server,
                        operation,
                        message: op.messages[0],
                    };
                    if !routes.contains(&route) {
                        routes.push(route);
                    }
                }
            }
        }
        routes
    }

    /// The schema of a top-level payload property of `message`.
    pub fn payload_property(&self, message: MessageId, name: &str) -> Option<&Property> {
        let payload = self.messages[message].payload?;
        match &self.schemas.get(payload).shape {
            Shape::Object(rules) => rules.properties.iter().find(|p| p.name == name),
            _ => None,
        }
    }
}

/// Whether a scheme's credential comes with the upgrade, so a server's
/// `security` can be checked before the connection is accepted.
fn admits_at_upgrade(api: &Api, scheme: SchemeId) -> bool {
    api.security_schemes[scheme].enforcement.at_upgrade()
}

/// A URL a client may open: what `lint` prints and the SDK's README shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedUrl {
    /// The server's key; `None` in a document without servers.
    pub server: Option<String>,
    /// `wss://host/path` (the path alone without a server), with server
    /// variables at their defaults and channel parameters with an `enum` at
    /// each value; other parameters stay `{name}`.
    pub url: String,
    /// The channel's key.
    pub channel: String,
}

impl Api {
    /// `protocol://host` of server `server`, its variables at their defaults.
    pub fn server_base(&self, server: usize) -> String {
        let s = &self.servers[server];
        // Hosts written with their scheme (`wss://api.example.com`) are common.
        let mut host = s.host.split_once("://").map_or(s.host.as_str(), |(_, host)| host).to_owned();
        for variable in &s.variables {
            if let Some(value) = variable.default.as_ref().or(variable.allowed.first()) {
                host = host.replace(&format!("{{{}}}", variable.name), value);
            }
        }
        format!("{}://{host}", s.protocol)
    }

    /// Every URL a client may open, in document order.
    pub fn served_urls(&self) -> Vec<ServedUrl> {
        let mut urls: Vec<ServedUrl> = Vec::new();
        for (server, path, channel) in served_paths(self) {
            let channel = &self.channels[channel];
            let mut paths = vec![path];
            for parameter in channel.parameters.iter().filter(|p| !p.allowed.is_empty()) {
                let placeholder = format!("{{{}}}", parameter.name);
                paths =
                    paths.iter().flat_map(|p| parameter.allowed.iter().map(|v| p.replace(&placeholder, v))).collect();
            }
            let base = server.map(|s| self.server_base(s));
            for path in paths {
                let url = ServedUrl {
                    server: server.map(|s| self.servers[s].key.clone()),
                    url: format!("{}{path}", base.as_deref().unwrap_or_default()),
                    channel: channel.key.clone(),
                };
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
        urls
    }
}

/// The path a client opens for a channel whose address is `address` on a
/// server whose pathname is `pathname` (variables substituted). AsyncAPI does
/// not say how the two combine, and the official tools read it two ways (the
/// generator's WebSocket clients open host + pathname and ignore the address;
/// Glee serves the address and ignores the pathname). This rule serves both
/// wherever they can agree:
/// - no address ("decided at run time"): the pathname itself, the URL a
///   multiplexing socket is at (`/` without a pathname);
/// - an address that is the pathname or below it (`/v1/realtime` on
///   `/v1/realtime`): the address as written, never the pathname twice;
/// - any other address: below the pathname.
///
/// An address that is not a path (a broker topic, `ticker.{symbol}`) is made
/// one (`/ticker.{symbol}`).
pub fn served_path(pathname: &str, address: Option<&str>) -> String {
    let prefix = pathname.trim_end_matches('/');
    let address = match address.map(|a| a.trim_end_matches('/')) {
        None | Some("") => return if prefix.is_empty() { "/".to_owned() } else { prefix.to_owned() },
        Some(address) if address.starts_with('/') => address.to_owned(),
        Some(address) => format!("/{address}"),
    };
    let under_prefix = address == prefix || address.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'));
    if under_prefix { address } else { format!("{prefix}{address}") }
}

/// At most this many pathnames per server: one per combination of its
/// variables' allowed values.
const MAX_PATHNAMES: usize = 32;

/// A server's pathnames: its `pathname` with each combination of its
/// variables' values (every `enum` value, else the `default`), at most
/// [`MAX_PATHNAMES`]; empty when a variable has neither (no path can be known).
pub fn server_pathnames(server: &super::Server) -> Vec<String> {
    let template = server.pathname.as_deref().unwrap_or("");
    let mut pathnames = vec![template.to_owned()];
    for name in super::address_parameters(template) {
        let Some(variable) = server.variables.iter().find(|v| v.name == name) else { return Vec::new() };
        let values: Vec<&String> = if variable.allowed.is_empty() {
            variable.default.iter().collect()
        } else {
            variable.allowed.iter().collect()
        };
        let placeholder = format!("{{{name}}}");
        let placeholder = placeholder.as_str();
        pathnames = pathnames
            .iter()
            .flat_map(|p| values.iter().map(move |v| p.replace(placeholder, v)))
            .take(MAX_PATHNAMES)
            .collect();
    }
    pathnames
}

/// The document's `ws`/`wss` servers. Without one, the document is served
/// over WebSocket anyway (the loader warns), from `/`: another protocol's
/// pathname and host say nothing about a WebSocket URL.
fn websocket_servers(api: &Api) -> Vec<usize> {
    (0..api.servers.len()).filter(|i| matches!(api.servers[*i].protocol.as_str(), "ws" | "wss")).collect()
}

/// Every (server, path, channel) the document serves: each channel on each
/// server it is on, at each of the server's pathnames, by [`served_path`];
/// then the channel's `x-specserve-aliases`. A document without servers is
/// served from `/`, and so is one without WebSocket servers.
pub fn served_paths(api: &Api) -> Vec<(Option<usize>, String, ChannelId)> {
    let mut served = Vec::new();
    let servers = websocket_servers(api);
    let on_server =
        |channel: &super::Channel, server: usize| channel.servers.as_ref().is_none_or(|s| s.contains(&server));
    let http_only = |id: ChannelId| api.operations.iter().any(|op| op.channel == id && op.http.is_some());
    let mut places: Vec<(Option<usize>, String)> =
        servers.iter().flat_map(|s| server_pathnames(&api.servers[*s]).into_iter().map(|p| (Some(*s), p))).collect();
    if places.is_empty() {
        places.push((None, String::new()));
    }
    for (server, pathname) in &places {
        for (id, channel) in api.channels.iter().enumerate() {
            if server.is_some_and(|s| !on_server(channel, s)) || http_only(id) {
                continue;
            }
            served.push((*server, served_path(pathname, channel.address.as_deref()), id));
        }
    }
    let mut alias_servers: Vec<Option<usize>> = servers.iter().copied().map(Some).collect();
    if alias_servers.is_empty() {
        alias_servers.push(None);
    }
    for server in alias_servers {
        for (id, channel) in api.channels.iter().enumerate() {
            if server.is_some_and(|s| !on_server(channel, s)) {
                continue;
            }
            served.extend(channel.aliases.iter().map(|alias| (server, alias.clone(), id)));
        }
    }
    served
}

fn endpoints(api: &Api) -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (server, path, id) in served_paths(api) {
        let index = match endpoints.iter().position(|e| e.address == path) {
            Some(index) => index,
            None => {
                endpoints.push(Endpoint {
                    address: path,
                    channels: Vec::new(),
                    routes: Vec::new(),
                    discriminator: None,
                    enveloped: false,
                    correlation: None,
                    security: Vec::new(),
                });
                endpoints.len() - 1
            }
        };
        let endpoint = &mut endpoints[index];
        if !endpoint.channels.contains(&id) {
            endpoint.channels.push(id);
        }
        for scheme in server.map(|s| &api.servers[s].security).into_iter().flatten() {
            if admits_at_upgrade(api, *scheme) && !endpoint.security.contains(scheme) {
                endpoint.security.push(*scheme);
            }
        }
    }
    for endpoint in &mut endpoints {
        for (op_id, op) in api.operations.iter().enumerate() {
            if op.action != Action::Receive || !endpoint.channels.contains(&op.channel) {
                continue;
            }
            for message in &op.messages {
                // Two operations receiving one message: the first gets its frames (`check` warns).
                if !endpoint.routes.iter().any(|r| r.message == *message) {
                    endpoint.routes.push(Route { operation: op_id, message: *message, value: None });
                }
            }
        }
        let all_messages = endpoint
            .channels
            .iter()
            .flat_map(|c| api.channels[*c].messages.iter().map(|(_, m)| *m))
            .chain(api.operations.iter().filter_map(|op| op.reply.as_ref()).flat_map(|r| r.messages.clone()));
        endpoint.enveloped =
            all_messages.into_iter().any(|m| api.messages[m].headers.is_some() && on_endpoint(api, endpoint, m));
        let messages: Vec<MessageId> = endpoint.routes.iter().map(|r| r.message).collect();
        endpoint.discriminator = discriminator(api, &messages);
        if let Some(property) = &endpoint.discriminator {
            for route in &mut endpoint.routes {
                route.value =
                    api.payload_property(route.message, property).and_then(|p| api.schemas.fixed_string(p.schema));
            }
        }
        let mut correlations = endpoint.routes.iter().filter_map(|r| api.messages[r.message].correlation.clone());
        let first = correlations.next();
        endpoint.correlation = first.filter(|c| {
            correlations.all(|other| other == *c)
                && endpoint.routes.iter().all(|r| api.messages[r.message].correlation.is_some())
        });
    }
    endpoints
}

/// Whether `message` travels on `endpoint` (one of its channels holds it, or
/// it replies to an operation there).
fn on_endpoint(api: &Api, endpoint: &Endpoint, message: MessageId) -> bool {
    endpoint.channels.iter().any(|c| api.channels[*c].messages.iter().any(|(_, m)| *m == message))
        || endpoint
            .routes
            .iter()
            .any(|r| api.operations[r.operation].reply.as_ref().is_some_and(|reply| reply.messages.contains(&message)))
}

/// The property every message fixes to a distinct string, if there is one.
fn discriminator(api: &Api, messages: &[MessageId]) -> Option<String> {
    let mut distinct: Vec<MessageId> = Vec::new();
    for m in messages {
        if !distinct.contains(m) {
            distinct.push(*m);
        }
    }
    if distinct.len() < 2 {
        return None;
    }
    let fixed = |m: MessageId| -> Vec<(String, String)> {
        let Some(payload) = api.messages[m].payload else { return Vec::new() };
        match &api.schemas.get(payload).shape {
            Shape::Object(rules) => rules
                .properties
                .iter()
                .filter_map(|p| api.schemas.fixed_string(p.schema).map(|v| (p.name.clone(), v)))
                .collect(),
            _ => Vec::new(),
        }
    };
    'candidates: for (property, _) in fixed(distinct[0]) {
        let mut values: Vec<String> = Vec::new();
        for m in &distinct {
            let Some((_, value)) = fixed(*m).into_iter().find(|(p, _)| *p == property) else { continue 'candidates };
            if values.contains(&value) {
                continue 'candidates;
            }
            values.push(value);
        }
        return Some(property);
    }
    None
}

fn layout(api: &Api, message: MessageId, discriminator: Option<&str>, credential: Option<&str>) -> Layout {
    let m = &api.messages[message];
    let correlation = m.correlation.as_ref().filter(|c| !c.in_headers).and_then(|c| top_level(&c.pointer));
    let Some(payload) = m.payload else { return Layout { leading: Vec::new(), body: Body::Whole } };
    let Shape::Object(rules) = &api.schemas.get(payload).shape else {
        let leading = correlation.map(|c| vec![(c.to_owned(), Lead::CorrelationId)]).unwrap_or_default();
        return Layout { leading, body: Body::Whole };
    };
    if rules.properties.is_empty() {
        return Layout { leading: Vec::new(), body: Body::Whole };
    }
    let mut leading = Vec::new();
    let mut rest = Vec::new();
    for property in &rules.properties {
        let constant = match &api.schemas.get(property.schema).shape {
            Shape::Const(value) => Some(value.to_string()),
            _ => None,
        };
        let lead = if let Some(json) = constant {
            Some(Lead::Const(json))
        } else if Some(property.name.as_str()) == correlation {
            Some(Lead::CorrelationId)
        } else if Some(property.name.as_str()) == credential {
            Some(Lead::Credential)
        } else if Some(property.name.as_str()) == discriminator {
            Some(Lead::Discriminator)
        } else {
            None
        };
        match lead {
            Some(lead) => leading.push((property.name.clone(), lead)),
            None => rest.push(property.clone()),
        }
    }
    let body = match m.error_body.as_deref().and_then(top_level) {
        Some(under) => {
            rest.retain(|p| p.name != under);
            Body::Under(under.to_owned())
        }
        None => Body::Flat(rest),
    };
    Layout { leading, body }
}

/// `name` for the pointer `/name`; `None` for a deeper one.
fn top_level(pointer: &str) -> Option<&str> {
    pointer.strip_prefix('/').filter(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// The `code` values of an error message's body.
pub fn error_codes(api: &Api, message: &super::Message) -> Vec<String> {
    let Some(rules) = error_body_rules(api, message) else { return Vec::new() };
    rules
        .properties
        .iter()
        .find(|p| p.name == "code")
        .and_then(|p| match &api.schemas.get(p.schema).shape {
            Shape::Enum(values) => Some(values.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

fn error_body_rules<'a>(api: &'a Api, message: &super::Message) -> Option<&'a crate::schema::ObjectRules> {
    let under = message.error_body.as_deref().and_then(top_level)?;
    let payload = message.payload?;
    let Shape::Object(rules) = &api.schemas.get(payload).shape else { return None };
    let body = rules.properties.iter().find(|p| p.name == under)?;
    match &api.schemas.get(body.schema).shape {
        Shape::Object(rules) => Some(rules),
        _ => None,
    }
}

/// Checks what the binding needs of the document, recording problems;
/// returns what it leaves unserved (channels on no WebSocket server).
pub fn check(api: &Api, diags: &mut Diagnostics) -> Vec<super::Unsupported> {
    let endpoints = endpoints(api);
    check_server_security(api, &endpoints, diags);
    let mut twins_named: Vec<(MessageId, MessageId)> = Vec::new();
    let mut unserved = Vec::new();
    let http = api.http_routes();
    for (id, channel) in api.channels.iter().enumerate() {
        let over_http = http.iter().any(|route| api.operations[route.operation].channel == id);
        if !over_http && !endpoints.iter().any(|e| e.channels.contains(&id)) {
            let servers: Vec<&str> = channel.servers.iter().flatten().map(|s| api.servers[*s].key.as_str()).collect();
            let warning = SpecError::warning(
                format!("{}.servers", channel.path),
                format!(
                    "channel `{}` is on no WebSocket server (only on `{}`): specserve does not serve it, and its operations never run",
                    channel.key,
                    servers.join("`, `")
                ),
            )
            .hint("list a `ws`/`wss` server among the channel's `servers` for specserve to serve it");
            unserved.push(super::Unsupported {
                construct: format!("channel `{}` on servers that are not WebSocket", channel.key),
                pointer: format!("{}/servers", channel.pointer),
                consequence: warning.message.clone(),
            });
            diags.push(warning);
        }
    }
    for endpoint in &endpoints {
        for route in &endpoint.routes {
            for (other_id, other) in api.operations.iter().enumerate() {
                if other_id != route.operation
                    && other.action == Action::Receive
                    && endpoint.channels.contains(&other.channel)
                    && other.messages.contains(&route.message)
                {
                    diags.push(
                        SpecError::warning(
                            other.path.clone(),
                            format!(
                                "`{}` also receives message `{}` at `{}`: its frames go to `{}`, and this operation gets none",
                                other.key,
                                api.messages[route.message].key,
                                endpoint.address,
                                api.operations[route.operation].key
                            ),
                        )
                        .hint("receive each message in one operation"),
                    );
                }
            }
        }
        if endpoint.discriminator.is_none() && endpoint.routes.len() > 1 {
            diags.push(
                SpecError::warning(
                    api.channels[endpoint.channels[0]].path.clone(),
                    format!(
                        "the messages received at `{}` share no discriminator: frames are matched by validating against each",
                        endpoint.address
                    ),
                )
                .hint("give every received message a property fixed to a distinct `const`, like `event: {const: ping}`"),
            );
            // Matched by validation, two messages with one schema can never be
            // told apart: every such frame is refused as ambiguous. (The
            // bundles differ only in their titles, which name the message.)
            let schema = |route: &Route| {
                let mut bundle = api.messages[route.message].payload_json.clone()?;
                bundle.as_object_mut()?.remove("title");
                Some(bundle)
            };
            for (i, first) in endpoint.routes.iter().enumerate() {
                let Some(twin) =
                    endpoint.routes[i + 1..].iter().find(|r| schema(r).is_some() && schema(r) == schema(first))
                else {
                    continue;
                };
                // Once per pair, not once per path the channel is served at.
                if twins_named.contains(&(first.message, twin.message)) {
                    continue;
                }
                twins_named.push((first.message, twin.message));
                let (a, b) = (&api.messages[first.message].key, &api.messages[twin.message].key);
                diags.push(
                    SpecError::warning(
                        api.messages[twin.message].path.clone(),
                        format!(
                            "messages `{a}` and `{b}` received at `{}` have the same payload schema: no frame can be told to be one or the other, so each is refused as matching several messages",
                            endpoint.address
                        ),
                    )
                    .hint("fix a property of each to a distinct `const`, or receive one of them"),
                );
            }
        }
    }
    for (id, op) in api.operations.iter().enumerate() {
        if op.action == Action::Send && op.reply.is_some() {
            let warning = SpecError::warning(
                op.path.clone(),
                "replies to messages the server sends are not awaited: the reply messages are typed and documented only",
            );
            unserved.push(super::Unsupported {
                construct: format!("`reply` of send operation `{}`", op.key),
                pointer: format!("{}/reply", op.pointer),
                consequence: warning.message.clone(),
            });
            // Sending requests and awaiting answers is what a client does.
            diags.push(match api.perspective {
                super::Perspective::Application => warning.hint(
                    "a document that sends requests and awaits their replies reads like a client's: if it describes the client's side, serve it with `--perspective client`",
                ),
                super::Perspective::Client => warning,
            });
        }
        if op.action == Action::Receive {
            let errors: Vec<MessageId> = op
                .reply
                .iter()
                .flat_map(|r| &r.messages)
                .copied()
                .filter(|m| api.messages[*m].error_body.is_some())
                .collect();
            if errors.len() > 1 {
                diags.push(SpecError::new(op.path.clone(), "a reply lists more than one `x-specserve-error` message"));
            }
        }
        let _ = id;
        for message in op.messages.iter().chain(op.reply.iter().flat_map(|r| &r.messages)) {
            let m = &api.messages[*message];
            if let Some(c) = &m.correlation
                && !c.in_headers
                && top_level(&c.pointer).is_none()
                && op.reply.as_ref().is_some_and(|r| r.messages.contains(message))
            {
                diags.push(SpecError::warning(
                    m.path.clone(),
                    format!("the correlation id at `{}` is nested: replies echo only top-level ids", c.pointer),
                ));
            }
        }
    }
    for message in api.messages.iter().filter(|m| m.error_body.is_some()) {
        check_error_message(api, message, diags);
    }
    unserved
}

/// An error message must carry the runtime's error body: `code` (an enum with
/// every runtime code), `message`, and optionally `details`.
/// A secured server whose schemes cannot be checked at the upgrade would be
/// served open: that is an error, not a warning. A path on a secured and an
/// open server is served secured, and the document is told.
fn check_server_security(api: &Api, endpoints: &[Endpoint], diags: &mut Diagnostics) {
    for server in &api.servers {
        if server.security.is_empty() || !matches!(server.protocol.as_str(), "ws" | "wss") {
            continue;
        }
        let unchecked: Vec<&str> = server
            .security
            .iter()
            .filter(|s| !admits_at_upgrade(api, **s))
            .map(|s| api.security_schemes[*s].key.as_str())
            .collect();
        if unchecked.len() == server.security.len() {
            diags.push(
                SpecError::new(
                    format!("{}.security", server.path),
                    format!(
                        "server `{}` is secured by `{}`, which no WebSocket upgrade presents: specserve would serve it open",
                        server.key,
                        unchecked.join("`, `")
                    ),
                )
                .hint("add an alternative the upgrade carries: `http` bearer, or `httpApiKey` in a header, the query or a cookie"),
            );
        } else if !unchecked.is_empty() {
            diags.push(SpecError::warning(
                format!("{}.security", server.path),
                format!(
                    "server `{}`: `{}` cannot be checked at the upgrade, so only its other schemes admit connections",
                    server.key,
                    unchecked.join("`, `")
                ),
            ));
        }
    }
    let served = served_paths(api);
    for endpoint in endpoints.iter().filter(|e| !e.security.is_empty()) {
        let open = served.iter().find_map(|(server, path, _)| {
            let server = &api.servers[(*server)?];
            (*path == endpoint.address && server.security.is_empty()).then_some(server)
        });
        if let Some(server) = open {
            diags.push(SpecError::warning(
                server.path.clone(),
                format!(
                    "`{}` is also on a secured server: specserve serves one listener, so the path is secured on `{}` too",
                    endpoint.address, server.key
                ),
            ));
        }
    }
}

fn check_error_message(api: &Api, message: &super::Message, diags: &mut Diagnostics) {
    let path = format!("{}.x-specserve-error", message.path);
    let Some(rules) = error_body_rules(api, message) else {
        diags.push(
            SpecError::new(path, "`x-specserve-error` must name an object property of the payload")
                .hint("point it at `{code, message, details}`, like `/error`"),
        );
        return;
    };
    let field = |name: &str| rules.properties.iter().find(|p| p.name == name);
    let is_string = |p: &Property| matches!(api.schemas.get(p.schema).shape, Shape::String(_));
    let codes = error_codes(api, message);
    // Scopes make the runtime refuse valid credentials too.
    let scoped = api.security_schemes.iter().any(|s| !s.scopes.is_empty());
    let required: Vec<&str> = RUNTIME_ERROR_CODES.iter().copied().chain(scoped.then_some("forbidden")).collect();
    match field("code") {
        Some(code) if code.required && !codes.is_empty() => {
            let missing: Vec<&&str> = required.iter().filter(|c| !codes.iter().any(|have| have == *c)).collect();
            if !missing.is_empty() {
                diags.push(
                    SpecError::new(
                        api.schemas.get(code.schema).path.clone(),
                        format!(
                            "the error codes lack {}, which the runtime sends",
                            missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .hint(format!("the enum must contain {}", required.join(", "))),
                );
            }
        }
        _ => diags
            .push(SpecError::new(path.clone(), "the error body needs a required `code`: a string enum of error codes")),
    }
    if !field("message").is_some_and(|m| m.required && is_string(m)) {
        diags.push(SpecError::new(path.clone(), "the error body needs a required string `message`"));
    }
    if let Some(details) = field("details") {
        let ok = match &api.schemas.get(details.schema).shape {
            Shape::Array(array) => array.items.is_some_and(|item| match &api.schemas.get(item).shape {
                Shape::Object(item) => ["pointer", "keyword", "message"]
                    .iter()
                    .all(|name| item.properties.iter().any(|p| p.name == *name && is_string(p))),
                _ => false,
            }),
            _ => false,
        };
        if !ok {
            diags.push(SpecError::new(
                path,
                "`details` must be an array of objects with string `pointer`, `keyword` and `message`",
            ));
        }
    } else if rules.additional == Additional::Closed {
        diags.push(
            SpecError::new(path, "the error body is closed and has no `details`: validation errors could not be sent")
                .hint("add `details: {type: array, items: {pointer, keyword, message}}`"),
        );
    }
}

/// The schema id of a message's payload (helper for emitters).
pub fn payload(api: &Api, message: MessageId) -> Option<SchemaId> {
    api.messages[message].payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_goes_under_the_pathname_once() {
        let cases = [
            ("", None, "/"),
            ("", Some("/ws"), "/ws"),
            ("", Some("ticker.{symbol}"), "/ticker.{symbol}"),
            ("/v1/realtime", None, "/v1/realtime"),
            ("/v1/realtime/", Some("/"), "/v1/realtime"),
            ("/v1/realtime", Some("/v1/realtime"), "/v1/realtime"),
            ("/v1/realtime", Some("/v1/realtime/trades"), "/v1/realtime/trades"),
            ("/v1/realtime", Some("/trades"), "/v1/realtime/trades"),
            ("/v1/realtime", Some("trades"), "/v1/realtime/trades"),
            // A shared prefix that is not a whole segment is not the pathname.
            ("/v1/realtime", Some("/v1/realtimer"), "/v1/realtime/v1/realtimer"),
        ];
        for (pathname, address, path) in cases {
            assert_eq!(served_path(pathname, address), path, "{pathname} + {address:?}");
        }
    }

    #[test]
    fn a_pathname_variable_serves_each_allowed_value_or_else_its_default() {
        let variable = |name: &str, default: Option<&str>, allowed: &[&str]| super::super::Variable {
            name: name.into(),
            default: default.map(str::to_owned),
            allowed: allowed.iter().map(|a| (*a).to_owned()).collect(),
            description: None,
        };
        let server = |pathname: &str, variables| super::super::Server {
            key: "s".into(),
            host: "example.com".into(),
            protocol: "wss".into(),
            pathname: Some(pathname.into()),
            title: None,
            description: None,
            variables,
            security: Vec::new(),
            path: "servers.s".into(),
        };
        let both =
            server("/{v}/{region}", vec![variable("v", Some("v1"), &[]), variable("region", None, &["eu", "us"])]);
        assert_eq!(server_pathnames(&both), ["/v1/eu", "/v1/us"]);
        let unknown = server("/{v}", vec![variable("v", None, &[])]);
        assert!(server_pathnames(&unknown).is_empty(), "no value can be known");
    }
}
