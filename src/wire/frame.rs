//! An incoming frame, parsed once into a JSON value: validated against the
//! route's schema (so errors carry JSON pointers), then its payload is moved into
//! the route's typed request.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiError, RequestContext};
use crate::api::{ErrorDetail, REQUEST_ID_MAX_LENGTH};
use crate::security::{Authenticate, Identity};

/// At most this many validation details are returned for one frame.
pub const MAX_DETAILS: usize = 32;

/// A parsed frame: a JSON object.
#[derive(Debug)]
pub struct Frame {
    value: Value,
    request_id: Option<String>,
}

impl Frame {
    /// Parses text into a JSON object; anything else is `bad_request`.
    pub fn parse(text: &str) -> Result<Frame, ApiError> {
        let value: Value = serde_json::from_str(text).map_err(|_| ApiError::bad_request("frame is not valid JSON"))?;
        Frame::from_value(value)
    }

    /// A frame from a JSON value built in process (the CLI builds requests so).
    pub fn from_value(value: Value) -> Result<Frame, ApiError> {
        if !value.is_object() {
            return Err(ApiError::bad_request("frame is not a JSON object"));
        }
        let request_id = value
            .get("requestId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.chars().count() <= REQUEST_ID_MAX_LENGTH)
            .map(str::to_owned);
        Ok(Frame { value, request_id })
    }

    /// The `channel`, if it is a string.
    pub fn channel(&self) -> Option<&str> {
        self.value.get("channel").and_then(Value::as_str)
    }

    /// The `requestId` to echo: present, a string, and within the spec's length.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Why [`Frame::channel`] named no route: absent or not a string is
    /// `bad_request`, a string no route has is `unknown_channel`.
    pub fn channel_error(&self) -> ApiError {
        match self.value.get("channel") {
            Some(Value::String(_)) => ApiError::unknown_channel(),
            _ => ApiError::bad_request("frame has no channel"),
        }
    }

    /// Checks the whole frame against its route's schema.
    pub fn validate(&self, validator: &jsonschema::Validator) -> Result<(), ApiError> {
        // The common case first: a yes/no check stops at nothing and builds no errors.
        if validator.is_valid(&self.value) {
            return Ok(());
        }
        let details: Vec<ErrorDetail> = validator
            .iter_errors(&self.value)
            .take(MAX_DETAILS)
            .map(|error| ErrorDetail {
                pointer: error.instance_path().to_string(),
                keyword: error.kind().keyword().to_owned(),
                // Masked: the offending value (maybe a password) is never echoed.
                message: error.masked().to_string(),
            })
            .collect();
        if details.is_empty() { Ok(()) } else { Err(ApiError::validation_failed(details)) }
    }

    /// Moves the payload into the route's request type. After [`Frame::validate`]
    /// this only fails if the generated type and the schema disagree.
    pub fn payload<T: DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        let payload = self.value.get_mut("payload").map(Value::take).unwrap_or(Value::Null);
        // serde's message may quote the value, so the client gets a fixed text.
        serde_json::from_value(payload).map_err(|_| {
            ApiError::validation_failed(vec![ErrorDetail {
                pointer: "/payload".into(),
                keyword: "type".into(),
                message: "payload does not match the route's request type".into(),
            }])
        })
    }

    /// Checks the frame's `apiToken`, else the connection's bearer token.
    pub async fn authenticate<A: Authenticate>(&self, auth: &A, ctx: &RequestContext) -> Result<Identity, ApiError> {
        let token = self.value.get("apiToken").and_then(Value::as_str).or(ctx.bearer_token());
        match token {
            Some(token) => auth.authenticate(token, ctx).await,
            None => Err(ApiError::unauthorized()),
        }
    }
}
