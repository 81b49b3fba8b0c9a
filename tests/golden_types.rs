//! The golden outputs of codegen/tests/types compile, and behave on the wire as
//! their schemas say: closed objects reject unknown keys, tagged unions route by
//! tag, untagged ones by shape, nullable fields take null, enums keep their wire
//! names, constants refuse other values, recursion and maps round-trip.

#![allow(dead_code)]

use serde_json::json;

mod object {
    include!("../codegen/tests/types/object.rs");
}
mod string {
    include!("../codegen/tests/types/string.rs");
}
mod integer {
    include!("../codegen/tests/types/integer.rs");
}
mod number {
    include!("../codegen/tests/types/number.rs");
}
mod boolean {
    include!("../codegen/tests/types/boolean.rs");
}
mod array {
    include!("../codegen/tests/types/array.rs");
}
mod enums {
    include!("../codegen/tests/types/enum.rs");
}
mod consts {
    include!("../codegen/tests/types/const.rs");
}
mod one_of {
    include!("../codegen/tests/types/one_of.rs");
}
mod any_of {
    include!("../codegen/tests/types/any_of.rs");
}
mod nullable {
    include!("../codegen/tests/types/nullable.rs");
}
mod refs {
    include!("../codegen/tests/types/ref.rs");
}
mod all_of {
    include!("../codegen/tests/types/all_of.rs");
}
mod maps {
    include!("../codegen/tests/types/map.rs");
}
mod recursive {
    include!("../codegen/tests/types/recursive.rs");
}
mod untagged {
    include!("../codegen/tests/types/untagged.rs");
}
mod discriminator {
    include!("../codegen/tests/types/discriminator.rs");
}

#[test]
fn closed_objects_reject_unknown_keys_and_open_ones_ignore_them() {
    let closed: object::Closed = serde_json::from_value(json!({"id": 1, "displayName": "A", "type": "t"})).unwrap();
    assert_eq!(closed.display_name, "A");
    assert_eq!(closed.r#type.as_deref(), Some("t"));
    assert_eq!(serde_json::to_value(&closed).unwrap(), json!({"id": 1, "displayName": "A", "type": "t"}));
    assert!(serde_json::from_value::<object::Closed>(json!({"id": 1, "displayName": "A", "x": 1})).is_err());
    assert!(serde_json::from_value::<object::Open>(json!({"note": "n", "x": 1})).is_ok());
}

#[test]
fn tagged_unions_route_by_their_tag() {
    let circle: one_of::Shape = serde_json::from_value(json!({"kind": "circle", "radius": 2.0})).unwrap();
    assert_eq!(circle, one_of::Shape::Circle(one_of::ShapeCircle { radius: 2.0 }));
    assert_eq!(serde_json::to_value(&circle).unwrap(), json!({"kind": "circle", "radius": 2.0}));
    assert!(serde_json::from_value::<one_of::Shape>(json!({"kind": "square", "side": 1.0, "extra": 1})).is_err());
    assert!(serde_json::from_value::<one_of::Shape>(json!({"kind": "hexagon"})).is_err());
    let stopped: any_of::EventType = serde_json::from_value(json!({"type": "stopped"})).unwrap();
    assert!(matches!(stopped, any_of::EventType::Stopped(_)));
    // The `discriminator` keyword names the tag.
    let left: discriminator::EventType = serde_json::from_value(json!({"kind": "left", "user": "u"})).unwrap();
    assert_eq!(left, discriminator::EventType::Left(discriminator::EventTypeLeft { user: "u".into(), reason: None }));
}

#[test]
fn untagged_unions_take_the_first_shape_that_fits() {
    let number: untagged::Amount = serde_json::from_value(json!(1.5)).unwrap();
    assert_eq!(number, untagged::Amount::Number(1.5));
    let text: untagged::Amount = serde_json::from_value(json!("1.50")).unwrap();
    assert_eq!(text, untagged::Amount::String("1.50".into()));
    assert!(serde_json::from_value::<untagged::Amount>(json!(true)).is_err());
    let id: untagged::Id = serde_json::from_value(json!(7)).unwrap();
    assert_eq!(serde_json::to_value(&id).unwrap(), json!(7));
    let level: untagged::Level = serde_json::from_value(json!(2)).unwrap();
    assert_eq!(level, untagged::Level::V2);
    assert!(serde_json::from_value::<untagged::Level>(json!(4)).is_err(), "integer enums are closed");
}

#[test]
fn all_of_merges_recursion_boxes_and_maps_keep_their_keys() {
    let pet: all_of::Pet = serde_json::from_value(json!({"name": "Rex", "species": "dog", "age": 3})).unwrap();
    assert_eq!((pet.name.as_str(), pet.species, pet.age), ("Rex", all_of::PetSpecies::Dog, Some(3)));
    assert!(serde_json::from_value::<all_of::Pet>(json!({"species": "dog"})).is_err(), "`name` comes from allOf");
    let tree = json!({"value": 1, "next": {"value": 2}, "children": [{"value": 3}]});
    let node: recursive::Node = serde_json::from_value(tree.clone()).unwrap();
    assert_eq!(node.next.as_ref().map(|n| n.value), Some(2));
    assert_eq!(serde_json::to_value(&node).unwrap(), tree);
    let prices: maps::Prices = serde_json::from_value(json!({"btcusd": 1.5, "ethusd": 2.0})).unwrap();
    assert_eq!(prices.get("ethusd"), Some(&2.0));
}

#[test]
fn enums_keep_wire_names_and_nullable_fields_take_null() {
    let role: enums::Role = serde_json::from_value(json!("read-only")).unwrap();
    assert_eq!(role, enums::Role::ReadOnly);
    assert_eq!(role.as_str(), "read-only");
    assert_eq!(enums::Role::from_wire("admin"), Some(enums::Role::Admin));
    let profile: nullable::Profile = serde_json::from_value(json!({"bio": null, "age": null})).unwrap();
    assert_eq!(profile, nullable::Profile { bio: None, age: None });
    assert_eq!(serde_json::to_value(&profile).unwrap(), json!({"bio": null}));
}

#[test]
fn arrays_refs_and_consts_map_to_plain_rust() {
    let basket: array::Basket = serde_json::from_value(json!({"lines": [{"sku": "a"}], "tags": ["x"]})).unwrap();
    assert_eq!(basket.lines[0].sku, "a");
    let pair = refs::Pair { from: 1, to: 2, via: Some(refs::Hop { by: Some(3) }) };
    assert_eq!(serde_json::to_value(&pair).unwrap(), json!({"from": 1, "to": 2, "via": {"by": 3}}));
    let ack: consts::Ack = serde_json::from_value(json!({"ok": true, "kind": "ack", "version": 2})).unwrap();
    assert_eq!(serde_json::to_value(&ack).unwrap(), json!({"ok": true, "kind": "ack", "version": 2}));
    assert!(serde_json::from_value::<consts::Ack>(json!({"ok": false, "kind": "ack", "version": 2})).is_err());
    let small: integer::Small = 7;
    let ratio: number::Ratio = 0.5;
    let flag: boolean::Flag = true;
    let email: string::Email = "a@example.com".into();
    assert!(small == 7 && ratio == 0.5 && flag && !email.is_empty());
}
