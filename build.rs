//! Generates the API from `asyncapi.yaml` into `$OUT_DIR/api.rs` (included by
//! `src/api.rs`) and the HTML docs into `$OUT_DIR/docs.html` (served at `/docs`). All logic lives in `specserve-codegen`; a spec error fails the
//! build with the YAML path and the fix.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=asyncapi.yaml");
    let api = match specserve_codegen::load(Path::new("asyncapi.yaml")) {
        Ok(api) => api,
        Err(error) => fail(&error),
    };
    let source = match specserve_codegen::rust::api_module(&api) {
        Ok(source) => source,
        Err(error) => fail(&error),
    };
    let docs = match specserve_codegen::docs::html(&api) {
        Ok(docs) => docs,
        Err(error) => fail(&error),
    };
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).to_path_buf();
    std::fs::write(out.join("api.rs"), source).expect("write $OUT_DIR/api.rs");
    std::fs::write(out.join("docs.html"), docs).expect("write $OUT_DIR/docs.html");
}

fn fail(error: &specserve_codegen::SpecError) -> ! {
    eprintln!("error: asyncapi.yaml is not a spec specserve can build:\n  {error}");
    std::process::exit(1);
}
