//! Direction-aware comparison of two specs: every change inside a schema is
//! classified breaking or compatible depending on who reads the message.
//!
//! A schema change either *narrows* what is valid (a new required field, a tighter
//! bound, a removed enum value), *widens* it (the reverse), or *replaces* it (a new
//! type). Clients send requests, so narrowing a request breaks them; clients
//! receive replies and errors, so widening those breaks them. Replacing breaks both.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Api, Message};
use crate::schema::{Kind, ObjectRules, Schema, resolve};

/// Who reads a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Reply,
    /// Server to client, the shared error.
    Error,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The route (`*` for the shared error message).
    pub route: String,
    /// Which message.
    pub message: Direction,
    /// JSON pointer into the frame (`/payload/email`), empty for the route itself.
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

struct Walk<'a> {
    old: &'a Api,
    new: &'a Api,
    route: &'a str,
    direction: Direction,
    out: &'a mut Vec<Change>,
}

impl Walk<'_> {
    fn note(&mut self, pointer: &str, what: String, effect: Effect) {
        let breaking = matches!(
            (effect, self.direction),
            (Effect::Replaces, _)
                | (Effect::Narrows, Direction::Request)
                | (Effect::Widens, Direction::Reply | Direction::Error)
        );
        self.out.push(Change {
            route: self.route.to_owned(),
            message: self.direction,
            pointer: pointer.to_owned(),
            what,
            breaking,
        });
    }

    fn schema(&mut self, pointer: &str, old: &Schema, new: &Schema) {
        // Recursive schemas: stop descending past any sensible depth.
        if pointer.matches('/').count() > 32 {
            return;
        }
        let old = resolve(old, &self.old.schemas);
        let new = resolve(new, &self.new.schemas);
        match (old.nullable, new.nullable) {
            (false, true) => self.note(pointer, "now nullable".into(), Effect::Widens),
            (true, false) => self.note(pointer, "no longer nullable".into(), Effect::Narrows),
            _ => {}
        }
        match (&old.kind, &new.kind) {
            (Kind::Object(a), Kind::Object(b)) => self.object(pointer, a, b),
            (Kind::String(a), Kind::String(b)) => {
                self.bound(pointer, "minLength", a.min_length.map(|v| v as f64), b.min_length.map(|v| v as f64), true);
                self.bound(pointer, "maxLength", a.max_length.map(|v| v as f64), b.max_length.map(|v| v as f64), false);
                self.optional_rule(pointer, "pattern", a.pattern.as_deref(), b.pattern.as_deref());
                self.optional_rule(pointer, "format", a.format.as_deref(), b.format.as_deref());
            }
            (Kind::Integer(a), Kind::Integer(b)) => {
                self.bound(pointer, "minimum", a.minimum.map(|v| v as f64), b.minimum.map(|v| v as f64), true);
                self.bound(pointer, "maximum", a.maximum.map(|v| v as f64), b.maximum.map(|v| v as f64), false);
            }
            (Kind::Number(a), Kind::Number(b)) => {
                self.bound(pointer, "minimum", a.minimum, b.minimum, true);
                self.bound(pointer, "maximum", a.maximum, b.maximum, false);
            }
            (Kind::Array(a), Kind::Array(b)) => {
                self.bound(pointer, "minItems", a.min_items.map(|v| v as f64), b.min_items.map(|v| v as f64), true);
                self.bound(pointer, "maxItems", a.max_items.map(|v| v as f64), b.max_items.map(|v| v as f64), false);
                self.schema(&format!("{pointer}/items"), &a.items, &b.items);
            }
            (Kind::Enum(a), Kind::Enum(b)) => {
                for value in a.iter().filter(|v| !b.contains(v)) {
                    self.note(pointer, format!("enum value `{value}` removed"), Effect::Narrows);
                }
                for value in b.iter().filter(|v| !a.contains(v)) {
                    self.note(pointer, format!("enum value `{value}` added"), Effect::Widens);
                }
            }
            (Kind::Const(a), Kind::Const(b)) if a != b => {
                self.note(pointer, format!("constant changed from {a} to {b}"), Effect::Replaces)
            }
            (Kind::Tagged(a), Kind::Tagged(b)) => {
                for variant in &a.variants {
                    match b.variants.iter().find(|v| v.value == variant.value) {
                        None => self.note(pointer, format!("variant `{}` removed", variant.value), Effect::Narrows),
                        Some(other) => self.object(pointer, &variant.object, &other.object),
                    }
                }
                for variant in b.variants.iter().filter(|v| !a.variants.iter().any(|o| o.value == v.value)) {
                    self.note(pointer, format!("variant `{}` added", variant.value), Effect::Widens);
                }
            }
            (Kind::Integer(_), Kind::Number(_))
            | (Kind::Enum(_) | Kind::Const(_), Kind::String(_))
            | (_, Kind::Any) => self.note(
                pointer,
                format!("type widened from {} to {}", name(&old.kind), name(&new.kind)),
                Effect::Widens,
            ),
            (Kind::Number(_), Kind::Integer(_))
            | (Kind::String(_), Kind::Enum(_) | Kind::Const(_))
            | (Kind::Any, _) => self.note(
                pointer,
                format!("type narrowed from {} to {}", name(&old.kind), name(&new.kind)),
                Effect::Narrows,
            ),
            (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
                self.note(pointer, format!("type changed from {} to {}", name(a), name(b)), Effect::Replaces)
            }
            _ => {}
        }
    }

    fn object(&mut self, pointer: &str, old: &ObjectRules, new: &ObjectRules) {
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
                    self.schema(&at, &property.schema, &other.schema);
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
        match (old.closed, new.closed) {
            (false, true) => self.note(pointer, "unknown properties now rejected".into(), Effect::Narrows),
            (true, false) => self.note(pointer, "unknown properties now allowed".into(), Effect::Widens),
            _ => {}
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

    fn message(&mut self, old: &Message, new: &Message) {
        self.object("", &old.frame, &new.frame);
    }
}

fn name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Ref(_) => "reference",
        Kind::Any => "any",
        Kind::Boolean => "boolean",
        Kind::Integer(_) => "integer",
        Kind::Number(_) => "number",
        Kind::String(_) => "string",
        Kind::Const(Value::String(_)) => "string constant",
        Kind::Const(_) => "constant",
        Kind::Enum(_) => "enum",
        Kind::Array(_) => "array",
        Kind::Object(_) => "object",
        Kind::Tagged(_) => "tagged union",
    }
}

/// Every change from `old` to `new`, classified for the clients of `old`.
pub fn diff(old: &Api, new: &Api) -> Vec<Change> {
    let mut out = Vec::new();
    for route in &old.routes {
        let Some(other) = new.routes.iter().find(|r| r.channel == route.channel) else {
            out.push(Change {
                route: route.channel.clone(),
                message: Direction::Request,
                pointer: String::new(),
                what: "route removed".into(),
                breaking: true,
            });
            continue;
        };
        match (&route.security, &other.security) {
            (None, Some(_)) => out.push(Change {
                route: route.channel.clone(),
                message: Direction::Request,
                pointer: String::new(),
                what: "now needs a token".into(),
                breaking: true,
            }),
            (Some(_), None) => out.push(Change {
                route: route.channel.clone(),
                message: Direction::Request,
                pointer: String::new(),
                what: "no longer needs a token".into(),
                breaking: false,
            }),
            _ => {}
        }
        for (direction, a, b) in
            [(Direction::Request, &route.request, &other.request), (Direction::Reply, &route.reply, &other.reply)]
        {
            Walk { old, new, route: &route.channel, direction, out: &mut out }.message(a, b);
        }
    }
    for route in new.routes.iter().filter(|r| !old.routes.iter().any(|o| o.channel == r.channel)) {
        out.push(Change {
            route: route.channel.clone(),
            message: Direction::Request,
            pointer: String::new(),
            what: "route added".into(),
            breaking: false,
        });
    }
    Walk { old, new, route: "*", direction: Direction::Error, out: &mut out }
        .message(&old.error.message, &new.error.message);
    out
}
