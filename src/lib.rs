//! specserve's user API: the product built on specserve's own machinery.
//!
//! Data flows one way: `asyncapi.yaml` -> `specserve-codegen` (build.rs) ->
//! [`api`] (generated types, traits, service, client) over `specserve-runtime`
//! (frames, the WSS server, the hub) -> [`handlers`] -> [`store`]. Beside them: [`presence`] (who is online, who hears it),
//! [`security`] (passwords, tokens, throttles, audit), [`mail`] (verification
//! codes over SMTP) and [`cluster`] (several nodes on NATS). The toolchain
//! (lint, gen, new, diff, validate, conformance) is the `specserve-tools`
//! crate, apart from the server.

#![warn(missing_docs)]

#[allow(missing_docs)]
pub mod api;
pub mod cluster;
pub mod handlers;
pub mod mail;
pub mod presence;
pub mod security;
pub mod store;

pub use api::ASYNCAPI_YAML;
