//! specserve: an AsyncAPI-first WebSocket API server.
//!
//! Data flows one way: `asyncapi.yaml` -> `specserve-codegen` (build.rs) ->
//! [`api`] (generated types, traits, dispatcher) -> [`server`] -> [`handlers`]
//! -> [`store`]. What the generated code builds on: [`wire`] (frames and error
//! replies), [`security`] (who is calling, and what they may do) and [`client`]
//! (the connection behind the generated client methods).

#![warn(missing_docs)]

pub mod api;
pub mod client;
pub mod handlers;
pub mod qa;
pub mod security;
pub mod server;
pub mod store;
pub mod wire;

/// The spec this binary was built from, served at `/asyncapi.yaml`.
pub const ASYNCAPI_YAML: &str = include_str!("../asyncapi.yaml");
