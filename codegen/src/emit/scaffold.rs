//! `specserve-tools new`: a Cargo project for anyone's spec that builds, serves and
//! passes its tests at once. Its build script runs this crate like
//! specserve's own does; its handlers are stubs answering `not_implemented`,
//! which `specserve-tools conformance` reports as such, so the path from a spec to a
//! working server is: write the handlers until conformance passes.

use askama::Template;
use heck::{ToKebabCase, ToSnakeCase};

use crate::diagnostics::{Diagnostics, SpecError};
use crate::emit::rust::{HandlerStubs, handler_stubs};
use crate::model::{Action, Api, Perspective};

/// How the project depends on specserve's crates (TOML values, such as
/// `{ path = "/src/specserve/runtime" }`), and what it is called.
#[derive(Debug, Clone)]
pub struct Options {
    /// The package name (`kraken-style-spot-api`); derived from the title when `None`.
    pub name: Option<String>,
    /// The `specserve-runtime` dependency.
    pub runtime_dep: String,
    /// The `specserve-codegen` build dependency.
    pub codegen_dep: String,
    /// The spec's files as the project holds them, the root as `asyncapi.yaml`
    /// (for build.rs to rebuild when any changes).
    pub spec_files: Vec<String>,
}

/// Every file of the project but the spec, as (relative path, contents).
pub fn files(api: &Api, options: &Options) -> Result<Vec<(String, String)>, Diagnostics> {
    let name = options.name.clone().unwrap_or_else(|| api.info.title.to_kebab_case());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(SpecError::new("", format!("`{name}` is not a Cargo package name"))
            .hint("pass --name with letters, digits, `-` and `_`")
            .into());
    }
    let crate_ident = name.replace('-', "_");
    let title = api.info.title.as_str();
    let stubs = handler_stubs(api, "App")?;
    let groups: Vec<GroupView> = stubs
        .iter()
        .map(|s: &HandlerStubs| GroupView { module: s.group.to_snake_case(), handlers_type: s.handlers_type.clone() })
        .collect();
    let path = api.endpoints().first().map_or_else(|| "/".to_owned(), |e| e.address.clone());
    let operations: Vec<&str> =
        api.operations.iter().filter(|op| op.action == Action::Receive).map(|op| op.key.as_str()).collect();
    let render = |result: Result<String, askama::Error>| {
        result.map_err(|e| Diagnostics::from(SpecError::new("", format!("scaffold template error: {e}"))))
    };
    let description = serde_json::Value::from(format!("{title}: an AsyncAPI-first WebSocket server")).to_string();
    let mut files = vec![
        (
            "Cargo.toml".to_owned(),
            render(
                CargoTemplate {
                    name: &name,
                    description,
                    runtime_dep: &options.runtime_dep,
                    codegen_dep: &options.codegen_dep,
                }
                .render(),
            )?,
        ),
        (
            "build.rs".to_owned(),
            render(
                BuildTemplate { spec_files: &options.spec_files, client: api.perspective == Perspective::Client }
                    .render(),
            )?,
        ),
        ("src/lib.rs".to_owned(), render(LibTemplate { title }.render())?),
        ("src/api.rs".to_owned(), render(ApiTemplate.render())?),
        ("src/app.rs".to_owned(), render(AppTemplate { groups: &groups }.render())?),
        ("src/handlers/mod.rs".to_owned(), render(HandlersTemplate { groups: &groups }.render())?),
        ("src/main.rs".to_owned(), render(MainTemplate { title, crate_ident: &crate_ident }.render())?),
        ("tests/service.rs".to_owned(), render(ServiceTestTemplate { crate_ident: &crate_ident }.render())?),
        (
            "README.md".to_owned(),
            render(
                ReadmeTemplate {
                    title,
                    url: format!("wss://127.0.0.1:8443{path}"),
                    docs_url: "https://127.0.0.1:8443/docs".to_owned(),
                    operations,
                    push: push_example(api),
                }
                .render(),
            )?,
        ),
        (".gitignore".to_owned(), "/target\n/specserve-tls\n".to_owned()),
    ];
    for (stub, group) in stubs.iter().zip(&groups) {
        files.push((format!("src/handlers/{}.rs", group.module), stub.source.clone()));
    }
    Ok(files)
}

struct GroupView {
    module: String,
    handlers_type: String,
}

#[derive(Template)]
#[template(path = "scaffold/Cargo.toml.askama", escape = "none")]
struct CargoTemplate<'a> {
    name: &'a str,
    description: String,
    runtime_dep: &'a str,
    codegen_dep: &'a str,
}

#[derive(Template)]
#[template(path = "scaffold/build.rs.askama", escape = "none")]
struct BuildTemplate<'a> {
    spec_files: &'a [String],
    /// The document is a client's (`--perspective client`): build.rs reads it inverted.
    client: bool,
}

#[derive(Template)]
#[template(path = "scaffold/lib.rs.askama", escape = "none")]
struct LibTemplate<'a> {
    title: &'a str,
}

#[derive(Template)]
#[template(path = "scaffold/api.rs.askama", escape = "none")]
struct ApiTemplate;

#[derive(Template)]
#[template(path = "scaffold/app.rs.askama", escape = "none")]
struct AppTemplate<'a> {
    groups: &'a [GroupView],
}

#[derive(Template)]
#[template(path = "scaffold/handlers.rs.askama", escape = "none")]
struct HandlersTemplate<'a> {
    groups: &'a [GroupView],
}

#[derive(Template)]
#[template(path = "scaffold/main.rs.askama", escape = "none")]
struct MainTemplate<'a> {
    title: &'a str,
    crate_ident: &'a str,
}

#[derive(Template)]
#[template(path = "scaffold/service_test.rs.askama", escape = "none")]
struct ServiceTestTemplate<'a> {
    crate_ident: &'a str,
}

#[derive(Template)]
#[template(path = "scaffold/README.md.askama", escape = "none")]
struct ReadmeTemplate<'a> {
    title: &'a str,
    url: String,
    docs_url: String,
    operations: Vec<&'a str>,
    /// How a handler pushes the first `send` operation's message, if there is one.
    push: Option<String>,
}

/// A handler's call of the publisher for the document's first `send`
/// operation: one argument per channel parameter, then who gets it, then the message.
fn push_example(api: &Api) -> Option<String> {
    let op = api.operations.iter().find(|o| o.action == crate::model::Action::Send)?;
    let parameters: String = api.channels[op.channel]
        .parameters
        .iter()
        .map(|p| format!("\"{}\", ", p.allowed.first().cloned().unwrap_or_else(|| format!("<{}>", p.name))))
        .collect();
    Some(format!("rq.context().publisher.{}({parameters}Audience::everyone(), &event)?;", op.key.to_snake_case()))
}
