//! The generated Python SDK (generated/sdk/python) as a client author uses
//! it: tests/python/test_sdk.py drives typed calls, typed refusals, events
//! and a reconnect that loses nothing against this server over real TLS.

mod common;

use std::process::Command;

use common::certs::TestCert;
use common::{app, db};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_drives_a_real_server() {
    let available = Command::new("python3").args(["-c", "import websockets"]).status().is_ok_and(|s| s.success());
    if !available {
        common::skip_unless_ci("python3 with websockets (pip install websockets)");
        return;
    }
    let cert = TestCert::new();
    let running = app::start_with(db::sqlite().await, app::test_config(), |config| config.tls = cert.tls()).await;
    let (url, ca) = (running.server.url(), cert.cert.display().to_string());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/test_sdk.py"))
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/generated/sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("SPECSERVE_URL", url)
            .env("SPECSERVE_CA", ca)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the Python SDK test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("python sdk: ok"));
    running.stop().await;
}

/// Every public corpus document that loads (tests/corpus) generates a
/// Python package whose modules import: names that are Python keywords,
/// recursive and forward references, unions, defaults.
#[test]
fn every_corpus_document_generates_a_python_package_that_imports() {
    let available = Command::new("python3").args(["-c", "import websockets"]).status().is_ok_and(|s| s.success());
    if !available {
        common::skip_unless_ci("python3 with websockets (pip install websockets)");
        return;
    }
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("manifest.json")).unwrap()).unwrap();
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-corpus");
    let _ = std::fs::remove_dir_all(&out);
    let mut checked = 0;
    for (n, document) in manifest["documents"].as_array().unwrap().iter().enumerate() {
        let Ok(api) = specserve_codegen::Api::load(&corpus.join(document["path"].as_str().unwrap())) else { continue };
        let files = specserve_codegen::emit::python::files(&api).expect("the Python SDK generates");
        let root = out.join(n.to_string());
        let mut package = String::new();
        for (path, contents) in files {
            let file = root.join(&path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, contents).unwrap();
            if let Some(name) = path.strip_suffix("/__init__.py") {
                package = name.to_owned();
            }
        }
        let output = Command::new("python3")
            .args(["-c", &format!("import {package}, {package}.client")])
            .env("PYTHONPATH", &root)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .expect("python3 runs");
        assert!(output.status.success(), "{}: {}", document["path"], String::from_utf8_lossy(&output.stderr));
        checked += 1;
    }
    assert!(checked > 50, "{checked} documents");
}
