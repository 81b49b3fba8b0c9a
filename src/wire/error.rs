//! [`ApiError`]: what a handler or the dispatcher returns when a request fails.
//! It becomes the spec's shared error reply; its message is a fixed text and its
//! source, if any, is for the server log only.

use std::borrow::Cow;
use std::fmt;

use crate::api::{ErrorBody, ErrorCode, ErrorDetail};

type Source = Box<dyn std::error::Error + Send + Sync>;

/// A failed request: a code from the spec's closed set, a fixed message, and
/// for validation failures the pointer-precise details.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: Cow<'static, str>,
    details: Vec<ErrorDetail>,
    source: Option<Source>,
}

impl ApiError {
    /// An error with `code` and a client-facing `message` (never a secret).
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { code, message: message.into(), details: Vec::new(), source: None }
    }

    /// The frame is not a JSON object with a channel.
    pub fn bad_request(message: &'static str) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// The frame breaks its schema; `details` say where.
    pub fn validation_failed(details: Vec<ErrorDetail>) -> Self {
        Self { details, ..Self::new(ErrorCode::ValidationFailed, "payload is invalid") }
    }

    /// No route has the frame's channel.
    pub fn unknown_channel() -> Self {
        Self::new(ErrorCode::UnknownChannel, "no route has this channel")
    }

    /// Missing, invalid, expired or revoked token.
    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "missing, invalid or expired token")
    }

    /// The caller may not do this.
    pub fn forbidden(message: &'static str) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// The target does not exist.
    pub fn not_found(message: &'static str) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The request conflicts with stored state.
    pub fn conflict(message: &'static str) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// Too many requests.
    pub fn rate_limited() -> Self {
        Self::new(ErrorCode::RateLimited, "too many requests; retry later")
    }

    /// A server fault; `source` is logged, never sent.
    pub fn internal(source: impl Into<Source>) -> Self {
        Self { source: Some(source.into()), ..Self::new(ErrorCode::Internal, "internal error") }
    }

    /// The database is unreachable; `source` is logged, never sent.
    pub fn unavailable(source: impl Into<Source>) -> Self {
        Self { source: Some(source.into()), ..Self::new(ErrorCode::Unavailable, "service unavailable; retry later") }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Validation details (empty for other codes).
    pub fn details(&self) -> &[ErrorDetail] {
        &self.details
    }

    /// The reply's `error` object.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.to_string(),
            details: (!self.details.is_empty()).then(|| self.details.clone()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}
