//! The TypeScript SDK: ES module runtime (`index.js`), type declarations
//! (`index.d.ts`), `package.json` and a README, rendered through askama from the
//! same [`ApiTypes`] the Rust API is, so both name every type the same way.
//!
//! The runtime is plain JavaScript checked by `tsc --strict` (`checkJs`)
//! rather than TypeScript source: `specserve gen` is the only build step, and
//! `npm install ./generated/sdk/typescript` works without a compiler.

use askama::Template;
use heck::{ToKebabCase, ToLowerCamelCase, ToUpperCamelCase};

use crate::error::{Result, SpecError};
use crate::model::{self, Api};
use crate::schema::{Kind, Schema};
use crate::types::{ApiTypes, TypeBody, TypeDef, TypeSpace};

/// The SDK's files, as (path under `sdk/typescript/`, contents).
pub fn files(api: &Api) -> Result<Vec<(String, String)>> {
    let api_types = ApiTypes::new(api)?;
    let routes: Vec<RouteView> = api
        .routes
        .iter()
        .zip(&api_types.routes)
        .map(|(route, (request, reply))| RouteView {
            channel: route.channel.clone(),
            channel_json: json_string(&route.channel),
            group: route.group.to_lower_camel_case(),
            method: route.action.to_lower_camel_case(),
            secured: route.security.is_some(),
            request: request.typescript(),
            reply: reply.clone(),
            doc: jsdoc(&route_doc(route), "  "),
        })
        .collect();
    let mut groups = Vec::new();
    for group in api.groups() {
        let name = group.to_lower_camel_case();
        let interface = format!("{}Routes", group.to_upper_camel_case());
        if api_types.space.types.iter().any(|t| t.name == interface) {
            return Err(SpecError::new(
                "",
                format!("the TypeScript SDK needs the name `{interface}`, which a schema takes"),
            )
            .hint("rename that component schema"));
        }
        let routes = routes.iter().filter(|r| r.group == name).cloned().collect();
        groups.push(GroupView { name, interface, routes });
    }
    let error = api_types.error.typescript();
    let title = api.info.title.clone();
    let version = api.info.version.clone();
    let package = api.info.title.to_kebab_case();
    let example_url = api
        .servers
        .first()
        .map(|(_, s)| format!("{}://{}{}", s.protocol, s.host, api.channel.address))
        .unwrap_or_else(|| format!("wss://localhost:8443{}", api.channel.address));
    let render = |result: std::result::Result<String, askama::Error>| {
        result.map_err(|e| SpecError::new("", format!("TypeScript template error: {e}")))
    };
    let declarations = DeclarationsTemplate {
        title: &title,
        version: &version,
        types: api_types.space.types.iter().map(type_view).collect(),
        routes: &routes,
        groups: &groups,
        error_code_type: format!("{error}[\"code\"]"),
        error_detail_type: format!("NonNullable<{error}[\"details\"]>[number]"),
    };
    let runtime = RuntimeTemplate {
        title: &title,
        version: &version,
        routes: &routes,
        groups: &groups,
        error_codes_json: serde_json::to_string(&api.error.codes).unwrap_or_default(),
        close_codes_json: serde_json::Value::Object(
            api.channel.close_codes.iter().map(|c| (c.code.to_string(), c.when.clone().into())).collect(),
        )
        .to_string(),
        request_id_max_length: api.request_id_max_length,
        channel_key: model::CHANNEL,
        request_id_key: model::REQUEST_ID,
        api_token_key: model::API_TOKEN,
        payload_key: model::PAYLOAD,
        success_key: model::SUCCESS,
        error_key: model::ERROR,
    };
    let package_json = PackageTemplate {
        package: &package,
        version: &version,
        title: &title,
        license: api.info.license.as_ref().map_or("UNLICENSED", |l| l.name.as_str()),
    };
    let readme = ReadmeTemplate { package: &package, title: &title, version: &version, example_url, routes: &routes };
    Ok(vec![
        ("index.d.ts".into(), render(declarations.render())?),
        ("index.js".into(), render(runtime.render())?),
        ("package.json".into(), render(package_json.render())?),
        ("tsconfig.json".into(), render(TsconfigTemplate.render())?),
        ("README.md".into(), render(readme.render())?),
    ])
}

/// TypeScript declarations for a set of component schemas alone (golden tests
/// of the type mapping, beside the Rust ones).
pub fn types_module(schemas: &[(String, Schema)]) -> Result<String> {
    let mut space = TypeSpace::new(schemas);
    for (name, schema) in schemas {
        if !space.contains(name) {
            space.type_of(
                &Schema {
                    kind: Kind::Ref(name.clone()),
                    description: None,
                    nullable: false,
                    path: schema.path.clone(),
                },
                name,
            )?;
        }
    }
    let template = TypesTemplate { types: space.types.iter().map(type_view).collect() };
    template
        .render()
        .map(|text| format!("// @generated by specserve-codegen{text}"))
        .map_err(|e| SpecError::new("", format!("TypeScript template error: {e}")))
}

#[derive(Template)]
#[template(path = "sdk/types.d.ts.askama", escape = "none")]
struct TypesTemplate {
    types: Vec<TypeView>,
}

#[derive(Clone)]
struct RouteView {
    channel: String,
    channel_json: String,
    group: String,
    method: String,
    secured: bool,
    request: String,
    reply: String,
    doc: String,
}

struct GroupView {
    name: String,
    interface: String,
    routes: Vec<RouteView>,
}

struct TypeView {
    name: String,
    doc: String,
    body: TsBody,
}

enum TsBody {
    Interface(Vec<FieldView>),
    Union(String),
    Alias(String),
}

struct FieldView {
    name: String,
    doc: String,
    ty: String,
    optional: bool,
}

#[derive(Template)]
#[template(path = "sdk/index.d.ts.askama", escape = "none")]
struct DeclarationsTemplate<'a> {
    title: &'a str,
    version: &'a str,
    types: Vec<TypeView>,
    routes: &'a [RouteView],
    groups: &'a [GroupView],
    error_code_type: String,
    error_detail_type: String,
}

#[derive(Template)]
#[template(path = "sdk/index.js.askama", escape = "none")]
struct RuntimeTemplate<'a> {
    title: &'a str,
    version: &'a str,
    routes: &'a [RouteView],
    groups: &'a [GroupView],
    error_codes_json: String,
    close_codes_json: String,
    request_id_max_length: u64,
    channel_key: &'a str,
    request_id_key: &'a str,
    api_token_key: &'a str,
    payload_key: &'a str,
    success_key: &'a str,
    error_key: &'a str,
}

#[derive(Template)]
#[template(path = "sdk/package.json.askama", escape = "none")]
struct PackageTemplate<'a> {
    package: &'a str,
    version: &'a str,
    title: &'a str,
    license: &'a str,
}

#[derive(Template)]
#[template(path = "sdk/tsconfig.json.askama", escape = "none")]
struct TsconfigTemplate;

#[derive(Template)]
#[template(path = "sdk/README.md.askama", escape = "none")]
struct ReadmeTemplate<'a> {
    package: &'a str,
    title: &'a str,
    version: &'a str,
    example_url: String,
    routes: &'a [RouteView],
}

fn type_view(def: &TypeDef) -> TypeView {
    let body = match &def.body {
        TypeBody::Struct { fields, .. } => TsBody::Interface(
            fields
                .iter()
                .map(|f| FieldView {
                    name: property_name(&f.json),
                    doc: jsdoc(&f.doc, "  "),
                    ty: f.ty.typescript(),
                    optional: f.optional,
                })
                .collect(),
        ),
        TypeBody::Enum { variants } => {
            TsBody::Union(variants.iter().map(|(_, json)| json_string(json)).collect::<Vec<_>>().join(" | "))
        }
        TypeBody::Tagged { tag, variants } => TsBody::Union(
            variants
                .iter()
                .map(|(_, value, shape)| format!("({{ {}: {} }} & {shape})", property_name(tag), json_string(value)))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        TypeBody::Alias { target } => TsBody::Alias(target.typescript()),
    };
    TypeView { name: def.name.clone(), doc: jsdoc(&def.doc, ""), body }
}

/// The route's summary and its channel, as doc lines.
fn route_doc(route: &model::Route) -> Vec<String> {
    let mut doc = crate::types::lines(route.summary.as_deref().or(route.title.as_deref()));
    doc.push(format!(
        "Route `{}`{}.",
        route.channel,
        if route.security.is_some() { "; sends the client's token" } else { "" }
    ));
    doc
}

/// A JSDoc block for `lines` at `indent`, ending in a newline, or nothing.
fn jsdoc(lines: &[String], indent: &str) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("{indent}/**");
    for line in lines {
        let line = line.replace("*/", "*\\/");
        out.push('\n');
        out.push_str(indent);
        out.push_str(if line.is_empty() { " *" } else { " * " });
        out.push_str(&line);
    }
    out.push('\n');
    out.push_str(indent);
    out.push_str(" */\n");
    out
}

/// A property key: bare when it is an identifier, quoted otherwise.
fn property_name(name: &str) -> String {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if bare { name.to_owned() } else { json_string(name) }
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
