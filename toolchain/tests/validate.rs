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
fn each_violation_is_placed_at_its_line_and_column_in_the_file() {
    let dir = std::env::temp_dir().join(format!("specserve-validate-placed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pretty.json");
    std::fs::write(&file, "{\n  \"name\": \"Ann\",\n  \"email\": \"nope\"\n}\n").unwrap();
    let (code, out) = specserve(&["validate", "--route", "user/create", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/email [format] value is not a \"email\" (line 3, column 3)"), "{out}");
    let (_, json) = specserve(&["validate", "--format", "json", "--route", "user/create", file.to_str().unwrap()]);
    let verdict: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!((verdict["errors"][0]["line"].as_u64(), verdict["errors"][0]["column"].as_u64()), (Some(3), Some(3)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Output whose reader is gone (`| head`, `| grep -q`) ends the command
/// quietly, by SIGPIPE as other command-line tools end: no panic about a
/// broken pipe in the terminal or the CI log.
#[test]
fn output_whose_reader_is_gone_ends_without_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_specserve-tools"))
        .args(["lint", "--format", "sarif", SPEC])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes before the first line is written (loading the spec comes first).
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", output.status);
    }
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

/// A document whose problems lint places, with the line of each.
const PLACED: &str = "asyncapi: 3.0.0
info:
  title: Placed
  version: 1.0.0
channels:
  chat:
    address: /chat
    messages:
      say:
        payload:
          type: object
          properties:
            text: {type: strin}
operations:
  sayIt:
    action: receive
    channel:
      $ref: '#/channels/chat'
    bindings:
      kafka: {}
";

#[test]
fn lint_places_each_problem_at_its_line_and_column_for_editors_and_code_scanning() {
    let dir = std::env::temp_dir().join(format!("specserve-placed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("placed.yaml");
    std::fs::write(&spec, PLACED).unwrap();
    let spec = spec.to_str().unwrap();
    // Text: `file:line:column:` first, as compilers write it (the type's key
    // is on line 13, column 13; the kafka binding's on line 20, column 7).
    let (code, out) = specserve(&["lint", spec]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{spec}:13:13: error[asyncapi-document-resolved]: ")), "{out}");
    assert!(out.contains(&format!("{spec}:20:7: warning: operations.sayIt.bindings.kafka")), "{out}");
    // JSON: the same places as fields.
    let (_, json) = specserve(&["lint", "--format", "json", spec]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let placed: Vec<(i64, i64)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_i64().unwrap_or(0), p["column"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(placed, [(13, 13), (20, 7)], "{report:#}");
    assert_eq!(report["problems"][0]["file"], spec);
    // SARIF 2.1.0: what code-scanning UIs require of a result (a rule id, a
    // level, a message, a file and a start line), rules declared by the tool.
    let (code, sarif) = specserve(&["lint", "--format", "sarif", spec]);
    assert_eq!(code, 1, "a refused document fails in every format");
    let log: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "specserve-tools");
    let results = run["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, i64)> = results
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap(), region["startLine"].as_i64().unwrap_or(0))
        })
        .collect();
    assert_eq!(summary, [("asyncapi-document-resolved", "error", 13), ("specserve", "warning", 20)], "{log:#}");
    for result in results {
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], spec);
        assert!(result["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let declared = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(declared.iter().any(|rule| rule["id"] == result["ruleId"]), "{log:#}");
    }
    // A document that loads: what it does not serve as written are notes.
    let served = PLACED.replace("{type: strin}", "{type: string}");
    let spec = dir.join("served.yaml");
    std::fs::write(&spec, served).unwrap();
    let (code, sarif) = specserve(&["lint", "--format", "sarif", spec.to_str().unwrap()]);
    assert_eq!(code, 0, "{sarif}");
    let log: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let notes: Vec<i64> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "specserve-not-served" && r["level"] == "note")
        .map(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(notes, [20], "the kafka binding, where it is: {log:#}");
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
