//! Emitters: each reads the model (and the shared [`crate::types::TypeSpace`])
//! and writes one artefact.

pub mod docs;
pub mod python;
pub mod rust;
pub mod scaffold;
pub mod schemas;
pub mod typescript;
