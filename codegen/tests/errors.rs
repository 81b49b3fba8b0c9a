//! Broken specs fail with a message that names the YAML path and the problem.
//! Each case edits the valid `tests/apis/minimal.yaml` the way a designer might.

use specserve_codegen::{Api, SpecError};

const MINIMAL: &str = include_str!("apis/minimal.yaml");
const EXTRA_ROUTE: &str = include_str!("apis/extra_route.yaml");

fn error_after(base: &str, from: &str, to: &str) -> SpecError {
    assert!(base.contains(from), "fixture lacks {from:?}");
    error_of(&base.replacen(from, to, 1))
}

fn error_of(spec: &str) -> SpecError {
    match Api::from_yaml(spec) {
        Ok(_) => panic!("accepted a broken spec:\n{spec}"),
        Err(error) => error,
    }
}

fn assert_error(error: &SpecError, path: &str, message: &str) {
    assert_eq!(error.path, path, "wrong path in: {error}");
    assert!(error.message.contains(message), "expected {message:?} in: {error}");
}

#[test]
fn the_fixtures_themselves_are_valid() {
    Api::from_yaml(MINIMAL).unwrap();
    Api::from_yaml(EXTRA_ROUTE).unwrap();
}

#[test]
fn missing_ref_target() {
    let error = error_after(MINIMAL, "$ref: '#/components/schemas/ItemRef'", "$ref: '#/components/schemas/ItemRefs'");
    assert_error(&error, "components.schemas.ItemGetFrame.properties.payload", "points at nothing");
    assert!(error.message.contains("`components.schemas` has no `ItemRefs`"), "{error}");
    assert!(error.to_string().contains("fix: "), "{error}");
}

#[test]
fn unsupported_construct() {
    let error = error_after(
        MINIMAL,
        "label: {type: string, description: What the item is called.}",
        "label: {allOf: [{type: string}]}",
    );
    assert_error(&error, "components.schemas.ItemGetReplyFrame.properties.label.allOf", "`allOf` is not supported");
    let error = error_after(MINIMAL, "id: {type: integer, format: int64", "id: {type: integer, format: uint8");
    assert_error(&error, "components.schemas.ItemRef.properties.id", "integer format `uint8` is not supported");
    let error = error_after(MINIMAL, "      required: [id]\n", "      required: [id]\n      patternProperties: {}\n");
    assert_error(&error, "components.schemas.ItemRef.patternProperties", "not supported in an object schema");
    let error = error_after(MINIMAL, "    action: receive", "    action: send");
    assert_error(&error, "operations.itemGet.action", "`action: send` is not supported yet");
}

#[test]
fn two_messages_with_the_same_channel_const() {
    // Every mention of the second route, examples included, now says item/get.
    let error = error_of(&EXTRA_ROUTE.replace("item/put", "item/get"));
    assert!(error.message.contains("two operations route the channel `item/get`: `itemPut` and `itemGet`"), "{error}");
}

#[test]
fn example_not_matching_its_schema() {
    let error = error_after(
        MINIMAL,
        "payload: {channel: item/get, apiToken: t, payload: {id: 1}}",
        "payload: {channel: item/get, apiToken: t, payload: {id: 0}}",
    );
    assert_error(
        &error,
        "components.messages.ItemGetRequest.examples[0]",
        "example `one` does not match the message schema: at `/payload/id`",
    );
}

#[test]
fn reply_naming_a_message_the_channel_lacks() {
    let error = error_after(
        MINIMAL,
        "        - $ref: '#/channels/api/messages/itemGetReply'",
        "        - $ref: '#/components/messages/ItemGetReply'",
    );
    assert_error(&error, "operations.itemGet.reply.messages[0]", "is not a message of channel `api`");
}

#[test]
fn secured_operation_with_unknown_scheme() {
    let error = error_after(
        MINIMAL,
        "- $ref: '#/components/securitySchemes/token'",
        "- $ref: '#/components/securitySchemes/oauth'",
    );
    assert_error(&error, "operations.itemGet.security[0]", "is not a security scheme in components.securitySchemes");
    assert!(error.hint.as_deref().unwrap_or_default().contains("#/components/securitySchemes/token"));
}

#[test]
fn envelope_and_document_rules() {
    let error = error_after(MINIMAL, "asyncapi: 3.0.0", "asyncapi: 2.6.0");
    assert_error(&error, "asyncapi", "AsyncAPI `2.6.0` is not supported");
    let error = error_after(
        MINIMAL,
        "        apiToken: {type: string}\n",
        "        apiToken: {type: string}\n        extra: {type: string}\n",
    );
    assert_error(
        &error,
        "components.schemas.ItemGetFrame.properties.extra",
        "`extra` is not part of the request envelope",
    );
    let error = error_after(MINIMAL, "enum: [bad_request, ", "enum: [");
    assert_error(&error, "components.schemas.ErrorCode", "the error codes lack `bad_request`");
    let error = error_of(&MINIMAL.replace("item/get", "item-get"));
    assert!(error.message.contains("route `item-get` must look like `group/action`"), "{error}");
}

#[test]
fn unused_message_and_typo_extension() {
    let error = error_after(
        MINIMAL,
        "      error:\n        $ref: '#/components/messages/Error'\noperations:",
        "      error:\n        $ref: '#/components/messages/Error'\n      orphan:\n        $ref: '#/components/messages/Error'\noperations:",
    );
    assert_error(&error, "channels.api.messages.orphan", "no operation receives or replies with this message");
    let error = error_after(
        MINIMAL,
        "    summary: Fetch one item.",
        "    summary: Fetch one item.\n    x-specserve-ratelimit: auth",
    );
    assert_error(&error, "operations.itemGet.x-specserve-ratelimit", "not supported in an operation");
}

#[test]
fn yaml_syntax_errors_say_where() {
    let error = Api::from_yaml("asyncapi: 3.0.0\ninfo: [unclosed\n").unwrap_err();
    assert!(error.message.contains("not a valid YAML document"), "{error}");
    assert!(error.message.contains("line"), "{error}");
}

#[test]
fn close_codes_must_be_sendable_and_distinct() {
    let listed = |codes: &str| format!("    address: /ws\n    x-specserve-close-codes:\n{codes}");
    let reserved = listed("      - code: 1006\n        when: Abnormal.\n");
    let error = error_after(MINIMAL, "    address: /ws\n", &reserved);
    assert_error(&error, "channels.api.x-specserve-close-codes[0]", "1006 is not a close code a server can send");

    let twice = listed("      - code: 1000\n        when: Closed.\n      - code: 1000\n        when: Again.\n");
    let error = error_after(MINIMAL, "    address: /ws\n", &twice);
    assert_error(&error, "channels.api.x-specserve-close-codes[1]", "listed twice");

    let typo = listed("      - code: 1000\n        why: Closed.\n");
    let error = error_after(MINIMAL, "    address: /ws\n", &typo);
    assert!(error.path.starts_with("channels.api.x-specserve-close-codes[0]"), "{error}");
}
