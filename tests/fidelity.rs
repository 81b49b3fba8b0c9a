//! Fidelity between the spec and the generated code: every operation of
//! asyncapi.yaml is generated, and every message example validates against its
//! schema, deserializes into the generated type (without the properties the
//! runtime writes: `channel`, `requestId`, `success`, `apiToken`) and
//! re-serializes to the same JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use specserve::api::*;
use specserve_codegen::Api;
use specserve_codegen::model::binding::Body;
use specserve_codegen::schema::bundle;

fn spec() -> Api {
    Api::from_yaml(specserve::ASYNCAPI_YAML).expect("the shipped spec loads")
}

/// `value` deserialized into `T` and serialized back.
fn round_trip<T: Serialize + DeserializeOwned>(value: &Value, what: &str) -> Value {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    serde_json::to_value(&typed).expect("serializes")
}

/// The generated type of each message, by message key (what a handler takes or returns).
fn through_generated_type(message: &str, body: &Value, what: &str) -> Value {
    match message {
        "AuthRegisterRequest" => round_trip::<AuthRegisterRequest>(body, what),
        "AuthRegisterReply" => round_trip::<AuthRegisterReply>(body, what),
        "AuthGenerateTokenRequest" => round_trip::<AuthGenerateTokenRequest>(body, what),
        "AuthGenerateTokenReply" => round_trip::<AuthGenerateTokenReply>(body, what),
        "AuthLogoutRequest" => round_trip::<AuthLogoutRequest>(body, what),
        "AuthRefreshRequest" => round_trip::<AuthRefreshRequest>(body, what),
        "AuthRefreshReply" => round_trip::<AuthRefreshReply>(body, what),
        "AuthVerifyEmailRequest" => round_trip::<AuthVerifyEmailRequest>(body, what),
        "AuthVerifyEmailReply" => round_trip::<AuthVerifyEmailReply>(body, what),
        "AuthResendVerificationRequest" => round_trip::<AuthResendVerificationRequest>(body, what),
        "UserCreateRequest" => round_trip::<UserCreateRequest>(body, what),
        "UserCreateReply" => round_trip::<UserCreateReply>(body, what),
        "UserReadRequest" => round_trip::<UserReadRequest>(body, what),
        "UserReadReply" => round_trip::<UserReadReply>(body, what),
        "UserUpdateRequest" => round_trip::<UserUpdateRequest>(body, what),
        "UserDeleteRequest" => round_trip::<UserDeleteRequest>(body, what),
        "AuthBindRequest" => round_trip::<AuthBindRequest>(body, what),
        "AuthBindReply" => round_trip::<AuthBindReply>(body, what),
        "RoomCreateRequest" => round_trip::<RoomCreateRequest>(body, what),
        "RoomCreateReply" => round_trip::<RoomCreateReply>(body, what),
        "RoomListRequest" => round_trip::<RoomListRequest>(body, what),
        "RoomListReply" => round_trip::<RoomListReply>(body, what),
        "RoomAddMemberRequest" => round_trip::<RoomAddMemberRequest>(body, what),
        "RoomLeaveRequest" => round_trip::<RoomLeaveRequest>(body, what),
        "RoomJoinRequest" => round_trip::<RoomJoinRequest>(body, what),
        "RoomMembersRequest" => round_trip::<RoomMembersRequest>(body, what),
        "RoomMembersReply" => round_trip::<RoomMembersReply>(body, what),
        "MessageSendRequest" => round_trip::<MessageSendRequest>(body, what),
        "MessageSendReply" => round_trip::<MessageSendReply>(body, what),
        "MessageHistoryRequest" => round_trip::<MessageHistoryRequest>(body, what),
        "MessageHistoryReply" => round_trip::<MessageHistoryReply>(body, what),
        "MessageMarkReadRequest" => round_trip::<MessageMarkReadRequest>(body, what),
        "PresenceListRequest" => round_trip::<PresenceListRequest>(body, what),
        "PresenceListReply" => round_trip::<PresenceListReply>(body, what),
        "TokenListRequest" => round_trip::<TokenListRequest>(body, what),
        "TokenListReply" => round_trip::<TokenListReply>(body, what),
        "TokenRevokeRequest" => round_trip::<TokenRevokeRequest>(body, what),
        "TokenCreateClientRequest" => round_trip::<TokenCreateClientRequest>(body, what),
        "TokenCreateClientReply" => round_trip::<TokenCreateClientReply>(body, what),
        // Events: what the publisher takes.
        "MessageNew" => round_trip::<MessageNew>(body, what),
        "MessageDelivered" => round_trip::<MessageDelivered>(body, what),
        "RoomRead" => round_trip::<RoomRead>(body, what),
        "PresenceChanged" => round_trip::<PresenceChanged>(body, what),
        "Error" => round_trip::<ApiErrorBody>(body, what),
        // Replies without fields: the handler returns `()`.
        "AuthLogoutReply"
        | "UserUpdateReply"
        | "UserDeleteReply"
        | "RoomAddMemberReply"
        | "RoomLeaveReply"
        | "RoomJoinReply"
        | "MessageMarkReadReply"
        | "TokenRevokeReply"
        | "AuthResendVerificationReply" => {
            assert_eq!(body, &json!({}), "{what}: a reply without fields");
            json!({})
        }
        other => panic!("message `{other}` has no generated type listed in this test"),
    }
}

#[test]
fn every_operation_in_the_spec_is_generated() {
    let keys: Vec<String> = spec().operations.iter().map(|op| op.key.clone()).collect();
    assert_eq!(keys, OPERATIONS);
}

#[test]
fn every_example_validates_and_round_trips_through_its_generated_type() {
    let api = spec();
    let mut checked = 0;
    for (id, message) in api.messages.iter().enumerate() {
        assert!(!message.examples.is_empty(), "{} has no example", message.key);
        let validator = bundle::validator(message.payload_json.as_ref().expect("payload schema")).unwrap();
        let credential = api
            .operations
            .iter()
            .enumerate()
            .find_map(|(op, o)| o.messages.contains(&id).then(|| api.credential_property(op)).flatten());
        let layout = api.layout(id, Some("channel"), credential);
        for example in &message.examples {
            let what = format!("{} example {:?}", message.key, example.name);
            let payload = example.payload.as_ref().expect("example payload");
            let errors: Vec<String> = validator.iter_errors(payload).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{what}: rejected by its schema: {errors:?}");
            let body = match &layout.body {
                Body::Under(field) => payload[field.as_str()].clone(),
                _ => {
                    let mut map: Map<String, Value> = payload.as_object().expect("frames are objects").clone();
                    for (name, _) in &layout.leading {
                        map.remove(name);
                    }
                    Value::Object(map)
                }
            };
            assert_eq!(through_generated_type(&message.key, &body, &what), body, "{what}: re-serialized differently");
            checked += 1;
        }
    }
    assert!(checked >= api.messages.len());
}

#[test]
fn validators_reject_what_the_spec_forbids() {
    let read = message_validator("UserReadRequest").expect("a received message");
    assert!(read.is_valid(&json!({"channel": "user/read", "payload": {"id": 1}})));
    for bad in [
        json!({"channel": "user/read", "payload": {"id": -1}}),
        json!({"channel": "user/read", "payload": {}}),
        json!({"channel": "user/create", "payload": {"id": 1}}),
        json!({"channel": "user/read", "payload": {"id": 1}, "extra": true}),
    ] {
        assert!(!read.is_valid(&bad), "accepted {bad}");
    }
    assert!(message_validator("UserReadReply").is_none(), "the server validates what it receives");
}

/// Replies and the error body are read tolerantly (a field added to what
/// clients receive is a compatible change for `specserve-tools diff`, so clients built
/// from the older spec must still decode it); requests stay closed, as their
/// schemas are.
#[test]
fn received_types_accept_added_fields_and_request_types_do_not() {
    let reply = json!({
        "id": 7, "name": "Bob", "email": "bob@example.com", "role": "user",
        "created_at": "2025-05-21T10:00:00.000Z", "nickname": "a field from a newer spec"
    });
    let decoded: UserReadReply = serde_json::from_value(reply).expect("tolerant reader");
    assert_eq!(decoded.name, "Bob");
    let error = json!({
        "code": "validation_failed", "message": "no", "retryAfter": 3,
        "details": [{"pointer": "/payload/id", "keyword": "type", "message": "m", "hint": "newer"}]
    });
    let decoded: ApiErrorBody = serde_json::from_value(error).expect("tolerant reader");
    assert_eq!(decoded.details.map(|d| d.len()), Some(1));
    let request = json!({"id": 7, "nickname": "x"});
    assert!(serde_json::from_value::<UserRef>(request).is_err());
}
