//! The Python SDK (`generated/sdk/python`): a package for asyncio and
//! `websockets`, its types dataclasses from the same [`TypeSpace`] as the
//! Rust and TypeScript ones (so a type has one name in every language), its
//! client driven by the tables the TypeScript SDK reads (wire layouts,
//! events, correlation ids, sessions and resumes), so both clients behave alike.

use askama::Template;
use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use super::typescript::Sdk;
use crate::diagnostics::{Diagnostics, SpecError};
use crate::model::Api;
use crate::types::{Field, Ty, TypeBody, TypeDef, TypeSpace};

/// The package's files, as (path under `generated/sdk/python`, contents).
pub fn files(api: &Api) -> Result<Vec<(String, String)>, Diagnostics> {
    let space = TypeSpace::new(api)?;
    let sdk = Sdk::new(api, &space)?;
    let render = |result: Result<String, askama::Error>| {
        result.map_err(|e| Diagnostics::from(SpecError::new("", format!("Python template error: {e}"))))
    };
    let package = super::typescript::package_name(api).to_snake_case();
    let mut groups: Vec<GroupView> = Vec::new();
    for call in &sdk.calls {
        let op = &api.operations[call.operation];
        let method = if op.messages.len() > 1 {
            call.key.split(':').next_back().unwrap_or(&call.key).to_snake_case()
        } else {
            op.method.clone()
        };
        let summary = lines_of(op.summary.as_deref());
        let view = call_view(&method, &call.key, &call.request_type, &call.reply_types, call.payload_optional, summary);
        let group = call.group.to_snake_case();
        match groups.iter_mut().find(|g| g.name == group) {
            Some(existing) => existing.calls.push(view),
            None => groups.push(GroupView {
                class: format!("{}Operations", group.to_upper_camel_case()),
                name: python_ident(&group),
                calls: vec![view],
            }),
        }
    }
    let http_calls: Vec<CallView> = sdk
        .http_calls
        .iter()
        .map(|call| {
            let summary = lines_of(api.operations[call.operation].summary.as_deref());
            let summary = if summary.is_empty() { format!("`{}`", call.http) } else { summary };
            let method = call.key.to_snake_case();
            call_view(&method, &call.key, &call.request_type, &call.reply_types, call.payload_optional, summary)
        })
        .collect();
    let events: Vec<EventView> = sdk
        .events
        .iter()
        .map(|e| EventView {
            name: e.name.clone(),
            ty: runtime_type(&e.event_type),
            annotation: annotation(&e.event_type),
        })
        .collect();
    let client = ClientTemplate {
        title: &api.info.title,
        version: &api.info.version,
        operations: literal(&sdk.operations, 0),
        events_table: literal(&sdk.events_table, 0),
        correlations: literal(&sdk.correlations, 0),
        enveloped: if api.endpoints().iter().any(|e| e.enveloped) { "True" } else { "False" },
        groups: &groups,
        events: &events,
        http_operations: literal(&sdk.http_operations, 0),
        http_calls: &http_calls,
    };
    let init = InitTemplate { title: &api.info.title, version: &api.info.version };
    let pyproject = PyprojectTemplate { package: &package, version: &api.info.version, title: &api.info.title };
    let readme = ReadmeTemplate {
        package: &package,
        title: &api.info.title,
        groups: &groups,
        events: &events,
        http_calls: &http_calls,
    };
    let root = format!("{package}/");
    Ok(vec![
        ("pyproject.toml".into(), render(pyproject.render())?),
        ("README.md".into(), render(readme.render())?),
        (format!("{root}__init__.py"), render(init.render())?),
        (format!("{root}types.py"), types_module(api, &space)),
        (format!("{root}_wire.py"), include_str!("../../templates/sdk/python/_wire.py").to_owned()),
        (format!("{root}client.py"), render(client.render())?),
        (format!("{root}py.typed"), String::new()),
    ])
}

/// A typed method of the client (`key` over WebSocket) or of `HttpApi`.
fn call_view(method: &str, key: &str, request: &Ty, replies: &[Ty], optional: bool, summary: String) -> CallView {
    CallView {
        method: python_ident(method),
        key: key.to_owned(),
        request: annotation(request),
        reply: match replies {
            [] => "None".to_owned(),
            [one] => annotation(one),
            many => format!("Union[{}]", many.iter().map(annotation).collect::<Vec<_>>().join(", ")),
        },
        reply_types: match replies {
            [] => "None".to_owned(),
            many => format!("[{}]", many.iter().map(runtime_type).collect::<Vec<_>>().join(", ")),
        },
        unit: *request == Ty::Unit,
        optional,
        summary,
    }
}

struct GroupView {
    class: String,
    name: String,
    calls: Vec<CallView>,
}

struct CallView {
    method: String,
    key: String,
    request: String,
    reply: String,
    /// The reply types as the decoder takes them (a list), or `None`.
    reply_types: String,
    /// The operation takes no payload.
    unit: bool,
    /// Every field of the payload is optional: the call may omit it.
    optional: bool,
    summary: String,
}

struct EventView {
    name: String,
    ty: String,
    annotation: String,
}

#[derive(Template)]
#[template(path = "sdk/python/client.py.askama", escape = "none")]
struct ClientTemplate<'a> {
    title: &'a str,
    version: &'a str,
    operations: String,
    events_table: String,
    correlations: String,
    enveloped: &'static str,
    groups: &'a [GroupView],
    events: &'a [EventView],
    /// `HTTP_OPERATIONS`: each HTTP operation's method, path and reply layout.
    http_operations: String,
    /// `HttpApi`'s methods.
    http_calls: &'a [CallView],
}

#[derive(Template)]
#[template(path = "sdk/python/__init__.py.askama", escape = "none")]
struct InitTemplate<'a> {
    title: &'a str,
    version: &'a str,
}

#[derive(Template)]
#[template(path = "sdk/python/pyproject.toml.askama", escape = "none")]
struct PyprojectTemplate<'a> {
    package: &'a str,
    version: &'a str,
    title: &'a str,
}

#[derive(Template)]
#[template(path = "sdk/python/README.md.askama", escape = "none")]
struct ReadmeTemplate<'a> {
    package: &'a str,
    title: &'a str,
    groups: &'a [GroupView],
    events: &'a [EventView],
    http_calls: &'a [CallView],
}

/// types.py: one definition per type of the space, in its order.
fn types_module(api: &Api, space: &TypeSpace<'_>) -> String {
    let mut out = format!(
        "\"\"\"The types of {} {}, generated from its AsyncAPI document: do not edit.\n\n\
         Objects are dataclasses (wire names in each field's metadata), enums and\n\
         constants `Literal`s, unions `Union`s; `_wire.decode` and `_wire.encode`\n\
         convert them from and to JSON.\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from dataclasses import dataclass, field\n\
         from typing import Any, Literal, Optional, Union\n\n\
         from ._wire import Tagged\n",
        api.info.title, api.info.version
    );
    for def in &space.types {
        out.push_str("\n\n");
        out.push_str(&definition(def));
    }
    out.push('\n');
    out
}

fn definition(def: &TypeDef) -> String {
    let doc = docstring(&def.doc, "    ");
    match &def.body {
        TypeBody::Struct { fields, extra, .. } => {
            let mut text = format!("@dataclass\nclass {}:\n{doc}", def.name);
            // Fields without a default first, as dataclasses require.
            let (required, optional): (Vec<&Field>, Vec<&Field>) =
                fields.iter().partition(|f| !f.optional && f.default.is_none());
            for f in required.iter().chain(&optional) {
                text.push_str(&field_line(f));
            }
            if let Some(extra) = extra {
                text.push_str(&format!(
                    "    extra: dict[str, {}] = field(default_factory=dict, metadata={{\"extra\": True}})\n",
                    annotation(extra)
                ));
            }
            if fields.is_empty() && extra.is_none() && def.doc.is_empty() {
                text.push_str("    pass\n");
            }
            text
        }
        TypeBody::StringEnum(variants) => {
            let values: Vec<String> = variants.iter().map(|(_, v)| literal(&Value::String(v.clone()), 0)).collect();
            format!("{} = Literal[{}]\n{}", def.name, values.join(", "), comment(&def.doc))
        }
        TypeBody::IntegerEnum(variants) => {
            let values: Vec<String> = variants.iter().map(|(_, v)| v.to_string()).collect();
            format!("{} = Literal[{}]\n{}", def.name, values.join(", "), comment(&def.doc))
        }
        TypeBody::Tagged { tag, variants } => {
            let entries: Vec<String> = variants
                .iter()
                .map(|(_, value, content)| {
                    format!("{}: {}", literal(&Value::String(value.clone()), 0), quoted(content))
                })
                .collect();
            format!(
                "class {}(Tagged):\n{doc}    TAG = {}\n    VARIANTS = {{{}}}\n",
                def.name,
                literal(&Value::String(tag.clone()), 0),
                entries.join(", ")
            )
        }
        TypeBody::Untagged(variants) => {
            let alternatives: Vec<String> = variants.iter().map(|(_, ty)| runtime_type(ty)).collect();
            format!("{} = Union[{}]\n{}", def.name, alternatives.join(", "), comment(&def.doc))
        }
        TypeBody::Alias(target) => format!("{} = {}\n{}", def.name, runtime_type(target), comment(&def.doc)),
        TypeBody::Const(value) if value.is_string() || value.is_number() || value.is_boolean() => {
            format!("{} = Literal[{}]\n{}", def.name, literal(value, 0), comment(&def.doc))
        }
        TypeBody::Const(_) => format!("{} = Any\n{}", def.name, comment(&def.doc)),
    }
}

/// One dataclass field: its Python name, its annotation, its default and wire name.
fn field_line(f: &Field) -> String {
    let name = python_ident(f.ident.trim_start_matches("r#"));
    let optional = f.optional && f.default.is_none() && !matches!(f.ty, Ty::Nullable(_));
    let ty = if optional { format!("Optional[{}]", annotation(&f.ty)) } else { annotation(&f.ty) };
    let default = match &f.default {
        Some(value @ (Value::Array(_) | Value::Object(_))) => {
            format!("default_factory=lambda: {}, ", literal(value, 0))
        }
        Some(value) => format!("default={}, ", literal(value, 0)),
        None if f.optional => "default=None, ".to_owned(),
        None => String::new(),
    };
    let mut line = format!(
        "    {name}: {ty} = field({default}metadata={{\"json\": {}}})\n",
        literal(&Value::String(f.json.clone()), 0)
    );
    if let Some(first) = f.doc.first() {
        line.push_str(&format!("    \"\"\"{}\"\"\"\n", escape_docstring(first)));
    }
    line
}

/// A type as an annotation (under `from __future__ import annotations`).
fn annotation(ty: &Ty) -> String {
    match ty {
        Ty::Named(name) => name.clone(),
        Ty::Bool => "bool".into(),
        Ty::I32 | Ty::I64 => "int".into(),
        Ty::F64 => "float".into(),
        Ty::String => "str".into(),
        Ty::Any => "Any".into(),
        Ty::Null => "None".into(),
        Ty::Map(value) => format!("dict[str, {}]", annotation(value)),
        Ty::List(item) => format!("list[{}]", annotation(item)),
        Ty::Nullable(inner) => format!("Optional[{}]", annotation(inner)),
        Ty::Unit => "None".into(),
    }
}

/// A type as a value evaluated when the module loads: names quoted, since
/// a definition may name one made further down.
fn runtime_type(ty: &Ty) -> String {
    match ty {
        Ty::Named(name) => quoted(name),
        Ty::Map(value) => format!("dict[str, {}]", runtime_type(value)),
        Ty::List(item) => format!("list[{}]", runtime_type(item)),
        Ty::Nullable(inner) => format!("Optional[{}]", runtime_type(inner)),
        other => annotation(other),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

/// A JSON value as a Python literal.
fn literal(value: &Value, depth: usize) -> String {
    let pad = "    ".repeat(depth + 1);
    let close = "    ".repeat(depth);
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        // JSON string escapes are Python's, but for `\/`, which serde_json never writes.
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| format!("{pad}{},", literal(v, depth + 1))).collect();
            format!("[\n{}\n{close}]", items.join("\n"))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{pad}{}: {},", Value::String(k.clone()), literal(v, depth + 1)))
                .collect();
            format!("{{\n{}\n{close}}}", entries.join("\n"))
        }
    }
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type",
];

/// `name`, with `_` after it when Python reserves it.
fn python_ident(name: &str) -> String {
    if KEYWORDS.contains(&name) { format!("{name}_") } else { name.to_owned() }
}

fn docstring(lines: &[String], indent: &str) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let body: Vec<String> = lines.iter().map(|l| escape_docstring(l)).collect();
    if body.len() == 1 {
        return format!("{indent}\"\"\"{}\"\"\"\n\n", body[0]);
    }
    let mut text = format!("{indent}\"\"\"{}\n", body[0]);
    for line in &body[1..] {
        text.push_str(&if line.is_empty() { "\n".to_owned() } else { format!("{indent}{line}\n") });
    }
    text.push_str(&format!("{indent}\"\"\"\n\n"));
    text
}

fn comment(lines: &[String]) -> String {
    lines.iter().map(|l| format!("# {l}\n")).collect::<String>().replace("# \n", "#\n")
}

fn escape_docstring(line: &str) -> String {
    line.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

fn lines_of(text: Option<&str>) -> String {
    escape_docstring(text.unwrap_or_default().lines().next().unwrap_or_default())
}
