//! QA tools over a spec: validating payloads, frames and captures of frames
//! (`specserve validate`), checking a spec (`specserve lint`), and
//! contract-testing a live server ([`conformance`]). Both load the
//! spec at run time through the same codegen loader the build uses, so
//! `--spec other.yaml` is checked exactly as the build would check it.

pub mod conformance;

use serde::Serialize;
use serde_json::{Value, json};
use specserve_codegen::{Api, SpecError, bundle};

/// Which message of a route an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Decide from the input: a frame with `payload` is a request, else a reply.
    Auto,
    /// What clients send.
    Request,
    /// What the server answers (the error reply when `success` is false).
    Reply,
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
}

/// The verdict on one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// 1-based line of a JSON-lines capture, or 1 for a single document.
    pub line: usize,
    /// The route, when known.
    pub route: Option<String>,
    /// Request, reply or error.
    pub message: String,
    /// Whether the input matches.
    pub valid: bool,
    /// Why not.
    pub errors: Vec<Violation>,
}

/// Compiled validators for every message of a spec.
pub struct Checker {
    api: Api,
    requests: Vec<jsonschema::Validator>,
    replies: Vec<jsonschema::Validator>,
    error: jsonschema::Validator,
}

impl Checker {
    /// Loads and checks `yaml`, compiling one validator per message.
    pub fn new(yaml: &str) -> Result<Checker, SpecError> {
        let api = Api::from_yaml(yaml)?;
        let compile = |schema: &Value| bundle::validator(schema).map_err(|e| SpecError::new("", e));
        let requests = api.routes.iter().map(|r| compile(&r.request.json_schema)).collect::<Result<_, _>>()?;
        let replies = api.routes.iter().map(|r| compile(&r.reply.json_schema)).collect::<Result<_, _>>()?;
        let error = compile(&api.error.message.json_schema)?;
        Ok(Checker { api, requests, replies, error })
    }

    /// The loaded API.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Checks one JSON text. With `route`, an input without `channel` is taken
    /// as that route's payload (pointers are then relative to the payload).
    pub fn check(&self, line: usize, text: &str, route: Option<&str>, kind: Kind) -> Verdict {
        let verdict = |route: Option<&str>, message: &str, errors: Vec<Violation>| Verdict {
            line,
            route: route.map(str::to_owned),
            message: message.to_owned(),
            valid: errors.is_empty(),
            errors,
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => return verdict(route, "unknown", vec![violation("", "json", format!("not JSON: {e}"))]),
        };
        let channel = value.get("channel").and_then(Value::as_str).map(str::to_owned);
        let is_payload = route.is_some() && channel.is_none() && value.get("payload").is_none();
        let route_name = route.map(str::to_owned).or(channel);
        let Some(index) = route_name.as_deref().and_then(|r| self.api.routes.iter().position(|x| x.channel == r))
        else {
            let known = self.api.routes.iter().map(|r| r.channel.as_str()).collect::<Vec<_>>().join(", ");
            let what = match &route_name {
                Some(name) => format!("no route `{name}` (routes: {known})"),
                None => "no `channel` in the frame; pass --route".to_owned(),
            };
            let is_error = value.get("success") == Some(&Value::Bool(false));
            if is_error && route.is_none() {
                return verdict(None, "error", self.violations(&self.error, &value, ""));
            }
            return verdict(route_name.as_deref(), "unknown", vec![violation("/channel", "enum", what)]);
        };
        let kind = match kind {
            Kind::Auto if is_payload || value.get("payload").is_some() => Kind::Request,
            Kind::Auto => Kind::Reply,
            other => other,
        };
        let (message, validator, frame, prefix) = match kind {
            Kind::Request if is_payload => (
                "request",
                &self.requests[index],
                json!({"channel": self.api.routes[index].channel, "payload": value}),
                "/payload",
            ),
            Kind::Request => ("request", &self.requests[index], value, ""),
            _ if value.get("success") == Some(&Value::Bool(false)) => ("error", &self.error, value, ""),
            _ => ("reply", &self.replies[index], value, ""),
        };
        verdict(route_name.as_deref(), message, self.violations(validator, &frame, prefix))
    }

    fn violations(&self, validator: &jsonschema::Validator, value: &Value, strip: &str) -> Vec<Violation> {
        validator
            .iter_errors(value)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                let pointer = pointer.strip_prefix(strip).map_or(pointer.clone(), str::to_owned);
                violation(&pointer, e.kind().keyword(), e.masked().to_string())
            })
            .collect()
    }
}

fn violation(pointer: &str, keyword: &str, message: String) -> Violation {
    Violation { pointer: pointer.to_owned(), keyword: keyword.to_owned(), message }
}

/// A verdict as one human-readable block.
pub fn render_text(verdict: &Verdict) -> String {
    let route = verdict.route.as_deref().unwrap_or("?");
    let mut out = format!(
        "line {}: {route} {}: {}\n",
        verdict.line,
        verdict.message,
        if verdict.valid { "valid" } else { "INVALID" }
    );
    for error in &verdict.errors {
        let pointer = if error.pointer.is_empty() { "(root)" } else { &error.pointer };
        out.push_str(&format!("  {pointer} [{}] {}\n", error.keyword, error.message));
    }
    out
}

/// `specserve lint`: a one-paragraph summary of a spec that passes.
pub fn lint_summary(api: &Api) -> String {
    let examples: usize = api.routes.iter().map(|r| r.request.examples.len() + r.reply.examples.len()).sum::<usize>()
        + api.error.message.examples.len();
    format!(
        "ok: {} {} — {} routes, {} messages, {} examples valid against their schemas\n",
        api.info.title,
        api.info.version,
        api.routes.len(),
        api.routes.len() * 2 + 1,
        examples
    )
}
