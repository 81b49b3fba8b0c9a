//! Arbitrary bytes into the generated dispatcher, over the real handlers and an
//! SQLite store: every input must get a JSON object reply, never a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use specserve::api::dispatch;
use specserve::handlers::{App, AppConfig};
use specserve::security::audit::AuditLog;
use specserve::store::Database;
use specserve::wire::RequestContext;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: App<Database>,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let path = std::env::temp_dir().join(format!("specserve-fuzz-{}.db", std::process::id()));
    let store = runtime.block_on(Database::connect(&format!("sqlite://{}", path.display()))).expect("sqlite");
    let app = App::new(store, AppConfig::default(), AuditLog::to_writer(std::io::sink())).expect("app");
    Harness { runtime, app }
});

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the time they reach dispatch (the socket closes 1007 otherwise).
    let Ok(text) = std::str::from_utf8(data) else { return };
    let harness = &*HARNESS;
    let reply = harness.runtime.block_on(dispatch(&harness.app, &RequestContext::new(1), text));
    let value: serde_json::Value = serde_json::from_str(&reply.text).expect("every reply is JSON");
    assert!(value.is_object());
    assert_eq!(value.get("success") == Some(&serde_json::Value::Bool(false)), reply.error.is_some());
});
