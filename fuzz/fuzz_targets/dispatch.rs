//! Arbitrary bytes into the generated service, over the real handlers and an
//! SQLite store: every input must get a JSON object reply, never a panic.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use specserve::api::{Binding, Service};
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::store::Database;
use specserve_runtime::ConnectionInfo;
use specserve_runtime::service::{Service as _, handle};

struct Harness {
    runtime: tokio::runtime::Runtime,
    service: Arc<Service<App<Database>>>,
    binding: Arc<Binding>,
    connection: Arc<ConnectionInfo>,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let path = std::env::temp_dir().join(format!("specserve-fuzz-{}.db", std::process::id()));
    let store = runtime.block_on(Database::connect(&format!("sqlite://{}", path.display()))).expect("sqlite");
    let app = App::new(store, AppConfig::default(), AuditLog::to_writer(std::io::sink())).expect("app");
    let service = Arc::new(Service::new(Arc::new(app)));
    let binding = Arc::new(service.bind("/", None).expect("`/` is a path of the spec"));
    Harness { runtime, service, binding, connection: Arc::new(ConnectionInfo::new(1, "/")) }
});

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the time they reach the service (the socket closes 1007 otherwise).
    let Ok(text) = std::str::from_utf8(data) else { return };
    let harness = &*HARNESS;
    let reply = harness.runtime.block_on(handle(&harness.service, &harness.binding, &harness.connection, text));
    let value: serde_json::Value = serde_json::from_str(&reply.text).expect("every reply is JSON");
    assert!(value.is_object());
    assert_eq!(value.get("success") == Some(&serde_json::Value::Bool(false)), reply.error.is_some());
});
