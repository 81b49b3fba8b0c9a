//! `specserve-tools validate` and `lint` as QA runs them: golden outputs for
//! valid and invalid payloads and for a JSON-lines capture, exit codes, and
//! `--spec` with a modified spec. `UPDATE_GOLDEN=1` rewrites the outputs.

use std::path::Path;
use std::process::Command;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/validate");

/// The spec the inputs are checked against by default: the product's own.
const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../asyncapi.yaml");

fn specserve(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_specserve-tools"))
        .args(args)
        .current_dir(GOLDEN)
        .env("SPECSERVE_SPEC", SPEC)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
    )
}

/// The product's spec, as text to edit.
fn spec_text() -> String {
    std::fs::read_to_string(SPEC).expect("the product's spec")
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(GOLDEN).join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(expected, actual, "{} differs; rerun with UPDATE_GOLDEN=1 and review", path.display());
}

#[test]
fn a_valid_payload_passes_with_exit_0() {
    let (code, out) = specserve(&["validate", "--route", "user/create", "payload-valid.json"]);
    assert_eq!(code, 0, "{out}");
    golden("payload-valid.txt", &out);
}

#[test]
fn an_invalid_payload_lists_every_violation_with_exit_1() {
    let (code, out) = specserve(&["validate", "--route", "user/create", "payload-invalid.json"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("short\""), "the offending value is masked");
    golden("payload-invalid.txt", &out);
}

#[test]
fn a_capture_gets_one_verdict_per_frame_in_text_and_json() {
    let (code, text) = specserve(&["validate", "capture.jsonl"]);
    assert_eq!(code, 1);
    golden("capture.txt", &text);
    let (code, json) = specserve(&["validate", "--format", "json", "capture.jsonl"]);
    assert_eq!(code, 1);
    let verdicts: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let valid: Vec<bool> = verdicts.iter().map(|v| v["valid"].as_bool().unwrap()).collect();
    assert_eq!(valid, [true, true, false, true, false, false, false]);
    golden("capture.json", &json);
}

#[test]
fn stdin_is_read_when_no_file_is_given() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_specserve-tools"))
        .args(["validate", "--jsonl", "--spec", SPEC])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{\"channel\":\"user/read\",\"payload\":{\"id\":1}}\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "line 1: userRead request UserReadRequest: valid\n");
}

#[test]
fn another_spec_is_loaded_at_run_time_through_the_codegen_loader() {
    // Tighter: only example.com addresses. The spec's own examples still pass.
    let tighter = spec_text().replacen(
        "      format: email\n      maxLength: 254\n",
        "      format: email\n      maxLength: 254\n      pattern: '@example\\.com$'\n",
        1,
    );
    assert_ne!(tighter, spec_text(), "the edit applied");
    // A new required field the spec's own examples lack: lint must refuse it.
    let required = spec_text().replacen(
        "      required: [name, email]\n      description: A new user, managed by its creator.\n      properties:\n",
        "      required: [name, email, nickname]\n      description: A new user, managed by its creator.\n      properties:\n        nickname: {type: string, description: Required in this variant.}\n",
        1,
    );
    assert_ne!(required, spec_text(), "the edit applied");
    let dir = std::env::temp_dir().join(format!("specserve-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("tighter.yaml");
    let stale = dir.join("required.yaml");
    let broken = dir.join("broken.yaml");
    std::fs::write(&spec, &tighter).unwrap();
    std::fs::write(&stale, &required).unwrap();
    std::fs::write(&broken, required.replace("nickname: {type: string", "nickname: {type: strung")).unwrap();
    let (code, out) = specserve(&["validate", "--route", "user/create", "payload-valid.json"]);
    assert_eq!(code, 0, "valid against the product's spec: {out}");
    let (code, out) =
        specserve(&["validate", "--spec", spec.to_str().unwrap(), "--route", "user/create", "payload-valid.json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/email [pattern]"), "{out}");
    // An example that breaks its schema is a warning (the official parser accepts
    // such a document); `--deny-warnings`, as the build does, makes it fatal.
    let (code, out) = specserve(&["lint", stale.to_str().unwrap()]);
    assert_eq!(code, 0, "warnings alone pass: {out}");
    assert!(out.contains("example `bob` does not match"), "the spec's own examples lack the new field: {out}");
    assert!(out.contains("2 warnings"), "{out}");
    let (code, out) = specserve(&["lint", "--deny-warnings", stale.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = specserve(&["lint", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("`type: strung` is not a JSON Schema type"), "{out}");
    let (code, json) = specserve(&["lint", "--format", "json", broken.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, report["loads"].as_bool()), (1, Some(false)), "{report:#}");
    let problem = &report["problems"][0];
    assert_eq!(
        (problem["severity"].as_str(), problem["rule"].as_str()),
        (Some("error"), Some("asyncapi-document-resolved"))
    );
    // `gen` refuses the same document the same way: a verdict (exit 1), each
    // problem said once, not wrapped in a second "error:".
    let out_dir = dir.join("generated");
    let (code, out) = specserve(&["gen", "--spec", broken.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the spec does not load") && !out.contains("error: error:"), "{out}");
    assert!(!out_dir.exists(), "nothing generated");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lint_passes_the_shipped_spec() {
    let spec = SPEC;
    let (code, out) = specserve(&["lint", spec]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: specserve user API"), "{out}");
    // `--spec`, as gen, new, validate and conformance take it, names it too.
    let (code, same) = specserve(&["lint", "--spec", spec]);
    assert_eq!((code, same), (0, out));
    // For CI: one JSON object.
    let (code, json) = specserve(&["lint", "--format", "json", spec]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (code, report["loads"].as_bool(), report["problems"].as_array().map(Vec::len)),
        (0, Some(true), Some(0))
    );
    assert_eq!(report["urls"][0]["url"], "wss://localhost:8443/ws", "{report:#}");
}

#[test]
fn diff_reports_breaking_changes_with_exit_1_and_a_semver_bump() {
    let dir = std::env::temp_dir().join(format!("specserve-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = SPEC;
    let tighter = dir.join("tighter.yaml");
    std::fs::write(
        &tighter,
        spec_text().replacen(
            "      format: email\n      maxLength: 254\n",
            "      format: email\n      maxLength: 254\n      pattern: '@example\\.com$'\n",
            1,
        ),
    )
    .unwrap();
    let (code, out) = specserve(&["diff", old, old]);
    assert_eq!((code, out.trim()), (0, "0 change(s), 0 breaking; suggested SDK version bump: none"));
    let (code, out) = specserve(&["diff", old, tighter.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    // Clients send emails in requests (tighter breaks them) and read them in replies (tighter is fine).
    assert!(
        out.contains(
            "BREAKING    authRegister request AuthRegisterRequest  /payload/email  pattern none -> `@example\\.com$`"
        ),
        "{out}"
    );
    assert!(out.contains("compatible  userRead reply UserReadReply  /email  pattern"), "{out}");
    assert!(out.ends_with("suggested SDK version bump: major\n"), "{out}");
    let (code, json) = specserve(&["diff", "--format", "json", old, tighter.to_str().unwrap()]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["suggested_bump"], "major");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_clients_document_read_with_perspective_client_takes_its_sends_as_requests() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/documents/echo.client.yaml");
    let frame = std::env::temp_dir().join(format!("specserve-echo-{}.json", std::process::id()));
    std::fs::write(&frame, r#"{"type":"echo","id":"1","text":"hi"}"#).unwrap();
    let frame = frame.to_str().unwrap();
    let (code, out) = specserve(&["validate", "--spec", spec, "--perspective", "client", frame]);
    assert_eq!((code, out.trim()), (0, "line 1: sendEcho request Echo: valid"));
    let (_, out) = specserve(&["validate", "--spec", spec, frame]);
    assert!(out.contains("sendEcho event"), "read as the application's, the client's send is an event: {out}");
    let _ = std::fs::remove_file(frame);
}
