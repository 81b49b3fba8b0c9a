//! specserve-codegen: reads an AsyncAPI 3.0 / 3.1 document and generates what
//! specserve serves and ships from it: the Rust API over `specserve-runtime`
//! (types, validators, handler traits, dispatcher, publisher, client), the
//! TypeScript SDK, HTML docs, standalone JSON Schemas, and scaffolds.
//!
//! Data flows one way: [`spec`] reads the files, [`schema`] and [`model`]
//! resolve them into ids once, [`types`] names every type, and the emitters
//! read only the model.

#![warn(missing_docs)]

pub mod diagnostics;
pub mod diff;
pub mod emit;
pub mod model;
pub mod report;
pub mod schema;
pub mod spec;
pub mod types;

pub use diagnostics::{At, Diagnostics, Severity, SpecError};
pub use model::{Api, Perspective, Unsupported};

use std::path::Path;

/// Reads and checks the document at `path` (and every file it references).
/// Warnings are in [`Api::warnings`]; errors are the `Err`.
pub fn load(path: &Path) -> Result<Api, Diagnostics> {
    Api::load(path)
}

/// [`load`], reading the document from `perspective`: a client's document
/// ([`Perspective::Client`]) generates the server it talks to.
pub fn load_as(path: &Path, perspective: Perspective) -> Result<Api, Diagnostics> {
    Api::load_as(path, perspective)
}

/// Every file `specserve-tools gen` writes for the document at `spec`:
/// [`generated_files`], and beside the docs page the document as
/// `/asyncapi.yaml` serves it (the page links to it).
pub fn generated_files_of(spec: &Path, api: &Api) -> Result<Vec<(String, String)>, Diagnostics> {
    let mut files = generated_files(api)?;
    files.push(("docs/asyncapi.yaml".to_owned(), served_document(spec)?));
    Ok(files)
}

/// The document to serve at `/asyncapi.yaml` for the one at `path`: its text
/// as written when it is one file, else the bundle ([`spec::Documents::bundled`])
/// as YAML, since a client cannot fetch the files its `$ref`s name.
pub fn served_document(path: &Path) -> Result<String, Diagnostics> {
    let docs = spec::Documents::load(path)?;
    if !docs.is_multi_file() {
        return std::fs::read_to_string(path)
            .map_err(|e| SpecError::new("", format!("cannot read {}: {e}", path.display())).into());
    }
    let bundled = docs.bundled()?;
    serde_norway::to_string(&bundled).map_err(|e| SpecError::new("", format!("cannot write the bundle: {e}")).into())
}

/// Every file `specserve-tools gen` writes under `generated/`, as (relative path, contents).
pub fn generated_files(api: &Api) -> Result<Vec<(String, String)>, Diagnostics> {
    let mut files = vec![
        ("api.rs".to_owned(), emit::rust::api_module(api)?),
        ("docs/index.html".to_owned(), emit::docs::html(api)?),
    ];
    files.extend(emit::schemas::files(api));
    for (path, contents) in emit::typescript::files(api)? {
        files.push((format!("sdk/typescript/{path}"), contents));
    }
    for (path, contents) in emit::python::files(api)? {
        files.push((format!("sdk/python/{path}"), contents));
    }
    Ok(files)
}
