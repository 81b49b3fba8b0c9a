//! From schemas to named type definitions: the type space of one API, shared
//! by the Rust and TypeScript emitters so both SDKs name every type the same way.
//!
//! Component schemas keep their names; inline objects, enums and unions are
//! named after where they appear (`UserCreatePayload` + `role` ->
//! `UserCreatePayloadRole`). A message's own type holds the properties the
//! application chooses: the ones the runtime writes (constants, correlation id,
//! echoed discriminator, credential) are left out (see [`crate::model::binding`]).
//! Only types reachable from a message are defined, plus every component schema.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::diagnostics::{Diagnostics, SpecError};
use crate::model::binding::{Body, Layout};
use crate::model::{Api, MessageId};
use crate::schema::{Additional, Alternatives, Property, SchemaId, Shape};

/// A type as the emitters see it; each renders it in its own language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// A type defined in the space.
    Named(String),
    /// `boolean`.
    Bool,
    /// `integer` with `format: int32`.
    I32,
    /// `integer` (64-bit unless told otherwise).
    I64,
    /// `number`.
    F64,
    /// `string`.
    String,
    /// Any JSON value.
    Any,
    /// `null` only.
    Null,
    /// An object of string keys to these.
    Map(Box<Ty>),
    /// An array of these.
    List(Box<Ty>),
    /// The value may also be `null`.
    Nullable(Box<Ty>),
    /// Nothing: a message with nothing the application chooses (`()` in Rust).
    Unit,
}

impl Ty {
    /// The Rust spelling; `boxed` when a recursive field needs indirection.
    pub fn rust(&self) -> String {
        match self {
            Ty::Named(name) => name.clone(),
            Ty::Bool => "bool".into(),
            Ty::I32 => "i32".into(),
            Ty::I64 => "i64".into(),
            Ty::F64 => "f64".into(),
            Ty::String => "String".into(),
            Ty::Any | Ty::Null => "specserve_runtime::serde_json::Value".into(),
            Ty::Map(value) => format!("std::collections::BTreeMap<String, {}>", value.rust()),
            Ty::List(item) => format!("Vec<{}>", item.rust()),
            Ty::Nullable(inner) => format!("Option<{}>", inner.rust()),
            Ty::Unit => "()".into(),
        }
    }

    /// The TypeScript spelling. Integers are `number`: JSON.parse yields numbers.
    pub fn typescript(&self) -> String {
        match self {
            Ty::Named(name) => name.clone(),
            Ty::Bool => "boolean".into(),
            Ty::I32 | Ty::I64 | Ty::F64 => "number".into(),
            Ty::String => "string".into(),
            Ty::Any => "unknown".into(),
            Ty::Null => "null".into(),
            Ty::Map(value) => format!("Record<string, {}>", value.typescript()),
            Ty::List(item) => match **item {
                Ty::Nullable(_) => format!("Array<{}>", item.typescript()),
                _ => format!("{}[]", item.typescript()),
            },
            Ty::Nullable(inner) => format!("{} | null", inner.typescript()),
            Ty::Unit => "Record<string, never>".into(),
        }
    }

    /// The named type this refers to directly (not through a list or map).
    fn direct(&self) -> Option<&str> {
        match self {
            Ty::Named(name) => Some(name),
            Ty::Nullable(inner) => inner.direct(),
            _ => None,
        }
    }
}

/// A type to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// Type name.
    pub name: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// What it is.
    pub body: TypeBody,
}

/// The shape of a [`TypeDef`].
#[derive(Debug, Clone, PartialEq)]
pub enum TypeBody {
    /// A struct with named fields.
    Struct {
        /// Fields in schema order.
        fields: Vec<Field>,
        /// `additionalProperties: false` (for requests): unknown keys are refused.
        closed: bool,
        /// `additionalProperties` with a schema: other keys, as a map of these.
        extra: Option<Ty>,
    },
    /// A string enum: (Rust variant, JSON value).
    StringEnum(Vec<(String, String)>),
    /// An integer enum: (Rust variant, value).
    IntegerEnum(Vec<(String, i64)>),
    /// A union told apart by a tag property: (Rust variant, tag value, content struct).
    Tagged {
        /// The JSON tag property.
        tag: String,
        /// The variants.
        variants: Vec<(String, String, String)>,
    },
    /// A union matched by shape: (Rust variant, its type), tried in order.
    Untagged(Vec<(String, Ty)>),
    /// Another name for a type.
    Alias(Ty),
    /// One fixed value (`const`).
    Const(Value),
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Rust identifier (raw if a keyword).
    pub ident: String,
    /// JSON property name.
    pub json: String,
    /// The property's type (`Nullable` if the schema allows `null`).
    pub ty: Ty,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Not in `required`: skipped when absent (unless it has a default).
    pub optional: bool,
    /// `default`: filled in when absent.
    pub default: Option<Value>,
    /// Recursion: the field holds its own type (boxed in Rust).
    pub boxed: bool,
}

impl Field {
    /// The Rust field type: an optional field without a default is an
    /// `Option` (absent and null read the same for nullable ones).
    pub fn rust_type(&self) -> String {
        let base = if self.boxed { format!("Box<{}>", self.ty.rust()) } else { self.ty.rust() };
        match &self.ty {
            ty if self.optional && self.default.is_none() && !matches!(ty, Ty::Nullable(_)) => {
                format!("Option<{base}>")
            }
            _ => base,
        }
    }
}

/// The types of one API: every definition, plus what each message's type is.
#[derive(Debug)]
pub struct TypeSpace<'a> {
    api: &'a Api,
    /// Emitted definitions, in order.
    pub types: Vec<TypeDef>,
    names: BTreeSet<String>,
    by_schema: BTreeMap<(SchemaId, bool), Ty>,
    /// Each message's application type, by message id (when it has a payload).
    pub messages: BTreeMap<MessageId, Ty>,
    /// Each channel's query type (its `ws` binding's `query`), by channel id.
    pub queries: BTreeMap<usize, Ty>,
    /// The type of the error body clients decode (the first `x-specserve-error` message's).
    pub error_body: Option<Ty>,
    /// Structs defined from now on read what a server sends: they accept unknown fields.
    tolerant: bool,
    diags: Diagnostics,
}

impl<'a> TypeSpace<'a> {
    /// Every type of `api`: messages received by the server first (their types
    /// stay as closed as their schemas), then the rest, whose structs are
    /// tolerant readers (a field added to something clients receive, which
    /// `diff` calls compatible, must not break clients built from the older spec).
    pub fn new(api: &'a Api) -> Result<TypeSpace<'a>, Diagnostics> {
        TypeSpace::build(api, false)
    }

    /// Like [`TypeSpace::new`], and every component schema too, used or not
    /// (golden tests of the schema constructs, and libraries of shared types).
    pub fn with_components(api: &'a Api) -> Result<TypeSpace<'a>, Diagnostics> {
        TypeSpace::build(api, true)
    }

    fn build(api: &'a Api, all_components: bool) -> Result<TypeSpace<'a>, Diagnostics> {
        let mut space = TypeSpace {
            api,
            types: Vec::new(),
            names: BTreeSet::new(),
            by_schema: BTreeMap::new(),
            messages: BTreeMap::new(),
            queries: BTreeMap::new(),
            error_body: None,
            tolerant: false,
            diags: Diagnostics::new(),
        };
        let endpoints = api.endpoints();
        for endpoint in &endpoints {
            for route in &endpoint.routes {
                if space.messages.contains_key(&route.message) {
                    continue;
                }
                let credential = api.credential_property(route.operation);
                let layout = api.layout(route.message, endpoint.discriminator.as_deref(), credential);
                space.message(route.message, &layout);
            }
        }
        // An HTTP operation served by a WebSocket operation's handler reads
        // the schema that handler takes (the loader checked it): its type.
        for op in api.operations.iter().filter(|op| op.handler.is_some()) {
            for &id in &op.messages {
                if let Some(payload) = api.messages[id].payload.filter(|_| !space.messages.contains_key(&id)) {
                    let ty = space.type_of(payload, &api.messages[id].key.to_upper_camel_case());
                    space.messages.insert(id, ty);
                }
            }
        }
        space.tolerant = true;
        for (id, _) in api.messages.iter().enumerate() {
            if !space.messages.contains_key(&id) {
                let discriminator = endpoints.iter().find_map(|e| e.discriminator.clone());
                let layout = api.layout(id, discriminator.as_deref(), None);
                space.message(id, &layout);
            }
        }
        for (channel_id, channel) in api.channels.iter().enumerate() {
            if let Some(query) = channel.query {
                let ty = space.type_of(query, &format!("{}Query", channel.key.to_upper_camel_case()));
                space.queries.insert(channel_id, ty);
            }
        }
        space.error_body = api.messages.iter().find(|m| m.error_body.is_some()).and_then(|m| {
            let under = m.error_body.as_deref()?.trim_start_matches('/');
            let Shape::Object(rules) = &api.schemas.get(m.payload?).shape else { return None };
            let body = rules.properties.iter().find(|p| p.name == under)?;
            Some(space.type_of(body.schema, "ErrorBody"))
        });
        if all_components {
            // A component no message reaches has no reader to be tolerant for:
            // it is as closed as its schema says.
            space.tolerant = false;
            for (name, id) in &api.components {
                space.component(name, *id);
            }
        }
        space.box_recursion();
        if space.diags.has_errors() {
            return Err(space.diags);
        }
        Ok(space)
    }

    /// The type of a message's application data: its own struct for an object
    /// payload (the properties the runtime does not write), else the payload's type.
    fn message(&mut self, id: MessageId, layout: &Layout) {
        let message = &self.api.messages[id];
        let Some(payload) = message.payload else { return };
        let name = self.fresh(&message.key.to_upper_camel_case(), "Message");
        let doc = lines(message.summary.as_deref().or(message.description.as_deref()).or(message.title.as_deref()));
        let ty = match &layout.body {
            Body::Whole => {
                let ty = self.type_of(payload, &name);
                if matches!(ty, Ty::Named(_)) {
                    ty
                } else {
                    self.define(&name, doc, TypeBody::Alias(ty));
                    Ty::Named(name)
                }
            }
            Body::Under(_) => return, // error bodies are the runtime's
            Body::Flat(properties) => {
                let closed = matches!(&self.api.schemas.get(payload).shape, Shape::Object(r) if r.additional == Additional::Closed);
                if properties.is_empty() && closed {
                    self.names.remove(&name);
                    Ty::Unit
                } else {
                    let extra = match &self.api.schemas.get(payload).shape {
                        Shape::Object(rules) => self.extra(rules.additional, &name),
                        _ => None,
                    };
                    // The message's own struct reads a payload that also holds
                    // what the runtime writes: it ignores unknown keys (the
                    // validator already holds the payload to its schema).
                    self.structure(&name, doc, properties, false, extra)
                }
            }
        };
        self.messages.insert(id, ty);
    }

    /// The type of component schema `name`, defined under that name.
    fn component(&mut self, name: &str, id: SchemaId) -> Ty {
        self.type_of(id, &name.to_upper_camel_case())
    }

    /// The type of `id`, defining what it needs; `context` names inline types.
    pub fn type_of(&mut self, id: SchemaId, context: &str) -> Ty {
        let key = (id, self.tolerant);
        if let Some(ty) = self.by_schema.get(&key).or_else(|| self.by_schema.get(&(id, !self.tolerant))) {
            return ty.clone();
        }
        let def = self.api.schemas.get(id).clone();
        let named = def.component.as_deref().map(|c| c.to_upper_camel_case());
        let name = named.clone().unwrap_or_else(|| context.to_owned());
        let doc = lines(def.description.as_deref().or(def.title.as_deref()));
        // Reserve the name before recursing: a schema below itself finds it.
        let needs_definition = matches!(
            def.shape,
            Shape::Object(_) | Shape::Enum(_) | Shape::OneOf(_) | Shape::AnyOf(_) | Shape::Union(_)
        ) || named.is_some();
        let ty = if needs_definition {
            let free = !self.names.contains(&name) && !RESERVED.contains(&name.as_str());
            let name = if named.is_some() && free { name } else { self.fresh(&name, "Type") };
            self.names.insert(name.clone());
            self.by_schema.insert(key, Ty::Named(name.clone()));
            let body = self.body(id, &name);
            match body {
                // A component that is just a primitive: an alias, with its constraints documented.
                TypeBody::Alias(target) if named.is_none() => {
                    self.names.remove(&name);
                    target
                }
                body => {
                    let mut doc = doc;
                    if let Some(rules) = constraints(self.api, id) {
                        if !doc.is_empty() {
                            doc.push(String::new());
                        }
                        doc.push(rules);
                    }
                    self.types.push(TypeDef { name: name.clone(), doc, body });
                    Ty::Named(name)
                }
            }
        } else {
            match self.body(id, &name) {
                TypeBody::Alias(ty) => ty,
                body => {
                    let name = self.fresh(&name, "Type");
                    self.define(&name, doc, body);
                    Ty::Named(name)
                }
            }
        };
        let ty = if def.nullable && !matches!(ty, Ty::Nullable(_) | Ty::Any) { Ty::Nullable(Box::new(ty)) } else { ty };
        self.by_schema.insert(key, ty.clone());
        ty
    }

    /// What the schema `id` becomes, named `name` if it needs a definition.
    fn body(&mut self, id: SchemaId, name: &str) -> TypeBody {
        let def = self.api.schemas.get(id).clone();
        match &def.shape {
            Shape::Any | Shape::Never => TypeBody::Alias(Ty::Any),
            Shape::Null => TypeBody::Alias(Ty::Null),
            Shape::Boolean => TypeBody::Alias(Ty::Bool),
            Shape::Integer(rules) if rules.format.as_deref() == Some("int32") => TypeBody::Alias(Ty::I32),
            Shape::Integer(_) => TypeBody::Alias(Ty::I64),
            Shape::Number(_) => TypeBody::Alias(Ty::F64),
            Shape::String(_) => TypeBody::Alias(Ty::String),
            Shape::Const(value) => TypeBody::Const(value.clone()),
            Shape::Enum(values) => enum_body(values),
            Shape::Array(rules) => {
                let item = match rules.items {
                    Some(items) => self.type_of(items, &format!("{name}Item")),
                    None => Ty::Any,
                };
                TypeBody::Alias(Ty::List(Box::new(item)))
            }
            Shape::Object(rules) => {
                let extra = self.extra(rules.additional, name);
                if rules.properties.is_empty() && rules.additional != Additional::Closed {
                    return TypeBody::Alias(Ty::Map(Box::new(extra.unwrap_or(Ty::Any))));
                }
                let fields = self.fields(&rules.properties, name);
                TypeBody::Struct { fields, closed: rules.additional == Additional::Closed && !self.tolerant, extra }
            }
            Shape::OneOf(alternatives) | Shape::AnyOf(alternatives) => self.union(alternatives, name),
            Shape::Union(parts) => {
                let variants = parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| {
                        let ty = self.type_of(*part, &format!("{name}Variant{}", i + 1));
                        (variant_name(&ty, i), ty)
                    })
                    .collect();
                TypeBody::Untagged(variants)
            }
        }
    }

    fn extra(&mut self, additional: Additional, name: &str) -> Option<Ty> {
        match additional {
            Additional::Schema(id) => Some(self.type_of(id, &format!("{name}Value"))),
            _ => None,
        }
    }

    fn union(&mut self, alternatives: &Alternatives, name: &str) -> TypeBody {
        if let Some(tag) = &alternatives.tag {
            let mut variants = Vec::new();
            for (variant, value) in alternatives.variants.iter().zip(&tag.values) {
                let ident = ident_from(value, variants.len());
                let Shape::Object(rules) = &self.api.schemas.get(*variant).shape else { continue };
                let properties: Vec<Property> =
                    rules.properties.iter().filter(|p| p.name != tag.property).cloned().collect();
                let content = self.fresh(&format!("{name}{ident}"), "Variant");
                let doc = lines(self.api.schemas.get(*variant).description.as_deref());
                let closed = rules.additional == Additional::Closed;
                let extra = self.extra(rules.additional, &content);
                self.structure(&content, doc, &properties, closed, extra);
                variants.push((ident, value.clone(), content));
            }
            return TypeBody::Tagged { tag: tag.property.clone(), variants };
        }
        let mut variants: Vec<(String, Ty)> = Vec::new();
        for (i, variant) in alternatives.variants.iter().enumerate() {
            let ty = self.type_of(*variant, &format!("{name}Variant{}", i + 1));
            let mut ident = variant_name(&ty, i);
            if variants.iter().any(|(v, _)| *v == ident) {
                ident = format!("{ident}{}", i + 1);
            }
            variants.push((ident, ty));
        }
        TypeBody::Untagged(variants)
    }

    /// Defines struct `name` from `properties`.
    fn structure(
        &mut self,
        name: &str,
        doc: Vec<String>,
        properties: &[Property],
        closed: bool,
        extra: Option<Ty>,
    ) -> Ty {
        self.names.insert(name.to_owned());
        let fields = self.fields(properties, name);
        let closed = closed && !self.tolerant;
        self.types.push(TypeDef { name: name.to_owned(), doc, body: TypeBody::Struct { fields, closed, extra } });
        Ty::Named(name.to_owned())
    }

    fn fields(&mut self, properties: &[Property], owner: &str) -> Vec<Field> {
        let mut fields: Vec<Field> = Vec::new();
        for property in properties {
            let ty = self.type_of(property.schema, &format!("{owner}{}", property.name.to_upper_camel_case()));
            let mut doc = lines(property.description.as_deref().or_else(|| describe(self.api, property.schema)));
            if let Some(rules) = constraints(self.api, property.schema) {
                if !doc.is_empty() {
                    doc.push(String::new());
                }
                doc.push(rules);
            }
            let mut ident = ident(&property.name.to_snake_case());
            if ident.is_empty() || fields.iter().any(|f| f.ident == ident) {
                ident = format!("field_{}", fields.len());
            }
            fields.push(Field {
                ident,
                json: property.name.clone(),
                ty,
                doc,
                optional: !property.required,
                default: self.api.schemas.get(property.schema).default.clone(),
                boxed: false,
            });
        }
        fields
    }

    fn define(&mut self, name: &str, doc: Vec<String>, body: TypeBody) {
        self.names.insert(name.to_owned());
        self.types.push(TypeDef { name: name.to_owned(), doc, body });
    }

    /// Takes a name for an item an emitter adds beside the types: `base`, or
    /// `base` + `suffix` (+ a number) when a type has it.
    pub fn reserve(&mut self, base: &str, suffix: &str) -> String {
        self.fresh(base, suffix)
    }

    /// `base`, or `base` + `suffix` (+ a number) when taken.
    fn fresh(&mut self, base: &str, suffix: &str) -> String {
        let base = if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            format!("T{base}")
        } else {
            base.to_owned()
        };
        let mut name = base.clone();
        let mut n = 1;
        while self.names.contains(&name) || RESERVED.contains(&name.as_str()) {
            name = if n == 1 { format!("{base}{suffix}") } else { format!("{base}{suffix}{n}") };
            n += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Marks fields that lead back to their own struct without indirection.
    fn box_recursion(&mut self) {
        let edges: BTreeMap<String, Vec<String>> = self
            .types
            .iter()
            .map(|t| {
                let targets = match &t.body {
                    TypeBody::Struct { fields, .. } => {
                        fields.iter().filter_map(|f| f.ty.direct().map(str::to_owned)).collect()
                    }
                    TypeBody::Tagged { variants, .. } => variants.iter().map(|(_, _, s)| s.clone()).collect(),
                    TypeBody::Untagged(variants) => {
                        variants.iter().filter_map(|(_, ty)| ty.direct().map(str::to_owned)).collect()
                    }
                    TypeBody::Alias(ty) => ty.direct().map(str::to_owned).into_iter().collect(),
                    _ => Vec::new(),
                };
                (t.name.clone(), targets)
            })
            .collect();
        let reaches = |from: &str, to: &str| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.to_owned()];
            while let Some(next) = stack.pop() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.extend(edges.get(&next).into_iter().flatten().cloned());
                }
            }
            false
        };
        for t in &mut self.types {
            if let TypeBody::Struct { fields, .. } = &mut t.body {
                for field in fields {
                    if let Some(target) = field.ty.direct()
                        && reaches(target, &t.name)
                    {
                        field.boxed = true;
                    }
                }
            }
        }
    }

    /// Problems found while naming types.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diags
    }

    /// Records a problem (for emitters that find one).
    pub fn problem(&mut self, error: SpecError) {
        self.diags.push(error);
    }

    /// The type of field `json` of the struct `ty` (a message's wrapper field, say).
    pub fn field_type(&self, ty: &Ty, json: &str) -> Option<Ty> {
        let Ty::Named(name) = ty else { return None };
        let def = self.types.iter().find(|t| &t.name == name)?;
        let TypeBody::Struct { fields, .. } = &def.body else { return None };
        fields.iter().find(|f| f.json == json).map(|f| f.ty.clone())
    }

    /// Whether `ty` is an object whose every field may be left out (so `{}` is one).
    pub fn all_optional(&self, ty: &Ty) -> bool {
        let Ty::Named(name) = ty else { return false };
        let Some(def) = self.types.iter().find(|t| &t.name == name) else { return false };
        matches!(&def.body, TypeBody::Struct { fields, .. } if fields.iter().all(|f| f.optional))
    }

    /// Whether a type name is taken.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The API.
    pub fn api(&self) -> &'a Api {
        self.api
    }
}

/// Names the generated Rust and TypeScript use for their own items: a schema
/// with one of them is renamed in both, so both SDKs keep naming it alike.
const RESERVED: &[&str] = &[
    // Rust
    "Client",
    "Service",
    "Publisher",
    "Operation",
    "Binding",
    "Prepared",
    "Handlers",
    "Unimplemented",
    "Api",
    "Event",
    "Self",
    "Option",
    "Result",
    "Box",
    "Vec",
    "String",
    "Value",
    // TypeScript
    "Operations",
    "OperationKey",
    "Events",
    "ApiError",
    "TimeoutError",
    "ConnectionError",
    "ConnectOptions",
    "CallOptions",
    "WebSocketLike",
    "WebSocketConstructor",
    "ConnectionState",
    "RuntimeErrorBody",
    "Record",
    "Promise",
    "Array",
    "Error",
    "Object",
];

fn enum_body(values: &[Value]) -> TypeBody {
    if values.iter().all(Value::is_string) {
        let mut variants: Vec<(String, String)> = Vec::new();
        for value in values.iter().filter_map(Value::as_str) {
            let mut ident = ident_from(value, variants.len());
            while variants.iter().any(|(v, _)| *v == ident) {
                ident.push('_');
            }
            variants.push((ident, value.to_owned()));
        }
        return TypeBody::StringEnum(variants);
    }
    if values.iter().all(|v| v.as_i64().is_some()) {
        return TypeBody::IntegerEnum(
            values
                .iter()
                .filter_map(Value::as_i64)
                .map(|n| (format!("V{}", n.to_string().replace('-', "Minus")), n))
                .collect(),
        );
    }
    // Mixed kinds: any JSON value; the validator holds it to the list.
    TypeBody::Alias(Ty::Any)
}

/// A Rust variant name for a JSON value (`cancel_only` -> `CancelOnly`).
fn ident_from(value: &str, index: usize) -> String {
    let camel = value.to_upper_camel_case();
    match camel.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => camel,
        Some(_) => format!("V{camel}"),
        None => format!("Variant{}", index + 1),
    }
}

fn variant_name(ty: &Ty, index: usize) -> String {
    match ty {
        Ty::Named(name) => name.clone(),
        Ty::Bool => "Boolean".into(),
        Ty::I32 | Ty::I64 => "Integer".into(),
        Ty::F64 => "Number".into(),
        Ty::String => "String".into(),
        Ty::List(_) => "List".into(),
        Ty::Map(_) | Ty::Unit => "Map".into(),
        Ty::Null => "Null".into(),
        Ty::Nullable(inner) => variant_name(inner, index),
        Ty::Any => format!("Variant{}", index + 1),
    }
}

/// The description of a schema.
pub fn describe(api: &Api, id: SchemaId) -> Option<&str> {
    let def = api.schemas.get(id);
    def.description.as_deref().or(def.title.as_deref())
}

/// A one-line summary of a schema's constraints, for doc comments and docs.
pub fn constraints(api: &Api, id: SchemaId) -> Option<String> {
    let def = api.schemas.get(id);
    let mut parts = Vec::new();
    let number = |n: f64| if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() };
    // "1 to 100 characters", "at least 1 item", "at most 64 items".
    let count = |min: Option<u64>, max: Option<u64>, noun: &str| {
        let plural = |n: u64| if n == 1 { noun.to_owned() } else { format!("{noun}s") };
        match (min, max) {
            (Some(min), Some(max)) if min == max => Some(format!("exactly {min} {}", plural(min))),
            (Some(min), Some(max)) => Some(format!("{min} to {max} {}", plural(max))),
            (Some(min), None) => Some(format!("at least {min} {}", plural(min))),
            (None, Some(max)) => Some(format!("at most {max} {}", plural(max))),
            (None, None) => None,
        }
    };
    match &def.shape {
        crate::schema::Shape::String(rules) => {
            parts.extend(count(rules.min_length, rules.max_length, "character"));
            if let Some(format) = &rules.format {
                parts.push(format!("format `{format}`"));
            }
            if let Some(pattern) = &rules.pattern {
                parts.push(format!("matches `{pattern}`"));
            }
        }
        crate::schema::Shape::Integer(rules) | crate::schema::Shape::Number(rules) => {
            if let Some(min) = rules.minimum {
                parts.push(format!("at least {}", number(min)));
            }
            if let Some(min) = rules.exclusive_minimum {
                parts.push(format!("more than {}", number(min)));
            }
            if let Some(max) = rules.maximum {
                parts.push(format!("at most {}", number(max)));
            }
            if let Some(max) = rules.exclusive_maximum {
                parts.push(format!("less than {}", number(max)));
            }
            if let Some(step) = rules.multiple_of {
                parts.push(format!("a multiple of {}", number(step)));
            }
        }
        crate::schema::Shape::Array(rules) => {
            parts.extend(count(rules.min_items, rules.max_items, "item"));
            if rules.unique {
                parts.push("items unique".into());
            }
        }
        crate::schema::Shape::Const(value) => parts.push(format!("always `{value}`")),
        _ => {}
    }
    if let Some(default) = &def.default {
        parts.push(format!("default `{default}`"));
    }
    (!parts.is_empty()).then(|| format!("Constraints: {}.", parts.join(", ")))
}

/// Splits a description into doc lines, trimming the trailing newline YAML leaves.
pub fn lines(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.trim_end().lines().map(str::to_owned).collect()).unwrap_or_default()
}

/// A Rust identifier for `name`, raw when it is a keyword.
pub fn ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "static", "struct", "trait", "true", "try", "type", "unsafe", "use", "where", "while", "yield", "abstract",
        "become", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual",
    ];
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    let cleaned = if cleaned.starts_with(|c: char| c.is_ascii_digit()) { format!("_{cleaned}") } else { cleaned };
    match cleaned.as_str() {
        "self" | "Self" | "super" | "crate" | "_" => format!("{cleaned}_"),
        _ if KEYWORDS.contains(&cleaned.as_str()) => format!("r#{cleaned}"),
        _ => cleaned,
    }
}
