//! The breaking-change report, direction by direction: each change kind is a
//! fixture pair (an edit of tests/apis/minimal.yaml) checked both ways.

use specserve_codegen::Api;
use specserve_codegen::diff::{Change, Direction, diff, suggested_bump};

const MINIMAL: &str = include_str!("apis/minimal.yaml");
const EXTRA_ROUTE: &str = include_str!("apis/extra_route.yaml");

fn edit(edits: &[(&str, &str)]) -> String {
    let mut text = MINIMAL.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

fn changes(old: &str, new: &str) -> Vec<Change> {
    diff(&Api::from_yaml(old).unwrap(), &Api::from_yaml(new).unwrap())
}

/// Asserts exactly one change, with these properties.
fn only(changes: &[Change], message: Direction, pointer: &str, what: &str, breaking: bool) {
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!((change.message, change.pointer.as_str(), change.breaking), (message, pointer, breaking), "{change:#?}");
    assert!(change.what.contains(what), "{change:#?}");
}

const REQUIRED_TAG: &[(&str, &str)] = &[
    (
        "      required: [id]\n      properties:\n        id: {type: integer, format: int64, minimum: 1, description: The item's id.}",
        "      required: [id, tag]\n      properties:\n        id: {type: integer, format: int64, minimum: 1, description: The item's id.}\n        tag: {type: string}",
    ),
    ("payload: {id: 1}}", "payload: {id: 1, tag: t}}"),
];

#[test]
fn identical_specs_have_no_changes() {
    assert!(changes(MINIMAL, MINIMAL).is_empty());
    assert_eq!(suggested_bump(&[]), "none");
}

#[test]
fn request_required_property_added_breaks_and_its_removal_breaks_too() {
    let with_tag = edit(REQUIRED_TAG);
    only(&changes(MINIMAL, &with_tag), Direction::Request, "/payload/tag", "required property added", true);
    only(&changes(&with_tag, MINIMAL), Direction::Request, "/payload/tag", "property removed", true);
}

#[test]
fn request_optional_property_added_is_compatible() {
    let optional = edit(&[(
        "        id: {type: integer, format: int64, minimum: 1, description: The item's id.}",
        "        id: {type: integer, format: int64, minimum: 1, description: The item's id.}\n        note: {type: string}",
    )]);
    let found = changes(MINIMAL, &optional);
    only(&found, Direction::Request, "/payload/note", "optional property added", false);
    assert_eq!(suggested_bump(&found), "minor");
}

#[test]
fn request_constraint_tightened_breaks_loosened_is_compatible() {
    let tighter =
        edit(&[("minimum: 1, description", "minimum: 5, description"), ("payload: {id: 1}}", "payload: {id: 5}}")]);
    let found = changes(MINIMAL, &tighter);
    only(&found, Direction::Request, "/payload/id", "minimum 1 -> 5", true);
    assert_eq!(suggested_bump(&found), "major");
    only(&changes(&tighter, MINIMAL), Direction::Request, "/payload/id", "minimum 5 -> 1", false);
}

#[test]
fn request_type_widened_is_compatible_narrowed_breaks() {
    let number = edit(&[(
        "id: {type: integer, format: int64, minimum: 1, description",
        "id: {type: number, minimum: 1, description",
    )]);
    only(&changes(MINIMAL, &number), Direction::Request, "/payload/id", "type widened from integer to number", false);
    only(&changes(&number, MINIMAL), Direction::Request, "/payload/id", "type narrowed from number to integer", true);
}

#[test]
fn reply_property_removed_breaks_added_is_compatible() {
    let without_label = edit(&[
        ("      required: [channel, id, label]", "      required: [channel, id]"),
        ("        label: {type: string, description: What the item is called.}\n", ""),
        ("payload: {channel: item/get, id: 1, label: first}", "payload: {channel: item/get, id: 1}"),
    ]);
    only(&changes(MINIMAL, &without_label), Direction::Reply, "/label", "property removed", true);
    only(&changes(&without_label, MINIMAL), Direction::Reply, "/label", "required property added", false);
}

#[test]
fn reply_type_widened_breaks_narrowed_is_compatible() {
    let wider = edit(&[(
        "        id: {type: integer, format: int64}\n        label",
        "        id: {type: number}\n        label",
    )]);
    only(&changes(MINIMAL, &wider), Direction::Reply, "/id", "type widened", true);
    only(&changes(&wider, MINIMAL), Direction::Reply, "/id", "type narrowed", false);
}

#[test]
fn error_code_added_breaks_receivers_removed_is_compatible() {
    let more = edit(&[("internal, unavailable]", "internal, unavailable, teapot]")]);
    only(&changes(MINIMAL, &more), Direction::Error, "/error/code", "enum value `teapot` added", true);
    only(&changes(&more, MINIMAL), Direction::Error, "/error/code", "enum value `teapot` removed", false);
}

#[test]
fn routes_removed_break_and_added_are_compatible() {
    let removed = changes(EXTRA_ROUTE, MINIMAL);
    assert!(removed.iter().any(|c| c.route == "item/put" && c.what == "route removed" && c.breaking), "{removed:#?}");
    let added = changes(MINIMAL, EXTRA_ROUTE);
    assert!(added.iter().all(|c| !c.breaking), "{added:#?}");
    assert!(added.iter().any(|c| c.route == "item/put" && c.what == "route added"));
    assert_eq!(suggested_bump(&added), "minor");
}
