//! [`ApiError`]: what a handler or the runtime returns when a request fails.
//!
//! It is rendered into the operation's error reply message (the one its spec
//! marks with `x-specserve-error`), or into the runtime's own error frame when
//! the spec declares none. Its message is a fixed text for the client; its
//! source, if any, is for the server log only.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

type Source = Box<dyn std::error::Error + Send + Sync>;

/// An error code: one of the spec's (its error body's `code` enum), or one the
/// runtime sends itself ([`Code::RUNTIME`]), which every spec that declares an
/// error message must list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// The frame is not JSON, not an object, or does not name a message.
    pub const BAD_REQUEST: Code = Code("bad_request");
    /// The frame breaks its message's schema.
    pub const VALIDATION_FAILED: Code = Code("validation_failed");
    /// The frame's discriminator names no message this path receives.
    pub const UNKNOWN_CHANNEL: Code = Code("unknown_channel");
    /// A secured operation without a valid credential.
    pub const UNAUTHORIZED: Code = Code("unauthorized");
    /// Too many requests.
    pub const RATE_LIMITED: Code = Code("rate_limited");
    /// A server fault; nothing about it is disclosed.
    pub const INTERNAL: Code = Code("internal");
    /// A dependency (the database) is unreachable.
    pub const UNAVAILABLE: Code = Code("unavailable");
    /// A valid credential without a scope the operation needs. Sent only for
    /// specs that declare scopes, which must list it among their codes.
    pub const FORBIDDEN: Code = Code("forbidden");
    /// A handler that a scaffold left to be written.
    pub const NOT_IMPLEMENTED: Code = Code("not_implemented");

    /// The codes the runtime sends by itself; a spec's error code enum must hold them.
    pub const RUNTIME: [Code; 7] = [
        Code::BAD_REQUEST,
        Code::VALIDATION_FAILED,
        Code::UNKNOWN_CHANNEL,
        Code::UNAUTHORIZED,
        Code::RATE_LIMITED,
        Code::INTERNAL,
        Code::UNAVAILABLE,
    ];

    /// A code from a spec (generated `ErrorCode` enums convert through this).
    pub const fn new(code: &'static str) -> Code {
        Code(code)
    }

    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The HTTP status an HTTP operation answers this error with: the usual
    /// one for the codes whose names say it (`not_found` 404, `conflict`
    /// 409, ...); 400 for the other codes a spec names, which are a
    /// client's to fix (`email_not_verified`).
    pub fn http_status(self) -> u16 {
        match self.0 {
            "unauthorized" => 401,
            "forbidden" | "email_not_verified" => 403,
            "not_found" => 404,
            "conflict" => 409,
            "too_large" => 413,
            "rate_limited" => 429,
            "internal" => 500,
            "not_implemented" => 501,
            "unavailable" => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One schema violation: where, which keyword, and what (never the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Detail {
    /// JSON pointer to the offending value in the frame, such as `/payload/email`.
    pub pointer: String,
    /// The JSON Schema keyword that failed.
    pub keyword: String,
    /// What is wrong, without echoing the value.
    pub message: String,
}

/// The error object of the runtime's own error frame, used when a spec declares
/// no error message: `{"error": {"code", "message", "details"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Machine-readable reason.
    pub code: String,
    /// A fixed text for the code.
    pub message: String,
    /// For `validation_failed`, one entry per violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Detail>>,
}

/// A failed request: a code, a fixed message, and for validation failures the
/// pointer-precise details.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: Cow<'static, str>,
    details: Vec<Detail>,
    source: Option<Source>,
}

impl ApiError {
    /// An error with `code` and a client-facing `message` (never a secret).
    pub fn new(code: impl Into<Code>, message: impl Into<Cow<'static, str>>) -> Self {
        Self { code: code.into(), message: message.into(), details: Vec::new(), source: None }
    }

    /// The frame is not a JSON object that names a message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::BAD_REQUEST, message)
    }

    /// The frame breaks its schema; `details` say where.
    pub fn validation_failed(details: Vec<Detail>) -> Self {
        Self { details, ..Self::new(Code::VALIDATION_FAILED, "payload is invalid") }
    }

    /// No message this path receives has the frame's discriminator value.
    pub fn unknown_channel(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::UNKNOWN_CHANNEL, message)
    }

    /// Missing, invalid, expired or revoked credential.
    pub fn unauthorized() -> Self {
        Self::new(Code::UNAUTHORIZED, "missing, invalid or expired token")
    }

    /// Too many requests.
    pub fn rate_limited() -> Self {
        Self::new(Code::RATE_LIMITED, "too many requests; retry later")
    }

    /// A server fault; `source` is logged, never sent.
    pub fn internal(source: impl Into<Source>) -> Self {
        Self { source: Some(source.into()), ..Self::new(Code::INTERNAL, "internal error") }
    }

    /// A dependency is unreachable; `source` is logged, never sent.
    pub fn unavailable(source: impl Into<Source>) -> Self {
        Self { source: Some(source.into()), ..Self::new(Code::UNAVAILABLE, "service unavailable; retry later") }
    }

    /// A handler not written yet (what `specserve-tools new` puts in every body).
    pub fn not_implemented(operation: &'static str) -> Self {
        Self::new(Code::NOT_IMPLEMENTED, format!("operation `{operation}` is not implemented yet"))
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Validation details (empty for other codes).
    pub fn details(&self) -> &[Detail] {
        &self.details
    }

    /// The error object as the runtime's error frame carries it.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.as_str().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error's body is its client-facing part: never its source.
    #[test]
    fn an_errors_body_never_carries_its_source() {
        let detail = Detail { pointer: "/payload/id".into(), keyword: "type".into(), message: "not an integer".into() };
        let errors = [
            ApiError::validation_failed(vec![detail.clone(), detail]),
            ApiError::bad_request("frame is not valid JSON"),
            ApiError::internal("the database said no"),
        ];
        for error in errors {
            let direct = serde_json::to_value(error.body()).unwrap();
            assert!(!direct.to_string().contains("the database said no"), "{direct}");
        }
    }
}
