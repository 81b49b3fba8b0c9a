//! Direction-aware comparison of two specs: every change is classified
//! breaking or compatible by who reads what changed.
//!
//! A schema change either *narrows* what is valid (a new required field, a
//! tighter bound, a removed enum value), *widens* it (the reverse), or
//! *replaces* it (a new type). Clients send the messages of `receive`
//! operations, so narrowing those breaks them; clients read replies and the
//! messages of `send` operations, so widening those breaks them. Replacing
//! breaks both. Operations are matched by key, messages by key.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Action, Api, MessageId, Operation};
use crate::schema::{Additional, Alternatives, ObjectRules, SchemaId, Shape};

/// Who reads a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server (a `receive` operation's message).
    Request,
    /// Server to client, answering a request.
    Reply,
    /// Server to client, pushed (a `send` operation's message).
    Event,
}

impl Direction {
    /// The word in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Reply => "reply",
            Direction::Event => "event",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The operation key (`*` for a message several operations share).
    pub operation: String,
    /// Which way the message travels.
    pub direction: Direction,
    /// The message key, or empty for a change to the operation itself.
    pub message: String,
    /// JSON pointer into the payload (`/payload/email`), `/headers/...` into
    /// the headers, empty for the message or operation itself.
    pub pointer: String,
    /// What changed.
    pub what: String,
    /// Whether existing clients break.
    pub breaking: bool,
}

/// The semver bump a client SDK needs for `changes`.
pub fn suggested_bump(changes: &[Change]) -> &'static str {
    if changes.iter().any(|c| c.breaking) {
        "major"
    } else if changes.is_empty() {
        "none"
    } else {
        "minor"
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Narrows,
    Widens,
    Replaces,
}

impl Effect {
    fn breaks(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (Effect::Replaces, _)
                | (Effect::Narrows, Direction::Request)
                | (Effect::Widens, Direction::Reply | Direction::Event)
        )
    }
}

/// Every change from `old` to `new`, classified for the clients of `old`.
pub fn diff(old: &Api, new: &Api) -> Vec<Change> {
    let mut out = Vec::new();
    let mut note = |operation: &str, direction: Direction, what: String, effect: Effect| {
        out.push(Change {
            operation: operation.to_owned(),
            direction,
            message: String::new(),
            pointer: String::new(),
            what,
            breaking: effect.breaks(direction),
        })
    };
    for op in &old.operations {
        let direction = first_direction(op);
        let Some(other) = new.operations.iter().find(|o| o.key == op.key) else {
            note(&op.key, direction, "operation removed".into(), Effect::Replaces);
            continue;
        };
        if op.action != other.action {
            note(
                &op.key,
                direction,
                format!("action changed from {:?} to {:?}", op.action, other.action),
                Effect::Replaces,
            );
            continue;
        }
        let (from, to) = (&old.channels[op.channel], &new.channels[other.channel]);
        if from.address != to.address {
            let show = |a: &Option<String>| a.clone().unwrap_or_else(|| "none".into());
            note(
                &op.key,
                direction,
                format!("address {} -> {}", show(&from.address), show(&to.address)),
                Effect::Replaces,
            );
        }
        match (op.security.is_empty(), other.security.is_empty()) {
            (true, false) => note(&op.key, Direction::Request, "now needs a credential".into(), Effect::Narrows),
            (false, true) => note(&op.key, Direction::Request, "no longer needs a credential".into(), Effect::Widens),
            _ => {}
        }
        let keys = |api: &Api, ids: &[MessageId]| ids.iter().map(|m| api.messages[*m].key.clone()).collect::<Vec<_>>();
        for (direction, a, b) in [
            (direction, keys(old, &op.messages), keys(new, &other.messages)),
            (
                Direction::Reply,
                keys(old, op.reply.as_ref().map_or(&[][..], |r| &r.messages)),
                keys(new, other.reply.as_ref().map_or(&[][..], |r| &r.messages)),
            ),
        ] {
            for key in a.iter().filter(|k| !b.contains(k)) {
                note(&op.key, direction, format!("message `{key}` removed"), Effect::Narrows);
            }
            for key in b.iter().filter(|k| !a.contains(k)) {
                note(&op.key, direction, format!("message `{key}` added"), Effect::Widens);
            }
        }
        match (op.reply.is_some(), other.reply.is_some()) {
            (true, false) => note(&op.key, Direction::Reply, "reply removed".into(), Effect::Replaces),
            (false, true) => note(&op.key, Direction::Reply, "reply added".into(), Effect::Widens),
            _ => {}
        }
    }
    for op in new.operations.iter().filter(|o| !old.operations.iter().any(|p| p.key == o.key)) {
        note(&op.key, first_direction(op), "operation added".into(), Effect::Widens);
    }
    // Each message once per direction, under the operation using it (or `*`).
    for (operation, direction, key) in message_uses(old) {
        let (Some(a), Some(b)) = (find(old, &key), find(new, &key)) else { continue };
        let mut walk = Walk { old, new, operation: &operation, direction, message: &key, out: &mut out };
        let (ma, mb) = (&old.messages[a], &new.messages[b]);
        walk.part("", ma.payload, mb.payload);
        walk.part("/headers", ma.headers, mb.headers);
    }
    for code in old.close_codes().iter().filter(|c| !new.close_codes().iter().any(|n| n.code == c.code)) {
        out.push(close_change(code.code, "no longer sent"));
    }
    for code in new.close_codes().iter().filter(|c| !old.close_codes().iter().any(|o| o.code == c.code)) {
        out.push(close_change(code.code, "now sent"));
    }
    out
}

/// Close codes: every client must handle any code (RFC 6455), so never breaking.
fn close_change(code: u16, what: &str) -> Change {
    Change {
        operation: "*".into(),
        direction: Direction::Event,
        message: String::new(),
        pointer: String::new(),
        what: format!("close code {code} {what}"),
        breaking: false,
    }
}

fn first_direction(op: &Operation) -> Direction {
    if op.action == Action::Receive { Direction::Request } else { Direction::Event }
}

fn find(api: &Api, key: &str) -> Option<MessageId> {
    api.messages.iter().position(|m| m.key == key)
}

/// (operation or `*`, direction, message key) of every message use in `api`.
fn message_uses(api: &Api) -> Vec<(String, Direction, String)> {
    let mut uses: Vec<(String, Direction, String)> = Vec::new();
    let mut add = |operation: &str, direction: Direction, message: MessageId| {
        let key = &api.messages[message].key;
        match uses.iter_mut().find(|(_, d, k)| *d == direction && k == key) {
            Some(existing) if existing.0 != operation => existing.0 = "*".into(),
            Some(_) => {}
            None => uses.push((operation.to_owned(), direction, key.clone())),
        }
    };
    for op in &api.operations {
        for message in &op.messages {
            add(&op.key, first_direction(op), *message);
        }
        for message in op.reply.iter().flat_map(|r| &r.messages) {
            add(&op.key, Direction::Reply, *message);
        }
    }
    uses
}

struct Walk<'a> {
    old: &'a Api,
    new: &'a Api,
    operation: &'a str,
    direction: Direction,
    message: &'a str,
    out: &'a mut Vec<Change>,
}

impl Walk<'_> {
    fn note(&mut self, pointer: &str, what: String, effect: Effect) {
        self.out.push(Change {
            operation: self.operation.to_owned(),
            direction: self.direction,
            message: self.message.to_owned(),
            pointer: pointer.to_owned(),
            what,
            breaking: effect.breaks(self.direction),
        });
    }

    /// A message's payload or headers.
    fn part(&mut self, pointer: &str, old: Option<SchemaId>, new: Option<SchemaId>) {
        let name = if pointer.is_empty() { "payload" } else { "headers" };
        match (old, new) {
            (Some(a), Some(b)) => self.schema(pointer, a, b, &mut Vec::new()),
            (None, Some(_)) => self.note(pointer, format!("{name} schema added"), Effect::Narrows),
            (Some(_), None) => self.note(pointer, format!("{name} schema removed"), Effect::Widens),
            (None, None) => {}
        }
    }

    fn schema(&mut self, pointer: &str, old: SchemaId, new: SchemaId, seen: &mut Vec<(SchemaId, SchemaId)>) {
        // Recursive schemas: each pair is compared once.
        if seen.contains(&(old, new)) {
            return;
        }
        seen.push((old, new));
        let (a, b) = (self.old.schemas.get(old), self.new.schemas.get(new));
        match (a.nullable, b.nullable) {
            (false, true) => self.note(pointer, "now nullable".into(), Effect::Widens),
            (true, false) => self.note(pointer, "no longer nullable".into(), Effect::Narrows),
            _ => {}
        }
        match (&a.shape, &b.shape) {
            (Shape::Object(x), Shape::Object(y)) => self.object(pointer, x, y, seen),
            (Shape::String(x), Shape::String(y)) => {
                self.bound(pointer, "minLength", x.min_length.map(|v| v as f64), y.min_length.map(|v| v as f64), true);
                self.bound(pointer, "maxLength", x.max_length.map(|v| v as f64), y.max_length.map(|v| v as f64), false);
                self.optional_rule(pointer, "pattern", x.pattern.as_deref(), y.pattern.as_deref());
                self.optional_rule(pointer, "format", x.format.as_deref(), y.format.as_deref());
            }
            (Shape::Integer(x), Shape::Integer(y)) | (Shape::Number(x), Shape::Number(y)) => {
                self.bound(pointer, "minimum", x.minimum, y.minimum, true);
                self.bound(pointer, "maximum", x.maximum, y.maximum, false);
                self.bound(pointer, "exclusiveMinimum", x.exclusive_minimum, y.exclusive_minimum, true);
                self.bound(pointer, "exclusiveMaximum", x.exclusive_maximum, y.exclusive_maximum, false);
            }
            (Shape::Array(x), Shape::Array(y)) => {
                self.bound(pointer, "minItems", x.min_items.map(|v| v as f64), y.min_items.map(|v| v as f64), true);
                self.bound(pointer, "maxItems", x.max_items.map(|v| v as f64), y.max_items.map(|v| v as f64), false);
                match (x.items, y.items) {
                    (Some(i), Some(j)) => self.schema(&format!("{pointer}/items"), i, j, seen),
                    (None, Some(_)) => self.note(pointer, "items now constrained".into(), Effect::Narrows),
                    (Some(_), None) => self.note(pointer, "items no longer constrained".into(), Effect::Widens),
                    (None, None) => {}
                }
            }
            (Shape::Enum(x), Shape::Enum(y)) => {
                for value in x.iter().filter(|v| !y.contains(v)) {
                    self.note(pointer, format!("enum value `{}` removed", show(value)), Effect::Narrows);
                }
                for value in y.iter().filter(|v| !x.contains(v)) {
                    self.note(pointer, format!("enum value `{}` added", show(value)), Effect::Widens);
                }
            }
            (Shape::Const(x), Shape::Const(y)) if x != y => {
                self.note(pointer, format!("constant changed from {x} to {y}"), Effect::Replaces)
            }
            (Shape::OneOf(x), Shape::OneOf(y)) | (Shape::AnyOf(x), Shape::AnyOf(y)) => {
                self.alternatives(pointer, x, y, seen)
            }
            (Shape::Integer(_), Shape::Number(_))
            | (Shape::Enum(_) | Shape::Const(_), Shape::String(_))
            | (_, Shape::Any) => self.note(
                pointer,
                format!("type widened from {} to {}", name(&a.shape), name(&b.shape)),
                Effect::Widens,
            ),
            (Shape::Number(_), Shape::Integer(_))
            | (Shape::String(_), Shape::Enum(_) | Shape::Const(_))
            | (Shape::Any, _) => self.note(
                pointer,
                format!("type narrowed from {} to {}", name(&a.shape), name(&b.shape)),
                Effect::Narrows,
            ),
            (x, y) if std::mem::discriminant(x) != std::mem::discriminant(y) => {
                self.note(pointer, format!("type changed from {} to {}", name(x), name(y)), Effect::Replaces)
            }
            _ => {}
        }
    }

    fn object(&mut self, pointer: &str, old: &ObjectRules, new: &ObjectRules, seen: &mut Vec<(SchemaId, SchemaId)>) {
        for property in &old.properties {
            let at = format!("{pointer}/{}", property.name);
            match new.properties.iter().find(|p| p.name == property.name) {
                None => self.note(&at, "property removed".into(), Effect::Replaces),
                Some(other) => {
                    match (property.required, other.required) {
                        (false, true) => self.note(&at, "now required".into(), Effect::Narrows),
                        (true, false) => self.note(&at, "now optional".into(), Effect::Widens),
                        _ => {}
                    }
                    self.schema(&at, property.schema, other.schema, seen);
                }
            }
        }
        for property in new.properties.iter().filter(|p| !old.properties.iter().any(|o| o.name == p.name)) {
            let at = format!("{pointer}/{}", property.name);
            if property.required {
                self.note(&at, "required property added".into(), Effect::Narrows);
            } else {
                self.note(&at, "optional property added".into(), Effect::Widens);
            }
        }
        match (old.additional, new.additional) {
            (Additional::Open, Additional::Closed) => {
                self.note(pointer, "unknown properties now rejected".into(), Effect::Narrows)
            }
            (Additional::Closed, Additional::Open) => {
                self.note(pointer, "unknown properties now allowed".into(), Effect::Widens)
            }
            (Additional::Schema(a), Additional::Schema(b)) => self.schema(&format!("{pointer}/*"), a, b, seen),
            (a, b) if a != b => self.note(pointer, "additionalProperties changed".into(), Effect::Replaces),
            _ => {}
        }
    }

    /// Tagged alternatives are matched by tag value, others by position.
    fn alternatives(
        &mut self,
        pointer: &str,
        old: &Alternatives,
        new: &Alternatives,
        seen: &mut Vec<(SchemaId, SchemaId)>,
    ) {
        match (&old.tag, &new.tag) {
            (Some(a), Some(b)) if a.property == b.property => {
                for (value, schema) in a.values.iter().zip(&old.variants) {
                    match b.values.iter().position(|v| v == value) {
                        None => self.note(pointer, format!("variant `{value}` removed"), Effect::Narrows),
                        Some(i) => self.schema(pointer, *schema, new.variants[i], seen),
                    }
                }
                for value in b.values.iter().filter(|v| !a.values.contains(v)) {
                    self.note(pointer, format!("variant `{value}` added"), Effect::Widens);
                }
            }
            _ => {
                for (i, (x, y)) in old.variants.iter().zip(&new.variants).enumerate() {
                    self.schema(&format!("{pointer}/oneOf/{i}"), *x, *y, seen);
                }
                if new.variants.len() > old.variants.len() {
                    self.note(pointer, "alternative added".into(), Effect::Widens);
                } else if new.variants.len() < old.variants.len() {
                    self.note(pointer, "alternative removed".into(), Effect::Narrows);
                }
            }
        }
    }

    /// A lower bound (`lower`) narrows when it rises; an upper bound when it falls.
    fn bound(&mut self, pointer: &str, keyword: &str, old: Option<f64>, new: Option<f64>, lower: bool) {
        let show = |v: Option<f64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let effect = match (old, new) {
            (None, None) => return,
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) => {
                if (b > a) == lower {
                    Effect::Narrows
                } else {
                    Effect::Widens
                }
            }
        };
        self.note(pointer, format!("{keyword} {} -> {}", show(old), show(new)), effect);
    }

    fn optional_rule(&mut self, pointer: &str, keyword: &str, old: Option<&str>, new: Option<&str>) {
        let effect = match (old, new) {
            (a, b) if a == b => return,
            (None, Some(_)) => Effect::Narrows,
            (Some(_), None) => Effect::Widens,
            _ => Effect::Replaces,
        };
        let show = |v: Option<&str>| v.map_or_else(|| "none".to_owned(), |v| format!("`{v}`"));
        self.note(pointer, format!("{keyword} {} -> {}", show(old), show(new)), effect);
    }
}

fn show(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn name(shape: &Shape) -> &'static str {
    match shape {
        Shape::Any => "any",
        Shape::Never => "nothing",
        Shape::Null => "null",
        Shape::Boolean => "boolean",
        Shape::Integer(_) => "integer",
        Shape::Number(_) => "number",
        Shape::String(_) => "string",
        Shape::Const(Value::String(_)) => "string constant",
        Shape::Const(_) => "constant",
        Shape::Enum(_) => "enum",
        Shape::Array(_) => "array",
        Shape::Object(_) => "object",
        Shape::OneOf(_) => "oneOf",
        Shape::AnyOf(_) => "anyOf",
        Shape::Union(_) => "type list",
    }
}
