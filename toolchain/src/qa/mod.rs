//! QA tools over any spec: validating payloads, frames and captures of frames
//! (`specserve-tools validate`), checking a spec (`specserve-tools lint`), and
//! contract-testing a live server ([`conformance`]). They load the spec at run
//! time through the same codegen loader the build uses, so `--spec other.yaml`
//! is checked exactly as the build would check it.
//!
//! An input is matched to the spec's messages the way the server matches
//! frames: by the path's discriminator property when it has one (`channel` in
//! specserve's own API), otherwise by validating against every candidate.

pub mod conformance;
pub mod mock;

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};
use specserve_codegen::model::{Action, MessageId, OperationId};
use specserve_codegen::schema::bundle;
use specserve_codegen::spec::locate::Positions;
use specserve_codegen::{Api, Diagnostics, report};

/// Which way an input travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Decide from the input: whichever message it matches.
    #[default]
    Auto,
    /// What clients send (the messages of `receive` operations).
    Request,
    /// What the server sends: replies and pushed events (`send` operations).
    Reply,
}

/// What an input may be; empty means anything the spec declares.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Only messages of this operation (its key under `operations`).
    pub operation: Option<String>,
    /// Only this message (its key under `components/messages`).
    pub message: Option<String>,
    /// Only messages whose discriminator property (`channel`, `event` ...) has
    /// this value. An input without that property is then taken as the
    /// message's application part, as a handler sees it (the request's,
    /// unless `kind` is `Reply`).
    pub route: Option<String>,
    /// Only this direction.
    pub kind: Kind,
}

/// One schema violation, pointer-precise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// JSON pointer into the input.
    pub pointer: String,
    /// The failing JSON Schema keyword.
    pub keyword: String,
    /// What is wrong (the value itself masked).
    pub message: String,
    /// Where the value is in the input file: line and column, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// See `line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// The verdict on one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// 1-based line of a JSON-lines capture, or 1 for a single document.
    pub line: usize,
    /// The operation the input belongs to, when known.
    pub operation: Option<String>,
    /// `request`, `reply` or `event`; `unknown` when no message is near.
    pub direction: String,
    /// The message key it was checked against (the closest one when invalid).
    pub message: Option<String>,
    /// Whether the input matches.
    pub valid: bool,
    /// Why not.
    pub errors: Vec<Violation>,
}

/// A message as one direction of one operation.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    operation: OperationId,
    message: MessageId,
    direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Reply,
    Event,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Reply => "reply",
            Direction::Event => "event",
        }
    }
}

/// Compiled validators for every message of a spec.
pub struct Checker {
    api: Api,
    /// Per message: its payload and headers validators.
    validators: Vec<(Option<jsonschema::Validator>, Option<jsonschema::Validator>)>,
    /// Every (operation, message, direction) in spec order.
    candidates: Vec<Candidate>,
    /// The discriminator properties of the spec's paths.
    discriminators: Vec<String>,
}

/// Why a spec cannot be checked against.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The spec has errors.
    #[error("the spec does not load:\n{0}")]
    Spec(Diagnostics),
    /// A message schema does not compile.
    #[error("the schema of message `{message}` does not compile: {reason}")]
    Schema {
        /// The message key.
        message: String,
        /// The compiler's words.
        reason: String,
    },
}

impl Checker {
    /// Loads the spec at `path` (and every file it references), read from
    /// `perspective` as the server was built.
    pub fn load(path: &Path, perspective: specserve_codegen::Perspective) -> Result<Checker, LoadError> {
        if let Err(source) = std::fs::metadata(path) {
            return Err(LoadError::Read { path: path.display().to_string(), source });
        }
        Checker::new(Api::load_as(path, perspective).map_err(LoadError::Spec)?)
    }

    /// Loads a single-file spec from text (the one a binary was built from).
    pub fn from_yaml(yaml: &str) -> Result<Checker, LoadError> {
        Checker::new(Api::from_yaml(yaml).map_err(LoadError::Spec)?)
    }

    /// Compiles one validator per message part.
    pub fn new(api: Api) -> Result<Checker, LoadError> {
        let compile = |message: &specserve_codegen::model::Message, schema: &Option<Value>| {
            schema
                .as_ref()
                .map(|schema| {
                    bundle::validator(schema)
                        .map_err(|reason| LoadError::Schema { message: message.key.clone(), reason })
                })
                .transpose()
        };
        let validators = api
            .messages
            .iter()
            .map(|m| Ok((compile(m, &m.payload_json)?, compile(m, &m.headers_json)?)))
            .collect::<Result<_, LoadError>>()?;
        let mut candidates = Vec::new();
        for (operation, op) in api.operations.iter().enumerate() {
            let direction = if op.action == Action::Receive { Direction::Request } else { Direction::Event };
            candidates.extend(op.messages.iter().map(|&message| Candidate { operation, message, direction }));
            for &message in op.reply.iter().flat_map(|r| &r.messages) {
                candidates.push(Candidate { operation, message, direction: Direction::Reply });
            }
        }
        let mut discriminators: Vec<String> = Vec::new();
        for endpoint in api.endpoints() {
            if let Some(property) = endpoint.discriminator.filter(|p| !discriminators.contains(p)) {
                discriminators.push(property);
            }
        }
        Ok(Checker { api, validators, candidates, discriminators })
    }

    /// The loaded API.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Checks one JSON text against the messages `selector` allows.
    pub fn check(&self, line: usize, text: &str, selector: &Selector) -> Verdict {
        let unknown = |errors: Vec<Violation>| Verdict {
            line,
            operation: selector.operation.clone(),
            direction: "unknown".into(),
            message: selector.message.clone(),
            valid: false,
            errors,
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => return unknown(vec![violation("", "json", format!("not JSON: {e}"))]),
        };
        let found = self.discriminators.iter().find_map(|p| match value.get(p) {
            Some(Value::String(v)) => Some((p.as_str(), v.as_str())),
            _ => None,
        });
        let route = selector.route.as_deref().or(found.map(|(_, v)| v));
        // An input without the discriminator, under a selected route: the
        // application part, of the request unless `--kind reply` says otherwise.
        let bare = found.is_none() && selector.route.is_some() && value.is_object();
        let mut candidates: Vec<Candidate> = self.candidates_for(selector, route);
        if bare && selector.kind == Kind::Auto {
            candidates.retain(|c| c.direction == Direction::Request);
        }
        if candidates.is_empty() {
            return unknown(vec![self.nothing_matches(selector, found)]);
        }
        let mut best: Option<(Candidate, Vec<Violation>)> = None;
        for candidate in candidates {
            let errors = match bare.then(|| self.wrap(candidate, route, &value)).flatten() {
                Some((frame, under)) => self.violations(candidate.message, &frame, &under),
                None => self.violations(candidate.message, &value, ""),
            };
            if best.as_ref().is_none_or(|(_, fewest)| errors.len() < fewest.len()) {
                let done = errors.is_empty();
                best = Some((candidate, errors));
                if done {
                    break;
                }
            }
        }
        let Some((candidate, errors)) = best else { return unknown(Vec::new()) };
        let errors = placed(errors, text, line);
        Verdict {
            line,
            operation: Some(self.api.operations[candidate.operation].key.clone()),
            direction: candidate.direction.as_str().into(),
            message: Some(self.api.messages[candidate.message].key.clone()),
            valid: errors.is_empty(),
            errors,
        }
    }

    /// The candidates `selector` and the input's discriminator value allow,
    /// each message once per direction.
    fn candidates_for(&self, selector: &Selector, route: Option<&str>) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        for candidate in &self.candidates {
            let op = &self.api.operations[candidate.operation];
            let message = &self.api.messages[candidate.message];
            let wanted = selector.operation.as_ref().is_none_or(|k| *k == op.key)
                && selector.message.as_ref().is_none_or(|k| *k == message.key)
                && match selector.kind {
                    Kind::Auto => true,
                    Kind::Request => candidate.direction == Direction::Request,
                    Kind::Reply => candidate.direction != Direction::Request,
                }
                && route.is_none_or(|value| self.routes_to(*candidate, value));
            let seen = out.iter().any(|c| c.message == candidate.message && c.direction == candidate.direction);
            if wanted && !seen {
                out.push(*candidate);
            }
        }
        out
    }

    /// Whether `candidate` carries the discriminator value `value`: its own
    /// `const`, or (a reply that echoes it) its request's.
    fn routes_to(&self, candidate: Candidate, value: &str) -> bool {
        let fixed = |message: MessageId| {
            self.discriminators.iter().find_map(|p| {
                self.api.payload_property(message, p).map(|prop| self.api.schemas.fixed_string(prop.schema))
            })
        };
        match fixed(candidate.message) {
            Some(Some(own)) => own == value,
            // Declared without a const: the runtime echoes the request's value.
            Some(None) if candidate.direction == Direction::Reply => {
                let op = &self.api.operations[candidate.operation];
                op.messages.iter().any(|m| fixed(*m).flatten().as_deref() == Some(value))
            }
            _ => false,
        }
    }

    /// The frame a bare application part stands for, and the pointer of the
    /// part in it: `{<discriminator>: route, <field>: value}` when the message
    /// wraps one object field (as `payload` in specserve's API), else the
    /// part with the discriminator added.
    fn wrap(&self, candidate: Candidate, route: Option<&str>, value: &Value) -> Option<(Value, String)> {
        let property = self.discriminators.first()?;
        let mut frame = Map::new();
        frame.insert(property.clone(), Value::String(route?.to_owned()));
        let credential = self.api.credential_property(candidate.operation);
        let layout = self.api.layout(candidate.message, Some(property), credential);
        if let Some(field) = layout.wrapper(&self.api) {
            frame.insert(field.name.clone(), value.clone());
            return Some((Value::Object(frame), format!("/{}", field.name)));
        }
        frame.extend(value.as_object()?.clone());
        Some((Value::Object(frame), String::new()))
    }

    /// Why no message is a candidate.
    fn nothing_matches(&self, selector: &Selector, found: Option<(&str, &str)>) -> Violation {
        if let Some(key) = &selector.operation
            && !self.api.operations.iter().any(|op| op.key == *key)
        {
            let known: Vec<&str> = self.api.operations.iter().map(|op| op.key.as_str()).collect();
            return violation("", "operation", format!("no operation `{key}` (operations: {})", known.join(", ")));
        }
        if let Some(key) = &selector.message
            && !self.api.messages.iter().any(|m| m.key == *key)
        {
            let known: Vec<&str> = self.api.messages.iter().map(|m| m.key.as_str()).collect();
            return violation("", "message", format!("no message `{key}` (messages: {})", known.join(", ")));
        }
        let property = found.map(|(p, _)| p).or(self.discriminators.first().map(String::as_str)).unwrap_or("");
        let value = selector.route.as_deref().or(found.map(|(_, v)| v)).unwrap_or("");
        let mut known: Vec<String> = Vec::new();
        for candidate in &self.candidates {
            let fixed = self
                .api
                .payload_property(candidate.message, property)
                .and_then(|p| self.api.schemas.fixed_string(p.schema));
            if let Some(fixed) = fixed.filter(|f| !known.contains(f)) {
                known.push(fixed);
            }
        }
        violation(
            &format!("/{property}"),
            "const",
            format!("no message has `{property}` `{value}` (known: {})", known.join(", ")),
        )
    }

    /// Every violation of `value` against `message`; pointers relative to `under`.
    /// How `value` (a whole frame) breaks `message`'s schemas; empty when it does not.
    pub(crate) fn payload_errors(&self, message: MessageId, value: &Value) -> Vec<Violation> {
        self.violations(message, value, "")
    }

    fn violations(&self, message: MessageId, value: &Value, under: &str) -> Vec<Violation> {
        let (payload, headers) = &self.validators[message];
        let enveloped = headers.is_some() && value.get("payload").is_some();
        let mut out = Vec::new();
        match (enveloped, payload) {
            (true, Some(payload)) => {
                out.extend(collect(payload, value.get("payload").unwrap_or(&Value::Null), "/payload", ""));
                if let Some(headers) = headers {
                    out.extend(collect(headers, value.get("headers").unwrap_or(&Value::Null), "/headers", ""));
                }
            }
            (false, Some(payload)) => out.extend(collect(payload, value, "", under)),
            (_, None) => {}
        }
        out
    }
}

/// A validator's errors on `value`, each pointer prefixed by `prefix` and
/// relative to `strip`.
fn collect(validator: &jsonschema::Validator, value: &Value, prefix: &str, strip: &str) -> Vec<Violation> {
    validator
        .iter_errors(value)
        .map(|e| {
            let pointer = format!("{prefix}{}", e.instance_path());
            let pointer = pointer.strip_prefix(strip).map_or(pointer.clone(), str::to_owned);
            violation(&pointer, e.kind().keyword(), e.masked().to_string())
        })
        .collect()
}

fn violation(pointer: &str, keyword: &str, message: String) -> Violation {
    Violation { pointer: pointer.to_owned(), keyword: keyword.to_owned(), message, line: None, column: None }
}

/// `errors` placed at their line and column in `text`, an input whose
/// first line is line `first_line` of its file.
fn placed(mut errors: Vec<Violation>, text: &str, first_line: usize) -> Vec<Violation> {
    if errors.is_empty() {
        return errors;
    }
    let positions = Positions::of(text);
    for error in &mut errors {
        if let Some(at) = positions.find(&error.pointer) {
            (error.line, error.column) = (Some(first_line + at.line - 1), Some(at.column));
        }
    }
    errors
}

/// A verdict as one human-readable block.
pub fn render_text(verdict: &Verdict) -> String {
    let operation = verdict.operation.as_deref().unwrap_or("?");
    let message = verdict.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    let mut out = format!(
        "line {}: {operation} {}{message}: {}\n",
        verdict.line,
        verdict.direction,
        if verdict.valid { "valid" } else { "INVALID" }
    );
    for error in &verdict.errors {
        let pointer = if error.pointer.is_empty() { "(root)" } else { &error.pointer };
        let at = match (error.line, error.column) {
            (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
            _ => String::new(),
        };
        out.push_str(&format!("  {pointer} [{}] {}{at}\n", error.keyword, error.message));
    }
    out
}

/// `specserve-tools lint --format json`: whether the document loads, every
/// problem (severity, dotted path, message, fix, the official parser's rule),
/// and for one that loads its URLs and what is not served as written.
pub fn lint_json(loaded: &Result<Api, Diagnostics>) -> Value {
    let problems = |diagnostics: &Diagnostics| -> Vec<Value> {
        diagnostics
            .all()
            .into_iter()
            .map(|p| {
                serde_json::json!({
                    "severity": severity(p.severity),
                    "path": p.path,
                    "file": p.at.as_ref().and_then(|at| at.file.as_ref()).map(|f| f.display().to_string()),
                    "line": p.at.as_ref().map(|at| at.line),
                    "column": p.at.as_ref().map(|at| at.column),
                    "message": p.message,
                    "fix": p.hint,
                    "rule": p.rule,
                })
            })
            .collect()
    };
    match loaded {
        Err(errors) => serde_json::json!({"loads": false, "problems": problems(errors)}),
        Ok(api) => serde_json::json!({
            "loads": true,
            "asyncapi": api.asyncapi,
            "title": api.info.title,
            "version": api.info.version,
            "problems": problems(&api.warnings),
            "urls": api.served_urls().into_iter().map(|u| serde_json::json!({
                "url": u.url, "server": u.server, "channel": u.channel,
            })).collect::<Vec<_>>(),
            "not_served": api.unsupported.iter().map(|u| serde_json::json!({
                "pointer": u.pointer, "construct": u.construct, "consequence": u.consequence,
            })).collect::<Vec<_>>(),
        }),
    }
}

fn severity(severity: specserve_codegen::Severity) -> &'static str {
    match severity {
        specserve_codegen::Severity::Error => "error",
        specserve_codegen::Severity::Warning => "warning",
    }
}

/// The rule of a problem the official parser has no rule for.
const SPECSERVE_RULE: &str = "specserve";
/// The rule of a construct specserve does not serve as written.
const NOT_SERVED_RULE: &str = "specserve-not-served";

/// `specserve-tools lint --format sarif`: the problems of the document at
/// `spec` (and, for one that loads, the constructs it does not serve as
/// written, as notes) as a SARIF 2.1.0 log, each at its file, line and
/// column, for code-scanning UIs. A problem's rule is the official parser's
/// where it has one (`asyncapi3-channel-parameters`), else `specserve`.
pub fn lint_sarif(spec: &Path, loaded: &Result<Api, Diagnostics>) -> Value {
    let uri = |file: &Path| file.to_string_lossy().replace('\\', "/");
    let location = |file: &Path, region: Option<(usize, usize)>, path: &str| {
        let mut physical = serde_json::json!({"artifactLocation": {"uri": uri(file)}});
        if let Some((line, column)) = region {
            physical["region"] = serde_json::json!({"startLine": line, "startColumn": column});
        }
        serde_json::json!({"physicalLocation": physical, "logicalLocations": [{"fullyQualifiedName": path}]})
    };
    let mut results = Vec::new();
    let problems = match loaded {
        Ok(api) => api.warnings.all(),
        Err(errors) => errors.all(),
    };
    for problem in problems {
        let file = problem.at.as_ref().and_then(|at| at.file.as_deref()).unwrap_or(spec);
        let region = problem.at.as_ref().map(|at| (at.line, at.column));
        let text = match &problem.hint {
            Some(hint) => format!("{}: {} (fix: {hint})", problem.path, problem.message),
            None => format!("{}: {}", problem.path, problem.message),
        };
        results.push(serde_json::json!({
            "ruleId": problem.rule.unwrap_or(SPECSERVE_RULE),
            "level": severity(problem.severity),
            "message": {"text": text},
            "locations": [location(file, region, &problem.path)],
        }));
    }
    if let Ok(api) = loaded {
        let positions = std::fs::read_to_string(spec).map(|text| specserve_codegen::spec::locate::Positions::of(&text));
        for construct in &api.unsupported {
            let region = match (&positions, construct.pointer.starts_with('/') || construct.pointer.is_empty()) {
                (Ok(positions), true) => positions.find(&construct.pointer).map(|p| (p.line, p.column)),
                _ => None,
            };
            results.push(serde_json::json!({
                "ruleId": NOT_SERVED_RULE,
                "level": "note",
                "message": {"text": format!("{} is not served as written: {}", construct.construct, construct.consequence)},
                "locations": [location(spec, region, &construct.pointer)],
            }));
        }
    }
    let mut rules: Vec<&str> = results.iter().filter_map(|r| r["ruleId"].as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let rules: Vec<Value> = rules
        .into_iter()
        .map(|id| {
            let description = match id {
                SPECSERVE_RULE => "A problem specserve finds in an AsyncAPI document".to_owned(),
                NOT_SERVED_RULE => "A construct of the document specserve does not serve as written".to_owned(),
                official => format!("The official AsyncAPI parser's rule `{official}`"),
            };
            serde_json::json!({"id": id, "shortDescription": {"text": description}})
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "specserve-tools",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://www.asyncapi.com/docs/reference",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// `specserve-tools lint`: a one-paragraph summary of a spec that loads.
pub fn lint_summary(api: &Api) -> String {
    let examples: usize = api.messages.iter().map(|m| m.examples.len()).sum();
    let paths = api.endpoints().len();
    let http = match api.http_routes().len() {
        0 => String::new(),
        1 => " and 1 HTTP route".to_owned(),
        n => format!(" and {n} HTTP routes"),
    };
    format!(
        "ok: {} {} (AsyncAPI {}{}): {} operation{} on {paths} WebSocket path{}{http}, {} message{}, {examples} examples checked, {} warning{}\n",
        api.info.title,
        api.info.version,
        api.asyncapi,
        if api.asyncapi.starts_with("2.") { ", read as 3.0" } else { "" },
        api.operations.len(),
        if api.operations.len() == 1 { "" } else { "s" },
        if paths == 1 { "" } else { "s" },
        api.messages.len(),
        if api.messages.len() == 1 { "" } else { "s" },
        api.warnings.len(),
        if api.warnings.len() == 1 { "" } else { "s" },
    ) + &report::served_urls(api)
        + &report::enforced_security(api)
        + &report::not_served(api)
}
