//! Reading an AsyncAPI document: YAML (or JSON) files into JSON trees, walked
//! by [`Node`]s that know their file, their JSON pointer and their YAML path.
//!
//! `$ref`s are local (`#/components/...`) or relative files
//! (`common/messages.yaml#/components/messages/x`, resolved against the
//! referencing file); every file reached is loaded once, up front, so the rest
//! of the loader works on an immutable set. Remote (`http(s)://`) references
//! are refused: specserve builds offline and reproducibly.

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::locate::{Position, Positions};
use crate::diagnostics::{At, Result, SpecError};

pub mod locate;
pub mod official;
mod v2;

pub use v2::Loss;

/// Where a value lives: a file of the set and a JSON pointer in it. Two
/// references to the same place resolve to the same `Loc`, which is how the
/// model gives one message or schema one id however often it is referenced.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// Index of the file in its [`Documents`] (0 is the root document).
    pub file: usize,
    /// JSON pointer inside that file.
    pub pointer: String,
}

#[derive(Debug)]
struct File {
    /// How errors name the file (relative to the root document's folder).
    name: String,
    path: Option<PathBuf>,
    value: Value,
    /// For a converted 2.x root: where each rewritten place came from, so
    /// problems name the document's own paths.
    moved: Vec<(String, String)>,
    /// For a converted 2.x root: the document as written (what is served).
    original: Option<Value>,
    /// Where each value is in the file's text (of the document as written).
    positions: Positions,
}

/// The root document and every file its references reach.
#[derive(Debug)]
pub struct Documents {
    files: Vec<File>,
    /// The `asyncapi` version of a 2.x root read as 3.0.
    converted_from: Option<String>,
    /// What that conversion could not carry over.
    losses: Vec<Loss>,
}

impl Documents {
    /// Parses one in-memory document. Relative-file references cannot be
    /// followed from it; use [`Documents::load`] or [`Documents::parse_in`].
    pub fn parse(text: &str) -> Result<Documents> {
        Documents::from_root(text, None)
    }

    /// Reads the document at `path` and every file its `$ref`s reach.
    pub fn load(path: &Path) -> Result<Documents> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::new("", format!("cannot read {}: {e}", path.display())))?;
        Documents::from_root(&text, Some(path.to_owned()))
    }

    /// Parses `text` as a document in folder `dir`, so relative references
    /// resolve against it.
    pub fn parse_in(text: &str, dir: &Path) -> Result<Documents> {
        Documents::from_root(text, Some(dir.join("asyncapi.yaml")))
    }

    fn from_root(text: &str, path: Option<PathBuf>) -> Result<Documents> {
        let value = parse_text(text, "")?;
        let positions = Positions::of(text);
        refuse_duplicate_keys(&positions, path.as_deref())?;
        let root = File { name: String::new(), path, value, moved: Vec::new(), original: None, positions };
        let mut docs = Documents { files: vec![root], converted_from: None, losses: Vec::new() };
        let mut next = 0;
        while next < docs.files.len() {
            let base = docs.files[next].path.clone();
            for target in file_refs(&docs.files[next].value) {
                docs.file_index(base.as_deref(), &target, docs.files[next].name.clone().as_str())?;
            }
            next += 1;
        }
        if v2::is_v2(&docs.files[0].value) {
            docs.read_v2_as_v3();
        }
        Ok(docs)
    }

    /// Rewrites a 2.x root as 3.0 (see [`v2`]), keeping the document as
    /// written to serve and to name places in.
    fn read_v2_as_v3(&mut self) {
        let written = &self.files[0].value;
        let version = written.get("asyncapi").and_then(Value::as_str).map(str::to_owned);
        let resolve = |reference: &str| self.follow(0, reference).ok().map(|node| node.value().clone());
        let conversion = v2::to_v3(written, &resolve);
        self.converted_from = version;
        self.losses = conversion.losses;
        let root = &mut self.files[0];
        root.original = Some(std::mem::replace(&mut root.value, conversion.value));
        root.moved = conversion.moved;
    }

    /// The index of the file `target` names relative to `from`, loading it if new.
    fn file_index(&mut self, from: Option<&Path>, target: &str, at: &str) -> Result<usize> {
        if target.contains("://") {
            return Err(SpecError::new(at, format!("`{target}` is a remote reference"))
                .hint("download it beside the document and reference it by relative path"));
        }
        let Some(from) = from else {
            return Err(SpecError::new(at, format!("`{target}` is a file reference, but the document has no folder"))
                .hint("load the document from its file so references resolve against its folder"));
        };
        let path = from.parent().unwrap_or(Path::new("")).join(target);
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(i) = self.files.iter().position(|f| {
            f.path.as_ref().map(|p| p.canonicalize().unwrap_or_else(|_| p.clone())) == Some(canonical.clone())
        }) {
            return Ok(i);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SpecError::new(at, format!("cannot read referenced file {}: {e}", path.display())))?;
        let root_dir = self.files[0].path.as_deref().and_then(Path::parent).unwrap_or(Path::new(""));
        let name = path.strip_prefix(root_dir).unwrap_or(&path).display().to_string();
        let value = parse_text(&text, &name)?;
        let positions = Positions::of(&text);
        refuse_duplicate_keys(&positions, Some(&path))?;
        self.files.push(File { name, path: Some(path), value, moved: Vec::new(), original: None, positions });
        Ok(self.files.len() - 1)
    }

    /// The root document.
    pub fn root(&self) -> Node<'_> {
        Node { docs: self, file: 0, value: &self.files[0].value, pointer: String::new(), path: String::new() }
    }

    /// The node at `loc`, if it exists. A pointer that passes through a
    /// `$ref` (`#/channels/echo/messages/x` where `channels.echo` is a
    /// reference) continues in the reference's target, as the official
    /// parser's dereferenced document does.
    pub fn at(&self, loc: &Loc) -> Option<Node<'_>> {
        let file = self.files.get(loc.file)?;
        if let Some(value) = if loc.pointer.is_empty() { Some(&file.value) } else { file.value.pointer(&loc.pointer) } {
            return Some(Node {
                docs: self,
                file: loc.file,
                value,
                pointer: loc.pointer.clone(),
                path: self.shown(loc.file, &loc.pointer),
            });
        }
        let mut node =
            Node { docs: self, file: loc.file, value: &file.value, pointer: String::new(), path: String::new() };
        for raw in loc.pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            node = match node.child(&key) {
                Some(child) => child,
                None => self.resolve(&node).ok()?.child(&key)?,
            };
        }
        Some(node)
    }

    /// The `asyncapi` version of a 2.x document that was read as 3.0.
    pub fn converted_from(&self) -> Option<&str> {
        self.converted_from.as_deref()
    }

    /// What reading a 2.x document as 3.0 could not carry over, each with
    /// its dotted path in the document as written.
    pub fn conversion_losses(&self) -> impl Iterator<Item = (String, &Loss)> {
        self.losses.iter().map(|loss| (dotted("", &loss.pointer), loss))
    }

    /// How problems name `pointer` in `file`: its dotted path in the file as
    /// written (for a converted 2.x root, where the place came from).
    /// Where the value at `pointer` of file `file` is written (its line and
    /// column in the file as written: a converted 2.x root's own place).
    pub fn position(&self, file: usize, pointer: &str) -> Option<At> {
        let f = self.files.get(file)?;
        let pointer = if f.moved.is_empty() { pointer.to_owned() } else { v2::origin(&f.moved, pointer) };
        self.position_written(file, &pointer)
    }

    /// Where each place is, by the dotted path problems name it with: how
    /// a problem found in the model, which keeps paths rather than
    /// pointers, is placed ([`Diagnostics::place`](crate::Diagnostics::place)).
    pub fn positions_by_path(&self) -> std::collections::HashMap<String, At> {
        let mut by_path = std::collections::HashMap::new();
        for f in &self.files {
            for (pointer, Position { line, column }) in f.positions.iter() {
                by_path.insert(dotted(&f.name, pointer), At { file: f.path.clone(), line, column });
            }
        }
        by_path
    }

    /// Where `pointer` of file `file` as written is.
    fn position_written(&self, file: usize, pointer: &str) -> Option<At> {
        let f = self.files.get(file)?;
        let Position { line, column } = f.positions.find(pointer)?;
        Some(At { file: f.path.clone(), line, column })
    }

    fn shown(&self, file: usize, pointer: &str) -> String {
        let Some(f) = self.files.get(file) else { return dotted("", pointer) };
        if f.moved.is_empty() {
            return dotted(&f.name, pointer);
        }
        dotted(&f.name, &v2::origin(&f.moved, pointer))
    }

    /// `loc` as a JSON pointer into the document as written: a converted
    /// 2.x root's own places, `file.yaml#/pointer` in another file.
    pub fn written_pointer(&self, loc: &Loc) -> String {
        let Some(f) = self.files.get(loc.file) else { return loc.pointer.clone() };
        let pointer = if f.moved.is_empty() { loc.pointer.clone() } else { v2::origin(&f.moved, &loc.pointer) };
        let pointer = if pointer.is_empty() { "/".to_owned() } else { pointer };
        if f.name.is_empty() { pointer } else { format!("{}#{pointer}", f.name) }
    }

    /// Whether the document is more than its root file.
    pub fn is_multi_file(&self) -> bool {
        self.files.len() > 1
    }

    /// The root document standing alone: every reference into another file
    /// replaced by what it points at (and that, in turn, by what its own
    /// references reach), so a client fetching `/asyncapi.yaml` gets the
    /// whole contract. References within the root file, and references from
    /// other files back into it, stay (or become) `#/...` references, so
    /// recursive schemas stay references. A cycle through other files is
    /// refused: it cannot be written out without references.
    /// A converted 2.x document is bundled as written, in 2.x.
    pub fn bundled(&self) -> Result<Value> {
        let root = &self.files[0];
        self.inline(0, root.original.as_ref().unwrap_or(&root.value), &mut Vec::new())
    }

    fn inline(&self, file: usize, value: &Value, within: &mut Vec<Loc>) -> Result<Value> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    if file == 0 && reference.starts_with('#') {
                        return Ok(value.clone());
                    }
                    let from = Node {
                        docs: self,
                        file,
                        value: &self.files[file].value,
                        pointer: String::new(),
                        path: self.files[file].name.clone(),
                    };
                    let target = self.lookup(&from, reference)?;
                    if target.file == 0 {
                        return Ok(serde_json::json!({ "$ref": format!("#{}", target.pointer) }));
                    }
                    let loc = target.loc();
                    if within.contains(&loc) {
                        return Err(from
                            .error(format!("`$ref: {reference}` is part of a cycle through other files"))
                            .hint("move the recursive definition into the root document's components"));
                    }
                    within.push(loc);
                    let inlined = self.inline(target.file, target.value, within);
                    within.pop();
                    return inlined;
                }
                let mut out = serde_json::Map::new();
                for (key, item) in map {
                    out.insert(key.clone(), self.inline(file, item, within)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items.iter().map(|item| self.inline(file, item, within)).collect(),
            other => Ok(other.clone()),
        }
    }

    /// The file a location is in, as errors name it (empty for the root).
    pub fn file_name(&self, file: usize) -> &str {
        self.files.get(file).map_or("", |f| f.name.as_str())
    }

    /// Follows `$ref` from `node` (transitively) to the node that says what it is.
    pub fn resolve<'a>(&'a self, node: &Node<'a>) -> Result<Node<'a>> {
        let mut current = node.clone();
        for _ in 0..64 {
            let Some(reference) = current.ref_target()? else { return Ok(current) };
            current = self.lookup(&current, reference)?;
        }
        Err(node.error("`$ref` chain is too long or circular"))
    }

    /// Resolves `reference` (a `$ref` value written in file `file`) to the node
    /// that says what it is, following further references.
    pub fn follow(&self, file: usize, reference: &str) -> Result<Node<'_>> {
        let from = self
            .at(&Loc { file, pointer: String::new() })
            .ok_or_else(|| SpecError::new("", "reference from an unknown file"))?;
        let target = self.lookup(&from, reference)?;
        self.resolve(&target)
    }

    fn lookup<'a>(&'a self, from: &Node<'a>, reference: &str) -> Result<Node<'a>> {
        if reference.split('#').next().is_some_and(|file| file.contains("://")) {
            return Err(from
                .error(format!("`$ref: {reference}` is a remote reference"))
                .hint("download it beside the document and reference it by relative path"));
        }
        let loc = self
            .locate(from.file, reference)
            .ok_or_else(|| from.error(format!("`$ref: {reference}` names a file that was not loaded")))?;
        self.at(&loc).ok_or_else(|| {
            from.error(format!("`$ref: {reference}` points at nothing"))
                .hint("define the target or correct the reference")
                .rule("invalid-ref")
        })
    }

    /// Where `reference`, written in `file`, points: its file (one of the
    /// set) and the pointer in it.
    fn locate(&self, file: usize, reference: &str) -> Option<Loc> {
        let (file_part, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            file
        } else {
            let base = self.files[file].path.as_deref().and_then(Path::parent).unwrap_or(Path::new(""));
            let wanted = base.join(file_part);
            let wanted = wanted.canonicalize().unwrap_or(wanted);
            self.files.iter().position(|f| {
                f.path.as_ref().map(|p| p.canonicalize().unwrap_or_else(|_| p.clone())) == Some(wanted.clone())
            })?
        };
        Some(Loc { file, pointer: pointer.to_owned() })
    }

    /// A file's tree as written (a converted 2.x root as it was).
    fn written(&self, file: usize) -> &Value {
        let f = &self.files[file];
        f.original.as_ref().unwrap_or(&f.value)
    }

    /// The value at `loc` in the files as written, following `$ref`s the
    /// pointer passes through.
    fn written_at(&self, loc: &Loc, depth: usize) -> Option<(usize, &Value)> {
        self.walk_written(loc, false, depth).map(|(at, value)| (at.file, value))
    }

    /// Where the value at `pointer` of the [dereferenced](Self::dereferenced)
    /// document is written, as problems name places: a violation inside a
    /// referenced schema is reported once, where the schema is.
    pub fn written_path(&self, pointer: &str) -> String {
        match self.written_loc(pointer) {
            Some(at) => dotted(self.file_name(at.file), &at.pointer),
            None => dotted("", pointer),
        }
    }

    /// Where [`Self::written_path`]'s place is in its file's text.
    pub fn written_position(&self, pointer: &str) -> Option<At> {
        self.written_loc(pointer).and_then(|at| self.position_written(at.file, &at.pointer))
    }

    /// The place in the files as written of `pointer` of the dereferenced document.
    fn written_loc(&self, pointer: &str) -> Option<Loc> {
        let root = Loc { file: 0, pointer: pointer.to_owned() };
        let (mut at, mut value) = self.walk_written(&root, true, 0)?;
        self.follow_written(&mut at, &mut value, 0);
        Some(at)
    }

    /// Walks `loc`'s pointer through the files as written, going through a
    /// `$ref` wherever the pointer continues past one; returns where it ended
    /// and the value there. With `partial`, a pointer that leads nowhere
    /// stops at the deepest place that exists rather than failing.
    fn walk_written(&self, loc: &Loc, partial: bool, depth: usize) -> Option<(Loc, &Value)> {
        let mut at = Loc { file: loc.file, pointer: String::new() };
        let mut value = self.written(loc.file);
        for raw in loc.pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            let mut child = child_value(value, &key);
            if child.is_none() && depth < 16 {
                self.follow_written(&mut at, &mut value, depth + 1);
                child = child_value(value, &key);
            }
            match child {
                Some(child) => {
                    at.pointer = format!("{}/{raw}", at.pointer);
                    value = child;
                }
                None if partial => break,
                None => return None,
            }
        }
        Some((at, value))
    }

    /// Moves (`at`, `value`) from a `$ref` to what it points at, transitively.
    fn follow_written<'a>(&'a self, at: &mut Loc, value: &mut &'a Value, depth: usize) {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else { break };
            let Some(target) = self.locate(at.file, reference) else { break };
            let Some((target_at, target)) = self.walk_written(&target, false, depth) else { break };
            (*at, *value) = (target_at, target);
        }
    }

    /// The document as written with every `$ref` replaced by what it points
    /// at, as the official parser validates it; a reference back into what
    /// it is inside (a recursive schema) stays a reference. A reference to
    /// nothing stays too: the loader reports it.
    pub fn dereferenced(&self) -> Value {
        self.expand(0, self.written(0), &mut Vec::new())
    }

    fn expand(&self, file: usize, value: &Value, within: &mut Vec<Loc>) -> Value {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let Some(loc) = self.locate(file, reference) else { return value.clone() };
                    if within.contains(&loc) {
                        return value.clone();
                    }
                    let Some((target_file, target)) = self.written_at(&loc, 0) else { return value.clone() };
                    within.push(loc);
                    let expanded = self.expand(target_file, target, within);
                    within.pop();
                    return expanded;
                }
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.expand(file, v, within))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.expand(file, v, within)).collect()),
            other => other.clone(),
        }
    }
}

/// The child of a mapping (by key) or a sequence (by index).
fn child_value<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// YAML or JSON text to a JSON tree (which must be a mapping).
fn parse_text(text: &str, file: &str) -> Result<Value> {
    let value: Value = serde_norway::from_str(text).map_err(|e| {
        SpecError::new(file, format!("not a valid YAML document: {e}"))
            .hint("AsyncAPI documents are YAML or JSON objects with string keys")
    })?;
    if !value.is_object() {
        return Err(SpecError::new(file, "the document must be a mapping"));
    }
    Ok(value)
}

/// The distinct file parts of every `$ref` in `value`.
fn file_refs(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let file = target.split('#').next().unwrap_or_default();
                    if !file.is_empty() && !found.iter().any(|f| f == file) {
                        found.push(file.to_owned());
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// `components.schemas.User` from `/components/schemas/User`, prefixed with the
/// file for files other than the root.
fn dotted(file: &str, pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let key = segment.replace("~1", "/").replace("~0", "~");
        if key.chars().all(|c| c.is_ascii_digit()) && !path.is_empty() {
            path.push_str(&format!("[{key}]"));
            continue;
        }
        if !path.is_empty() {
            path.push('.');
        }
        if key.contains('.') || key.contains(' ') || key.contains('/') {
            path.push_str(&format!("\"{key}\""));
        } else {
            path.push_str(&key);
        }
    }
    if file.is_empty() { path } else { format!("{file}:{path}") }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A position in the document set: a value and where it is.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    docs: &'a Documents,
    file: usize,
    value: &'a Value,
    pointer: String,
    path: String,
}

impl<'a> Node<'a> {
    /// The JSON value here.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// The dotted YAML path of this node, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where this node is.
    pub fn loc(&self) -> Loc {
        Loc { file: self.file, pointer: self.pointer.clone() }
    }

    /// The document set.
    pub fn documents(&self) -> &'a Documents {
        self.docs
    }

    /// The last key of the path: the name this node is stored under.
    pub fn key(&self) -> String {
        self.pointer.rsplit('/').next().unwrap_or_default().replace("~1", "/").replace("~0", "~")
    }

    /// An error located here.
    pub fn error(&self, message: impl Into<String>) -> SpecError {
        SpecError::new(self.path.clone(), message).at(self.docs.position(self.file, &self.pointer))
    }

    /// A warning located here.
    pub fn warning(&self, message: impl Into<String>) -> SpecError {
        SpecError::warning(self.path.clone(), message).at(self.docs.position(self.file, &self.pointer))
    }

    /// This node with `$ref`s followed.
    pub fn resolve(&self) -> Result<Node<'a>> {
        self.docs.resolve(self)
    }

    /// The `$ref` string, if this node is a reference.
    pub fn ref_target(&self) -> Result<Option<&'a str>> {
        match self.value.get("$ref") {
            None => Ok(None),
            Some(Value::String(target)) => Ok(Some(target)),
            Some(_) => Err(self.error("`$ref` must be a string")),
        }
    }

    /// The child under `key`, if this is a mapping that has it.
    pub fn child(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key)?;
        let pointer = format!("{}/{}", self.pointer, escape(key));
        let path = self.docs.shown(self.file, &pointer);
        Some(Node { docs: self.docs, file: self.file, value, pointer, path })
    }

    /// The child under `key`, or an error naming it.
    pub fn required(&self, key: &str) -> Result<Node<'a>> {
        self.child(key).ok_or_else(|| self.error(format!("`{key}` is required here")))
    }

    /// The entries of this mapping, in document order.
    pub fn entries(&self) -> Result<Vec<(String, Node<'a>)>> {
        let map = self.value.as_object().ok_or_else(|| self.error("expected a mapping"))?;
        Ok(map.keys().filter_map(|key| self.child(key).map(|node| (key.clone(), node))).collect())
    }

    /// The items of this sequence.
    pub fn items(&self) -> Result<Vec<Node<'a>>> {
        let items = self.value.as_array().ok_or_else(|| self.error("expected a sequence"))?;
        Ok((0..items.len())
            .map(|i| {
                let pointer = format!("{}/{i}", self.pointer);
                let path = self.docs.shown(self.file, &pointer);
                Node { docs: self.docs, file: self.file, value: &items[i], pointer, path }
            })
            .collect())
    }

    /// This node as a string.
    pub fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.error("expected a string"))
    }

    /// The string under `key`, if present.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        self.child(key).map(|n| n.str()).transpose()
    }

    /// The boolean under `key`, if present.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.child(key).map(|n| n.value().as_bool().ok_or_else(|| n.error("expected true or false"))).transpose()
    }

    /// Extension keys (`x-specserve-...`) this node has that are not in `known`:
    /// typos until proven otherwise. Other `x-` keys belong to other tools and
    /// are ignored.
    pub fn unknown_extensions(&self, known: &[&str]) -> Vec<SpecError> {
        let Some(map) = self.value.as_object() else { return Vec::new() };
        map.keys()
            .filter(|k| k.starts_with("x-specserve-") && !known.contains(&k.as_str()))
            .filter_map(|k| self.child(k))
            .map(|node| {
                let hint = if known.is_empty() {
                    "specserve reads no extension here".to_owned()
                } else {
                    format!(
                        "specserve reads {} here",
                        known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    )
                };
                node.error(format!("`{}` is not a specserve extension", node.key())).hint(hint)
            })
            .collect()
    }
}

/// The file `path` as the error messages of a loaded set show it.
pub fn display_path(docs: &Documents, loc: &Loc) -> String {
    docs.shown(loc.file, &loc.pointer)
}

/// Reads a path relative to a document set's root folder (scaffolds copy files).
pub fn root_dir(docs: &Documents) -> Option<PathBuf> {
    docs.files[0].path.as_deref().and_then(Path::parent).map(Path::to_path_buf)
}

/// Every file of the set but the root, as (name relative to the root's folder, path).
pub fn referenced_files(docs: &Documents) -> Vec<(String, PathBuf)> {
    docs.files.iter().skip(1).filter_map(|f| f.path.clone().map(|p| (f.name.clone(), p))).collect()
}

/// A key a mapping has twice is an error: YAML forbids it (the official
/// parser refuses it too), and reading on would keep one of the two
/// definitions silently.
fn refuse_duplicate_keys(positions: &Positions, file: Option<&Path>) -> Result<()> {
    let Some((pointer, at)) = positions.duplicates().first() else { return Ok(()) };
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let key = key.replace("~1", "/").replace("~0", "~");
    let path = parent.trim_start_matches('/').replace('/', ".");
    let error = SpecError::new(path, format!("`{key}` is a key of this mapping twice"))
        .hint("YAML keys are unique: rename or merge one of the two")
        .at(Some(crate::diagnostics::At { file: file.map(Path::to_owned), line: at.line, column: at.column }));
    Err(error)
}
