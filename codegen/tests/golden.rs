//! Golden tests: the Rust and TypeScript emitted for each supported JSON Schema
//! construct (`tests/types/*.yaml`) and for whole APIs (`tests/apis/*.yaml`) is
//! compared with the committed `.rs` and `.d.ts` next to it. `UPDATE_GOLDEN=1 cargo test -p
//! specserve-codegen` rewrites them; review the diff like any code change.

use std::path::{Path, PathBuf};

use specserve_codegen::{Api, rust, schema, spec::Document, typescript};

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
        "object", "string", "integer", "number", "boolean", "array", "enum", "const", "one_of", "any_of", "nullable",
        "ref",
    ] {
        assert!(names.iter().any(|n| n == construct), "no golden fixture for {construct}");
    }
    for file in files {
        let doc = Document::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let schemas = schema::components(&doc).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let source = rust::types_module(&schemas).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        check_golden(&file, "rs", &source);
        let declarations = typescript::types_module(&schemas).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        check_golden(&file, "d.ts", &declarations);
    }
}

#[test]
fn whole_apis_have_golden_output() {
    for file in fixtures("apis") {
        let api = Api::from_yaml(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        check_golden(&file, "rs", &rust::api_module(&api).unwrap());
        let sdk = typescript::files(&api).unwrap();
        let declarations = sdk.iter().find(|(name, _)| name == "index.d.ts").map(|(_, text)| text.as_str());
        check_golden(&file, "d.ts", declarations.unwrap_or_default());
    }
}

#[test]
fn a_route_added_to_the_spec_adds_a_handler_method_and_client_method() {
    let load = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apis").join(name);
        rust::api_module(&Api::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap()).unwrap()
    };
    let before = load("minimal.yaml");
    let after = load("extra_route.yaml");
    assert!(!before.contains("fn put("));
    assert!(
        after.contains(
            "fn put(\n        &self,\n        ctx: &crate::wire::RequestContext,\n        request: ItemPutRequest,"
        ),
        "{after}"
    );
    assert!(after.contains("pub async fn item_put(\n        &self,\n        request: &ItemPutRequest,"));
    assert!(after.contains("Route::ItemPut"));
}

#[test]
fn docs_page_has_an_anchor_per_route_and_fetches_nothing() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml");
    let api = Api::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let html = specserve_codegen::docs::html(&api).unwrap();
    for route in &api.routes {
        let anchor = format!("id=\"{}\"", specserve_codegen::docs::anchor(&route.channel));
        assert!(html.contains(&anchor), "no {anchor}");
        assert!(html.contains(&format!("href=\"#{}\"", specserve_codegen::docs::anchor(&route.channel))));
    }
    for code in &api.error.codes {
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
    assert!(html.contains("<td class=\"name\"><code>payload.email</code></td>"), "payload fields are tabled");
}

#[test]
fn docs_render_code_spans_in_constraint_cells_not_backticks() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../asyncapi.yaml");
    let api = specserve_codegen::load(&spec).expect("the project's spec loads");
    let html = specserve_codegen::docs::html(&api).expect("docs render");
    assert!(html.contains("format <code>email</code>"), "constraint cells render code spans");
    assert!(!html.contains("format `email`"), "no literal backticks left in the page");
}
