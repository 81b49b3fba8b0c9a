//! The generated dispatcher, in process: every error code the dispatcher itself
//! produces, `requestId` echo, ordered replies under pipelining, and no panic on
//! arbitrary input.

mod common;

use std::sync::Arc;

use common::{ADMIN_TOKEN, Memory};
use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use specserve::api::{OPERATIONS, Service};
use specserve_runtime::context::CredentialSource;
use specserve_runtime::service::{Outcome, Service as _, handle};
use specserve_runtime::{Code, ConnectionInfo};

/// The generated service over `handlers`, bound to the seed clients' path `/`.
struct Dispatcher {
    service: Arc<Service<Memory>>,
    binding: Arc<specserve::api::Binding>,
}

impl Dispatcher {
    fn new(handlers: Memory) -> Dispatcher {
        let service = Arc::new(Service::new(Arc::new(handlers)));
        let binding = Arc::new(service.bind("/", None).expect("`/` is a path of the spec"));
        Dispatcher { service, binding }
    }

    async fn dispatch(&self, connection: ConnectionInfo, frame: &str) -> Outcome {
        handle(&self.service, &self.binding, &Arc::new(connection), frame).await
    }
}

fn connection() -> ConnectionInfo {
    ConnectionInfo::new(1, "/")
}

async fn dispatch(handlers: Memory, frame: &str) -> Outcome {
    Dispatcher::new(handlers).dispatch(connection(), frame).await
}

async fn send(handlers: &Dispatcher, frame: &str) -> Value {
    let reply = handlers.dispatch(connection(), frame).await;
    serde_json::from_str(&reply.text).expect("every reply is JSON")
}

#[tokio::test]
async fn seed_register_reply_keeps_the_seed_body() {
    let reply = send(
        &Dispatcher::new(Memory::default()),
        r#"{"channel":"auth/register","payload":{"name":"Alice","email":"alice@example.com","password":"SecretPass123"}}"#,
    )
    .await;
    assert_eq!(reply, json!({"success": true, "channel": "auth/register", "userId": 2}));
}

#[tokio::test]
async fn request_id_is_echoed_on_success_and_error() {
    let handlers = Dispatcher::new(Memory::default());
    let ok =
        send(&handlers, r#"{"channel":"user/read","requestId":"r-1","apiToken":"admin-token","payload":{"id":1}}"#)
            .await;
    assert_eq!(ok["requestId"], "r-1");
    assert_eq!(ok["id"], 1);
    let err = send(&handlers, r#"{"channel":"user/read","requestId":"r-2","payload":{"id":1}}"#).await;
    assert_eq!(err["requestId"], "r-2");
    assert_eq!(err["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn user_read_reply_is_the_bare_user_plus_envelope() {
    let reply = send(
        &Dispatcher::new(Memory::default()),
        r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":1}}"#,
    )
    .await;
    assert_eq!(
        reply,
        json!({"channel": "user/read", "id": 1, "name": "Root", "email": "root@example.com", "role": "admin",
               "created_at": "2025-05-15T12:30:00Z"})
    );
}

#[tokio::test]
async fn not_json_is_bad_request_without_channel() {
    let reply = send(&Dispatcher::new(Memory::default()), "{not json").await;
    assert_eq!(
        reply,
        json!({"success": false, "error": {"code": "bad_request", "message": "frame is not valid JSON"}})
    );
}

#[tokio::test]
async fn json_that_is_not_an_object_is_bad_request() {
    for frame in ["[1,2]", "\"user/read\"", "42", "null"] {
        let reply = send(&Dispatcher::new(Memory::default()), frame).await;
        assert_eq!(reply["error"]["code"], "bad_request", "{frame}");
        assert_eq!(reply["error"]["message"], "frame is not a JSON object", "{frame}");
    }
}

#[tokio::test]
async fn missing_or_non_string_channel_is_bad_request() {
    for frame in [r#"{"payload":{}}"#, r#"{"channel":7,"requestId":"x"}"#] {
        let reply = send(&Dispatcher::new(Memory::default()), frame).await;
        assert_eq!(reply["error"]["code"], "bad_request", "{frame}");
        assert_eq!(reply["error"]["message"], "frame has no channel");
    }
}

#[tokio::test]
async fn unknown_channel_echoes_request_id_but_not_the_channel() {
    let reply =
        send(&Dispatcher::new(Memory::default()), r#"{"channel":"user/explode","requestId":"q","payload":{}}"#).await;
    assert_eq!(
        reply,
        json!({"success": false, "requestId": "q",
               "error": {"code": "unknown_channel", "message": "no route has this channel"}})
    );
}

#[tokio::test]
async fn validation_failure_points_at_the_field_and_masks_the_value() {
    let reply = send(
        &Dispatcher::new(Memory::default()),
        r#"{"channel":"auth/register","requestId":"v","payload":{"name":"A","email":"not-an-email","password":"hunter2"}}"#,
    )
    .await;
    assert_eq!(reply["channel"], "auth/register");
    assert_eq!(reply["error"]["code"], "validation_failed");
    let details = reply["error"]["details"].as_array().expect("details");
    let pointers: Vec<(&str, &str)> =
        details.iter().map(|d| (d["pointer"].as_str().unwrap(), d["keyword"].as_str().unwrap())).collect();
    assert!(pointers.contains(&("/payload/email", "format")), "{pointers:?}");
    assert!(pointers.contains(&("/payload/password", "minLength")), "{pointers:?}");
    assert!(!reply.to_string().contains("hunter2"), "the password is echoed: {reply}");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_rejected() {
    let handlers = Dispatcher::new(Memory::default());
    let extra =
        send(&handlers, r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":1,"admin":true}}"#).await;
    assert_eq!(extra["error"]["code"], "validation_failed");
    assert_eq!(extra["error"]["details"][0]["keyword"], "additionalProperties");
    let wrong = send(&handlers, r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":"1"}}"#).await;
    assert_eq!(wrong["error"]["details"][0]["pointer"], "/payload/id");
    assert_eq!(wrong["error"]["details"][0]["keyword"], "type");
    let zero = send(&handlers, r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":0}}"#).await;
    assert_eq!(zero["error"]["details"][0]["keyword"], "minimum");
    let top = send(&handlers, r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":1},"x":1}"#).await;
    assert_eq!(top["error"]["code"], "validation_failed");
}

#[tokio::test]
async fn secured_route_without_token_is_unauthorized_not_invalid() {
    let reply = send(&Dispatcher::new(Memory::default()), r#"{"channel":"user/read","payload":{"id":1}}"#).await;
    assert_eq!(
        reply,
        json!({"success": false, "channel": "user/read",
               "error": {"code": "unauthorized", "message": "missing, invalid or expired token"}})
    );
}

#[tokio::test]
async fn garbage_token_is_unauthorized() {
    let reply =
        send(&Dispatcher::new(Memory::default()), r#"{"channel":"user/read","apiToken":"garbage","payload":{"id":1}}"#)
            .await;
    assert_eq!(reply["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn bearer_token_from_the_upgrade_authenticates_and_the_frame_token_wins() {
    let handlers = Dispatcher::new(Memory::default());
    let bearer = || connection().with_credential(CredentialSource::Bearer, ADMIN_TOKEN);
    let via_bearer = handlers.dispatch(bearer(), r#"{"channel":"user/read","payload":{"id":1}}"#).await;
    assert_eq!(via_bearer.error, None, "{}", via_bearer.text);
    let frame_wins =
        handlers.dispatch(bearer(), r#"{"channel":"user/read","apiToken":"bad","payload":{"id":1}}"#).await;
    assert_eq!(frame_wins.error, Some(Code::UNAUTHORIZED));
}

#[tokio::test]
async fn handler_errors_become_error_replies() {
    let handlers = Dispatcher::new(Memory::default());
    let missing = send(&handlers, r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":42}}"#).await;
    assert_eq!(missing["error"], json!({"code": "not_found", "message": "no such user"}));
    let taken = send(
        &handlers,
        r#"{"channel":"auth/register","payload":{"name":"R","email":"ROOT@example.com","password":"SecretPass123"}}"#,
    )
    .await;
    assert_eq!(taken["error"]["code"], "conflict");
}

#[tokio::test]
async fn internal_errors_disclose_nothing() {
    let reply = send(
        &Dispatcher::new(Memory::default()),
        r#"{"channel":"user/delete","apiToken":"admin-token","payload":{"id":999}}"#,
    )
    .await;
    assert_eq!(reply["error"], json!({"code": "internal", "message": "internal error"}));
    assert!(!reply.to_string().contains("/var/lib"));
}

#[tokio::test]
async fn overlong_request_id_is_not_echoed() {
    let id = "x".repeat(65);
    let frame =
        format!(r#"{{"channel":"user/read","requestId":"{id}","apiToken":"admin-token","payload":{{"id":1}}}}"#);
    let reply = send(&Dispatcher::new(Memory::default()), &frame).await;
    assert_eq!(reply.get("requestId"), None);
    assert_eq!(reply["error"]["details"][0]["pointer"], "/requestId");
}

#[tokio::test]
async fn dispatched_reports_operation_and_code_for_metrics() {
    let handlers = Dispatcher::new(Memory::default());
    let ok =
        handlers.dispatch(connection(), r#"{"channel":"user/read","apiToken":"admin-token","payload":{"id":1}}"#).await;
    assert_eq!((ok.operation.map(|o| OPERATIONS[o]), ok.error), (Some("userRead"), None));
    let bad = handlers.dispatch(connection(), "nope").await;
    assert_eq!((bad.operation, bad.error), (None, Some(Code::BAD_REQUEST)));
}

#[tokio::test]
async fn pipelined_frames_are_answered_in_order() {
    let handlers = Dispatcher::new(Memory::default());
    let frames: Vec<String> = (0..50)
        .map(|i| match i % 3 {
            0 => format!(
                r#"{{"channel":"user/read","requestId":"p-{i}","apiToken":"admin-token","payload":{{"id":1}}}}"#
            ),
            1 => format!(r#"{{"channel":"nope","requestId":"p-{i}"}}"#),
            _ => format!(r#"{{"channel":"user/read","requestId":"p-{i}","payload":{{"id":1}}}}"#),
        })
        .collect();
    // The same shape the server's connection loop uses: many in flight, replies in order.
    let replies: Vec<_> = futures_util::stream::iter(frames.iter())
        .map(|f| handlers.dispatch(connection(), f))
        .buffered(16)
        .collect()
        .await;
    for (i, reply) in replies.iter().enumerate() {
        let value: Value = serde_json::from_str(&reply.text).unwrap();
        assert_eq!(value["requestId"], format!("p-{i}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics_and_always_gets_a_reply(value in arbitrary_json(), channel in prop::sample::select(vec!["user/read", "auth/register", "user/update", "x"])) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let handlers = Dispatcher::new(Memory::default());
        for frame in [value.to_string(), json!({"channel": channel, "apiToken": ADMIN_TOKEN, "payload": value}).to_string()] {
            let reply = runtime.block_on(handlers.dispatch(connection(), &frame));
            let parsed: Value = serde_json::from_str(&reply.text).unwrap();
            prop_assert!(parsed.is_object());
            prop_assert_eq!(parsed.get("success") == Some(&Value::Bool(false)), reply.error.is_some());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let reply = runtime.block_on(dispatch(Memory::default(), &text));
        prop_assert!(serde_json::from_str::<Value>(&reply.text).is_ok());
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![Just("id".to_owned()), Just("name".to_owned()), Just("email".to_owned()), ".{0,6}"],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A frame's future carries its own route's state, not the largest route's:
/// the server allocates and moves one per frame, so its size is paid on every
/// request (the largest route's made it 6 KB before the routes were boxed,
/// 12% of the server's instructions per `user/read` under callgrind).
#[tokio::test]
async fn a_frames_future_is_small_whatever_the_largest_route() {
    use specserve::handlers::App;
    use specserve::security::audit::AuditLog;

    let db = common::db::sqlite().await;
    let hub = specserve_runtime::hub::Hub::new();
    let app = App::new(db.store().clone(), common::app::test_config(), AuditLog::to_writer(std::io::sink()), hub)
        .expect("the app starts");
    let service = Arc::new(Service::<App>::new(Arc::new(app)));
    let binding = Arc::new(service.bind("/", None).expect("`/` is a path of the spec"));
    let connection = Arc::new(connection());
    for frame in [
        r#"{"channel":"user/read","apiToken":"t","payload":{"id":1}}"#,
        r#"{"channel":"auth/register","payload":{"name":"A","email":"a@example.com","password":"SecretPass123"}}"#,
    ] {
        let prepared = service.prepare(&binding, frame).expect("a known operation");
        let running = service.run(&binding, &connection, prepared);
        let size = std::mem::size_of_val(&running);
        assert!(size <= 1024, "a frame's future is {size} bytes: {frame}");
    }
}
