//! AsyncAPI 2.x documents read as the 3.0 document that says the same thing.
//!
//! Most documents in the wild are still 2.x. Rather than a second loader,
//! the 2.x tree is rewritten into a 3.0 tree before the model reads it, by the
//! rules of the official converter (`@asyncapi/converter`, application point
//! of view), so a 2.x document and its converted 3.0 twin serve the same API:
//!
//! - `publish` (others publish to the application) is a `receive` operation,
//!   `subscribe` a `send`;
//! - a channel's id is its 2.x key (its address) or `x-channelId`;
//! - an operation's id is its `operationId`, else `<channel id>.publish` /
//!   `.subscribe`; a message's key is its `messageId`, else the component it
//!   references, else `<operation id>.message` (`.message.<n>` in a `oneOf`);
//! - a server's `url` is split into `host` and `pathname`;
//! - a security requirement with scopes becomes an inline scheme carrying
//!   them, one without a `$ref` to the scheme;
//! - a message's `schemaFormat` moves into a multi-format `payload`.
//!
//! What 3.0 cannot say is reported, never dropped silently: a requirement
//! that names several schemes at once (2.x: all of them; 3.0 lists
//! alternatives, so reading it as 3.0 would weaken it) is refused, and a
//! parameter's schema keywords other than `enum`, `default` and `examples`
//! are named as not checked. Every rewritten place remembers where it came
//! from ([`Conversion::moved`]), so problems name the 2.x document's own
//! paths.

use serde_json::{Map, Value, json};

/// A 2.x document rewritten as 3.0.
#[derive(Debug)]
pub(crate) struct Conversion {
    /// The 3.0 tree the model reads.
    pub value: Value,
    /// (pointer in `value`, pointer in the 2.x document) for every place the
    /// rewrite moved; a longer prefix wins.
    pub moved: Vec<(String, String)>,
    /// What 3.0 cannot say, at 2.x pointers.
    pub losses: Vec<Loss>,
}

/// One thing the conversion could not carry over.
#[derive(Debug, Clone)]
pub struct Loss {
    /// JSON pointer in the 2.x document.
    pub pointer: String,
    /// What the construct is (`2.x parameter schema`).
    pub construct: String,
    /// What is lost, in the words of a lint message.
    pub message: String,
    /// Whether the document must be refused (serving it would weaken it).
    pub refused: bool,
    /// The official parser's rule for it, when the parser refuses it too.
    pub rule: Option<&'static str>,
}

/// Whether `value` is a 2.x document.
pub(crate) fn is_v2(value: &Value) -> bool {
    value.get("asyncapi").and_then(Value::as_str).is_some_and(|v| v.starts_with("2."))
}

/// Rewrites the 2.x document `doc` as 3.0; `resolve` follows a `$ref`
/// written in it (to another file too) for what 3.0 says differently: a
/// server, a channel, a parameter and its schema are converted where they
/// are used.
pub(crate) fn to_v3(doc: &Value, resolve: &dyn Fn(&str) -> Option<Value>) -> Conversion {
    let mut converter = Converter { doc, ids_seen: Vec::new(), resolve, moved: Vec::new(), losses: Vec::new() };
    let value = converter.document();
    let mut moved = converter.moved;
    moved.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    Conversion { value, moved, losses: converter.losses }
}

/// The 2.x pointer `pointer` (in the converted tree) came from.
pub(crate) fn origin(moved: &[(String, String)], pointer: &str) -> String {
    for (to, from) in moved {
        if let Some(rest) = pointer.strip_prefix(to.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{from}{rest}");
        }
    }
    pointer.to_owned()
}

struct Converter<'a> {
    doc: &'a Value,
    /// `operationId`s and `messageId`s seen: each must be unique.
    ids_seen: Vec<(&'static str, String)>,
    resolve: &'a dyn Fn(&str) -> Option<Value>,
    moved: Vec<(String, String)>,
    losses: Vec<Loss>,
}

/// Escapes a key for a JSON pointer.
fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `value`'s object, or an empty one.
fn object(value: Option<&Value>) -> Map<String, Value> {
    value.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Copies `keys` that `from` has into `to`.
fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(value) = from.get(*key) {
            to.insert((*key).to_owned(), value.clone());
        }
    }
}

/// Copies every `x-` extension of `from` into `to`.
fn copy_extensions(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    for (key, value) in from {
        if key.starts_with("x-") && key != "x-channelId" {
            to.insert(key.clone(), value.clone());
        }
    }
}

impl Converter<'_> {
    /// `value`, or what it references; `None` (with the loss said at `at`)
    /// when the reference leads nowhere.
    fn dereferenced(&mut self, value: &Value, at: &str) -> Option<Value> {
        let Some(reference) = value.get("$ref") else { return Some(value.clone()) };
        let target = reference.as_str().and_then(|r| (self.resolve)(r));
        if target.is_none() {
            self.refuse(at.to_owned(), format!("`$ref: {reference}` points at nothing"));
        }
        target
    }

    /// Refuses a second `operationId` or `messageId` of the same value
    /// (2.x requires them unique; as 3.0 keys, one would replace the other).
    fn unique(&mut self, field: &'static str, id: &str, at: String) -> bool {
        let seen = (field, id.to_owned());
        if self.ids_seen.contains(&seen) {
            let rule = if field == "operationId" {
                "asyncapi2-operation-operationId-uniqueness"
            } else {
                "asyncapi2-message-messageId-uniqueness"
            };
            self.refuse_as(rule, format!("{at}/{field}"), format!("`{field}: {id}` is used twice"));
            return false;
        }
        self.ids_seen.push(seen);
        true
    }

    fn lose(&mut self, pointer: String, construct: &str, message: String) {
        self.losses.push(Loss { pointer, construct: construct.to_owned(), message, refused: false, rule: None });
    }

    fn refuse(&mut self, pointer: String, message: String) {
        self.losses.push(Loss { pointer, construct: String::new(), message, refused: true, rule: None });
    }

    /// A refusal the official parser makes too, under `rule`.
    fn refuse_as(&mut self, rule: &'static str, pointer: String, message: String) {
        self.losses.push(Loss { pointer, construct: String::new(), message, refused: true, rule: Some(rule) });
    }

    fn document(&mut self) -> Value {
        let doc = object(Some(self.doc));
        let mut out = Map::new();
        out.insert("asyncapi".into(), json!("3.0.0"));
        copy(&doc, &mut out, &["id", "defaultContentType"]);
        copy_extensions(&doc, &mut out);
        let mut info = object(doc.get("info"));
        for key in ["tags", "externalDocs"] {
            if let Some(value) = doc.get(key) {
                info.insert(key.into(), value.clone());
                self.moved.push((format!("/info/{key}"), format!("/{key}")));
            }
        }
        out.insert("info".into(), Value::Object(info));
        if let Some(servers) = doc.get("servers").and_then(Value::as_object) {
            let converted = servers
                .iter()
                .map(|(name, server)| (name.clone(), self.server(server, &format!("/servers/{}", esc(name)))))
                .collect();
            out.insert("servers".into(), Value::Object(converted));
        }
        let mut channels = Map::new();
        let mut operations = Map::new();
        for (address, channel) in object(doc.get("channels")) {
            self.channel(&address, &channel, &mut channels, &mut operations);
        }
        out.insert("channels".into(), Value::Object(channels));
        out.insert("operations".into(), Value::Object(operations));
        if let Some(components) = doc.get("components").and_then(Value::as_object) {
            out.insert("components".into(), self.components(components));
        }
        Value::Object(out)
    }

    fn server(&mut self, server: &Value, at: &str) -> Value {
        let Some(server) = self.dereferenced(server, at) else { return Value::Null };
        let Some(server) = server.as_object() else { return Value::Object(Map::new()) };
        let mut out = Map::new();
        if let Some(url) = server.get("url").and_then(Value::as_str) {
            let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            let (host, pathname) = match without_scheme.find('/') {
                Some(slash) => (&without_scheme[..slash], &without_scheme[slash..]),
                None => (without_scheme, ""),
            };
            out.insert("host".into(), json!(host));
            self.moved.push((format!("{at}/host"), format!("{at}/url")));
            if !pathname.is_empty() && pathname != "/" {
                out.insert("pathname".into(), json!(pathname));
                self.moved.push((format!("{at}/pathname"), format!("{at}/url")));
            }
        }
        copy(server, &mut out, &["protocol", "protocolVersion", "description", "variables", "bindings", "tags"]);
        copy_extensions(server, &mut out);
        if let Some(security) = server.get("security") {
            out.insert("security".into(), self.security(security, &format!("{at}/security")));
        }
        Value::Object(out)
    }

    /// 2.x security requirements (`[{scheme: [scopes]}]`) as a 3.0 list of
    /// schemes: a reference, or an inline copy carrying the scopes.
    fn security(&mut self, list: &Value, at: &str) -> Value {
        let schemes = object(self.doc.pointer("/components/securitySchemes"));
        let mut out = Vec::new();
        for (i, requirement) in list.as_array().into_iter().flatten().enumerate() {
            let here = format!("{at}/{i}");
            let requirement = object(Some(requirement));
            let mut names = requirement.iter();
            let (Some((name, scopes)), None) = (names.next(), names.next()) else {
                if requirement.is_empty() {
                    self.lose(here, "2.x empty security requirement", "an empty security requirement (anonymous access) has no 3.0 form: the other requirements apply".into());
                } else {
                    let all = requirement.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                    self.refuse(
                        here,
                        format!("this requirement needs {all} together; AsyncAPI 3 lists alternatives, so serving it would accept any one of them"),
                    );
                }
                continue;
            };
            let Some(scheme) = schemes.get(name) else {
                let rule = if at.starts_with("/servers") {
                    "asyncapi2-server-security"
                } else {
                    "asyncapi2-operation-security"
                };
                self.refuse_as(rule, here, format!("`{name}` is not one of `components.securitySchemes`"));
                continue;
            };
            let reference = format!("#/components/securitySchemes/{}", esc(name));
            let scopes: Vec<Value> = scopes.as_array().cloned().unwrap_or_default();
            self.moved.push((format!("{at}/{}", out.len()), here));
            if scopes.is_empty() || scheme.get("$ref").is_some() {
                out.push(json!({ "$ref": reference }));
            } else {
                let mut inline = object(Some(&self.scheme(scheme)));
                inline.insert("scopes".into(), Value::Array(scopes));
                out.push(Value::Object(inline));
            }
        }
        Value::Array(out)
    }

    /// A security scheme: oauth2 flows name their `scopes` `availableScopes` in 3.0.
    fn scheme(&self, scheme: &Value) -> Value {
        let mut out = object(Some(scheme));
        if let Some(Value::Object(flows)) = out.get_mut("flows") {
            for flow in flows.values_mut().filter_map(Value::as_object_mut) {
                if let Some(scopes) = flow.remove("scopes") {
                    flow.insert("availableScopes".into(), scopes);
                }
            }
        }
        Value::Object(out)
    }

    fn channel(
        &mut self,
        address: &str,
        channel: &Value,
        channels: &mut Map<String, Value>,
        operations: &mut Map<String, Value>,
    ) {
        let at = format!("/channels/{}", esc(address));
        let Some(channel) = self.dereferenced(channel, &at) else { return };
        let Some(item) = channel.as_object() else {
            channels.insert(address.to_owned(), channel.clone());
            return;
        };
        let id = item.get("x-channelId").and_then(Value::as_str).unwrap_or(address).to_owned();
        let to = format!("/channels/{}", esc(&id));
        if id != address {
            self.moved.push((to.clone(), at.clone()));
        }
        self.moved.push((format!("{to}/address"), at.clone()));
        let mut out = Map::new();
        out.insert("address".into(), json!(address));
        copy(item, &mut out, &["description", "bindings"]);
        copy_extensions(item, &mut out);
        if let Some(servers) = item.get("servers").and_then(Value::as_array) {
            let mut refs = Vec::new();
            for (i, name) in servers.iter().enumerate() {
                let Some(name) = name.as_str() else { continue };
                if self.doc.pointer(&format!("/servers/{}", esc(name))).is_none() {
                    let message = format!("`{name}` is not one of the document's `servers`");
                    self.refuse_as("asyncapi2-channel-servers", format!("{at}/servers/{i}"), message);
                    continue;
                }
                refs.push(json!({ "$ref": format!("#/servers/{}", esc(name)) }));
            }
            out.insert("servers".into(), Value::Array(refs));
        }
        if let Some(parameters) = item.get("parameters").and_then(Value::as_object) {
            let converted = parameters
                .iter()
                .map(|(name, p)| (name.clone(), self.parameter(p, &format!("{at}/parameters/{}", esc(name)))))
                .collect();
            out.insert("parameters".into(), Value::Object(converted));
        }
        let mut messages = Map::new();
        for (verb, action) in [("publish", "receive"), ("subscribe", "send")] {
            let Some(operation) = item.get(verb).and_then(Value::as_object) else { continue };
            let op_at = format!("{at}/{verb}");
            let op_id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{id}.{verb}"), str::to_owned);
            if !self.unique("operationId", &op_id, op_at.clone()) {
                continue;
            }
            let mut refs = Vec::new();
            let listed: Vec<(String, &Value)> = match operation.get("message") {
                Some(Value::Object(m)) if m.get("oneOf").is_some_and(Value::is_array) => m["oneOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, m)| (format!("{op_at}/message/oneOf/{i}"), m))
                    .collect(),
                Some(message) => vec![(format!("{op_at}/message"), message)],
                None => Vec::new(),
            };
            let several = listed.len() > 1;
            for (n, (from, message)) in listed.into_iter().enumerate() {
                if let Some(message_id) = message.get("messageId").and_then(Value::as_str)
                    && !self.unique("messageId", message_id, from.clone())
                {
                    continue;
                }
                let key = message_key(message).unwrap_or_else(|| {
                    let verb_or_id = operation.get("operationId").and_then(Value::as_str).unwrap_or(verb);
                    if several { format!("{verb_or_id}.message.{n}") } else { format!("{verb_or_id}.message") }
                });
                if !messages.contains_key(&key) {
                    let converted = self.message(message, &format!("{to}/messages/{}", esc(&key)), &from);
                    messages.insert(key.clone(), converted);
                    self.moved.push((format!("{to}/messages/{}", esc(&key)), from));
                }
                refs.push(json!({ "$ref": format!("#/channels/{}/messages/{}", esc(&id), esc(&key)) }));
            }
            let mut op = Map::new();
            op.insert("action".into(), json!(action));
            op.insert("channel".into(), json!({ "$ref": format!("#/channels/{}", esc(&id)) }));
            op.insert("messages".into(), Value::Array(refs));
            copy(operation, &mut op, &["summary", "description", "tags", "externalDocs", "bindings", "traits"]);
            copy_extensions(operation, &mut op);
            if let Some(security) = operation.get("security") {
                let converted = self.security(security, &format!("{op_at}/security"));
                op.insert("security".into(), converted);
                self.moved.push((format!("/operations/{}/security", esc(&op_id)), format!("{op_at}/security")));
            }
            self.moved.push((format!("/operations/{}", esc(&op_id)), op_at));
            operations.insert(op_id, Value::Object(op));
        }
        out.insert("messages".into(), Value::Object(messages));
        channels.insert(id, Value::Object(out));
    }

    /// A parameter: 3.0 keeps `enum`, `default`, `examples`, `description`
    /// and `location` of what 2.x said with a schema.
    fn parameter(&mut self, parameter: &Value, at: &str) -> Value {
        let Some(parameter) = self.dereferenced(parameter, at) else { return Value::Object(Map::new()) };
        let Some(parameter) = parameter.as_object() else { return Value::Object(Map::new()) };
        let mut out = Map::new();
        copy(parameter, &mut out, &["description", "location"]);
        copy_extensions(parameter, &mut out);
        let schema_at = format!("{at}/schema");
        let schema = parameter.get("schema").and_then(|s| self.dereferenced(s, &schema_at));
        let schema = object(schema.as_ref());
        copy(&schema, &mut out, &["enum", "default", "examples"]);
        let lost: Vec<String> = schema
            .keys()
            .filter(|k| !matches!(k.as_str(), "enum" | "default" | "examples" | "description" | "type"))
            .map(|k| format!("`{k}`"))
            .collect();
        let not_string = schema.get("type").and_then(Value::as_str).filter(|t| *t != "string");
        if !lost.is_empty() || not_string.is_some() {
            let mut what = lost;
            if let Some(kind) = not_string {
                what.push(format!("`type: {kind}`"));
            }
            self.lose(
                schema_at,
                "2.x parameter schema keywords",
                format!(
                    "AsyncAPI 3 parameters are strings with `enum`, `default` and `examples`: {} not checked",
                    what.join(", ")
                ),
            );
        }
        Value::Object(out)
    }

    /// A message: `messageId` goes (it became the key); a `schemaFormat`
    /// other than JSON Schema wraps the payload in a multi-format schema.
    fn message(&mut self, message: &Value, to: &str, from: &str) -> Value {
        let Some(message) = message.as_object() else { return message.clone() };
        if message.contains_key("$ref") {
            return Value::Object(message.clone());
        }
        let mut out = message.clone();
        out.remove("messageId");
        if let Some(format) = out.remove("schemaFormat")
            && let Some(payload) = out.remove("payload")
        {
            let json_schema = format.as_str().is_some_and(|f| {
                f.starts_with("application/vnd.aai.asyncapi") || f.starts_with("application/schema+json")
            });
            if json_schema {
                out.insert("payload".into(), payload);
            } else {
                out.insert("payload".into(), json!({ "schemaFormat": format, "schema": payload }));
                self.moved.push((format!("{to}/payload/schema"), format!("{from}/payload")));
            }
        }
        Value::Object(out)
    }

    fn components(&mut self, components: &Map<String, Value>) -> Value {
        let mut out = components.clone();
        if let Some(Value::Object(messages)) = out.get_mut("messages") {
            for (name, message) in messages.iter_mut() {
                let at = format!("/components/messages/{}", esc(name));
                *message = self.message(message, &at, &at);
            }
        }
        if let Some(Value::Object(parameters)) = out.get_mut("parameters") {
            for (name, parameter) in parameters.iter_mut() {
                *parameter = self.parameter(parameter, &format!("/components/parameters/{}", esc(name)));
            }
        }
        if let Some(Value::Object(schemes)) = out.get_mut("securitySchemes") {
            for scheme in schemes.values_mut() {
                *scheme = self.scheme(scheme);
            }
        }
        if let Some(Value::Object(servers)) = out.get_mut("servers") {
            for (name, server) in servers.iter_mut() {
                *server = self.server(server, &format!("/components/servers/{}", esc(name)));
            }
        }
        if out.remove("channels").is_some() {
            self.lose(
                "/components/channels".into(),
                "2.x `components.channels`",
                "channels in `components` are not converted from AsyncAPI 2.x: only `channels` are served".into(),
            );
        }
        Value::Object(out)
    }
}

/// A message's own key: its `messageId`, or the component it references
/// (in this file or another).
fn message_key(message: &Value) -> Option<String> {
    if let Some(id) = message.get("messageId").and_then(Value::as_str) {
        return Some(id.to_owned());
    }
    let reference = message.get("$ref")?.as_str()?;
    let (_, name) = reference.split_once("#/components/messages/")?;
    (!name.contains('/')).then(|| name.replace("~1", "/").replace("~0", "~"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(yaml: &str) -> Conversion {
        let doc: Value = serde_norway::from_str(yaml).unwrap();
        let resolve = |reference: &str| doc.pointer(reference.strip_prefix('#')?).cloned();
        to_v3(&doc, &resolve)
    }

    #[test]
    fn publish_is_received_and_subscribe_sent_from_the_application_side() {
        let c = convert(
            "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nchannels:\n  /chat:\n    publish:\n      operationId: say\n      message: {$ref: '#/components/messages/Said'}\n    subscribe:\n      message: {payload: {type: string}}\ncomponents:\n  messages:\n    Said: {payload: {type: string}}\n",
        );
        let v = &c.value;
        assert_eq!(v["operations"]["say"]["action"], "receive");
        assert_eq!(v["operations"]["/chat.subscribe"]["action"], "send");
        assert_eq!(v["operations"]["say"]["messages"][0]["$ref"], "#/channels/~1chat/messages/Said");
        assert_eq!(
            v["operations"]["/chat.subscribe"]["messages"][0]["$ref"],
            "#/channels/~1chat/messages/subscribe.message"
        );
        assert_eq!(v["channels"]["/chat"]["address"], "/chat");
        assert_eq!(origin(&c.moved, "/operations/say/messages/0"), "/channels/~1chat/publish/messages/0");
        assert_eq!(origin(&c.moved, "/channels/~1chat/messages/Said"), "/channels/~1chat/publish/message");
    }

    #[test]
    fn a_url_is_split_into_host_and_pathname() {
        let c = convert(
            "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\nservers:\n  a: {url: 'wss://api.example.com:{port}/v1/ws', protocol: wss}\n  b: {url: example.com, protocol: ws}\nchannels: {}\n",
        );
        assert_eq!(c.value["servers"]["a"]["host"], "api.example.com:{port}");
        assert_eq!(c.value["servers"]["a"]["pathname"], "/v1/ws");
        assert_eq!(c.value["servers"]["b"]["host"], "example.com");
        assert!(c.value["servers"]["b"].get("pathname").is_none());
        assert_eq!(origin(&c.moved, "/servers/a/pathname"), "/servers/a/url");
    }

    #[test]
    fn a_requirement_of_several_schemes_at_once_is_refused_not_weakened() {
        let c = convert(
            "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nservers:\n  a:\n    url: x\n    protocol: ws\n    security: [{key: [], token: []}, {oauth: [read]}]\nchannels: {}\ncomponents:\n  securitySchemes:\n    key: {type: httpApiKey, in: query, name: key}\n    token: {type: http, scheme: bearer}\n    oauth: {type: oauth2, flows: {implicit: {authorizationUrl: 'https://x', scopes: {read: r}}}}\n",
        );
        let refused: Vec<_> = c.losses.iter().filter(|l| l.refused).collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].pointer, "/servers/a/security/0");
        let security = c.value["servers"]["a"]["security"].as_array().unwrap();
        assert_eq!(security.len(), 1);
        assert_eq!(security[0]["scopes"], json!(["read"]));
        assert_eq!(security[0]["flows"]["implicit"]["availableScopes"], json!({"read": "r"}));
        assert_eq!(origin(&c.moved, "/servers/a/security/0"), "/servers/a/security/1");
    }

    #[test]
    fn parameter_schema_keywords_3_0_cannot_say_are_named() {
        let c = convert(
            "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nchannels:\n  'rooms/{id}':\n    parameters:\n      id: {schema: {type: integer, minimum: 1, enum: ['1', '2']}}\n",
        );
        assert_eq!(c.value["channels"]["rooms/{id}"]["parameters"]["id"]["enum"], json!(["1", "2"]));
        assert_eq!(c.losses.len(), 1);
        assert!(c.losses[0].message.contains("`minimum`"), "{}", c.losses[0].message);
        assert!(c.losses[0].message.contains("`type: integer`"), "{}", c.losses[0].message);
        assert!(!c.losses[0].refused);
    }

    #[test]
    fn one_of_messages_keep_their_ids_and_otherwise_are_numbered() {
        let c = convert(
            "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nchannels:\n  feed:\n    x-channelId: feed_channel\n    subscribe:\n      operationId: onFeed\n      message:\n        oneOf:\n          - {messageId: tick, payload: {type: object}}\n          - {payload: {type: string}, schemaFormat: 'application/vnd.apache.avro;version=1.9.0'}\n",
        );
        let messages = c.value["channels"]["feed_channel"]["messages"].as_object().unwrap();
        let mut keys: Vec<_> = messages.keys().collect();
        keys.sort();
        assert_eq!(keys, ["onFeed.message.1", "tick"]);
        assert!(messages["tick"].get("messageId").is_none());
        assert_eq!(messages["onFeed.message.1"]["payload"]["schema"], json!({"type": "string"}));
        assert_eq!(
            origin(&c.moved, "/channels/feed_channel/messages/onFeed.message.1/payload/schema/type"),
            "/channels/feed/subscribe/message/oneOf/1/payload/type"
        );
    }
}
