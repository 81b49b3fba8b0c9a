"""JSON to the generated types and back: dataclasses by their fields' wire
names, `Literal`s checked, unions tried in order, `Tagged` unions by their
tag. Part of the generated SDK; the same for every API."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from typing import Any, ForwardRef, Literal, Union


class WireError(ValueError):
    """A value does not fit the type the document declares."""


class Tagged:
    """A union told apart by one property (`TAG`): `VARIANTS` maps its values
    to the dataclass holding the rest."""

    TAG: str = ""
    VARIANTS: dict[str, Any] = {}


def _namespace() -> dict[str, Any]:
    return vars(sys.modules[__package__ + ".types"])


def _resolve(tp: Any) -> Any:
    if isinstance(tp, str):
        return _namespace()[tp]
    if isinstance(tp, ForwardRef):
        return _namespace()[tp.__forward_arg__]
    return tp


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=_namespace())


def decode(tp: Any, value: Any, where: str = "") -> Any:
    """`value` (parsed JSON) as `tp`; `WireError` naming where it does not fit."""
    tp = _resolve(tp)
    if tp is Any or tp is object:
        return value
    if tp is None or tp is type(None):
        if value is None:
            return None
        raise WireError(f"{where or '/'}: expected null")
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        alternatives = typing.get_args(tp)
        if value is None and type(None) in alternatives:
            return None
        for alternative in alternatives:
            if alternative is type(None):
                continue
            try:
                return decode(alternative, value, where)
            except WireError:
                continue
        raise WireError(f"{where or '/'}: fits none of {tp}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if any(value == a and type(value) is type(a) for a in allowed):
            return value
        raise WireError(f"{where or '/'}: {value!r} is not one of {allowed}")
    if origin is list:
        if not isinstance(value, list):
            raise WireError(f"{where or '/'}: expected an array")
        (item,) = typing.get_args(tp) or (Any,)
        return [decode(item, v, f"{where}/{i}") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise WireError(f"{where or '/'}: expected an object")
        _, item = typing.get_args(tp) or (str, Any)
        return {k: decode(item, v, f"{where}/{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Tagged):
        if not isinstance(value, dict) or value.get(tp.TAG) not in tp.VARIANTS:
            raise WireError(f"{where or '/'}: `{tp.TAG}` names no variant of {tp.__name__}")
        rest = {k: v for k, v in value.items() if k != tp.TAG}
        decoded = decode(tp.VARIANTS[value[tp.TAG]], rest, where)
        object.__setattr__(decoded, "__wire_tag__", (tp.TAG, value[tp.TAG]))
        return decoded
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise WireError(f"{where or '/'}: expected an object")
        hints = _hints(tp)
        known: set[str] = set()
        arguments: dict[str, Any] = {}
        extra_field = None
        for f in dataclasses.fields(tp):
            if f.metadata.get("extra"):
                extra_field = f
                continue
            wire = f.metadata.get("json", f.name)
            known.add(wire)
            if wire in value:
                arguments[f.name] = decode(hints[f.name], value[wire], f"{where}/{wire}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise WireError(f"{where}/{wire}: missing")
        if extra_field is not None:
            (_, item) = typing.get_args(hints[extra_field.name])
            arguments[extra_field.name] = {
                k: decode(item, v, f"{where}/{k}") for k, v in value.items() if k not in known
            }
        return tp(**arguments)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise WireError(f"{where or '/'}: expected a boolean")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise WireError(f"{where or '/'}: expected an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise WireError(f"{where or '/'}: expected a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise WireError(f"{where or '/'}: expected a string")
    return value


def encode(value: Any) -> Any:
    """A generated type's value as JSON: wire names, absent optional fields left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        tag = getattr(value, "__wire_tag__", None)
        if tag is not None:
            out[tag[0]] = tag[1]
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("extra"):
                out.update({k: encode(v) for k, v in item.items()})
                continue
            if item is None and f.default is None:
                continue
            out[f.metadata.get("json", f.name)] = encode(item)
        return out
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value
