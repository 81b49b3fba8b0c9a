//! Problems found in a document. Every one names where it is (the YAML path,
//! prefixed with the file when it is not the root document) and, where one is
//! known, the fix, because designers read these in a failed `cargo build` or
//! `specserve-tools lint`. Loading collects all of them in one run.

use std::fmt;
use std::path::PathBuf;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The document cannot be served as written.
    Error,
    /// Accepted, but something in it is not honoured (or not checked) by specserve.
    Warning,
}

/// One problem in an AsyncAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Error or warning.
    pub severity: Severity,
    /// Dotted path from the document root (`channels.api.messages.error`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub hint: Option<String>,
    /// The official parser's rule this breaks (`asyncapi3-channel-parameters`),
    /// when it has one: the parser refuses the document too.
    pub rule: Option<&'static str>,
    /// Where it is written, when known: the line and column editors and CI
    /// annotations jump to ([`SpecError::located`]). Boxed: most problems
    /// travel in `Result`s, which stay small.
    pub at: Option<Box<At>>,
}

/// A place in a document's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The file, as the loader was given it (`None` for a document parsed from memory).
    pub file: Option<PathBuf>,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl SpecError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, path: path.into(), message: message.into(), hint: None, rule: None, at: None }
    }

    /// A warning at `path`.
    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::new(path, message) }
    }

    /// The same problem, named by the official parser's rule for it.
    #[must_use]
    pub fn rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    /// The same problem, placed at `at` (when known).
    #[must_use]
    pub fn at(mut self, at: Option<At>) -> Self {
        self.at = at.map(Box::new);
        self
    }

    /// The problem as compilers write theirs, for editors and CI logs that
    /// link `file:line:column:` to the place (`line:column:` for a document
    /// read from memory); as [`Display`](fmt::Display) where its place is unknown.
    pub fn located(&self) -> String {
        match self.at.as_deref() {
            Some(At { file: Some(file), line, column }) => format!("{}:{line}:{column}: {self}", file.display()),
            Some(At { file: None, line, column }) => format!("{line}:{column}: {self}"),
            None => self.to_string(),
        }
    }

    /// The same problem with a suggested fix.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(document root)" } else { &self.path };
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.rule {
            Some(rule) => write!(f, "{severity}[{rule}]: {path}: {}", self.message)?,
            None => write!(f, "{severity}: {path}: {}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  fix: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Every problem of one document, errors first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<SpecError>,
}

impl Diagnostics {
    /// No problems.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn push(&mut self, problem: SpecError) {
        if !self.items.contains(&problem) {
            self.items.push(problem);
        }
    }

    /// Adds the error of `result`, if any, and returns its value.
    pub fn take<T>(&mut self, result: Result<T, SpecError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &SpecError> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &SpecError> {
        self.items.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// All of them, errors first, each kind in the order found.
    pub fn all(&self) -> Vec<&SpecError> {
        let mut all: Vec<&SpecError> = self.items.iter().collect();
        all.sort_by_key(|d| d.severity);
        all
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds the official parser's view of the same document: each of
    /// `official` (errors named by a rule) that is about a place one of these
    /// errors is about (the same, or one inside the other) lends that error
    /// its rule name instead of being said twice; the rest are added.
    pub fn merge_official(&mut self, official: Vec<SpecError>) {
        let related = |a: &str, b: &str| {
            let inside = |inner: &str, outer: &str| {
                outer.is_empty()
                    || inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            };
            a == b || inside(a, b) || inside(b, a)
        };
        for violation in official {
            let ours = self
                .items
                .iter_mut()
                .find(|d| d.severity == Severity::Error && !d.path.is_empty() && related(&d.path, &violation.path));
            match ours {
                Some(ours) => {
                    ours.rule = ours.rule.or(violation.rule);
                }
                None => self.push(violation),
            }
        }
    }

    /// Places the problems that have no place yet by their path in
    /// `by_path` (or their nearest enclosing path's place).
    pub fn place(&mut self, by_path: &std::collections::HashMap<String, At>) {
        for item in self.items.iter_mut().filter(|item| item.at.is_none()) {
            let mut path = item.path.as_str();
            item.at = loop {
                if let Some(at) = by_path.get(path) {
                    break Some(Box::new(at.clone()));
                }
                match path.rfind(['.', '[']) {
                    Some(end) => path = &path[..end],
                    None => break None,
                }
            };
        }
    }

    /// Turns every warning into an error (a project's own spec must be clean).
    pub fn deny_warnings(&mut self) {
        for item in &mut self.items {
            item.severity = Severity::Error;
        }
    }
}

impl From<SpecError> for Diagnostics {
    fn from(error: SpecError) -> Self {
        Diagnostics { items: vec![error] }
    }
}

impl Diagnostics {
    /// Every problem, errors first, each [`SpecError::located`], one per line.
    pub fn located(&self) -> String {
        self.all().iter().map(|problem| problem.located()).collect::<Vec<_>>().join("\n")
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.all().into_iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Results of steps that stop at their first problem.
pub type Result<T, E = SpecError> = std::result::Result<T, E>;
