//! Broken specs fail with a message that names the YAML path, the problem and
//! the fix; documents the official parser accepts but specserve cannot honour
//! fully load with a warning. Each case edits a valid fixture the way a
//! designer might.

use specserve_codegen::{Api, Diagnostics, SpecError};

const MINIMAL: &str = include_str!("apis/minimal.yaml");
const EXTRA_ROUTE: &str = include_str!("apis/extra_route.yaml");

fn edited(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "fixture lacks {from:?}");
    base.replacen(from, to, 1)
}

fn errors_of(spec: &str) -> Diagnostics {
    match Api::from_yaml(spec) {
        Ok(_) => panic!("accepted a broken spec:\n{spec}"),
        Err(errors) => errors,
    }
}

fn warnings_of(spec: &str) -> Diagnostics {
    Api::from_yaml(spec).unwrap_or_else(|e| panic!("refused a spec it should warn about: {e}")).warnings
}

/// The one problem reported, which must be at `path` and say `message`.
fn only(problems: &Diagnostics, path: &str, message: &str) -> SpecError {
    let all = problems.all();
    assert_eq!(all.len(), 1, "expected one problem, got: {problems}");
    let problem = all[0].clone();
    assert_eq!(problem.path, path, "wrong path in: {problem}");
    assert!(problem.message.contains(message), "expected {message:?} in: {problem}");
    problem
}

#[test]
fn the_fixtures_themselves_are_valid_and_clean() {
    for spec in [MINIMAL, EXTRA_ROUTE] {
        assert!(Api::from_yaml(spec).unwrap().warnings.is_empty());
    }
}

#[test]
fn a_dangling_ref_is_reported_once_where_it_is_written() {
    let spec = edited(MINIMAL, "$ref: '#/components/schemas/ItemRef'", "$ref: '#/components/schemas/ItemRefs'");
    let error = only(&errors_of(&spec), "components.schemas.ItemGetFrame.properties.payload", "points at nothing");
    assert!(error.message.contains("#/components/schemas/ItemRefs"), "{error}");
    assert!(error.to_string().contains("fix: "), "{error}");
}

#[test]
fn an_unknown_json_schema_type_is_an_error() {
    let spec = edited(MINIMAL, "label: {type: string, description: What the item is called.}", "label: {type: strung}");
    only(
        &errors_of(&spec),
        "components.schemas.ItemGetReplyFrame.properties.label",
        "`type: strung` is not a JSON Schema type",
    );
}

#[test]
fn what_the_validator_enforces_but_types_cannot_say_is_accepted() {
    // Unknown formats annotate (JSON Schema), patternProperties is validated.
    let spec = edited(MINIMAL, "id: {type: integer, format: int64", "id: {type: integer, format: uint8");
    assert!(warnings_of(&spec).is_empty());
    let spec =
        edited(MINIMAL, "      required: [id]\n", "      required: [id]\n      patternProperties: {'^x-': {}}\n");
    assert!(warnings_of(&spec).is_empty());
}

#[test]
fn messages_without_a_discriminator_are_matched_by_validation_with_a_warning() {
    // Both received messages now fix `channel` to the same value.
    let warnings = warnings_of(&EXTRA_ROUTE.replace("item/put", "item/get"));
    only(&warnings, "channels.api", "share no discriminator");
}

#[test]
fn an_example_that_breaks_its_schema_is_a_warning_naming_the_pointer() {
    let spec = edited(
        MINIMAL,
        "payload: {channel: item/get, apiToken: t, payload: {id: 1}}",
        "payload: {channel: item/get, apiToken: t, payload: {id: 0}}",
    );
    only(
        &warnings_of(&spec),
        "components.messages.ItemGetRequest.examples[0]",
        "example `one` does not match the message's payload schema: at `/payload/id`",
    );
}

#[test]
fn an_unknown_security_scheme_is_an_error() {
    let spec =
        edited(MINIMAL, "- $ref: '#/components/securitySchemes/token'", "- $ref: '#/components/securitySchemes/oauth'");
    only(&errors_of(&spec), "operations.itemGet.security[0]", "points at nothing");
}

/// A 2.x document is read as 3.0, but its problems name its own places.
#[test]
fn a_2_x_document_is_told_about_in_its_own_paths() {
    let v2 = |channel: &str| {
        format!(
            "asyncapi: 2.6.0\ninfo: {{title: t, version: '1'}}\nservers:\n  main: {{url: 'ws://x/ws', protocol: ws}}\nchannels:\n{channel}"
        )
    };
    let problem = only(
        &errors_of(&v2("  /chat:\n    publish:\n      message: {payload: {type: 7}}\n")),
        "channels.\"/chat\".publish.message.payload",
        "`type` must be a string or a list",
    );
    assert_eq!(problem.severity, specserve_codegen::Severity::Error);
    // Placed in the document as written: `payload` inside the flow mapping.
    assert_eq!(problem.at.as_ref().map(|at| (at.line, at.column)), Some((8, 17)), "{problem}");
    let lost = only(
        &warnings_of(&v2(
            "  'rooms/{id}':\n    parameters:\n      id: {schema: {type: string, pattern: '^[0-9]+$'}}\n    subscribe:\n      message: {payload: {type: string}}\n",
        )),
        "channels.\"rooms/{id}\".parameters.id.schema",
        "`pattern` not checked",
    );
    assert!(lost.hint.unwrap_or_default().contains("asyncapi convert"));
    only(
        &errors_of(&v2(
            "  /chat:\n    subscribe:\n      security: [{key: [], token: []}]\n      message: {payload: {type: string}}\ncomponents:\n  securitySchemes:\n    key: {type: httpApiKey, in: query, name: key}\n    token: {type: http, scheme: bearer}\n",
        )),
        "channels.\"/chat\".subscribe.security[0]",
        "AsyncAPI 3 lists alternatives",
    );
}

/// What the official parser leaves unchecked for 3.x, specserve warns about:
/// a server URL variable nobody declares, a documented value its schema refuses.
#[test]
fn unknowable_urls_and_values_their_schemas_refuse_are_named() {
    only(
        &warnings_of(&edited(MINIMAL, "    protocol: wss\n", "    protocol: wss\n    pathname: /{tenant}\n")),
        "servers.local.host",
        "`{tenant}` is not among the server's `variables`",
    );
    let spec = edited(
        MINIMAL,
        "label: {type: string, description: What the item is called.}",
        "label: {type: string, default: 7, description: What the item is called.}",
    );
    let (at, message) =
        ("components.schemas.ItemGetReplyFrame.properties.label.default", "does not match its own schema");
    only(&warnings_of(&spec), at, message);
    // A reply sent to a run-time address on a channel that has one too.
    let spec = edited(
        MINIMAL,
        "    reply:\n      channel:\n",
        "    reply:\n      address: {location: '$message.payload#/replyTo'}\n      channel:\n",
    );
    let warnings = warnings_of(&spec);
    let both = warnings.all().into_iter().find(|w| w.message.contains("names an `address` and a channel at `/ws`"));
    assert!(both.is_some_and(|w| w.path == "operations.itemGet.reply.address"), "{warnings}");
}

/// `x-specserve-trigger` names, on a send operation, the receive operation
/// whose requests make the server push it; anything else is refused.
#[test]
fn a_trigger_names_a_request_on_the_same_channel() {
    let with_trigger = |on: &str, value: &str| {
        let spec =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/documents/echo.client.yaml"))
                .unwrap();
        let spec = spec.replace("    x-specserve-trigger: sendEcho\n", "");
        edited(&spec, &format!("  {on}:\n"), &format!("  {on}:\n    x-specserve-trigger: {value}\n"))
    };
    // Read as the server (the document's own side), receiveTick is what it receives.
    let refused = |on: &str, value: &str, message: &str| {
        let problems = Api::from_yaml(&with_trigger(on, value)).map(|_| ()).unwrap_err();
        let path = format!("operations.{on}.x-specserve-trigger");
        let errors: Vec<_> = problems.errors().collect();
        assert!(errors.len() == 1 && errors[0].path == path && errors[0].message.contains(message), "{problems}");
    };
    refused("sendEcho", "nosuch", "must name a `receive` operation");
    refused("sendEcho", "sendEcho", "is not a `receive` operation");
    // On what the server receives (the document read from its own side), it is ignored, with a word.
    let as_written = Api::from_yaml(&with_trigger("receiveTick", "sendEcho")).unwrap();
    let said = as_written.warnings.to_string();
    assert!(said.contains("operations.receiveTick.x-specserve-trigger") && said.contains("ignored"), "{said}");
    assert!(as_written.operations.iter().all(|o| o.trigger.is_none()));
    let client =
        Api::from_yaml_as(&with_trigger("receiveTick", "sendEcho"), specserve_codegen::Perspective::Client).unwrap();
    let tick = client.operations.iter().find(|o| o.key == "receiveTick").unwrap();
    assert_eq!(tick.trigger.map(|t| client.operations[t].key.as_str()), Some("sendEcho"));
}

/// An operation on a channel whose servers are all `http`/`https` is served
/// over HTTP at the channel's address, with its `http` binding's method;
/// `x-specserve-handler` lends it a WebSocket operation's handler only when
/// both take the same payload and answer the same replies. The project's own
/// HTTP routes are the valid case.
#[test]
fn http_operations_say_their_method_and_borrow_only_a_matching_handler() {
    let spec = include_str!("../../asyncapi.yaml");
    let loaded = Api::from_yaml(spec).unwrap();
    let routes: Vec<String> = loaded
        .http_routes()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, loaded.operations[r.operation].key))
        .collect();
    assert!(routes.contains(&"GET /api/rooms/{roomId}/messages httpMessageHistory".to_owned()), "{routes:?}");
    let history = loaded.operations.iter().find(|o| o.key == "httpMessageHistory").unwrap();
    assert_eq!(history.handler.map(|h| loaded.operations[h].key.as_str()), Some("messageHistory"));
    assert!(history.http.as_ref().is_some_and(|h| h.query.is_some()));
    assert!(loaded.endpoints().iter().all(|e| !e.address.starts_with("/api/")), "HTTP channels are no WebSocket paths");
    let refused = |edited: String, path: &str, message: &str| {
        let problems = Api::from_yaml(&edited).map(|_| ()).unwrap_err();
        let errors: Vec<_> = problems.errors().collect();
        assert!(errors.len() == 1 && errors[0].path == path && errors[0].message.contains(message), "{problems}");
    };
    let handler = "operations.httpRoomList.x-specserve-handler";
    let list = "    x-specserve-handler: roomList\n";
    refused(edited(spec, list, &list.replace("roomList", "nosuch")), handler, "must name an operation");
    refused(edited(spec, list, &list.replace("roomList", "messageNew")), handler, "is not a `receive` operation");
    refused(edited(spec, list, &list.replace("roomList", "roomSay")), handler, "takes its channel's parameters");
    refused(edited(spec, list, &list.replace("roomList", "roomMembers")), handler, "the replies differ");
    refused(edited(spec, list, &list.replace("roomList", "authRegister")), handler, "both be secured, or both open");
    let register = "    x-specserve-handler: authRegister\n";
    refused(
        edited(spec, register, &register.replace("authRegister", "authGenerateToken")),
        "operations.httpAuthRegister.x-specserve-handler",
        "the replies differ",
    );
    let method = "      http:\n        method: GET\n";
    // The official binding schema refuses it too.
    let problems = Api::from_yaml(&edited(spec, method, &method.replace("GET", "FETCH"))).map(|_| ()).unwrap_err();
    let ours = problems.errors().find(|e| e.path == "operations.httpRoomList.bindings.http.method");
    assert!(ours.is_some_and(|e| e.message.contains("GET, POST")), "{problems}");
    let unbound = edited(spec, method, "      x-other: {}\n");
    refused(unbound, "operations.httpRoomList", "needs an `http` binding");
}

/// `x-specserve-resume` goes on a replayed (session) operation with a reply,
/// and names a `send` operation of the same channel and a pointer into its
/// payload; the project's own `auth/bind` is the valid case.
#[test]
fn a_resume_names_an_event_of_its_channel() {
    let spec = include_str!("../../asyncapi.yaml");
    let resume = "    x-specserve-resume: {since: since, missed: missed, event: messageNew, position: /message/id}\n";
    let loaded = Api::from_yaml(spec).unwrap();
    let bind = loaded.operations.iter().find(|o| o.key == "authBind").unwrap();
    let event = bind.resume.as_ref().map(|r| loaded.operations[r.event].key.as_str());
    assert_eq!(event, Some("messageNew"));
    let refused = |edited: String, message: &str| {
        let problems = Api::from_yaml(&edited).map(|_| ()).unwrap_err();
        let errors: Vec<_> = problems.errors().collect();
        let path = "operations.authBind.x-specserve-resume";
        assert!(errors.len() == 1 && errors[0].path == path && errors[0].message.contains(message), "{problems}");
    };
    refused(edited(spec, resume, &resume.replace("messageNew", "roomList")), "is not a `send` operation");
    refused(edited(spec, resume, &resume.replace("messageNew", "nosuch")), "`nosuch` is not an operation");
    refused(edited(spec, resume, &resume.replace("/message/id", "message.id")), "is not a JSON pointer");
    refused(edited(spec, resume, &resume.replace(", position: /message/id", "")), "needs `since`, `missed`");
    let unsessioned = edited(spec, "    x-specserve-session: true\n    x-specserve-resume", "    x-specserve-resume");
    refused(unsessioned, "goes with `x-specserve-session: true`");
}

/// A key twice in one mapping is refused where the second one is: YAML
/// forbids it, and reading on would keep one of the two silently.
#[test]
fn a_key_twice_in_one_mapping_is_refused_at_the_second() {
    let twice = edited(MINIMAL, "info:\n", "info:\n  version: '0'\n");
    let problem = only(&errors_of(&twice), "info", "`version` is a key of this mapping twice");
    let at = problem.at.as_deref().expect("located");
    let second = twice.lines().position(|l| l.trim_start().starts_with("version:") && !l.contains("'0'")).unwrap();
    assert_eq!((at.line, at.column), (second + 1, 3), "{problem:?}");
}

#[test]
fn document_rules() {
    let error =
        only(&errors_of(&edited(MINIMAL, "asyncapi: 3.0.0", "asyncapi: 1.2.0")), "asyncapi", "1.2.0 is not supported");
    assert!(error.hint.as_deref().unwrap_or_default().contains("2.0 to 2.6, 3.0 and 3.1"), "{error}");
    only(
        &errors_of(&edited(MINIMAL, "    action: receive", "    action: publish")),
        "operations.itemGet.action",
        "must be `send` or `receive`, not `publish`",
    );
    let error = only(
        &errors_of(&edited(MINIMAL, "enum: [bad_request, ", "enum: [")),
        "components.schemas.ErrorCode",
        "the error codes lack `bad_request`",
    );
    assert!(error.hint.as_deref().unwrap_or_default().contains("validation_failed"), "{error}");
    only(
        &errors_of(&edited(MINIMAL, "      x-specserve-error: /error", "      x-specserve-error: /oops")),
        "components.messages.Error.x-specserve-error",
        "must name an object property of the payload",
    );
    // Without `parameters` an address parameter is any string (the official parser agrees)...
    only(
        &warnings_of(&edited(MINIMAL, "    address: /ws\n", "    address: /ws/{room}\n")),
        "channels.api.address",
        "`{room}` has no `parameters` entry",
    );
    // ...but a `parameters` object must declare every one, and only those.
    let error = only(
        &errors_of(&edited(
            MINIMAL,
            "    address: /ws\n",
            "    address: /ws/{room}\n    parameters:\n      room: {}\n      floor: {}\n",
        )),
        "channels.api.parameters.floor",
        "the address has no `{floor}`",
    );
    assert_eq!(error.rule, Some("asyncapi3-channel-parameters"));
    only(
        &errors_of(&edited(MINIMAL, "location: $message.payload#/requestId", "location: $message.payload#requestId")),
        "components.messages.ItemGetRequest.correlationId",
        "is not a JSON pointer",
    );
}

#[test]
fn specserve_extensions_are_checked() {
    let spec = edited(
        MINIMAL,
        "    summary: Fetch one item.",
        "    summary: Fetch one item.\n    x-specserve-ratelimit: auth",
    );
    let error = only(&errors_of(&spec), "operations.itemGet.x-specserve-ratelimit", "is not a specserve extension");
    assert!(
        error.hint.as_deref().unwrap_or_default().contains("x-specserve-rate-limit"),
        "the fix names the right one"
    );
    let spec =
        edited(MINIMAL, "    summary: Fetch one item.", "    summary: Fetch one item.\n    x-specserve-rate-limit: 5");
    only(&errors_of(&spec), "operations.itemGet.x-specserve-rate-limit", "must name a rate-limit class");
}

#[test]
fn yaml_syntax_errors_say_where() {
    let errors = errors_of("asyncapi: 3.0.0\ninfo: [unclosed\n");
    let error = &errors.all()[0];
    assert!(error.message.contains("not a valid YAML document"), "{error}");
    assert!(error.message.contains("line"), "{error}");
}

#[test]
fn close_codes_must_be_sendable_and_distinct() {
    let listed = |codes: &str| format!("    address: /ws\n    x-specserve-close-codes:\n{codes}");
    let spec = edited(MINIMAL, "    address: /ws\n", &listed("      - code: 1006\n        when: Abnormal.\n"));
    only(&errors_of(&spec), "channels.api.x-specserve-close-codes[0]", "1006 is not a close code a server can send");
    let twice = listed("      - code: 1000\n        when: Closed.\n      - code: 1000\n        when: Again.\n");
    let spec = edited(MINIMAL, "    address: /ws\n", &twice);
    only(&errors_of(&spec), "channels.api.x-specserve-close-codes[1]", "listed twice");
    let spec = edited(MINIMAL, "    address: /ws\n", &listed("      - code: 1000\n        why: Closed.\n"));
    only(&errors_of(&spec), "channels.api.x-specserve-close-codes[0]", "unknown field `why`");
}

#[test]
fn every_problem_is_reported_at_once() {
    let spec = edited(MINIMAL, "asyncapi: 3.0.0", "asyncapi: 3.0.0\nx-unknown-root: 1");
    let spec = edited(&spec, "label: {type: string, description: What the item is called.}", "label: {type: strung}");
    let spec = edited(&spec, "    action: receive", "    action: publish");
    let errors = errors_of(&spec);
    assert!(errors.errors().count() >= 2, "both errors are listed: {errors}");
}

#[test]
fn scopes_are_read_from_where_asyncapi_puts_them() {
    let api = |scheme: &str| Api::from_yaml(&edited(MINIMAL, "      name: Authorization\n", scheme));
    // An http bearer (or API key) scheme states its scopes in the extension...
    let scoped = api("      name: Authorization\n      x-specserve-scopes: ['items:read']\n").unwrap();
    assert_eq!(scoped.security_schemes[0].scopes, ["items:read"]);
    // ...because the standard `scopes` is defined for oauth2 and openIdConnect only.
    only(
        &errors_of(&edited(
            MINIMAL,
            "      name: Authorization\n",
            "      name: Authorization\n      scopes: ['items:read']\n",
        )),
        "components.securitySchemes.token.scopes",
        "a `httpApiKey` scheme lists its scopes in `x-specserve-scopes`",
    );
    only(
        &errors_of(&edited(
            MINIMAL,
            "      name: Authorization\n",
            "      name: Authorization\n      x-specserve-scopes: ['items read']\n",
        )),
        "components.securitySchemes.token.x-specserve-scopes",
        "a list of scope names without spaces",
    );
    // A spec with scopes must let the runtime say `forbidden`.
    let without_forbidden = edited(
        &edited(
            MINIMAL,
            "      name: Authorization\n",
            "      name: Authorization\n      x-specserve-scopes: ['items:read']\n",
        ),
        "unauthorized, forbidden, ",
        "unauthorized, ",
    );
    only(&errors_of(&without_forbidden), "components.schemas.ErrorCode", "the error codes lack `forbidden`");
}

/// Inline schemes are each their own, with their own scopes: the second
/// operation's `admin` scope is not replaced by the first one's `read`
/// (both sit at `security[0]`, which once made them one scheme).
#[test]
fn inline_schemes_at_the_same_index_keep_their_own_scopes() {
    let inline = |scope: &str| {
        format!(
            "    security:\n      - type: oauth2\n        flows: {{clientCredentials: {{tokenUrl: 'https://x/t', availableScopes: {{read: r, admin: a}}}}}}\n        scopes: [{scope}]\n"
        )
    };
    let spec = format!(
        "asyncapi: 3.0.0\ninfo: {{title: t, version: '1'}}\nchannels:\n  a: {{address: /a, messages: {{m: {{payload: {{type: object}}}}}}}}\n  b: {{address: /b, messages: {{m: {{payload: {{type: object}}}}}}}}\noperations:\n  readA:\n    action: receive\n    channel: {{$ref: '#/channels/a'}}\n{}  adminB:\n    action: receive\n    channel: {{$ref: '#/channels/b'}}\n{}",
        inline("read"),
        inline("admin")
    );
    let api = Api::from_yaml(&spec).unwrap_or_else(|e| panic!("{e}"));
    let scopes = |op: usize| {
        let ids = &api.operations[op].security;
        assert_eq!(ids.len(), 1);
        api.security_schemes[ids[0]].scopes.clone()
    };
    assert_eq!(scopes(0), ["read"]);
    assert_eq!(scopes(1), ["admin"]);
    assert_eq!(api.security_schemes[api.operations[1].security[0]].key, "oauth2", "named by its type");
}

#[test]
fn a_server_secured_only_by_what_no_upgrade_presents_is_refused_rather_than_served_open() {
    let spec = edited(MINIMAL, "    protocol: wss\n", "    protocol: wss\n    security:\n      - type: X509\n");
    let problems = errors_of(&spec);
    let error = problems.all().into_iter().find(|p| p.path == "servers.local.security").expect("named at the server");
    assert!(error.message.contains("would serve it open"), "{error}");
}

#[test]
fn a_secured_server_with_one_checkable_alternative_warns_about_the_others() {
    let spec = edited(
        MINIMAL,
        "    protocol: wss\n",
        "    protocol: wss\n    security:\n      - type: X509\n      - $ref: '#/components/securitySchemes/token'\n",
    );
    let warnings = warnings_of(&spec);
    let warning = warnings.all().into_iter().find(|p| p.path == "servers.local.security").expect("named");
    assert!(warning.message.contains("only its other schemes admit"), "{warning}");
}

#[test]
fn two_received_messages_with_one_schema_and_no_discriminator_are_named() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/documents/twins.yaml")).unwrap();
    let warnings = warnings_of(&spec);
    let twins = warnings.all().into_iter().find(|w| w.message.contains("same payload schema")).expect("named");
    assert!(twins.message.contains("`Subscribe`") && twins.message.contains("`Unsubscribe`"), "{twins}");
}

#[test]
fn a_document_that_sends_requests_is_told_it_reads_like_a_clients() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/documents/echo.client.yaml"))
        .unwrap();
    let warnings = warnings_of(&spec);
    let hint = warnings.all().into_iter().find(|w| w.path == "operations.sendEcho").expect("the request is named");
    assert!(hint.to_string().contains("--perspective client"), "{hint}");
    let served = specserve_codegen::Api::from_yaml_as(&spec, specserve_codegen::Perspective::Client).unwrap();
    assert!(served.warnings.is_empty(), "read as a client's, it is clean: {}", served.warnings);
    let action = |key: &str| served.operations.iter().find(|o| o.key == key).map(|o| o.action);
    assert_eq!(action("sendEcho"), Some(specserve_codegen::model::Action::Receive));
    assert_eq!(action("receiveTick"), Some(specserve_codegen::model::Action::Send));
}

#[test]
fn a_path_on_a_secured_and_an_open_server_is_named_at_the_open_one() {
    let spec = edited(
        MINIMAL,
        "    protocol: wss\n",
        "    protocol: wss\n    security:\n      - $ref: '#/components/securitySchemes/token'\n  open:\n    host: localhost:8444\n    protocol: wss\n",
    );
    let warnings = warnings_of(&spec);
    let warning = warnings.all().into_iter().find(|w| w.path == "servers.open").expect("named at the open server");
    assert!(warning.message.contains("`/ws` is also on a secured server"), "{warning}");
}

/// A problem in a file the document references is placed in that file, at
/// the line and column an editor jumps to (`file:line:column:`).
#[test]
fn a_problem_in_a_referenced_file_is_placed_in_that_file() {
    let dir = std::env::temp_dir().join(format!("specserve-placed-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = MINIMAL.to_owned();
    std::fs::write(dir.join("asyncapi.yaml"), &root).unwrap();
    std::fs::write(dir.join("user.yaml"), "User:\n  type: object\n  properties:\n    name:\n      type: strng\n")
        .unwrap();
    let text = root.replacen(
        "        apiToken: {type: string}\n",
        "        apiToken: {type: string}\n        user:\n          $ref: './user.yaml#/User'\n",
        1,
    );
    assert_ne!(text, root, "the fixture has components");
    std::fs::write(dir.join("asyncapi.yaml"), &text).unwrap();
    let loaded = specserve_codegen::load(&dir.join("asyncapi.yaml"));
    let _ = std::fs::remove_dir_all(&dir);
    let problems = match loaded {
        Ok(api) => api.warnings,
        Err(errors) => errors,
    };
    let placed = problems.all().into_iter().find(|p| p.message.contains("strng")).cloned();
    let Some(at) = placed.as_ref().and_then(|p| p.at.as_deref().cloned()) else { panic!("not placed: {problems}") };
    assert_eq!(
        (at.file.as_deref().and_then(|f| f.file_name()), at.line, at.column),
        (Some("user.yaml".as_ref()), 4, 5),
        "at the schema `name`, whose type it is"
    );
    let line = placed.map(|p| p.located()).unwrap_or_default();
    assert!(line.contains("user.yaml:4:5: "), "{line}");
}
