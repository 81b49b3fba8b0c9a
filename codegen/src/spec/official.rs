//! The official AsyncAPI JSON Schema of a document's version, checked as
//! `@asyncapi/parser` checks it (its `asyncapi-document-resolved` rule), so
//! specserve refuses what the official parser refuses. The schemas are
//! vendored in `codegen/asyncapi-schemas/` from `@asyncapi/specs` (see its
//! SOURCE; `.ci/spec-check/vendor-schemas.mjs` refreshes them).

use std::sync::OnceLock;

use serde_json::Value;

/// The rule the official parser reports schema violations under.
pub const RULE: &str = "asyncapi-document-resolved";

/// (version, its schema) for every version specserve reads.
const SCHEMAS: [(&str, &str); 9] = [
    ("2.0.0", include_str!("../../asyncapi-schemas/2.0.0.json")),
    ("2.1.0", include_str!("../../asyncapi-schemas/2.1.0.json")),
    ("2.2.0", include_str!("../../asyncapi-schemas/2.2.0.json")),
    ("2.3.0", include_str!("../../asyncapi-schemas/2.3.0.json")),
    ("2.4.0", include_str!("../../asyncapi-schemas/2.4.0.json")),
    ("2.5.0", include_str!("../../asyncapi-schemas/2.5.0.json")),
    ("2.6.0", include_str!("../../asyncapi-schemas/2.6.0.json")),
    ("3.0.0", include_str!("../../asyncapi-schemas/3.0.0.json")),
    ("3.1.0", include_str!("../../asyncapi-schemas/3.1.0.json")),
];

/// At most this many violations are reported: the first ones locate the problem.
const MAX_REPORTED: usize = 8;

/// One violation of the official schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value in the checked document.
    pub pointer: String,
    /// What the schema says is wrong.
    pub message: String,
}

/// Whether specserve has the official schema of `version`.
pub fn knows(version: &str) -> bool {
    SCHEMAS.iter().any(|(v, _)| *v == version)
}

/// The violations of `document` (its references resolved) against the
/// official schema of `version`, as the parser reports them: a value that
/// fits none of a `oneOf`'s forms is reported by what is wrong in the form
/// it comes closest to (none when the version is unknown: the loader
/// refuses that by itself).
pub fn check(version: &str, document: &Value) -> Vec<Violation> {
    let Some(index) = SCHEMAS.iter().position(|(v, _)| *v == version) else { return Vec::new() };
    let Some(validator) = validator(index) else { return Vec::new() };
    let mut violations = Vec::new();
    for error in validator.iter_errors(document) {
        for violation in most_specific(&error) {
            if !violations.contains(&violation) {
                violations.push(violation);
            }
        }
        if violations.len() >= MAX_REPORTED {
            break;
        }
    }
    violations.truncate(MAX_REPORTED);
    violations
}

/// `error`, or for a value that fits none of several forms, the errors of
/// the form it comes closest to: the fewest problems, then the deepest, a
/// form that only wanted a `$ref` (a reference, resolved here) aside.
fn most_specific(error: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let branches = match error.kind() {
        Kind::OneOfNotValid { context } | Kind::AnyOf { context } => context,
        // One unexpected property is named where it is, as the parser does.
        Kind::AdditionalProperties { unexpected } if unexpected.len() == 1 => {
            let key = unexpected[0].replace('~', "~0").replace('/', "~1");
            let message = format!("`{}` is not a field AsyncAPI defines here", unexpected[0]);
            return vec![Violation { pointer: format!("{}/{key}", error.instance_path()), message }];
        }
        _ => {
            let message = error.masked_with("the value").to_string();
            return vec![Violation { pointer: error.instance_path().to_string(), message }];
        }
    };
    let wants_only_a_ref = |branch: &Vec<jsonschema::ValidationError<'static>>| {
        branch.iter().all(|e| matches!(e.kind(), Kind::Required { property } if property == "$ref"))
    };
    let depth = |branch: &Vec<jsonschema::ValidationError<'static>>| {
        branch.iter().map(|e| e.instance_path().as_str().len()).max().unwrap_or(0)
    };
    let closest = branches
        .iter()
        .filter(|branch| !branch.is_empty() && !wants_only_a_ref(branch))
        .min_by_key(|branch| (branch.len(), std::cmp::Reverse(depth(branch))));
    match closest {
        Some(branch) => branch.iter().flat_map(most_specific).collect(),
        None => vec![Violation {
            pointer: error.instance_path().to_string(),
            message: error.masked_with("the value").to_string(),
        }],
    }
}

/// The compiled validator of `SCHEMAS[index]`, built on first use.
fn validator(index: usize) -> Option<&'static jsonschema::Validator> {
    static VALIDATORS: [OnceLock<Option<jsonschema::Validator>>; 9] = [const { OnceLock::new() }; 9];
    VALIDATORS[index]
        .get_or_init(|| {
            let mut schema: Value = serde_json::from_str(SCHEMAS[index].1).ok()?;
            if SCHEMAS[index].0.starts_with('3') {
                resolved_form(&mut schema);
            }
            jsonschema::draft7::options().should_validate_formats(false).build(&schema).ok()
        })
        .as_ref()
}

/// AsyncAPI 3 says some fields are references only (an operation's
/// `channel`, a channel's `servers`, ...); a resolved document has the
/// objects there, so the parser's resolved check expects the objects, and so
/// does this one.
fn resolved_form(schema: &mut Value) {
    let to = |definition: &str| Value::String(format!("#/definitions/{definition}"));
    let places = [
        ("/definitions/channel/properties/servers/items", "server"),
        ("/definitions/operation/properties/channel", "channel"),
        ("/definitions/operation/properties/messages/items", "messageObject"),
        ("/definitions/operationReply/properties/channel", "channel"),
        ("/definitions/operationReply/properties/messages/items", "messageObject"),
    ];
    for (pointer, definition) in places {
        if let Some(Value::Object(place)) = schema.pointer_mut(pointer) {
            place.insert("$ref".to_owned(), to(definition));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_schema_compiles() {
        for (index, (version, _)) in SCHEMAS.iter().enumerate() {
            assert!(validator(index).is_some(), "{version}");
        }
    }

    #[test]
    fn a_violation_names_where_it_is() {
        let document = serde_json::json!({
            "asyncapi": "3.0.0",
            "info": {"title": "t", "version": "1"},
            "servers": {"dev": {"url": "ws://x", "protocol": "ws"}},
        });
        let violations = check("3.0.0", &document);
        assert!(violations.iter().any(|v| v.pointer == "/servers/dev"), "{violations:?}");
    }
}
