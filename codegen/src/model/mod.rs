//! The model of a whole AsyncAPI 3.0 / 3.1 document: servers, channels with
//! their parameters, operations (`send` and `receive`, replies), messages
//! (payload, headers, correlation id, traits applied), security schemes and
//! schemas. References are resolved once, here, into ids; every emitter reads
//! only this model (and [`binding`], what specserve serves from it).
//!
//! Loading collects every problem of the document in one run. What specserve
//! cannot honour is a warning naming its path, unless ignoring it would change
//! the wire contract: then it is an error.

pub mod binding;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::diagnostics::{Diagnostics, Result, SpecError};
use crate::schema::bundle;
use crate::schema::{SchemaId, Schemas, Shape};
use crate::spec::{Documents, Loc, Node};

/// An operation's index in [`Api::operations`].
pub type OperationId = usize;
/// A channel's index in [`Api::channels`].
pub type ChannelId = usize;
/// A message's index in [`Api::messages`].
pub type MessageId = usize;
/// A security scheme's index in [`Api::security_schemes`].
pub type SchemeId = usize;

/// Extension keys of the document root.
pub const ROOT_EXTENSIONS: &[&str] = &[];
/// Extension keys of a channel.
pub const CHANNEL_EXTENSIONS: &[&str] = &["x-specserve-close-codes", "x-specserve-aliases"];
/// Extension keys of an operation.
pub const OPERATION_EXTENSIONS: &[&str] = &[
    "x-specserve-rate-limit",
    "x-specserve-exclusive",
    "x-specserve-ordered",
    "x-specserve-audit",
    "x-specserve-group",
    "x-specserve-trigger",
    "x-specserve-session",
    "x-specserve-resume",
    "x-specserve-handler",
];
/// Extension keys of a message.
pub const MESSAGE_EXTENSIONS: &[&str] = &["x-specserve-error"];
/// Extension keys of a security scheme.
pub const SCHEME_EXTENSIONS: &[&str] = &["x-specserve-message-property", "x-specserve-scopes"];

/// A whole document.
#[derive(Debug)]
pub struct Api {
    /// `asyncapi` as written: `3.0.0`, `3.1.0`, or a 2.x read as 3.0.
    pub asyncapi: String,
    /// `id`.
    pub id: Option<String>,
    /// `info`.
    pub info: Info,
    /// `defaultContentType`.
    pub default_content_type: Option<String>,
    /// `servers`, in order.
    pub servers: Vec<Server>,
    /// Every channel (of `channels` and those only operations reference), in order.
    pub channels: Vec<Channel>,
    /// `operations`, in order.
    pub operations: Vec<Operation>,
    /// Every message any channel holds, each once.
    pub messages: Vec<Message>,
    /// `components.securitySchemes` (and inline schemes), each once.
    pub security_schemes: Vec<SecurityScheme>,
    /// Every schema read.
    pub schemas: Schemas,
    /// `components.schemas`, in order: named types even when unused.
    pub components: Vec<(String, SchemaId)>,
    /// Whose side the document describes; a client's is served inverted.
    pub perspective: Perspective,
    /// The warnings found while loading.
    pub warnings: Diagnostics,
    /// What the document says that specserve does not do, each also a
    /// warning: `lint` lists them by JSON pointer and `--strict` refuses them.
    pub unsupported: Vec<Unsupported>,
}

/// A construct of the document that the server does not honour as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What it is, in the document's words (`kafka` binding, `userPassword` security scheme).
    pub construct: String,
    /// Where it is: a JSON pointer in the document as written
    /// (`file.yaml#/pointer` in another file of a multi-file document).
    pub pointer: String,
    /// What specserve does instead.
    pub consequence: String,
}

/// `info`.
#[derive(Debug, Clone, Default)]
pub struct Info {
    /// `title`.
    pub title: String,
    /// The API's own `version`.
    pub version: String,
    /// `description` (Markdown).
    pub description: Option<String>,
    /// `termsOfService`.
    pub terms_of_service: Option<String>,
    /// `contact`: name, url, email.
    pub contact: Option<(Option<String>, Option<String>, Option<String>)>,
    /// `license`: name and url.
    pub license: Option<(String, Option<String>)>,
    /// `tags` names.
    pub tags: Vec<String>,
    /// `externalDocs.url`.
    pub external_docs: Option<String>,
}

/// A server.
#[derive(Debug, Clone)]
pub struct Server {
    /// Its key under `servers`.
    pub key: String,
    /// `host` (with `{variables}`).
    pub host: String,
    /// `protocol`.
    pub protocol: String,
    /// `pathname`: prefixes every channel address on this server.
    pub pathname: Option<String>,
    /// `title` or `summary`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `variables`: name, default, allowed values, description.
    pub variables: Vec<Variable>,
    /// `security`: any one of these schemes admits a connection (checked at
    /// the upgrade); an operation's own `security` is required as well.
    pub security: Vec<SchemeId>,
    /// Its dotted path, to tell which server a channel's `servers` names.
    pub path: String,
}

/// A server variable.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// `default`.
    pub default: Option<String>,
    /// `enum`.
    pub allowed: Vec<String>,
    /// `description`.
    pub description: Option<String>,
}

/// A channel: for specserve, a WebSocket path.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Its key under `channels`.
    pub key: String,
    /// `address`; `None` when the document leaves it open: then the channel is
    /// the server's own URL (see [`binding::served_path`]).
    pub address: Option<String>,
    /// `servers`: the indexes of the servers it is on; `None` for all of them.
    pub servers: Option<Vec<usize>>,
    /// `title`.
    pub title: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `parameters`, in order.
    pub parameters: Vec<Parameter>,
    /// `messages`: (key, message), in order.
    pub messages: Vec<(String, MessageId)>,
    /// The `ws` binding's `query` schema.
    pub query: Option<SchemaId>,
    /// That schema as one standalone draft-07 document (the upgrade validates the query).
    pub query_json: Option<Value>,
    /// The `ws` binding's `headers`: what the upgrade request's headers must be.
    pub upgrade_headers: Option<UpgradeHeaders>,
    /// `x-specserve-close-codes`.
    pub close_codes: Vec<CloseCode>,
    /// `x-specserve-aliases`: more paths the channel is served at.
    pub aliases: Vec<String>,
    /// Its dotted path, for messages.
    pub path: String,
    /// Its JSON pointer in the document as written.
    pub pointer: String,
}

/// A channel's `ws` binding `headers`: a schema over the upgrade's headers.
#[derive(Debug, Clone)]
pub struct UpgradeHeaders {
    /// The schema.
    pub schema: SchemaId,
    /// It as one standalone draft-07 document (the upgrade validates the headers).
    pub json: Value,
    /// The header names it declares (`properties`), as written.
    pub names: Vec<String>,
}

/// A channel parameter: a string taken from the path.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Its name in the address.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `enum`: the values allowed.
    pub allowed: Vec<String>,
    /// `default`.
    pub default: Option<String>,
    /// `examples`.
    pub examples: Vec<String>,
}

/// A WebSocket close code and when the server sends it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseCode {
    /// 1000-4999.
    pub code: u16,
    /// When it is sent, one sentence.
    pub when: String,
}

/// Whose side of the conversation a document describes. AsyncAPI says a
/// document describes its own application, but public API documents are
/// often written from their client's side (the generator's client templates
/// expect exactly that): served as `Client`, every operation's action is
/// inverted, so what the client sends the server receives and answers, and
/// what the client receives the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Perspective {
    /// The document describes the server specserve runs (the spec's reading).
    #[default]
    Application,
    /// The document describes a client of that server.
    Client,
}

/// `send` or `receive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The server sends (an event pushed to clients).
    Send,
    /// The server receives (a client's message; with a reply, a request).
    Receive,
}

/// How a received operation's frames run beside a connection's others
/// (the runtime's `service::Scheduling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduling {
    /// Beside the others.
    #[default]
    Concurrent,
    /// One after another in the order sent (`x-specserve-ordered: true`).
    Ordered,
    /// Alone (`x-specserve-exclusive: true`).
    Exclusive,
}

impl Scheduling {
    /// The runtime's variant.
    pub fn variant(self) -> &'static str {
        match self {
            Scheduling::Concurrent => "Concurrent",
            Scheduling::Ordered => "Ordered",
            Scheduling::Exclusive => "Exclusive",
        }
    }
}

/// An operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Its key under `operations`.
    pub key: String,
    /// `action`.
    pub action: Action,
    /// `channel`.
    pub channel: ChannelId,
    /// `messages` (all of the channel's when the operation lists none).
    pub messages: Vec<MessageId>,
    /// `reply`.
    pub reply: Option<Reply>,
    /// `security`: any one of these schemes.
    pub security: Vec<SchemeId>,
    /// `title`.
    pub title: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags` names.
    pub tags: Vec<String>,
    /// The handler group: `x-specserve-group`, else the first tag, else the channel key.
    pub group: String,
    /// The handler method (snake case, the group's name stripped from the front).
    pub method: String,
    /// `x-specserve-rate-limit`.
    pub rate_limit: Option<String>,
    /// How its frames run beside a connection's others: `x-specserve-exclusive`, `x-specserve-ordered`.
    pub scheduling: Scheduling,
    /// `x-specserve-audit`.
    pub audit: Option<Audit>,
    /// `x-specserve-trigger` on a `send` operation: the `receive` operation
    /// whose request makes the server push this message on the same
    /// connection, so `conformance` can provoke it and check what comes.
    pub trigger: Option<OperationId>,
    /// `x-specserve-session: true`: the request sets up state on its
    /// connection (a login, a subscription) that a new connection lacks, so
    /// clients replay it after reconnecting.
    pub session: bool,
    /// `x-specserve-resume` on a session operation: how a reconnecting
    /// client asks for the events it missed.
    pub resume: Option<Resume>,
    /// Served over HTTP: the operation's `http` binding, on a channel whose
    /// servers are all `http`/`https` ([`HttpOperation`]).
    pub http: Option<HttpOperation>,
    /// `x-specserve-handler` on an HTTP operation: the WebSocket operation
    /// whose handler serves it, so one handler answers both transports.
    pub handler: Option<OperationId>,
    /// Its dotted path.
    pub path: String,
    /// Its JSON pointer in the document as written.
    pub pointer: String,
}

impl Operation {
    /// Whether the handler traits have a method for it: it is received,
    /// and no `x-specserve-handler` lends it another operation's.
    pub fn has_handler_method(&self) -> bool {
        self.action == Action::Receive && self.handler.is_none()
    }
}

/// An operation served over HTTP: its channel's address is the request
/// path, its `http` operation binding says the method and the query. The
/// request's message payload is the JSON body with the path's parameters
/// and the query's pairs added as properties.
#[derive(Debug, Clone)]
pub struct HttpOperation {
    /// `bindings.http.method`, upper case.
    pub method: String,
    /// `bindings.http.query`: what the query string must be.
    pub query: Option<SchemaId>,
    /// That schema as one standalone draft-07 document (the request validates its query).
    pub query_json: Option<Value>,
}

/// `x-specserve-resume: {since, missed, event, position}`: replaying a
/// session operation after a reconnect, a client puts the position of the
/// newest `event` it received in the request payload's `since`; the reply's
/// `missed` lists, oldest first, the payloads of the `event`s it missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The request payload property that carries the position.
    pub since: String,
    /// The reply payload property that lists the missed events' payloads.
    pub missed: String,
    /// The `send` operation whose events carry positions.
    pub event: OperationId,
    /// JSON pointer to the position in that event's payload.
    pub position: String,
}

/// `x-specserve-audit`: the event an operation records, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// The event name.
    pub event: String,
    /// `$request.payload#/ptr` or `$reply.payload#/ptr`: where the target's id is.
    pub target: Option<(AuditSource, String)>,
}

/// Which message an audit target is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSource {
    /// The request.
    Request,
    /// The success reply.
    Reply,
}

/// An operation's `reply`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `channel`.
    pub channel: Option<ChannelId>,
    /// `address.location`, when the reply goes to a runtime address.
    pub address: Option<String>,
    /// `messages` (all of the reply channel's when none are listed).
    pub messages: Vec<MessageId>,
}

/// Where a correlation id lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlation {
    /// In the payload (`$message.payload#`) or the headers (`$message.header#`).
    pub in_headers: bool,
    /// JSON pointer.
    pub pointer: String,
    /// `description`.
    pub description: Option<String>,
}

/// A message example.
#[derive(Debug, Clone)]
pub struct Example {
    /// `name`.
    pub name: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `headers`.
    pub headers: Option<Value>,
    /// `payload`.
    pub payload: Option<Value>,
}

/// A message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its key: `components.messages.<key>`, or `<channel><Key>` for one written in a channel.
    pub key: String,
    /// `name`.
    pub name: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `contentType` (else the document's default).
    pub content_type: Option<String>,
    /// `payload`, when it is JSON Schema.
    pub payload: Option<SchemaId>,
    /// `headers`.
    pub headers: Option<SchemaId>,
    /// `correlationId`.
    pub correlation: Option<Correlation>,
    /// `examples`.
    pub examples: Vec<Example>,
    /// `x-specserve-error`: the pointer of the error body in this message.
    pub error_body: Option<String>,
    /// The payload schema as one standalone draft-07 document (validators, `generated/schemas`).
    pub payload_json: Option<Value>,
    /// The headers schema, likewise.
    pub headers_json: Option<Value>,
    /// Its dotted path.
    pub path: String,
}

/// How a security scheme reaches a WebSocket server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enforcement {
    /// `Authorization: Bearer` at the upgrade.
    Bearer,
    /// A header at the upgrade.
    Header(String),
    /// A query parameter of the upgrade.
    Query(String),
    /// A cookie at the upgrade.
    Cookie(String),
    /// `Authorization: Basic` at the upgrade (`userPassword`, `http` basic).
    Basic,
    /// Only in messages (`x-specserve-message-property`).
    MessageOnly,
    /// Not something a WebSocket server can check; the reason.
    NotEnforced(String),
}

impl Enforcement {
    /// Whether the credential comes with the upgrade request, so it can be
    /// checked before the connection is accepted.
    pub fn at_upgrade(&self) -> bool {
        matches!(
            self,
            Enforcement::Bearer
                | Enforcement::Header(_)
                | Enforcement::Query(_)
                | Enforcement::Cookie(_)
                | Enforcement::Basic
        )
    }
}

/// A security scheme.
#[derive(Debug, Clone)]
pub struct SecurityScheme {
    /// Its key under `components.securitySchemes`; an inline scheme's `type`.
    pub key: String,
    /// `type`.
    pub kind: String,
    /// `description`.
    pub description: Option<String>,
    /// How specserve checks it.
    pub enforcement: Enforcement,
    /// `x-specserve-message-property`: a message property that may carry the credential.
    pub message_property: Option<String>,
    /// The scopes a credential must hold to satisfy this scheme: `scopes` of an
    /// `oauth2` or `openIdConnect` scheme, `x-specserve-scopes` of any other
    /// (the standard field is only defined for those two). Empty: none needed.
    pub scopes: Vec<String>,
    /// Its dotted path: where it is written, which is what makes it one scheme.
    pub path: String,
}

impl Api {
    /// Loads the document at `path` (and every file it references).
    pub fn load(path: &std::path::Path) -> std::result::Result<Api, Diagnostics> {
        Api::load_as(path, Perspective::Application)
    }

    /// Loads the document at `path`, read from `perspective`.
    pub fn load_as(path: &std::path::Path, perspective: Perspective) -> std::result::Result<Api, Diagnostics> {
        let docs = Documents::load(path)?;
        Api::from_documents(&docs, perspective)
    }

    /// Loads a document from text (local references only).
    pub fn from_yaml(text: &str) -> std::result::Result<Api, Diagnostics> {
        Api::from_yaml_as(text, Perspective::Application)
    }

    /// Loads a document from text, read from `perspective`.
    pub fn from_yaml_as(text: &str, perspective: Perspective) -> std::result::Result<Api, Diagnostics> {
        let docs = Documents::parse(text)?;
        Api::from_documents(&docs, perspective)
    }

    /// Builds the model of a loaded document set: every problem is reported,
    /// errors as `Err`, warnings in [`Api::warnings`].
    pub fn from_documents(docs: &Documents, perspective: Perspective) -> std::result::Result<Api, Diagnostics> {
        let mut api = Api::empty();
        api.perspective = perspective;
        let mut builder = Builder { docs, diags: Diagnostics::new(), api };
        builder.build();
        let Builder { mut diags, mut api, .. } = builder;
        let unserved = binding::check(&api, &mut diags);
        api.unsupported.extend(unserved);
        // The document must be valid by the official schema too (the
        // official parser refuses it otherwise); where specserve's own
        // checks already said so, they get the parser's rule name.
        diags.merge_official(official_violations(docs, &api.asyncapi));
        diags.place(&docs.positions_by_path());
        if diags.has_errors() {
            return Err(diags);
        }
        api.warnings = diags;
        Ok(api)
    }

    fn empty() -> Api {
        Api {
            asyncapi: String::new(),
            id: None,
            info: Info::default(),
            default_content_type: None,
            servers: Vec::new(),
            channels: Vec::new(),
            operations: Vec::new(),
            messages: Vec::new(),
            security_schemes: Vec::new(),
            schemas: Schemas::new(),
            components: Vec::new(),
            perspective: Perspective::Application,
            warnings: Diagnostics::new(),
            unsupported: Vec::new(),
        }
    }

    /// The handler groups, in order of first appearance.
    pub fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = Vec::new();
        for op in &self.operations {
            if !groups.contains(&op.group.as_str()) {
                groups.push(&op.group);
            }
        }
        groups
    }

    /// The operations of a group, in order.
    pub fn group(&self, group: &str) -> impl Iterator<Item = (OperationId, &Operation)> {
        self.operations.iter().enumerate().filter(move |(_, op)| op.group == group)
    }

    /// The successful replies of an operation (its reply messages without `x-specserve-error`).
    pub fn success_replies(&self, op: &Operation) -> Vec<MessageId> {
        op.reply.iter().flat_map(|r| &r.messages).copied().filter(|m| self.messages[*m].error_body.is_none()).collect()
    }

    /// The error reply of an operation (its reply message with `x-specserve-error`), if any.
    pub fn error_reply(&self, op: &Operation) -> Option<MessageId> {
        op.reply.iter().flat_map(|r| &r.messages).copied().find(|m| self.messages[*m].error_body.is_some())
    }

    /// The error codes of the document's error bodies (the `code` enum), in order.
    pub fn error_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for message in self.messages.iter().filter(|m| m.error_body.is_some()) {
            for code in binding::error_codes(self, message) {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
        }
        codes
    }

    /// The close codes of every channel, each once (the document's contract).
    pub fn close_codes(&self) -> Vec<CloseCode> {
        let mut codes: Vec<CloseCode> = Vec::new();
        for channel in &self.channels {
            for code in &channel.close_codes {
                if !codes.iter().any(|c| c.code == code.code) {
                    codes.push(code.clone());
                }
            }
        }
        codes
    }
}

struct Builder<'d> {
    docs: &'d Documents,
    diags: Diagnostics,
    api: Api,
}

/// The document as written (its references resolved, as the official parser
/// validates it) checked against the official AsyncAPI JSON Schema of its version, each violation an error under the
/// official parser's rule name.
fn official_violations(docs: &Documents, version: &str) -> Vec<SpecError> {
    use crate::spec::official;
    if !official::knows(version) {
        return vec![
            SpecError::new("asyncapi", format!("`{version}` is not a released AsyncAPI version"))
                .rule("asyncapi-is-asyncapi")
                .hint("write 3.0.0 or 3.1.0 (or a 2.x release from 2.0.0 to 2.6.0)"),
        ];
    }
    official::check(version, &docs.dereferenced())
        .into_iter()
        .map(|violation| {
            SpecError::new(docs.written_path(&violation.pointer), violation.message)
                .rule(official::RULE)
                .at(docs.written_position(&violation.pointer))
        })
        .collect()
}

/// The keys of a message object that traits may supply.
const MESSAGE_FIELDS: &[&str] =
    &["name", "title", "summary", "description", "contentType", "payload", "headers", "correlationId", "examples"];

impl<'d> Builder<'d> {
    fn build(&mut self) {
        let root = self.docs.root();
        let Some(version) = self.take(root.required("asyncapi").and_then(|v| v.str().map(str::to_owned))) else {
            return;
        };
        if !matches!(version.split('.').collect::<Vec<_>>().as_slice(), ["3", "0" | "1", _]) {
            self.diags.push(
                root.child("asyncapi")
                    .map_or_else(
                        || SpecError::new("asyncapi", ""),
                        |n| n.error(format!("AsyncAPI {version} is not supported")),
                    )
                    .hint("specserve reads AsyncAPI 2.0 to 2.6, 3.0 and 3.1 documents"),
            );
            return;
        }
        // A 2.x document arrives here rewritten as 3.0 (spec::v2); it keeps
        // its own version, and what the rewrite lost is said where it was.
        let version = self.docs.converted_from().map_or(version, str::to_owned);
        for (path, loss) in self.docs.conversion_losses() {
            let hint = "AsyncAPI 2.x is read as the 3.0 document `asyncapi convert` would write";
            if loss.refused {
                let error = SpecError::new(path, loss.message.clone()).hint(hint);
                self.diags.push(match loss.rule {
                    Some(rule) => error.rule(rule),
                    None => error,
                });
                continue;
            }
            let entry = Unsupported {
                construct: loss.construct.clone(),
                pointer: loss.pointer.clone(),
                consequence: loss.message.clone(),
            };
            self.api.unsupported.push(entry);
            self.diags.push(SpecError::warning(path, loss.message.clone()).hint(hint));
        }
        self.api.asyncapi = version;
        for problem in root.unknown_extensions(ROOT_EXTENSIONS) {
            self.diags.push(problem);
        }
        self.api.id = root.opt_str("id").ok().flatten().map(str::to_owned);
        self.api.default_content_type = root.opt_str("defaultContentType").ok().flatten().map(str::to_owned);
        if let Some(ct) = &self.api.default_content_type
            && !is_json(ct)
        {
            let node = root.child("defaultContentType").unwrap_or_else(|| root.clone());
            let warning = node
                .warning(format!("content type `{ct}` is not JSON: specserve sends and reads JSON text frames"))
                .hint("use application/json");
            self.not_served(&node, format!("content type `{ct}`"), warning);
        }
        self.info(&root);
        self.servers(&root);
        self.components(&root);
        if let Some(channels) = root.child("channels") {
            for (_, node) in self.take(channels.entries()).unwrap_or_default() {
                self.channel(&node);
            }
        }
        if let Some(operations) = root.child("operations") {
            for (key, node) in self.take(operations.entries()).unwrap_or_default() {
                self.operation(&key, &node);
            }
        }
        self.triggers(&root);
        self.resumes(&root);
        self.http_servers(&root);
        self.handlers(&root);
        self.name_methods();
        self.infer_reply_correlations();
    }

    /// Each `x-specserve-trigger`, once every operation is known: on a `send`
    /// operation, the key of a `receive` operation on the same channel.
    fn triggers(&mut self, root: &Node<'d>) {
        let Some(operations) = root.child("operations") else { return };
        for (key, node) in self.take(operations.entries()).unwrap_or_default() {
            let Some(trigger) = node.resolve().ok().and_then(|n| n.child("x-specserve-trigger")) else { continue };
            let Some(op) = self.api.operations.iter().position(|o| o.key == key) else { continue };
            let named = trigger.value().as_str().and_then(|k| self.api.operations.iter().position(|o| o.key == k));
            // Read from the other side (`--perspective`), the operation is one
            // the server receives: the trigger says nothing about this server.
            if self.api.operations[op].action != Action::Send {
                self.diags.push(trigger.warning(
                    "`x-specserve-trigger` is for an operation the server sends; read from this side it receives it, so the trigger is ignored",
                ));
                continue;
            }
            let problem = match named {
                None => Some("`x-specserve-trigger` must name a `receive` operation by its key".to_owned()),
                Some(by) if self.api.operations[by].action != Action::Receive => {
                    Some(format!("`{}` is not a `receive` operation", self.api.operations[by].key))
                }
                Some(by) if self.api.operations[by].channel != self.api.operations[op].channel => Some(format!(
                    "`{}` is on another channel: what it triggers must arrive on its connection",
                    self.api.operations[by].key
                )),
                Some(_) => None,
            };
            match problem {
                Some(problem) => self.diags.push(trigger.error(problem).hint(
                    "name the receive operation whose request makes the server push this message on the same socket",
                )),
                None => self.api.operations[op].trigger = named,
            }
        }
    }

    /// An `http`/`https` server no HTTP operation is on: not served.
    fn http_servers(&mut self, root: &Node<'d>) {
        let Some(servers) = root.child("servers") else { return };
        let used: Vec<usize> = self
            .api
            .operations
            .iter()
            .filter(|op| op.http.is_some())
            .flat_map(|op| self.api.channels[op.channel].servers.clone().unwrap_or_default())
            .collect();
        for (index, server) in self.api.servers.clone().iter().enumerate() {
            if !is_http_protocol(&server.protocol) || used.contains(&index) {
                continue;
            }
            let Some(node) = servers.child(&server.key).and_then(|n| n.resolve().ok()) else { continue };
            let at = node.child("protocol").unwrap_or_else(|| node.clone());
            let protocol = &server.protocol;
            let warning = at
                .warning(format!(
                    "protocol `{protocol}` is not WebSocket, and no operation with an `http` binding is on it: specserve serves this API over WebSocket anyway"
                ))
                .hint("use `ws` or `wss` for a server specserve runs, or put HTTP operations' channels on this server");
            self.not_served(&at, format!("protocol `{protocol}`"), warning);
        }
    }

    /// Each `x-specserve-handler`, once every operation is known: on an
    /// HTTP operation, the key of a WebSocket operation whose handler takes
    /// the same message and answers the same replies.
    fn handlers(&mut self, root: &Node<'d>) {
        let Some(operations) = root.child("operations") else { return };
        for (key, node) in self.take(operations.entries()).unwrap_or_default() {
            let Some(named) = node.resolve().ok().and_then(|n| n.child("x-specserve-handler")) else { continue };
            let Some(op) = self.api.operations.iter().position(|o| o.key == key) else { continue };
            if self.api.operations[op].http.is_none() && self.is_http_channel(self.api.operations[op].channel) {
                continue; // its `http` binding is refused already
            }
            match self.handler_problem(op, named.value().as_str()) {
                Ok(target) => self.api.operations[op].handler = Some(target),
                Err(problem) => self.diags.push(named.error(problem).hint(
                    "name a `receive` operation of a WebSocket channel without parameters whose request payload is this operation's message payload and whose replies are this operation's",
                )),
            }
        }
    }

    /// Why operation `op` cannot be served by the handler of the operation
    /// keyed `named`, or that operation.
    fn handler_problem(&self, op: OperationId, named: Option<&str>) -> std::result::Result<OperationId, String> {
        let api = &self.api;
        let this = &api.operations[op];
        if this.http.is_none() {
            return Err("`x-specserve-handler` is for an operation served over HTTP".into());
        }
        let Some(target) = named.and_then(|k| api.operations.iter().position(|o| o.key == k)) else {
            return Err("`x-specserve-handler` must name an operation by its key".into());
        };
        let that = &api.operations[target];
        if that.action != Action::Receive || that.http.is_some() {
            return Err(format!("`{}` is not a `receive` operation on a WebSocket channel", that.key));
        }
        if !api.channels[that.channel].parameters.is_empty() {
            return Err(format!("`{}`'s handler takes its channel's parameters", that.key));
        }
        if this.security.is_empty() != that.security.is_empty() {
            return Err(format!("`{}` and this operation must both be secured, or both open", that.key));
        }
        let (Some(this_reply), Some(that_reply)) = (&this.reply, &that.reply) else {
            return Err(format!("`{}` and this operation must both reply, with the same messages", that.key));
        };
        if this_reply.messages != that_reply.messages {
            return Err(format!("the replies differ from `{}`'s: they must be the same messages", that.key));
        }
        let input = |id: MessageId| {
            let discriminator = api.endpoint_discriminator(that.channel);
            let layout = api.layout(id, discriminator.as_deref(), api.credential_property(target));
            layout.wrapper(api).map(|field| field.schema).or(api.messages[id].payload)
        };
        match (this.messages.as_slice(), that.messages.as_slice()) {
            ([mine], [theirs])
                if api.messages[*mine].payload.is_some() && api.messages[*mine].payload == input(*theirs) =>
            {
                Ok(target)
            }
            _ => {
                Err(format!("this operation's one message's payload must be the schema `{}`'s handler takes", that.key))
            }
        }
    }

    /// Each `x-specserve-resume`, once every operation is known: on a
    /// session operation, the names of its `since` and `missed` properties,
    /// a `send` operation on the same channel and a pointer into its payload.
    fn resumes(&mut self, root: &Node<'d>) {
        let Some(operations) = root.child("operations") else { return };
        for (key, node) in self.take(operations.entries()).unwrap_or_default() {
            let Some(resume) = node.resolve().ok().and_then(|n| n.child("x-specserve-resume")) else { continue };
            let Some(op) = self.api.operations.iter().position(|o| o.key == key) else { continue };
            let text = |name: &str| resume.child(name).and_then(|n| n.value().as_str().map(str::to_owned));
            let (Some(since), Some(missed), Some(event), Some(position)) =
                (text("since"), text("missed"), text("event"), text("position"))
            else {
                self.diags.push(
                    resume
                        .error("`x-specserve-resume` needs `since`, `missed`, `event` and `position`")
                        .hint("write {since: <request property>, missed: <reply property>, event: <send operation>, position: /pointer}"),
                );
                continue;
            };
            let operation = &self.api.operations[op];
            let named = self.api.operations.iter().position(|o| o.key == event);
            let problem = if !operation.session {
                Some(
                    "`x-specserve-resume` goes with `x-specserve-session: true`: only a replayed operation resumes"
                        .to_owned(),
                )
            } else if operation.reply.is_none() {
                Some("a resuming operation needs a reply to list what was missed in".to_owned())
            } else if !position.starts_with('/') {
                Some(format!("`{position}` is not a JSON pointer"))
            } else {
                match named {
                    None => Some(format!("`{event}` is not an operation")),
                    Some(by) if self.api.operations[by].action != Action::Send => {
                        Some(format!("`{event}` is not a `send` operation: only pushed events are missed"))
                    }
                    Some(by) if self.api.operations[by].channel != operation.channel => {
                        Some(format!("`{event}` is on another channel"))
                    }
                    Some(_) => None,
                }
            };
            match (problem, named) {
                (None, Some(event)) => {
                    self.api.operations[op].resume = Some(Resume { since, missed, event, position });
                }
                (problem, _) => self.diags.push(
                    resume
                        .error(problem.unwrap_or_default())
                        .hint("name a send operation of this channel and where its events hold their position"),
                ),
            }
        }
    }

    /// A reply message without a `correlationId` whose payload has the very
    /// property its requests keep their id in (Kraken's `subscriptionStatus`
    /// and `reqid`) echoes that id: the document means it, and a client could
    /// not match the reply otherwise. Only for top-level payload properties,
    /// and only when the requests agree.
    fn infer_reply_correlations(&mut self) {
        for op in 0..self.api.operations.len() {
            let operation = &self.api.operations[op];
            let Some(reply) = &operation.reply else { continue };
            let mut requests = operation.messages.iter().map(|m| self.api.messages[*m].correlation.clone());
            let Some(Some(correlation)) = requests.next() else { continue };
            if correlation.in_headers || requests.any(|c| c.as_ref() != Some(&correlation)) {
                continue;
            }
            let Some(name) = correlation.pointer.strip_prefix('/').filter(|n| !n.contains('/')) else { continue };
            for message in reply.messages.clone() {
                let reply_message = &self.api.messages[message];
                if reply_message.correlation.is_none()
                    && reply_message.payload.is_some_and(|p| self.api.schemas.always_has_property(p, name))
                {
                    self.api.messages[message].correlation =
                        Some(Correlation { description: None, ..correlation.clone() });
                }
            }
        }
    }

    fn take<T>(&mut self, result: Result<T>) -> Option<T> {
        self.diags.take(result)
    }

    /// The official parser's name for a rule it has in both majors: its
    /// `asyncapi2-` form for a 2.x document, else its `asyncapi3-` form.
    fn rule(&self, v2: &'static str, v3: &'static str) -> &'static str {
        if self.docs.converted_from().is_some() { v2 } else { v3 }
    }

    /// Records that `construct` (at `node`) is not served as written, and
    /// says so in `warning`, once however often the node is read.
    fn not_served(&mut self, node: &Node<'d>, construct: impl Into<String>, warning: SpecError) {
        let entry = Unsupported {
            construct: construct.into(),
            pointer: self.docs.written_pointer(&node.loc()),
            consequence: warning.message.clone(),
        };
        if !self.api.unsupported.contains(&entry) {
            self.api.unsupported.push(entry);
            self.diags.push(warning);
        }
    }

    /// Bindings of protocols other than WebSocket, on a server, channel,
    /// operation or message: documented, not served.
    fn foreign_bindings(&mut self, owner: &Node<'d>) {
        self.foreign_bindings_but(owner, "ws");
    }

    /// [`Self::foreign_bindings`], with `served` the protocol whose bindings are served there.
    fn foreign_bindings_but(&mut self, owner: &Node<'d>, served: &str) {
        let Some(bindings) = owner.child("bindings").and_then(|b| self.take(b.resolve())) else { return };
        for (protocol, binding) in bindings.entries().unwrap_or_default() {
            if protocol == served || protocol.starts_with("x-") {
                continue;
            }
            let warning = binding
                .warning(format!("`{protocol}` bindings are not served: specserve speaks WebSocket only"))
                .hint("keep them for the tools of that protocol; specserve ignores them");
            self.not_served(&binding, format!("`{protocol}` binding"), warning);
        }
    }

    fn info(&mut self, root: &Node<'d>) {
        let Some(info) = self.take(root.required("info")) else { return };
        let text = |key: &str| info.opt_str(key).ok().flatten().map(str::to_owned);
        let title = text("title");
        let version = text("version");
        if title.is_none() {
            self.diags.push(info.error("`title` is required"));
        }
        if version.is_none() {
            self.diags.push(info.error("`version` is required"));
        }
        self.api.info = Info {
            title: title.unwrap_or_default(),
            version: version.unwrap_or_default(),
            description: text("description"),
            terms_of_service: text("termsOfService"),
            contact: info.child("contact").map(|c| {
                let get = |k: &str| c.opt_str(k).ok().flatten().map(str::to_owned);
                (get("name"), get("url"), get("email"))
            }),
            license: info.child("license").and_then(|l| {
                let name = l.opt_str("name").ok().flatten()?.to_owned();
                Some((name, l.opt_str("url").ok().flatten().map(str::to_owned)))
            }),
            tags: tag_names(&info),
            external_docs: info
                .child("externalDocs")
                .and_then(|d| d.resolve().ok()?.opt_str("url").ok().flatten().map(str::to_owned)),
        };
    }

    fn servers(&mut self, root: &Node<'d>) {
        let Some(servers) = root.child("servers") else { return };
        for (key, node) in self.take(servers.entries()).unwrap_or_default() {
            let Some(node) = self.take(node.resolve()) else { continue };
            let text = |k: &str| node.opt_str(k).ok().flatten().map(str::to_owned);
            let (Some(host), Some(protocol)) = (text("host"), text("protocol")) else {
                self.diags.push(node.error("a server needs `host` and `protocol`"));
                continue;
            };
            // An `http`/`https` server is judged once the operations are
            // known: it is served when an HTTP operation is on it (`http_servers`).
            if protocol != "ws" && protocol != "wss" && !is_http_protocol(&protocol) {
                let at = node.child("protocol").unwrap_or_else(|| node.clone());
                let warning = at
                    .warning(format!(
                        "protocol `{protocol}` is not WebSocket: specserve serves this API over WebSocket anyway"
                    ))
                    .hint("use `ws` or `wss` for a server specserve runs");
                self.not_served(&at, format!("protocol `{protocol}`"), warning);
            }
            self.foreign_bindings(&node);
            self.check_server_variables(&node, &host);
            let mut variables = Vec::new();
            if let Some(vars) = node.child("variables") {
                for (name, var) in self.take(vars.entries()).unwrap_or_default() {
                    let Some(var) = self.take(var.resolve()) else { continue };
                    variables.push(Variable {
                        name,
                        default: var.opt_str("default").ok().flatten().map(str::to_owned),
                        allowed: strings(var.value().get("enum")),
                        description: var.opt_str("description").ok().flatten().map(str::to_owned),
                    });
                }
            }
            let security = node.child("security").map(|list| self.security(&list)).unwrap_or_default();
            self.api.servers.push(Server {
                key,
                host,
                protocol,
                pathname: text("pathname"),
                title: text("title").or_else(|| text("summary")),
                description: text("description"),
                variables,
                security,
                path: node.path().to_owned(),
            });
        }
    }

    /// Every `{name}` of a server's host and pathname is one of its
    /// `variables`, and every variable is used: the official parser checks
    /// this for 2.x, not for 3.x, and an unknown one leaves the URL unknowable.
    fn check_server_variables(&mut self, server: &Node<'d>, host: &str) {
        let pathname = server.opt_str("pathname").ok().flatten().unwrap_or_default();
        let used: Vec<String> = address_parameters(host).into_iter().chain(address_parameters(pathname)).collect();
        let declared: Vec<String> = server
            .child("variables")
            .and_then(|v| v.entries().ok())
            .map(|entries| entries.into_iter().map(|(name, _)| name).collect())
            .unwrap_or_default();
        for name in used.iter().filter(|name| !declared.contains(name)) {
            let at = server.child("host").unwrap_or_else(|| server.clone());
            self.diags.push(
                at.warning(format!("`{{{name}}}` is not among the server's `variables`: the URL keeps it as written"))
                    .hint(format!("declare `variables: {{{name}: {{default: ...}}}}`")),
            );
        }
        if let Some(variables) = server.child("variables") {
            for (name, variable) in variables.entries().unwrap_or_default() {
                if !used.contains(&name) {
                    self.diags.push(variable.warning(format!("`{{{name}}}` is in neither the host nor the pathname")));
                }
            }
        }
    }

    fn components(&mut self, root: &Node<'d>) {
        let Some(components) = root.child("components") else { return };
        if let Some(schemas) = components.child("schemas") {
            for (name, node) in self.take(schemas.entries()).unwrap_or_default() {
                if let Some(node) = self.schema_node(&node) {
                    let id = self.api.schemas.read(&node, &mut self.diags);
                    self.api.components.push((name, id));
                    self.check_schema_values(&node, 0);
                }
            }
        }
    }

    /// The `default` and `examples` written in a schema (and in the schemas
    /// written inside it) must be valid against it: the official parser
    /// leaves this out for 3.x (and in practice for 2.x), and a client that
    /// trusts the documented default would send what the server refuses.
    /// A `$ref` is checked where its target is written.
    fn check_schema_values(&mut self, node: &Node<'d>, depth: usize) {
        let Some(map) = node.value().as_object() else { return };
        if depth > 32 || map.contains_key("$ref") {
            return;
        }
        if map.contains_key("default") || map.contains_key("examples") {
            let validator = bundle::bundle(self.docs, &node.loc(), "value check")
                .ok()
                .and_then(|json| bundle::validator(&json).ok());
            if let Some(validator) = validator {
                let mut values: Vec<Node<'d>> = node.child("default").into_iter().collect();
                if let Some(examples) = node.child("examples") {
                    values.extend(examples.items().unwrap_or_default());
                }
                for value in values {
                    if let Some(error) = validator.iter_errors(value.value()).next() {
                        self.diags.push(
                            value
                                .warning(format!("this value does not match its own schema: {}", error.masked()))
                                .hint("fix the value or the schema: clients take documented values as valid"),
                        );
                    }
                }
            }
        }
        let mut inner = Vec::new();
        for key in ["properties", "patternProperties", "definitions", "$defs"] {
            if let Some(children) = node.child(key) {
                inner.extend(children.entries().unwrap_or_default().into_iter().map(|(_, n)| n));
            }
        }
        for key in ["items", "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else"] {
            match node.child(key) {
                Some(child) if child.value().is_array() => inner.extend(child.items().unwrap_or_default()),
                Some(child) => inner.push(child),
                None => {}
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(list) = node.child(key) {
                inner.extend(list.items().unwrap_or_default());
            }
        }
        for child in inner {
            self.check_schema_values(&child, depth + 1);
        }
    }

    /// The schema inside a (possibly multi-format) schema object, or `None`
    /// with a warning when it is not JSON Schema.
    fn schema_node(&mut self, node: &Node<'d>) -> Option<Node<'d>> {
        let resolved = self.take(node.resolve())?;
        let Some(format) = resolved.opt_str("schemaFormat").ok().flatten() else {
            return Some(resolved);
        };
        let schema = self.take(resolved.required("schema"))?;
        if is_json_schema_format(format) {
            return Some(schema);
        }
        let warning = resolved
            .warning(format!(
                "schema format `{format}` is not JSON Schema: this payload is neither validated nor typed"
            ))
            .hint("describe the payload in JSON Schema (AsyncAPI's default schema format) for specserve to check it");
        self.not_served(&resolved, format!("schema format `{format}`"), warning);
        None
    }

    /// The channel at `node` (a `$ref` or a channel object), read once.
    fn channel(&mut self, node: &Node<'d>) -> Option<ChannelId> {
        let resolved = self.take(node.resolve())?;
        let key = channel_key(&resolved);
        if let Some(id) = self.api.channels.iter().position(|c| c.path == resolved.path()) {
            return Some(id);
        }
        for problem in resolved.unknown_extensions(CHANNEL_EXTENSIONS) {
            self.diags.push(problem);
        }
        if key.contains(['?', '#']) {
            let rule = self.rule("asyncapi2-channel-no-query-nor-fragment", "asyncapi3-channel-no-query-nor-fragment");
            self.diags.push(
                resolved
                    .error(format!("channel `{key}` has a query (`?`) or fragment (`#`) in its name"))
                    .hint("name the channel without them; a query belongs in the `ws` binding's `query`")
                    .rule(rule),
            );
        }
        let text = |k: &str| resolved.opt_str(k).ok().flatten().map(str::to_owned);
        let address = match resolved.child("address").map(|a| a.value().clone()) {
            None | Some(Value::Null) => None,
            Some(Value::String(address)) => Some(address),
            Some(_) => {
                self.diags.push(resolved.error("`address` must be a string or null"));
                None
            }
        };
        let mut parameters = Vec::new();
        if let Some(params) = resolved.child("parameters") {
            for (name, param) in self.take(params.entries()).unwrap_or_default() {
                let Some(param) = self.take(param.resolve()) else { continue };
                if let Some(location) = param.opt_str("location").ok().flatten() {
                    let warning = param
                        .warning(format!(
                            "parameter location `{location}` is ignored: specserve takes parameters from the path"
                        ))
                        .hint("remove `location`; the address names where the parameter is");
                    self.not_served(&param, "parameter `location`", warning);
                }
                parameters.push(Parameter {
                    name,
                    description: param.opt_str("description").ok().flatten().map(str::to_owned),
                    allowed: strings(param.value().get("enum")),
                    default: param.opt_str("default").ok().flatten().map(str::to_owned),
                    examples: strings(param.value().get("examples")),
                });
            }
        }
        // Without a `parameters` object, the address's `{names}` are plain
        // string parameters (the official parser accepts that); with one, it
        // must declare them all (`check_address`).
        if resolved.child("parameters").is_none()
            && let Some(address) = &address
        {
            for name in address_parameters(address) {
                let at = resolved.child("address").unwrap_or_else(|| resolved.clone());
                self.diags.push(
                    at.warning(format!("`{{{name}}}` has no `parameters` entry: any value is accepted there"))
                        .hint(format!("declare `parameters: {{{name}: {{enum: [...]}}}}` to say which values are")),
                );
                parameters.push(Parameter {
                    name,
                    description: None,
                    allowed: Vec::new(),
                    default: None,
                    examples: Vec::new(),
                });
            }
        }
        let (query, upgrade_headers, query_json) = self.ws_binding(&resolved);
        self.foreign_bindings(&resolved);
        let servers = self.channel_servers(&resolved);
        let close_codes = self.close_codes(resolved.child("x-specserve-close-codes"));
        let aliases = match resolved.child("x-specserve-aliases") {
            None => Vec::new(),
            Some(list) => {
                let aliases = strings(Some(list.value()));
                if aliases.iter().any(|a| !a.starts_with('/')) || !list.value().is_array() {
                    self.diags.push(list.error("`x-specserve-aliases` must be a list of paths starting with `/`"));
                }
                aliases
            }
        };
        let id = self.api.channels.len();
        self.api.channels.push(Channel {
            key,
            address,
            servers,
            title: text("title"),
            summary: text("summary"),
            description: text("description"),
            parameters,
            messages: Vec::new(),
            query,
            query_json,
            upgrade_headers,
            close_codes,
            aliases,
            path: resolved.path().to_owned(),
            pointer: self.docs.written_pointer(&resolved.loc()),
        });
        let mut messages = Vec::new();
        if let Some(list) = resolved.child("messages") {
            for (message_key, message) in self.take(list.entries()).unwrap_or_default() {
                let channel_key = self.api.channels[id].key.clone();
                if let Some(message_id) =
                    self.message(&message, &format!("{channel_key}{}", message_key.to_upper_camel_case()))
                {
                    messages.push((message_key, message_id));
                }
            }
        }
        self.api.channels[id].messages = messages;
        self.check_address(id);
        Some(id)
    }

    /// A channel's `servers`: each a `$ref` to one of the document's servers.
    fn channel_servers(&mut self, channel: &Node<'d>) -> Option<Vec<usize>> {
        let list = channel.child("servers")?;
        let mut servers = Vec::new();
        for item in self.take(list.items()).unwrap_or_default() {
            let Some(server) = self.take(item.resolve()) else { continue };
            match self.api.servers.iter().position(|s| s.path == server.path()) {
                Some(index) => servers.push(index),
                None => {
                    let rule = self.rule("asyncapi2-channel-servers", "asyncapi3-required-channel-servers-unambiguity");
                    self.diags
                        .push(item.error("a channel's `servers` must each be a `$ref` to one of `servers`").rule(rule));
                }
            }
        }
        Some(servers)
    }

    /// The `ws` channel binding: its query and headers schemas, and the query's bundle.
    fn ws_binding(&mut self, channel: &Node<'d>) -> (Option<SchemaId>, Option<UpgradeHeaders>, Option<Value>) {
        let Some(ws) = channel.child("bindings").and_then(|b| b.resolve().ok()).and_then(|b| b.child("ws")) else {
            return (None, None, None);
        };
        let Some(ws) = self.take(ws.resolve()) else { return (None, None, None) };
        if let Some(method) = ws.opt_str("method").ok().flatten()
            && method != "GET"
        {
            let warning = ws.warning(format!(
                "a WebSocket upgrade is a GET (RFC 6455): specserve serves this channel's upgrade as GET, and answers `{method}` there with 405"
            ));
            let at = ws.child("method").unwrap_or_else(|| ws.clone());
            self.not_served(&at, format!("`ws` binding `method: {method}`"), warning);
        }
        let query_node = ws.child("query").and_then(|q| q.resolve().ok());
        let query = query_node.as_ref().map(|q| self.api.schemas.read(q, &mut self.diags));
        let query_json = query_node
            .as_ref()
            .and_then(|q| self.take(bundle::bundle(self.docs, &q.loc(), &format!("{} query", channel.key()))));
        let headers = ws.child("headers").and_then(|h| h.resolve().ok()).and_then(|node| {
            let schema = self.api.schemas.read(&node, &mut self.diags);
            let json = self.take(bundle::bundle(self.docs, &node.loc(), &format!("{} headers", channel.key())))?;
            let names = match &self.api.schemas.get(schema).shape {
                crate::schema::Shape::Object(rules) => rules.properties.iter().map(|p| p.name.clone()).collect(),
                _ => Vec::new(),
            };
            Some(UpgradeHeaders { schema, json, names })
        });
        (query, headers, query_json)
    }

    fn check_address(&mut self, id: ChannelId) {
        let rule = self.rule("asyncapi2-channel-parameters", "asyncapi3-channel-parameters");
        let channel = &self.api.channels[id];
        let named: Vec<String> = channel.address.as_deref().map(address_parameters).unwrap_or_default();
        for name in &named {
            if !channel.parameters.iter().any(|p| &p.name == name) {
                self.diags.push(
                    SpecError::new(
                        format!("{}.address", channel.path),
                        format!("`{{{name}}}` is not among the channel's `parameters`"),
                    )
                    .hint(format!("declare `parameters: {{{name}: {{description: ...}}}}`"))
                    .rule(rule),
                );
            }
        }
        for parameter in &channel.parameters {
            if !named.contains(&parameter.name) {
                self.diags.push(
                    SpecError::new(
                        format!("{}.parameters.{}", channel.path, parameter.name),
                        format!("the address has no `{{{}}}`: the parameter is never set", parameter.name),
                    )
                    .hint("remove the parameter, or use it in the address")
                    .rule(rule),
                );
            }
        }
    }

    fn close_codes(&mut self, node: Option<Node<'d>>) -> Vec<CloseCode> {
        let Some(node) = node else { return Vec::new() };
        let mut codes: Vec<CloseCode> = Vec::new();
        for item in self.take(node.items()).unwrap_or_default() {
            let Some(code) = self.take(CloseCode::deserialize_from(&item)) else { continue };
            if !(1000..=4999).contains(&code.code) || [1004, 1005, 1006, 1015].contains(&code.code) {
                self.diags.push(
                    item.error(format!("{} is not a close code a server can send", code.code))
                        .hint("use 1000-1003, 1007-1014 or an application code 3000-4999"),
                );
                continue;
            }
            if codes.iter().any(|c| c.code == code.code) {
                self.diags.push(item.error(format!("close code {} is listed twice", code.code)));
                continue;
            }
            codes.push(code);
        }
        codes
    }

    /// The message at `node`, read once (with its traits applied).
    fn message(&mut self, node: &Node<'d>, inline_key: &str) -> Option<MessageId> {
        let resolved = self.take(node.resolve())?;
        if let Some(id) = self.api.messages.iter().position(|m| m.path == resolved.path()) {
            return Some(id);
        }
        for problem in resolved.unknown_extensions(MESSAGE_EXTENSIONS) {
            self.diags.push(problem);
        }
        let key = match resolved.loc().pointer.strip_prefix("/components/messages/") {
            Some(name) if !name.contains('/') => name.to_owned(),
            _ => inline_key.to_owned(),
        };
        // A field comes from the message itself, else from its last trait that has it.
        let mut sources = vec![resolved.clone()];
        if let Some(traits) = resolved.child("traits") {
            for item in self.take(traits.items()).unwrap_or_default().into_iter().rev() {
                // A trait item may be a `[trait, bindings]` pair (2.x style); take the trait.
                let item = match item.items() {
                    Ok(pair) if !pair.is_empty() => pair[0].clone(),
                    _ => item,
                };
                if let Some(item) = self.take(item.resolve()) {
                    sources.push(item);
                }
            }
        }
        let field = |name: &str| sources.iter().find_map(|s| s.child(name));
        let text = |name: &str| field(name).and_then(|n| n.value().as_str().map(str::to_owned));
        let content_type = text("contentType");
        if let Some(ct) = &content_type
            && !is_json(ct)
        {
            let warning = resolved
                .warning(format!("content type `{ct}` is not JSON: specserve sends and reads JSON text frames"))
                .hint("use application/json");
            let at = field("contentType").unwrap_or_else(|| resolved.clone());
            self.not_served(&at, format!("content type `{ct}`"), warning);
        }
        for source in &sources {
            self.foreign_bindings(source);
        }
        let payload_node = field("payload").and_then(|p| self.schema_node(&p));
        if let Some(payload) = &payload_node {
            self.check_schema_values(payload, 0);
        }
        let payload = payload_node.as_ref().map(|p| self.api.schemas.read(p, &mut self.diags));
        let headers_node = field("headers").and_then(|h| self.schema_node(&h));
        let headers = headers_node.as_ref().map(|h| self.api.schemas.read(h, &mut self.diags));
        let correlation = field("correlationId").and_then(|c| self.correlation(&c));
        let title = text("title");
        let bundle_of = |this: &mut Self, node: &Option<Node<'d>>, what: &str| {
            node.as_ref().and_then(|n| {
                let label = format!("{} {what}", title.as_deref().unwrap_or(&key));
                match bundle::bundle(this.docs, &n.loc(), &label) {
                    Ok(json) => Some(json),
                    // The schema reader has reported what broke (a dangling `$ref`, say) where it is.
                    Err(_) if this.diags.has_errors() => None,
                    Err(e) => {
                        this.diags.push(SpecError { path: n.path().to_owned(), ..e });
                        None
                    }
                }
            })
        };
        let payload_json = bundle_of(self, &payload_node, "payload");
        let headers_json = bundle_of(self, &headers_node, "headers");
        let error_body = match resolved.child("x-specserve-error") {
            None => None,
            Some(pointer) => match pointer.str() {
                Ok(p) if p.starts_with('/') && p[1..].chars().all(|c| c != '/') && p.len() > 1 => Some(p.to_owned()),
                _ => {
                    self.diags.push(
                        pointer
                            .error("`x-specserve-error` must name a top-level property of the payload, like `/error`")
                            .hint("point it at the object whose `code`, `message` and `details` carry the error"),
                    );
                    None
                }
            },
        };
        let mut examples = Vec::new();
        if let Some(list) = field("examples") {
            for item in self.take(list.items()).unwrap_or_default() {
                let Some(item) = self.take(item.resolve()) else { continue };
                examples.push(Example {
                    name: item.opt_str("name").ok().flatten().map(str::to_owned),
                    summary: item.opt_str("summary").ok().flatten().map(str::to_owned),
                    headers: item.value().get("headers").cloned(),
                    payload: item.value().get("payload").cloned(),
                });
            }
        }
        let id = self.api.messages.len();
        self.api.messages.push(Message {
            key,
            name: text("name"),
            title,
            summary: text("summary"),
            description: text("description"),
            content_type,
            payload,
            headers,
            correlation,
            examples,
            error_body,
            payload_json,
            headers_json,
            path: resolved.path().to_owned(),
        });
        self.check_examples(id, &resolved);
        let _ = MESSAGE_FIELDS;
        Some(id)
    }

    fn correlation(&mut self, node: &Node<'d>) -> Option<Correlation> {
        let node = self.take(node.resolve())?;
        let location = self.take(node.required("location").and_then(|l| l.str().map(str::to_owned)))?;
        let (in_headers, pointer) = if let Some(p) = location.strip_prefix("$message.payload#") {
            (false, p)
        } else if let Some(p) = location.strip_prefix("$message.header#") {
            (true, p)
        } else {
            self.diags.push(
                node.error(format!("correlation location `{location}` is not a runtime expression into the message"))
                    .hint("write `$message.payload#/field` or `$message.header#/field`"),
            );
            return None;
        };
        if !pointer.is_empty() && !pointer.starts_with('/') {
            self.diags.push(node.error(format!("`{pointer}` is not a JSON pointer")).hint("start it with `/`"));
            return None;
        }
        Some(Correlation {
            in_headers,
            pointer: pointer.to_owned(),
            description: node.opt_str("description").ok().flatten().map(str::to_owned),
        })
    }

    /// Every example must match its message's schemas. The official parser does
    /// not check this; a designer wants to know, so it is a warning (an error
    /// for specserve's own strict build).
    fn check_examples(&mut self, id: MessageId, node: &Node<'d>) {
        let message = &self.api.messages[id];
        let compile = |json: &Option<Value>| json.as_ref().and_then(|j| bundle::validator(j).ok());
        let (payload, headers) = (compile(&message.payload_json), compile(&message.headers_json));
        // AsyncAPI 2's official parser refuses a document whose examples do
        // not match (`asyncapi2-message-examples`); its 3.x rules do not
        // check them, so for 3.x it is a warning.
        let v2 = self.docs.converted_from().is_some();
        let mut problems = Vec::new();
        for (i, example) in message.examples.iter().enumerate() {
            let label = example.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
            for (validator, value, part) in
                [(&payload, &example.payload, "payload"), (&headers, &example.headers, "headers")]
            {
                if let (Some(validator), Some(value)) = (validator, value)
                    && let Some(error) = validator.iter_errors(value).next()
                {
                    let path = format!("{}.examples[{i}]", node.path());
                    let message = format!(
                        "example `{label}` does not match the message's {part} schema: at `{}`: {error}",
                        error.instance_path()
                    );
                    let problem = if v2 {
                        SpecError::new(path, message).rule("asyncapi2-message-examples")
                    } else {
                        SpecError::warning(path, message)
                    };
                    problems.push(problem.hint("fix the example or the schema"));
                }
            }
        }
        for problem in problems {
            self.diags.push(problem);
        }
    }

    fn security(&mut self, list: &Node<'d>) -> Vec<SchemeId> {
        let mut ids = Vec::new();
        for item in self.take(list.items()).unwrap_or_default() {
            let Some(scheme) = self.take(item.resolve()) else { continue };
            // One scheme per place it is written: two inline schemes (with
            // scopes of their own) are two schemes, whatever their keys.
            if let Some(id) = self.api.security_schemes.iter().position(|s| s.path == scheme.path()) {
                ids.push(id);
                continue;
            }
            let Some(scheme) = self.scheme(&scheme) else { continue };
            ids.push(self.api.security_schemes.len());
            self.api.security_schemes.push(scheme);
        }
        ids
    }

    fn scheme(&mut self, node: &Node<'d>) -> Option<SecurityScheme> {
        for problem in node.unknown_extensions(SCHEME_EXTENSIONS) {
            self.diags.push(problem);
        }
        let text = |k: &str| node.opt_str(k).ok().flatten().map(str::to_owned);
        let Some(kind) = text("type") else {
            self.diags.push(node.error("a security scheme needs `type`"));
            return None;
        };
        let message_property = text("x-specserve-message-property");
        let name = text("name");
        let location = text("in");
        let enforcement = match (kind.as_str(), location.as_deref(), name) {
            ("http", ..) if text("scheme").is_some_and(|s| s.eq_ignore_ascii_case("bearer")) => Enforcement::Bearer,
            ("oauth2" | "openIdConnect", ..) => Enforcement::Bearer,
            ("http", ..) if text("scheme").is_some_and(|s| s.eq_ignore_ascii_case("basic")) => Enforcement::Basic,
            ("userPassword", ..) => Enforcement::Basic,
            ("httpApiKey", Some("header"), Some(name)) if name.eq_ignore_ascii_case("authorization") => {
                Enforcement::Bearer
            }
            ("httpApiKey", Some("header"), Some(name)) => Enforcement::Header(name.to_ascii_lowercase()),
            ("httpApiKey", Some("query"), Some(name)) => Enforcement::Query(name),
            ("httpApiKey", Some("cookie"), Some(name)) => Enforcement::Cookie(name),
            ("httpApiKey", ..) => {
                self.diags.push(node.error("an `httpApiKey` scheme needs `in` (header, query or cookie) and `name`"));
                return None;
            }
            ("http", ..) => Enforcement::NotEnforced(format!(
                "HTTP `{}` authentication is not something browsers can send on a WebSocket",
                text("scheme").unwrap_or_default()
            )),
            (other, ..) => Enforcement::NotEnforced(format!("`{other}` is not presented on a WebSocket upgrade")),
        };
        let enforcement = match (enforcement, &message_property) {
            (Enforcement::NotEnforced(_), Some(_)) => Enforcement::MessageOnly,
            (enforcement, _) => enforcement,
        };
        if let Enforcement::NotEnforced(reason) = &enforcement {
            let warning = node
                .warning(format!("security scheme `{kind}` is documented but not enforced: {reason}"))
                .hint("use `http` bearer, `httpApiKey` (header, query or cookie), or `x-specserve-message-property`");
            self.not_served(node, format!("`{kind}` security scheme"), warning);
        }
        let scopes = self.scheme_scopes(node, &kind);
        Some(SecurityScheme {
            key: scheme_key(node),
            kind,
            description: text("description"),
            enforcement,
            message_property,
            scopes,
            path: node.path().to_owned(),
        })
    }

    /// The scopes a scheme requires: the standard `scopes` where AsyncAPI
    /// defines it (oauth2, openIdConnect), `x-specserve-scopes` elsewhere.
    fn scheme_scopes(&mut self, node: &Node<'d>, kind: &str) -> Vec<String> {
        let standard = matches!(kind, "oauth2" | "openIdConnect");
        let (field, misplaced) =
            if standard { ("scopes", "x-specserve-scopes") } else { ("x-specserve-scopes", "scopes") };
        if let Some(wrong) = node.child(misplaced) {
            self.diags.push(wrong.error(format!("a `{kind}` scheme lists its scopes in `{field}`")));
        }
        let Some(list) = node.child(field) else { return Vec::new() };
        let scopes = strings(Some(list.value()));
        let valid = list.value().as_array().is_some_and(|items| items.iter().all(Value::is_string))
            && scopes.iter().all(|s| !s.is_empty() && !s.chars().any(char::is_whitespace));
        if !valid {
            self.diags.push(list.error(format!("`{field}` must be a list of scope names without spaces")));
        }
        scopes
    }

    fn operation(&mut self, key: &str, node: &Node<'d>) {
        let Some(node) = self.take(node.resolve()) else { return };
        for problem in node.unknown_extensions(OPERATION_EXTENSIONS) {
            self.diags.push(problem);
        }
        // Traits supply what the operation does not say itself.
        let mut sources = vec![node.clone()];
        if let Some(traits) = node.child("traits") {
            for item in self.take(traits.items()).unwrap_or_default().into_iter().rev() {
                if let Some(item) = self.take(item.resolve()) {
                    sources.push(item);
                }
            }
        }
        let field = |name: &str| sources.iter().find_map(|s| s.child(name));
        let text = |name: &str| field(name).and_then(|n| n.value().as_str().map(str::to_owned));
        let client = self.api.perspective == Perspective::Client;
        let action = match text("action").as_deref() {
            Some("send") if client => Action::Receive,
            Some("receive") if client => Action::Send,
            Some("send") => Action::Send,
            Some("receive") => Action::Receive,
            other => {
                let found = other.map(|o| format!(", not `{o}`")).unwrap_or_default();
                let at = field("action").unwrap_or_else(|| node.clone());
                self.diags.push(
                    at.error(format!("`action` must be `send` or `receive`{found}"))
                        .hint("say which way the message goes"),
                );
                return;
            }
        };
        let Some(channel_node) = self.take(node.required("channel")) else { return };
        if let Ok(Some(reference)) = channel_node.ref_target()
            && !reference.starts_with("#/channels/")
            && self.docs.converted_from().is_none()
        {
            self.diags.push(
                channel_node
                    .error(format!("`{reference}` is not one of the document's `channels`"))
                    .hint("reference the channel under the root `channels`, as `#/channels/<name>`")
                    .rule("asyncapi3-required-operation-channel-unambiguity"),
            );
        }
        let Some(channel) = self.channel(&channel_node) else { return };
        let http = if self.is_http_channel(channel) {
            for source in &sources {
                self.foreign_bindings_but(source, "http");
            }
            self.http_operation(&node, action)
        } else {
            for source in &sources {
                self.foreign_bindings(source);
            }
            None
        };
        let messages = match node.child("messages") {
            None => self.api.channels[channel].messages.iter().map(|(_, m)| *m).collect(),
            Some(list) => self.channel_messages(channel, &list),
        };
        let reply = field("reply").and_then(|r| self.reply(&r, channel));
        let security = field("security").map(|s| self.security(&s)).unwrap_or_default();
        let tags = tag_names_of(&sources);
        let group = text("x-specserve-group")
            .or_else(|| tags.first().cloned())
            .unwrap_or_else(|| self.api.channels[channel].key.clone());
        let mut flag = |name: &str| match field(name) {
            None => false,
            Some(flag) => flag.value().as_bool().unwrap_or_else(|| {
                self.diags.push(flag.error(format!("`{name}` must be true or false")));
                false
            }),
        };
        let session = flag("x-specserve-session");
        let scheduling = match (flag("x-specserve-exclusive"), flag("x-specserve-ordered")) {
            (true, ordered) => {
                if let Some(ordered) = field("x-specserve-ordered").filter(|_| ordered) {
                    self.diags.push(ordered.warning("an exclusive operation runs alone, so in order already"));
                }
                Scheduling::Exclusive
            }
            (false, true) => Scheduling::Ordered,
            (false, false) => Scheduling::Concurrent,
        };
        let audit = field("x-specserve-audit").and_then(|a| self.audit(&a));
        if let Some(class) = field("x-specserve-rate-limit").filter(|c| !c.value().is_string()) {
            self.diags.push(
                class
                    .error("`x-specserve-rate-limit` must name a rate-limit class")
                    .hint("write a name the application's `Context::rate_limit` knows, like `auth`"),
            );
        }
        if action == Action::Send {
            let received_only = [
                ("x-specserve-session", "sessions"),
                ("x-specserve-rate-limit", "rate limits"),
                ("x-specserve-exclusive", "exclusivity"),
                ("x-specserve-ordered", "ordering"),
            ];
            for (name, what) in received_only {
                if let Some(ext) = field(name) {
                    self.diags.push(
                        ext.warning(format!("{what} apply to messages the server receives; this operation sends")),
                    );
                }
            }
        }
        self.api.operations.push(Operation {
            key: key.to_owned(),
            action,
            channel,
            messages,
            reply,
            security,
            title: text("title"),
            summary: text("summary"),
            description: text("description"),
            tags,
            group,
            method: String::new(),
            rate_limit: text("x-specserve-rate-limit"),
            scheduling,
            audit,
            trigger: None,
            session,
            resume: None,
            http,
            handler: None,
            path: node.path().to_owned(),
            pointer: self.docs.written_pointer(&node.loc()),
        });
    }

    /// Whether `channel` is served over HTTP: its `servers` are named, and
    /// all are `http` or `https`.
    fn is_http_channel(&self, channel: ChannelId) -> bool {
        self.api.channels[channel].servers.as_ref().is_some_and(|servers| {
            !servers.is_empty() && servers.iter().all(|s| is_http_protocol(&self.api.servers[*s].protocol))
        })
    }

    /// The `http` binding of an operation on an HTTP channel: its method
    /// and query schema.
    fn http_operation(&mut self, node: &Node<'d>, action: Action) -> Option<HttpOperation> {
        let binding = node.child("bindings").and_then(|b| b.resolve().ok()).and_then(|b| b.child("http"));
        let Some(binding) = binding.and_then(|b| self.take(b.resolve())) else {
            self.diags.push(
                node.error("an operation on an HTTP channel needs an `http` binding saying its `method`")
                    .hint("add `bindings: {http: {method: POST}}`, or put the channel on a `ws`/`wss` server"),
            );
            return None;
        };
        if action != Action::Receive {
            self.diags.push(binding.error("an HTTP operation is a request the server receives").hint(
                "HTTP cannot push: make it `receive` (with a `reply`), or send the event on a WebSocket channel",
            ));
            return None;
        }
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
        let method = binding.opt_str("method").ok().flatten().map(str::to_ascii_uppercase);
        let Some(method) = method.filter(|m| METHODS.contains(&m.as_str())) else {
            let at = binding.child("method").unwrap_or_else(|| binding.clone());
            self.diags.push(at.error("`method` must be one of GET, POST, PUT, PATCH, DELETE"));
            return None;
        };
        let query_node = binding.child("query").and_then(|q| q.resolve().ok());
        let query = query_node.as_ref().map(|q| self.api.schemas.read(q, &mut self.diags));
        let query_json = query_node
            .as_ref()
            .and_then(|q| self.take(bundle::bundle(self.docs, &q.loc(), &format!("{} query", node.path()))));
        Some(HttpOperation { method, query, query_json })
    }

    /// Messages an operation (or reply) lists: each must be one of `channel`'s.
    fn channel_messages(&mut self, channel: ChannelId, list: &Node<'d>) -> Vec<MessageId> {
        let mut ids = Vec::new();
        for item in self.take(list.items()).unwrap_or_default() {
            let Some(resolved) = self.take(item.resolve()) else { continue };
            let found =
                self.api.channels[channel].messages.iter().find(|(_, m)| self.api.messages[*m].path == resolved.path());
            match found {
                Some((_, id)) => ids.push(*id),
                None => {
                    let key = &self.api.channels[channel].key;
                    self.diags.push(
                        item.error(format!("this message is not one of channel `{key}`'s messages"))
                            .hint(format!(
                                "reference it as `#/channels/{key}/messages/<name>` after adding it to the channel"
                            ))
                            .rule("asyncapi3-operation-messages-from-referred-channel"),
                    );
                }
            }
        }
        ids
    }

    fn reply(&mut self, node: &Node<'d>, operation_channel: ChannelId) -> Option<Reply> {
        let node = self.take(node.resolve())?;
        let channel = match node.child("channel") {
            Some(c) => self.channel(&c),
            None => None,
        };
        let address = node.child("address").and_then(|a| a.resolve().ok()).and_then(|a| {
            let location = a.opt_str("location").ok().flatten().map(str::to_owned);
            let warning = a.warning(
                "a reply `address` is informational on WebSocket: specserve sends the reply on the socket the request came on",
            );
            self.not_served(&a, "reply `address`", warning);
            location
        });
        // Checked here, not by the official parser: a reply sent to a runtime
        // address and also on a channel with an address of its own says two
        // places; the spec reads `address` as overriding the channel's.
        if let (Some(at), Some(reply_channel)) = (node.child("address"), channel)
            && let Some(channel_address) = self.api.channels[reply_channel].address.clone()
        {
            self.diags.push(
                at.warning(format!(
                    "the reply names an `address` and a channel at `{channel_address}`: a client reading either waits in a different place"
                ))
                .hint("give the reply channel `address: null` when the address is decided at run time"),
            );
        }
        let messages_channel = channel.unwrap_or(operation_channel);
        let messages = match node.child("messages") {
            Some(list) => self.channel_messages(messages_channel, &list),
            None => self.api.channels[messages_channel].messages.iter().map(|(_, m)| *m).collect(),
        };
        Some(Reply { channel, address, messages })
    }

    fn audit(&mut self, node: &Node<'d>) -> Option<Audit> {
        match node.value() {
            Value::String(event) => Some(Audit { event: event.clone(), target: None }),
            Value::Object(_) => {
                let event = self.take(node.required("event").and_then(|e| e.str().map(str::to_owned)))?;
                let target = match node.child("target") {
                    None => None,
                    Some(target) => {
                        let text = self.take(target.str().map(str::to_owned))?;
                        let parsed = if let Some(p) = text.strip_prefix("$request.payload#") {
                            Some((AuditSource::Request, p.to_owned()))
                        } else {
                            text.strip_prefix("$reply.payload#").map(|p| (AuditSource::Reply, p.to_owned()))
                        };
                        if parsed.is_none() {
                            self.diags.push(
                                target
                                    .error(format!("`{text}` is not an audit target"))
                                    .hint("write `$request.payload#/pointer` or `$reply.payload#/pointer`"),
                            );
                        }
                        parsed
                    }
                };
                Some(Audit { event, target })
            }
            _ => {
                self.diags.push(node.error("`x-specserve-audit` is an event name or `{event, target}`"));
                None
            }
        }
    }

    /// Method names per group: the operation key in snake case, without the
    /// group's name in front (`userRead` in group `user` is `read`).
    fn name_methods(&mut self) {
        for i in 0..self.api.operations.len() {
            let op = &self.api.operations[i];
            let snake = op.key.to_snake_case();
            let group = op.group.to_snake_case();
            let method = snake
                .strip_prefix(&format!("{group}_"))
                .filter(|m| !m.is_empty() && !m.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(&snake)
                .to_owned();
            self.api.operations[i].method = method;
        }
        for i in 0..self.api.operations.len() {
            let op = &self.api.operations[i];
            if let Some(other) = self.api.operations[..i].iter().find(|o| o.group == op.group && o.method == op.method)
            {
                self.diags.push(
                    SpecError::new(
                        op.path.clone(),
                        format!(
                            "operations `{}` and `{}` would both be method `{}` of group `{}`",
                            other.key, op.key, op.method, op.group
                        ),
                    )
                    .hint("rename one operation, or put it in another group with `x-specserve-group`"),
                );
            }
        }
    }
}

impl CloseCode {
    fn deserialize_from(node: &Node<'_>) -> Result<CloseCode> {
        serde_json::from_value(node.value().clone()).map_err(|e| node.error(e.to_string()))
    }
}

/// Whether a content type is JSON.
/// `http` or `https`: a server whose channels are HTTP endpoints.
pub fn is_http_protocol(protocol: &str) -> bool {
    protocol == "http" || protocol == "https"
}

fn is_json(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or_default().trim();
    base == "application/json" || base.ends_with("+json") || base == "text/json"
}

/// Whether a `schemaFormat` is (a dialect of) JSON Schema specserve can read.
fn is_json_schema_format(format: &str) -> bool {
    let format = format.to_ascii_lowercase();
    format.starts_with("application/vnd.aai.asyncapi")
        || format.starts_with("application/schema+json")
        || format.starts_with("application/schema+yaml")
        || format.starts_with("application/vnd.oai.openapi")
}

/// `{a}` and `{b}` in `/x/{a}/{b}`.
pub fn address_parameters(address: &str) -> Vec<String> {
    address.split('{').skip(1).filter_map(|part| part.split_once('}').map(|(name, _)| name.to_owned())).collect()
}

/// A channel's key: its name under `channels` (or components), else the last path segment.
fn channel_key(node: &Node<'_>) -> String {
    node.key()
}

/// A scheme's name: its key under `components.securitySchemes`, or for an
/// inline scheme its `type` (the list index it sits at names nothing).
fn scheme_key(node: &Node<'_>) -> String {
    let pointer = node.loc().pointer;
    match pointer.strip_prefix("/components/securitySchemes/") {
        Some(name) if !name.contains('/') => name.to_owned(),
        _ => node.opt_str("type").ok().flatten().map_or_else(|| node.key(), str::to_owned),
    }
}

fn tag_names(node: &Node<'_>) -> Vec<String> {
    tag_names_of(std::slice::from_ref(node))
}

fn tag_names_of(sources: &[Node<'_>]) -> Vec<String> {
    let Some(tags) = sources.iter().find_map(|s| s.child("tags")) else { return Vec::new() };
    tags.items()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.resolve().ok())
        .filter_map(|t| t.opt_str("name").ok().flatten().map(str::to_owned))
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `Loc` of a schema read from a message (for tests and tools).
pub fn schema_loc(api: &Api, id: SchemaId) -> Option<&Loc> {
    api.schemas.get(id).loc.as_ref()
}

/// Whether a schema is an object with declared properties.
pub fn is_object_with_properties(api: &Api, id: SchemaId) -> bool {
    matches!(&api.schemas.get(id).shape, Shape::Object(rules) if !rules.properties.is_empty())
}
