//! Fidelity between the spec and the generated code: every example in
//! asyncapi.yaml validates against its message schema, deserializes into the
//! generated type, re-serializes to the same JSON, and is accepted by the
//! schemars schema of the generated type.

use serde_json::{Map, Value};
use specserve::api::{ErrorBody, Reply, Request, Route, error_validator};
use specserve_codegen::Api;

fn spec() -> Api {
    specserve_codegen::Api::from_yaml(specserve::ASYNCAPI_YAML).expect("the shipped spec loads")
}

fn without(frame: &Value, keys: &[&str]) -> Value {
    let mut map: Map<String, Value> = frame.as_object().expect("frames are objects").clone();
    for key in keys {
        map.remove(*key);
    }
    Value::Object(map)
}

fn assert_accepted_by(schema: &schemars::Schema, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema.as_value()).expect("schemars output compiles");
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: the generated type's schema rejects the example: {errors:?}");
}

#[test]
fn every_route_in_the_spec_is_a_generated_route() {
    let api = spec();
    let spec_channels: Vec<&str> = api.routes.iter().map(|r| r.channel.as_str()).collect();
    let generated: Vec<&str> = Route::ALL.iter().map(|r| r.channel()).collect();
    assert_eq!(spec_channels, generated);
}

#[test]
fn request_examples_round_trip_through_the_generated_types() {
    let api = spec();
    let mut checked = 0;
    for route in &api.routes {
        let generated = Route::from_channel(&route.channel).expect("generated route");
        assert!(!route.request.examples.is_empty(), "{} has no request example", route.channel);
        for example in &route.request.examples {
            let name = format!("{} example {:?}", route.channel, example.name);
            assert!(generated.request_validator().is_valid(&example.payload), "{name}: rejected by the validator");
            let envelope_free = without(&example.payload, &["requestId", "apiToken"]);
            let typed: Request = serde_json::from_value(envelope_free.clone()).expect(&name);
            assert_eq!(typed.route(), generated);
            assert_eq!(serde_json::to_value(&typed).unwrap(), envelope_free, "{name}: re-serialized differently");
            assert_accepted_by(&generated.request_type_schema(), &example.payload["payload"], &name);
            checked += 1;
        }
    }
    assert!(checked >= api.routes.len());
}

#[test]
fn reply_examples_round_trip_through_the_generated_types() {
    let api = spec();
    for route in &api.routes {
        let generated = Route::from_channel(&route.channel).expect("generated route");
        assert!(!route.reply.examples.is_empty(), "{} has no reply example", route.channel);
        for example in &route.reply.examples {
            let name = format!("{} reply example {:?}", route.channel, example.name);
            assert!(generated.reply_validator().is_valid(&example.payload), "{name}: rejected by the validator");
            let body = without(&example.payload, &["success", "channel", "requestId"]);
            let typed = Reply::from_body(generated, body.clone()).expect(&name);
            let request_id = example.payload.get("requestId").and_then(Value::as_str);
            let encoded: Value = serde_json::from_str(&typed.encode(request_id)).unwrap();
            assert_eq!(encoded, example.payload, "{name}: re-encoded differently");
            assert_accepted_by(&generated.reply_type_schema(), &body, &name);
        }
    }
}

#[test]
fn error_examples_round_trip_through_the_generated_error_body() {
    let api = spec();
    assert!(api.error.message.examples.len() >= 5, "error examples cover the common codes");
    for example in &api.error.message.examples {
        let name = format!("error example {:?}", example.name);
        assert!(error_validator().is_valid(&example.payload), "{name}: rejected by the validator");
        let body: ErrorBody = serde_json::from_value(example.payload["error"].clone()).expect(&name);
        assert_eq!(serde_json::to_value(&body).unwrap(), example.payload["error"], "{name}");
        assert_accepted_by(&schemars::schema_for!(ErrorBody), &example.payload["error"], &name);
    }
}

#[test]
fn validators_reject_what_the_spec_forbids() {
    let read = Route::UserRead.request_validator();
    assert!(read.is_valid(&serde_json::json!({"channel": "user/read", "payload": {"id": 1}})));
    for bad in [
        serde_json::json!({"channel": "user/read", "payload": {"id": -1}}),
        serde_json::json!({"channel": "user/read", "payload": {}}),
        serde_json::json!({"channel": "user/create", "payload": {"id": 1}}),
        serde_json::json!({"channel": "user/read", "payload": {"id": 1}, "extra": true}),
    ] {
        assert!(!read.is_valid(&bad), "accepted {bad}");
    }
}

/// Replies and the error body are read tolerantly (a field added to what
/// clients receive is a compatible change for `specserve diff`, so clients built
/// from the older spec must still decode it); requests stay closed, as their
/// schemas are.
#[test]
fn received_types_accept_added_fields_and_request_types_do_not() {
    let reply = serde_json::json!({
        "id": 7, "name": "Bob", "email": "bob@example.com", "role": "user",
        "created_at": "2025-05-21T10:00:00.000Z", "nickname": "a field from a newer spec"
    });
    let decoded: specserve::api::UserReadReply = serde_json::from_value(reply).expect("tolerant reader");
    assert_eq!(decoded.name, "Bob");
    let error = serde_json::json!({
        "code": "validation_failed", "message": "no", "retryAfter": 3,
        "details": [{"pointer": "/payload/id", "keyword": "type", "message": "m", "hint": "newer"}]
    });
    let decoded: ErrorBody = serde_json::from_value(error).expect("tolerant reader");
    assert_eq!(decoded.details.map(|d| d.len()), Some(1));
    let request = serde_json::json!({"id": 7, "nickname": "x"});
    assert!(serde_json::from_value::<specserve::api::UserRef>(request).is_err());
}
