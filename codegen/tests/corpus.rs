//! Public AsyncAPI documents (tests/corpus, see its README for sources and
//! licences) load exactly when the official parser accepts them, and every
//! one that loads generates everything: the Rust API, the TypeScript SDK, the
//! docs and the JSON Schemas. (Compiling the Rust is the `specserve-fixtures`
//! crate's job; type-checking the TypeScript is `tests/sdk.rs`'s.)

use std::path::{Path, PathBuf};

use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

/// The entries of tests/corpus/manifest.json.
fn documents() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus().join("manifest.json")).expect("tests/corpus/manifest.json");
    let mut manifest: Value = serde_json::from_str(&text).expect("the manifest is JSON");
    match manifest["documents"].take() {
        Value::Array(documents) => documents,
        _ => panic!("the manifest lists `documents`"),
    }
}

/// (path under tests/corpus, the official parser's verdict) of every document.
fn manifest() -> Vec<(String, String)> {
    documents()
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_owned(), d["official"].as_str().unwrap().to_owned()))
        .collect()
}

/// The official parser's rule for each document it refuses (the code its
/// first error is reported under), by path.
fn official_rules() -> Vec<(String, String)> {
    documents()
        .iter()
        .filter_map(|d| {
            let reason = d.get("official_reason")?.as_str()?;
            Some((d["path"].as_str()?.to_owned(), reason.split(':').next()?.to_owned()))
        })
        .collect()
}

#[test]
fn specserve_agrees_with_the_official_parser_on_every_document() {
    let documents = manifest();
    assert!(documents.len() >= 80, "the corpus is all there");
    let rules = official_rules();
    let mut disagreements = Vec::new();
    for (path, official) in &documents {
        let loaded = specserve_codegen::load(&corpus().join(path));
        let rule = rules.iter().find(|(p, _)| p == path).map(|(_, rule)| rule.as_str());
        let agrees = match (official.as_str(), &loaded) {
            ("valid", Ok(_)) => true,
            // Refused too, and under the same rule, so the designer can look it up.
            ("invalid", Err(errors)) => rule.is_none_or(|rule| errors.to_string().contains(&format!("[{rule}]"))),
            // specserve never fetches: it says so rather than failing somewhere else.
            ("remote-refs", Err(errors)) => errors.to_string().contains("remote reference"),
            _ => false,
        };
        if !agrees {
            let ours = match &loaded {
                Ok(api) => format!("loads ({} warnings)", api.warnings.len()),
                Err(errors) => format!("is refused:\n{errors}"),
            };
            disagreements.push(format!("{path}: official {official}, specserve {ours}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn every_document_that_loads_generates_every_artefact() {
    for (path, official) in manifest().into_iter().filter(|(_, o)| o == "valid") {
        let api = specserve_codegen::load(&corpus().join(&path)).unwrap_or_else(|e| panic!("{path} ({official}): {e}"));
        let files = specserve_codegen::generated_files(&api).unwrap_or_else(|e| panic!("{path}: {e}"));
        for expected in ["api.rs", "docs/index.html", "sdk/typescript/index.d.ts", "sdk/typescript/index.js"] {
            assert!(files.iter().any(|(name, _)| name == expected), "{path}: no {expected}");
        }
    }
}

#[test]
fn every_warning_names_where_it_is() {
    for (path, _) in manifest().into_iter().filter(|(_, o)| o == "valid") {
        let api = specserve_codegen::load(&corpus().join(&path)).unwrap();
        for warning in api.warnings.all() {
            assert!(!warning.path.is_empty(), "{path}: {warning}");
        }
    }
}

/// What each document means once served, on record in
/// tests/corpus/contract.txt: the URLs (the URL rule in README), the
/// credentials each path and operation admits, and what is not served as
/// written, by JSON pointer (the same text `specserve-tools lint` prints).
/// `UPDATE_GOLDEN=1` rewrites it for review.
#[test]
fn every_document_is_served_as_on_record() {
    use specserve_codegen::report;
    let mut record = String::from(
        "# What specserve serves for each valid corpus document, as `specserve-tools lint` prints it:\n\
         # the URLs, the security enforced, what is not served as written.\n\
         # Written by codegen/tests/corpus.rs with UPDATE_GOLDEN=1; review the diff.\n",
    );
    for (path, _) in manifest().into_iter().filter(|(_, o)| o == "valid") {
        let api = specserve_codegen::load(&corpus().join(&path)).unwrap();
        record += &format!("\n{path}\n");
        record += &report::served_urls(&api);
        record += &report::enforced_security(&api);
        record += &report::not_served(&api);
    }
    let file = corpus().join("contract.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, &record).unwrap();
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(expected == record, "{} is out of date; rerun with UPDATE_GOLDEN=1 and review the diff", file.display());
}

/// The spec repository published each example in AsyncAPI 2.6.0 and again
/// in 3.0.0. Read as 3.0 (spec::v2), every 2.6.0 edition is served at the
/// very URLs of its 3.0 edition, with as many operations and messages.
#[test]
fn every_2_6_example_serves_what_its_3_0_edition_serves() {
    let mut pairs = 0;
    for (path, _) in manifest().into_iter().filter(|(p, o)| o == "valid" && p.starts_with("asyncapi-spec-2.6/")) {
        let name = path.trim_start_matches("asyncapi-spec-2.6/");
        let twin = if name.ends_with(".yml") { name.replace(".yml", "-asyncapi.yml") } else { name.to_owned() };
        let (v2, v3) = (specserve_codegen::load(&corpus().join(&path)).unwrap(), {
            let file = corpus().join("asyncapi-spec").join(&twin);
            specserve_codegen::load(&file).unwrap_or_else(|e| panic!("{twin}: {e}"))
        });
        let urls = |api: &specserve_codegen::Api| {
            let mut urls: Vec<String> = api.served_urls().into_iter().map(|u| u.url).collect();
            urls.sort();
            urls
        };
        assert_eq!(urls(&v2), urls(&v3), "{path}");
        assert_eq!(v2.operations.len(), v3.operations.len(), "{path}");
        let actions = |api: &specserve_codegen::Api| {
            let mut actions: Vec<String> = api.operations.iter().map(|o| format!("{:?}", o.action)).collect();
            actions.sort();
            actions
        };
        assert_eq!(actions(&v2), actions(&v3), "{path}: publish is receive, subscribe is send");
        assert_eq!(v2.asyncapi, "2.6.0");
        pairs += 1;
    }
    assert!(pairs >= 19, "every 2.6.0 example has its 3.0 edition: {pairs}");
}

/// Every multi-file document bundles into one that stands alone: no `$ref`
/// names another file, and it loads with the same operations and messages.
#[test]
fn every_multi_file_document_is_served_as_one_that_stands_alone() {
    let mut bundled = 0;
    for (path, _) in manifest().into_iter().filter(|(_, o)| o == "valid") {
        let file = corpus().join(&path);
        let docs = specserve_codegen::spec::Documents::load(&file).unwrap();
        if !docs.is_multi_file() {
            continue;
        }
        bundled += 1;
        let served = specserve_codegen::served_document(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
        let value: Value = serde_norway::from_str(&served).unwrap();
        let mut refs = Vec::new();
        collect_refs(&value, &mut refs);
        assert!(refs.iter().all(|r| r.starts_with('#')), "{path}: references to other files remain: {refs:?}");
        let alone = specserve_codegen::Api::from_yaml(&served).unwrap_or_else(|e| panic!("{path} bundled: {e}"));
        let original = specserve_codegen::load(&file).unwrap();
        let keys = |api: &specserve_codegen::Api| api.operations.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&alone), keys(&original), "{path}");
        assert_eq!(alone.messages.len(), original.messages.len(), "{path}");
    }
    assert!(bundled >= 5, "the corpus has multi-file documents: {bundled}");
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}
