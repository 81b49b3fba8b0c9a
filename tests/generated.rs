//! `generated/` is what `specserve-tools gen` writes from the current spec: a stale
//! copy fails here with the command that refreshes it.

use std::path::Path;

#[test]
fn generated_folder_matches_the_spec() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let api = specserve_codegen::load(&root.join("asyncapi.yaml")).expect("spec loads");
    let expected = specserve_codegen::generated_files_of(&root.join("asyncapi.yaml"), &api).expect("spec generates");
    let mut stale = Vec::new();
    for (relative, contents) in &expected {
        let actual = std::fs::read_to_string(root.join("generated").join(relative)).unwrap_or_default();
        if actual != *contents {
            stale.push(relative.clone());
        }
    }
    let mut on_disk = Vec::new();
    collect(&root.join("generated"), &root.join("generated"), &mut on_disk);
    let extra: Vec<_> = on_disk.iter().filter(|p| !expected.iter().any(|(e, _)| e == *p)).collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "generated/ is stale (changed: {stale:?}, no longer generated: {extra:?}).\nRefresh it with: cargo run -p specserve-tools -- gen"
    );
}

#[test]
fn generated_api_rs_is_the_build_output() {
    let built = include_str!(concat!(env!("OUT_DIR"), "/api.rs"));
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/api.rs")).unwrap_or_default();
    assert!(
        built == committed,
        "generated/api.rs differs from the build output.\nRefresh it with: cargo run -p specserve-tools -- gen"
    );
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out);
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}
