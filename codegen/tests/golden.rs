//! Golden tests: the Rust and TypeScript emitted for each supported JSON Schema
//! construct (`tests/types/*.yaml`) and for whole APIs (`tests/apis/*.yaml`)
//! are compared with the committed `.rs` and `.d.ts` next to them.
//! `UPDATE_GOLDEN=1 cargo test -p specserve-codegen` rewrites them; review the
//! diff like any code change.

use std::path::{Path, PathBuf};

use specserve_codegen::Api;
use specserve_codegen::emit::{docs, rust, typescript};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Api {
    let api = specserve_codegen::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(api.warnings.is_empty(), "{}: {}", path.display(), api.warnings);
    api
}

/// Compares `actual` with the file beside `spec` ending in `extension`.
fn check_golden(spec: &Path, extension: &str, actual: &str) {
    let golden = spec.with_extension(extension);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    pretty_assertions::assert_eq!(
        expected,
        actual,
        "{} is out of date; rerun with UPDATE_GOLDEN=1 and review the diff",
        golden.display()
    );
}

#[test]
fn every_construct_has_golden_output() {
    let files = fixtures("types");
    let names: Vec<String> = files.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for construct in [
        "object",
        "string",
        "integer",
        "number",
        "boolean",
        "array",
        "enum",
        "const",
        "one_of",
        "any_of",
        "all_of",
        "discriminator",
        "untagged",
        "nullable",
        "map",
        "recursive",
        "ref",
    ] {
        assert!(names.iter().any(|n| n == construct), "no golden fixture for {construct}");
    }
    for file in files {
        let api = load(&file);
        check_golden(&file, "rs", &rust::types_module(&api).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
        let declarations = typescript::types_module(&api).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        check_golden(&file, "d.ts", &declarations);
    }
}

#[test]
fn whole_apis_have_golden_output() {
    for file in fixtures("apis") {
        let api = load(&file);
        check_golden(&file, "rs", &rust::api_module(&api).unwrap());
        let sdk = typescript::files(&api).unwrap();
        let declarations = sdk.iter().find(|(name, _)| name == "index.d.ts").map(|(_, text)| text.as_str());
        check_golden(&file, "d.ts", declarations.unwrap_or_default());
    }
}

#[test]
fn an_operation_added_to_the_spec_adds_a_handler_method_and_a_client_method() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apis");
    let before = rust::api_module(&load(&dir.join("minimal.yaml"))).unwrap();
    let after = rust::api_module(&load(&dir.join("extra_route.yaml"))).unwrap();
    let handler = "fn item_put(\n        rq: rt::Open<'_, Self::Context, ()>,\n        message: ItemPutRequestPayload,";
    assert!(!before.contains("fn item_put("), "{before}");
    assert!(after.contains(handler), "{after}");
    assert!(
        after.contains("pub async fn item_put(\n        &self,\n        request: &ItemPutRequestPayload,"),
        "{after}"
    );
    assert!(after.contains("\"itemPut\""), "the operation is listed");
}

#[test]
fn docs_page_has_an_anchor_per_operation_and_fetches_nothing() {
    let api = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml"));
    let html = docs::html(&api).unwrap();
    for operation in &api.operations {
        let anchor = docs::anchor(&operation.key);
        assert!(html.contains(&format!("id=\"{anchor}\"")), "no anchor for {}", operation.key);
        assert!(html.contains(&format!("href=\"#{anchor}\"")), "no link to {}", operation.key);
    }
    for code in api.error_codes() {
        assert!(html.contains(&format!("<code>{code}</code>")), "error code {code} undocumented");
    }
    assert!(html.contains("<meta name=\"viewport\""), "readable on a phone");
    for fetch in ["<script src", "@import", "url(http", "<img src=\"http"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    // The only link is the inline (empty) icon that stops browsers asking for /favicon.ico.
    for link in html.match_indices("<link ").map(|(at, _)| &html[at..]) {
        assert!(link.starts_with("<link rel=\"icon\" href=\"data:,\">"), "the page links out: {}", &link[..60]);
    }
}

#[test]
fn docs_render_code_spans_in_constraint_cells_not_backticks() {
    let api = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml"));
    let html = docs::html(&api).expect("docs render");
    assert!(html.contains("format <code>email</code>"), "constraint cells render code spans");
    assert!(!html.contains("format `email`"), "no literal backticks left in the page");
}

#[test]
fn docs_show_paths_parameters_query_and_pushed_events() {
    let api = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apis/gemini.yaml"));
    let html = docs::html(&api).unwrap();
    for expected in ["/v1/marketdata/{symbol}", "symbol", "heartbeat", "marketUpdate", "marketHeartbeat"] {
        assert!(html.contains(expected), "the docs do not mention {expected}");
    }
}

/// The HTML docs say what a secured server asks of a connection.
#[test]
fn the_docs_name_a_servers_security() {
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/documents/secured.yaml");
    let api = specserve_codegen::load(&spec).unwrap();
    let html = specserve_codegen::emit::docs::html(&api).unwrap();
    assert!(html.contains("must present a credential of one of"), "the server's security is documented");
    assert!(html.contains("apiKey") && html.contains("bearer"));
}
