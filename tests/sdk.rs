//! The generated TypeScript SDK as a client author uses it: installed from
//! generated/sdk/typescript into tests/sdk (an npm project), type-checked with
//! `tsc --strict`, and driven by node:test through the seed flow against this
//! server over real TLS (tests/sdk/seed.test.mjs).

mod common;

use std::path::Path;
use std::process::Command;

use common::certs::TestCert;
use common::{app, db};
use specserve::api::Role;
use specserve::handlers::{AppConfig, EmailVerification};
use specserve::mail::Mailer;
use specserve::security::passwords::Passwords;
use specserve::security::secret::Secret;
use specserve::store::{NewUser, now_utc};

const ADMIN_EMAIL: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "SecretPass123";

const SDK_TESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");

/// Whether node and the test project's packages are there; CI must have them.
fn node_project_ready() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let installed = Path::new(SDK_TESTS).join("node_modules/specserve-user-api").exists();
    if node && installed {
        return true;
    }
    common::skip_unless_ci("node and `npm ci --prefix tests/sdk`");
    false
}

/// Runs `program args` in tests/sdk with `envs`, failing the test with its output.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(SDK_TESTS)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_sdk_type_checks_under_tsc_strict() {
    if !node_project_ready() {
        return;
    }
    // The SDK itself (index.js is checked as JavaScript), then a consumer whose
    // `@ts-expect-error` lines prove wrong payloads and routes do not compile.
    run("npm", &["run", "--silent", "typecheck"], &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_drives_the_seed_flow_against_a_real_server() {
    if !node_project_ready() {
        return;
    }
    // A certificate node can be told to trust (the default self-signed one is pinned by fingerprint).
    let cert = TestCert::new();
    let running = app::start_with(db::sqlite().await, app::test_config(), |config| config.tls = cert.tls()).await;
    // An admin, for client tokens.
    let hash = Passwords::new(1).unwrap().hash(ADMIN_PASSWORD.into()).await.unwrap();
    let admin = NewUser {
        name: "Root".into(),
        email: ADMIN_EMAIL.into(),
        password_hash: Some(hash),
        role: Role::Admin,
        created_by: None,
        now: now_utc(),
    };
    running.db.store().create_user(admin).await.unwrap();
    // A second server that requires email verification, mailing to an SMTP
    // listener the node test opens on this port.
    let smtp_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mailer = Mailer::new(&format!("smtp://127.0.0.1:{smtp_port}"), "specserve <no-reply@example.com>").unwrap();
    let verification = EmailVerification { mailer, secret: Secret::generate().unwrap() };
    let verifying_config = AppConfig { email_verification: Some(verification), ..app::test_config() };
    let verifying = app::start_with(db::sqlite().await, verifying_config, |config| config.tls = cert.tls()).await;
    let (url, verifying_url) = (running.server.url(), verifying.server.url());
    let ca = cert.cert.display().to_string();
    // node runs on a blocking thread so the servers keep serving on this runtime.
    tokio::task::spawn_blocking(move || {
        run(
            "node",
            &["--test", "--test-timeout=60000", "--test-force-exit", "--test-reporter=spec"],
            &[
                ("SPECSERVE_URL", &url),
                ("SPECSERVE_CA", &ca),
                // fetch (the cookie log-in helper) trusts the test certificate this way.
                ("NODE_EXTRA_CA_CERTS", &ca),
                ("SPECSERVE_ADMIN_EMAIL", ADMIN_EMAIL),
                ("SPECSERVE_ADMIN_PASSWORD", ADMIN_PASSWORD),
                ("SPECSERVE_VERIFYING_URL", &verifying_url),
                ("SPECSERVE_SMTP_PORT", &smtp_port.to_string()),
            ],
        )
    })
    .await
    .unwrap();
    running.stop().await;
    verifying.stop().await;
}

/// The SDK generated for every public corpus document (tests/corpus) and every
/// codegen API fixture type-checks under `tsc --strict`, runtime and
/// declarations alike, in one compiler run.
#[test]
fn every_corpus_sdk_type_checks_under_tsc_strict() {
    if !node_project_ready() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tests/corpus/manifest.json")).unwrap()).unwrap();
    let mut specs: Vec<std::path::PathBuf> = manifest["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["official"] == "valid")
        .map(|d| root.join("tests/corpus").join(d["path"].as_str().unwrap()))
        .collect();
    for fixture in ["minimal", "extra_route", "kraken", "gemini"] {
        specs.push(root.join(format!("codegen/tests/apis/{fixture}.yaml")));
    }
    let out = std::env::temp_dir().join(format!("specserve-corpus-sdks-{}", std::process::id()));
    let mut files = Vec::new();
    for (n, spec) in specs.iter().enumerate() {
        let api = specserve_codegen::load(spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        for (name, contents) in specserve_codegen::emit::typescript::files(&api).unwrap() {
            let path = out.join(format!("sdk{n}")).join(&name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            if name.ends_with(".js") || name.ends_with(".d.ts") {
                files.push(path.display().to_string());
            }
        }
    }
    let tsconfig = serde_json::json!({
        "compilerOptions": {
            "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "lib": ["ES2022", "DOM"],
            "strict": true, "allowJs": true, "checkJs": true, "noEmit": true, "skipLibCheck": false
        },
        "files": files,
    });
    std::fs::write(out.join("tsconfig.json"), tsconfig.to_string()).unwrap();
    let tsc = Path::new(SDK_TESTS).join("node_modules/typescript/bin/tsc");
    run("node", &[tsc.to_str().unwrap(), "-p", out.join("tsconfig.json").to_str().unwrap()], &[]);
    let _ = std::fs::remove_dir_all(&out);
}
