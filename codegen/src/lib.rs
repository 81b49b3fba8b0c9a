//! specserve-codegen: turns an AsyncAPI 3.0 document into specserve's Rust API
//! (types, validators, handler traits, dispatcher, client methods) and the other
//! artefacts built from the same model (HTML docs, standalone JSON Schemas, the
//! TypeScript SDK).
//!
//! Data flows one way: [`spec`] reads the YAML, [`model`] normalizes and checks
//! it, the emitters ([`rust`], [`docs`], [`schemas`], [`typescript`]) read only the model.

#![warn(missing_docs)]

pub mod bundle;
pub mod diff;
pub mod docs;
pub mod error;
pub mod model;
pub mod rust;
pub mod schema;
pub mod schemas;
pub mod spec;
pub mod types;
pub mod typescript;

use std::path::Path;

pub use error::SpecError;
pub use model::Api;

/// Reads and checks the spec at `path`.
pub fn load(path: &Path) -> Result<Api, SpecError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SpecError::new("", format!("cannot read {}: {e}", path.display())))?;
    Api::from_yaml(&text)
}

/// Every file `specserve gen` writes under `generated/`, as (relative path, contents).
pub fn generated_files(api: &Api) -> Result<Vec<(String, String)>, SpecError> {
    let mut files =
        vec![("api.rs".to_owned(), rust::api_module(api)?), ("docs/index.html".to_owned(), docs::html(api)?)];
    files.extend(schemas::files(api));
    files.extend(typescript::files(api)?.into_iter().map(|(name, text)| (format!("sdk/typescript/{name}"), text)));
    Ok(files)
}
