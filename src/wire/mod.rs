//! The wire protocol the generated code speaks: parsing a frame, validating it,
//! and encoding success and error replies. Frames look like
//! `{"channel":"user/read","requestId":"c-1","apiToken":"..","payload":{..}}`.

mod context;
mod encode;
mod error;
mod frame;

pub use context::RequestContext;
pub use encode::{encode_error, encode_success};
pub use error::ApiError;
pub use frame::Frame;

use crate::api::{ErrorCode, Route};

/// The outcome of one frame: the reply text and what the server needs to count it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    /// The route, when the frame named a known one.
    pub route: Option<Route>,
    /// The error code, when the reply is an error.
    pub error: Option<ErrorCode>,
    /// The reply frame.
    pub text: String,
}

impl Dispatched {
    /// A success reply.
    pub fn success(route: Route, text: String) -> Self {
        Self { route: Some(route), error: None, text }
    }

    /// An error reply for `error`.
    pub fn failure(route: Option<Route>, request_id: Option<&str>, error: ApiError) -> Self {
        let text = encode_error(route.map(Route::channel), request_id, &error);
        Self { route, error: Some(error.code()), text }
    }
}

/// Compiles a bundled schema the generated code embeds: draft-07, formats on.
///
/// # Panics
/// If the schema does not compile. The same schema was compiled when the spec
/// was built, so this is a codegen bug, caught at start-up by
/// [`crate::api::compile_validators`].
pub fn compile_schema(schema: &str) -> jsonschema::Validator {
    let value: serde_json::Value = serde_json::from_str(schema).expect("embedded schema is JSON");
    jsonschema::draft7::options().should_validate_formats(true).build(&value).expect("embedded schema compiles")
}
