//! The breaking-change report, direction by direction: each change kind is a
//! fixture pair (an edit of tests/apis/minimal.yaml) checked both ways, and
//! the pushed events of tests/apis/kraken.yaml read like replies.

use specserve_codegen::Api;
use specserve_codegen::diff::{Change, Direction, diff, suggested_bump};

const MINIMAL: &str = include_str!("apis/minimal.yaml");
const EXTRA_ROUTE: &str = include_str!("apis/extra_route.yaml");
const KRAKEN: &str = include_str!("apis/kraken.yaml");

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
fn only(changes: &[Change], direction: Direction, pointer: &str, what: &str, breaking: bool) {
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!(
        (change.direction, change.pointer.as_str(), change.breaking),
        (direction, pointer, breaking),
        "{change:#?}"
    );
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
    let found = changes(MINIMAL, &more);
    only(&found, Direction::Reply, "/error/code", "enum value `teapot` added", true);
    assert_eq!(found[0].message, "Error");
    only(&changes(&more, MINIMAL), Direction::Reply, "/error/code", "enum value `teapot` removed", false);
}

#[test]
fn operations_removed_break_and_added_are_compatible() {
    let removed = changes(EXTRA_ROUTE, MINIMAL);
    let gone = |c: &Change| c.operation == "itemPut" && c.what == "operation removed" && c.breaking;
    assert!(removed.iter().any(gone), "{removed:#?}");
    let added = changes(MINIMAL, EXTRA_ROUTE);
    assert!(added.iter().all(|c| !c.breaking), "{added:#?}");
    assert!(added.iter().any(|c| c.operation == "itemPut" && c.what == "operation added"));
    assert_eq!(suggested_bump(&added), "minor");
}

#[test]
fn securing_an_operation_breaks_its_clients_and_opening_it_does_not() {
    let open = edit(&[(
        "    security:
      - $ref: '#/components/securitySchemes/token'
",
        "",
    )]);
    only(&changes(MINIMAL, &open), Direction::Request, "", "no longer needs a credential", false);
    only(&changes(&open, MINIMAL), Direction::Request, "", "now needs a credential", true);
}

#[test]
fn a_moved_channel_address_breaks() {
    let moved = edit(&[("    address: /ws\n", "    address: /api\n")]);
    only(&changes(MINIMAL, &moved), Direction::Request, "", "address /ws -> /api", true);
}

#[test]
fn pushed_events_read_like_replies() {
    let richer = KRAKEN.replacen(
        "          type: {type: string, enum: [snapshot, update]}",
        "          type: {type: string, enum: [snapshot, update, delta]}",
        1,
    );
    assert_ne!(richer, KRAKEN);
    let found = changes(KRAKEN, &richer);
    only(&found, Direction::Event, "/type", "enum value `delta` added", true);
    assert_eq!((found[0].operation.as_str(), found[0].message.as_str()), ("ticker", "Ticker"));
    only(&changes(&richer, KRAKEN), Direction::Event, "/type", "enum value `delta` removed", false);
}

#[test]
fn close_codes_are_listed_and_never_breaking() {
    let closing = edit(&[(
        "    address: /ws\n",
        "    address: /ws\n    x-specserve-close-codes:\n      - code: 4000\n        when: Idle.\n",
    )]);
    only(&changes(MINIMAL, &closing), Direction::Event, "", "close code 4000 now sent", false);
}
