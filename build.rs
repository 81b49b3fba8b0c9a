//! Generates the API from `asyncapi.yaml` into `$OUT_DIR/api.rs` (included by
//! `src/api.rs`) and the HTML docs into `$OUT_DIR/docs.html` (served at `/docs`).
//! All logic lives in `specserve-codegen`. This crate's own spec must be clean:
//! its warnings fail the build too, each with the YAML path and the fix.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=asyncapi.yaml");
    // `sqlx::migrate!` embeds the folders' files; a new file must rebuild too.
    println!("cargo:rerun-if-changed=migrations");
    let api = match specserve_codegen::load(Path::new("asyncapi.yaml")) {
        Ok(api) if api.warnings.is_empty() => api,
        Ok(api) => fail(&api.warnings),
        Err(problems) => fail(&problems),
    };
    let source = specserve_codegen::emit::rust::api_module(&api).unwrap_or_else(|e| fail(&e));
    let docs = specserve_codegen::emit::docs::html(&api).unwrap_or_else(|e| fail(&e));
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).to_path_buf();
    std::fs::write(out.join("api.rs"), source).expect("write $OUT_DIR/api.rs");
    std::fs::write(out.join("docs.html"), docs).expect("write $OUT_DIR/docs.html");
}

fn fail(problems: &specserve_codegen::Diagnostics) -> ! {
    eprintln!("error: asyncapi.yaml is not a spec specserve can build:\n{}", problems.located());
    std::process::exit(1);
}
