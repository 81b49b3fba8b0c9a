//! Generates the API from `asyncapi.yaml` into `$OUT_DIR/api.rs` (included by
//! `src/api.rs`). All logic lives in `specserve-codegen`; a spec error fails the
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
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("api.rs");
    std::fs::write(&out, source).expect("write $OUT_DIR/api.rs");
}

fn fail(error: &specserve_codegen::SpecError) -> ! {
    eprintln!("error: asyncapi.yaml is not a spec specserve can build:\n  {error}");
    std::process::exit(1);
}
