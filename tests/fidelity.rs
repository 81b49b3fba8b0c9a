//! Fidelity between the spec and the generated code: every operation of
//! asyncapi.yaml is generated, and every message example validates against its
//! schema, deserializes into the generated type (without the properties the
//! runtime writes: `channel`, `requestId`, `success`, `apiToken`) and
//! re-serializes to the same JSON.

use serde_json::{Map, Value, json};
use specserve::api::*;
use specserve_codegen::Api;
use specserve_codegen::model::binding::Body;
use specserve_codegen::schema::bundle;

fn spec() -> Api {
    Api::from_yaml(specserve::ASYNCAPI_YAML).expect("the shipped spec loads")
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
            let typed = round_trip(&message.key, body.clone()).unwrap_or_else(|| panic!("{what}: no generated type"));
            assert_eq!(typed.unwrap_or_else(|e| panic!("{what}: {e}")), body, "{what}: re-serialized differently");
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
