//! specserve's toolchain: what API designers and QA run against an AsyncAPI
//! document (and a live server), apart from the server. The server binary
//! (the top-level `specserve` crate) links none of it, nor the code generator.
//!
//! - [`qa`]: validating payloads and captures, `lint`'s summary, and
//!   contract-testing a live server ([`qa::conformance`]).
//!
//! The `specserve-tools` binary adds the command line: `lint`, `gen`, `new`,
//! `diff`, `validate`, `conformance`.

#![warn(missing_docs)]

pub mod qa;

/// What a command reports when it ran: success, or a verdict of "no" that is
/// not an error (invalid input, breaking changes, failed conformance).
pub enum Outcome {
    /// Exit 0.
    Passed,
    /// Exit 1, after the command printed why.
    Failed,
}
