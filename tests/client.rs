//! The generated typed client over a real WebSocket, against the generated
//! dispatcher behind a minimal accept loop (the full server is separate): the
//! seed README flow, typed errors, and many calls in flight on one socket.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::Memory;
use futures_util::{StreamExt, TryStreamExt};
use specserve::api::*;
use specserve::api::{Client, ClientError};
use specserve_runtime::ConnectionInfo;
use specserve_runtime::service::{Service as _, handle};
use tokio_tungstenite::tungstenite::Message;

/// Accepts WebSocket connections and answers frames in order, many in flight.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Arc::new(Service::<Memory>::new(Arc::new(Memory::default())));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                let Ok(socket) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (sink, stream) = socket.split();
                let binding = Arc::new(service.bind("/ws", None).expect("/ws is a path of the spec"));
                let connection = Arc::new(ConnectionInfo::new(1, "/ws"));
                let replies = stream
                    .try_filter_map(|m| async move { Ok(m.into_text().ok().map(|t| t.to_string())) })
                    .map_ok(|text| {
                        let (service, binding, connection) =
                            (Arc::clone(&service), Arc::clone(&binding), Arc::clone(&connection));
                        async move { Ok(Message::text(handle(&service, &binding, &connection, &text).await.text)) }
                    })
                    .try_buffered(16);
                let _ = replies.forward(sink).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn seed_readme_flow_through_the_typed_client() {
    let client = Client::connect(&format!("ws://{}/ws", serve().await)).await.unwrap();
    let alice = common::register_alice(&client).await;
    let bob = client
        .user_create(&UserCreatePayload {
            name: "Bob".into(),
            email: "bob@example.com".into(),
            password: None,
            role: None,
            email_verified: None,
        })
        .await
        .unwrap();
    assert_ne!(alice, bob.user_id);
    let read = client.user_read(&UserRef { id: bob.user_id }).await.unwrap();
    assert_eq!((read.name.as_str(), read.email.as_str(), read.role), ("Bob", "bob@example.com", Role::User));
    client.user_delete(&UserRef { id: bob.user_id }).await.unwrap();
    let gone = client.user_read(&UserRef { id: bob.user_id }).await.unwrap_err();
    let ClientError::Api(body) = gone else { panic!("expected an API error, got {gone:?}") };
    assert_eq!(body.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn secured_call_without_token_is_a_typed_unauthorized_error() {
    let client = Client::connect(&format!("ws://{}/ws", serve().await)).await.unwrap();
    match client.user_read(&UserRef { id: 1 }).await {
        Err(ClientError::Api(body)) => assert_eq!(body.code, ErrorCode::Unauthorized),
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn many_calls_in_flight_on_one_socket_each_get_their_own_reply() {
    let client = Client::connect(&format!("ws://{}/ws", serve().await)).await.unwrap();
    client.set_token(Some(common::ADMIN_TOKEN.into()));
    let mut ids = Vec::new();
    for i in 0..20 {
        let created = client
            .user_create(&UserCreatePayload {
                name: format!("user {i}"),
                email: format!("u{i}@example.com"),
                password: None,
                role: None,
                email_verified: None,
            })
            .await
            .unwrap();
        ids.push(created.user_id);
    }
    let refs: Vec<UserRef> = ids.iter().map(|id| UserRef { id: *id }).collect();
    let reads = futures_util::future::join_all(refs.iter().map(|r| client.user_read(r))).await;
    for (id, read) in ids.iter().zip(reads) {
        let read = read.unwrap();
        assert_eq!(read.id, *id);
        assert_eq!(read.email, format!("u{}@example.com", ids.iter().position(|x| x == id).unwrap()));
    }
}

#[tokio::test]
async fn raw_frames_get_raw_replies_with_the_request_id() {
    let client = Client::connect(&format!("ws://{}/ws", serve().await)).await.unwrap();
    let id = serde_json::json!("raw-1");
    let text = r#"{"channel":"nope","requestId":"raw-1"}"#.to_owned();
    let reply = client.connection().call::<ApiErrorBody>(Some(&id), text).await.unwrap();
    assert_eq!(reply["error"]["code"], "unknown_channel");
    assert_eq!(reply["requestId"], "raw-1");
}
