//! Where each value of a YAML (or JSON) text is, by JSON pointer: the line
//! and column an editor, a terminal or a code-scanning UI jumps to. The
//! loader reads values with serde, which keeps no positions; this second
//! pass over the same text, at the level of the parser's events (saphyr's
//! parser marks each one), only locates them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use saphyr_parser::{Event, Parser};

/// A place in a text: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column (in characters), from 1.
    pub column: usize,
}

/// The position of every value of one text; a mapping's entry is at its key.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    found: HashMap<String, Position>,
    /// Keys a mapping has twice: the pointer and where it comes again. YAML
    /// forbids them, and a reader keeps one of the two silently.
    duplicates: Vec<(String, Position)>,
}

/// A collection being read: its pointer, and the key or index of the next entry.
enum Open {
    Mapping { pointer: String, key: Option<String> },
    Sequence { pointer: String, next: usize },
}

impl Positions {
    /// Locates the values of `text`. A text the parser stops on keeps what
    /// was located before the stop (the loader reports the syntax error).
    pub fn of(text: &str) -> Positions {
        let mut found = HashMap::new();
        let mut duplicates = Vec::new();
        let mut open: Vec<Open> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let here = Position { line: span.start.line(), column: span.start.col() + 1 };
            match event {
                Event::Scalar(value, ..) => {
                    place(&mut open, &mut found, &mut duplicates, here, Some(&value));
                }
                Event::Alias(_) => {
                    place(&mut open, &mut found, &mut duplicates, here, None);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    // A collection as a mapping key: not a document an
                    // AsyncAPI loader accepts; what came before stays located.
                    let Some(pointer) = place(&mut open, &mut found, &mut duplicates, here, None) else { break };
                    open.push(match event {
                        Event::MappingStart(..) => Open::Mapping { pointer, key: None },
                        _ => Open::Sequence { pointer, next: 0 },
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    open.pop();
                }
                _ => {}
            }
        }
        Positions { found, duplicates }
    }

    /// Every located pointer and its position.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Position)> {
        self.found.iter().map(|(pointer, position)| (pointer.as_str(), *position))
    }

    /// The entries whose key their mapping has already, each at its second key.
    pub fn duplicates(&self) -> &[(String, Position)] {
        &self.duplicates
    }

    /// The position of `pointer`, or of its nearest ancestor that has one
    /// (a value reached through an alias is at the alias).
    pub fn find(&self, pointer: &str) -> Option<Position> {
        let mut pointer = pointer;
        loop {
            if let Some(position) = self.found.get(pointer) {
                return Some(*position);
            }
            pointer = &pointer[..pointer.rfind('/')?];
        }
    }
}

/// Records the value that starts `here` and returns its pointer; `None` for
/// a mapping's key, which names the entry (located at the key) instead.
fn place(
    open: &mut [Open],
    found: &mut HashMap<String, Position>,
    duplicates: &mut Vec<(String, Position)>,
    here: Position,
    scalar: Option<&str>,
) -> Option<String> {
    let pointer = match open.last_mut() {
        None => String::new(),
        Some(Open::Mapping { pointer, key }) => match key.take() {
            None => {
                let name = scalar.unwrap_or_default();
                let entry = format!("{pointer}/{}", escape(name));
                match found.entry(entry) {
                    Entry::Occupied(taken) => duplicates.push((taken.key().clone(), here)),
                    Entry::Vacant(free) => {
                        free.insert(here);
                    }
                }
                *key = Some(name.to_owned());
                return None;
            }
            Some(name) => format!("{pointer}/{}", escape(&name)),
        },
        Some(Open::Sequence { pointer, next }) => {
            *next += 1;
            format!("{pointer}/{}", *next - 1)
        }
    };
    found.entry(pointer.clone()).or_insert(here);
    Some(pointer)
}

/// A key as a JSON pointer segment (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn entries_are_at_their_keys_and_items_where_they_start() {
        let text =
            "asyncapi: 3.0.0\nchannels:\n  user/read:\n    address: /ws\n    tags:\n      - name: a\n      - b\n";
        let positions = Positions::of(text);
        assert_eq!(positions.find(""), at(1, 1));
        assert_eq!(positions.find("/channels"), at(2, 1));
        assert_eq!(positions.find("/channels/user~1read"), at(3, 3));
        assert_eq!(positions.find("/channels/user~1read/address"), at(4, 5));
        assert_eq!(positions.find("/channels/user~1read/tags/0"), at(6, 9));
        assert_eq!(positions.find("/channels/user~1read/tags/1"), at(7, 9));
    }

    #[test]
    fn json_is_located_too_and_a_missing_pointer_falls_back_to_its_parent() {
        let text = "{\n  \"a\": {\"b\": [1,\n 2]}\n}";
        let positions = Positions::of(text);
        assert_eq!(positions.find("/a/b/1"), at(3, 2));
        assert_eq!(positions.find("/a/b/7/c"), positions.find("/a/b"));
        assert_eq!(positions.find("/a/b"), at(2, 9), "at its key");
    }

    #[test]
    fn a_key_a_mapping_has_twice_is_found_at_its_second_place() {
        let positions = Positions::of("a:\n  b: 1\n  c: 2\n  b: 3\nd: {b: 4}\n");
        assert_eq!(positions.duplicates(), [("/a/b".to_owned(), Position { line: 4, column: 3 })]);
    }

    #[test]
    fn a_text_that_does_not_parse_keeps_what_came_before() {
        let positions = Positions::of("a: 1\nb: [\n");
        assert_eq!(positions.find("/a"), at(1, 1));
    }
}
