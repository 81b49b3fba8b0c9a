//! The API generated from `asyncapi.yaml` by build.rs: payload types, routes,
//! validators, handler traits, [`dispatch`] and the typed client methods.
//! A readable copy is committed as `generated/api.rs`.

include!(concat!(env!("OUT_DIR"), "/api.rs"));
