//! The API generated from `asyncapi.yaml` by build.rs over `specserve-runtime`:
//! payload types, one handler trait per operation group (`AuthApi`, `UserApi`,
//! `RoomApi`, `MessageApi`, `PresenceApi`, `TokenApi`), `Handlers`, the route
//! table and `Service` the server drives, the `Publisher` and the typed `Client`.
//! A readable copy is committed as `generated/api.rs`.

include!(concat!(env!("OUT_DIR"), "/api.rs"));

/// The spec this binary was built from, served at `/asyncapi.yaml`.
pub const ASYNCAPI_YAML: &str = include_str!("../asyncapi.yaml");

/// The HTML docs rendered from the spec at build time (also `generated/docs/index.html`).
pub const DOCS_HTML: &str = include_str!(concat!(env!("OUT_DIR"), "/docs.html"));

/// The spec and docs, for the server to serve.
pub fn assets() -> specserve_runtime::server::Assets {
    specserve_runtime::server::Assets { spec_yaml: Some(ASYNCAPI_YAML), docs_html: Some(DOCS_HTML) }
}
