//! Spec errors: every problem names the YAML path where it is and, where one is
//! known, the fix, because a designer reads these in a failed `cargo build`.

use std::fmt;

/// A problem in an AsyncAPI document, located by its YAML path
/// (for example `components.schemas.User.properties.email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Dotted path from the document root to the offending node.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
}

impl SpecError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into(), hint: None }
    }

    /// The same error with a suggested fix.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(document root)" } else { &self.path };
        write!(f, "{path}: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  fix: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Results of loading and checking a spec.
pub type Result<T, E = SpecError> = std::result::Result<T, E>;
