"""Protobuf messages as the JSON of the gateway's output models, read off the models' fields.

A model field takes the proto field of the same name: nested messages become nested models,
repeated fields lists. The few rules where the two differ, once for every model:

- `X_at` (ISO 8601 text) comes from the proto's `X_at_ms` (epoch milliseconds);
- an enum becomes its value's name without the enum's prefix, lower-cased
  (`AUTHOR_KIND_HUMAN` -> "human");
- a proto `float` is 32-bit (0.7 arrives as 0.699999988): it is rounded to `FLOAT_DIGITS`;
- a field's unset value becomes None where the model's field is nullable, or what the field's
  `WhenUnset` says. Unset: not set for a field with presence (a message, an `optional` scalar),
  else the proto3 zero value (0, "", false, an UNSPECIFIED or unknown enum value).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, Union, get_args, get_origin

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel

from services.common.ids import ms_to_iso

FLOAT_DIGITS = 4


@dataclass(frozen=True)
class WhenUnset:
    """Model field metadata: what the field is when its proto field is unset."""

    value: Any


_KEEP = object()  # no rule: the proto's zero value is shown as it is
Convert = Callable[[Any], Any]


class _Step(NamedTuple):
    name: str
    proto: str
    skip_unset: bool  # a field with presence that is not set: the model's unset value
    unset: Any
    convert: Convert | None  # None: the proto's value as it is


def from_proto(model: type[BaseModel], message: Message, /, **values: Any) -> dict[str, Any]:
    """`message` as the JSON of `model`; `values` stand in for the message's own fields."""
    out: dict[str, Any] = {}
    for name, proto, skip_unset, unset, convert in _plan(model, message.DESCRIPTOR):
        if name in values:
            value = values[name]
        elif skip_unset and not message.HasField(proto):
            out[name] = unset
            continue
        else:
            value = getattr(message, proto)
        out[name] = value if convert is None else convert(value)
    return out


def wire_names(enum: EnumDescriptor) -> dict[int, str]:
    """An enum's values by number, as clients name them; the UNSPECIFIED value has none."""
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    names = {}
    for value in enum.values:
        if not value.name.startswith(prefix):
            raise TypeError(f"{enum.full_name}.{value.name} does not start with {prefix}")
        if value.number:
            names[value.number] = value.name.removeprefix(prefix).lower()
    return names


@cache
def _plan(model: type[BaseModel], descriptor: Descriptor) -> tuple[_Step, ...]:
    return tuple(_step(model, name, descriptor) for name in model.model_fields)


def _step(model: type[BaseModel], name: str, descriptor: Descriptor) -> _Step:
    info = model.model_fields[name]
    fields = descriptor.fields_by_name
    from_ms = name not in fields and name.endswith("_at") and f"{name}_ms" in fields
    field = fields.get(f"{name}_ms" if from_ms else name)
    if field is None:
        raise TypeError(f"{model.__name__}.{name}: {descriptor.full_name} has no such field")
    annotation, nullable = _optional(info.annotation)
    unset = next((m.value for m in info.metadata if isinstance(m, WhenUnset)), _KEEP)
    if unset is _KEEP and nullable:
        unset = None
    where = f"{model.__name__}.{name}"
    if field.is_repeated:
        if get_origin(annotation) is not list:
            raise TypeError(f"{where}: a repeated field needs a list")
        item = _value(where, field, get_args(annotation)[0], from_ms, _KEEP)
        return _Step(name, field.name, False, unset, _each(item) if item else list)
    convert = _value(where, field, annotation, from_ms, unset)
    skip_unset = field.has_presence and unset is not _KEEP
    return _Step(name, field.name, skip_unset, unset, convert)


def _value(
    where: str, field: FieldDescriptor, annotation: Any, from_ms: bool, unset: Any
) -> Convert | None:
    """How one value of `field` becomes JSON (None: as it is); `unset` stands for its zero value."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise TypeError(f"{where}: a message field needs a model")
        nested = annotation
        return lambda message: from_proto(nested, message)
    if field.type == FieldDescriptor.TYPE_ENUM:
        if unset is _KEEP:
            raise TypeError(f"{where}: say with WhenUnset what an unspecified value means")
        names = wire_names(field.enum_type)
        return lambda number: names.get(number, unset)
    base: Convert | None = None
    if from_ms:
        base = ms_to_iso
    elif field.type == FieldDescriptor.TYPE_FLOAT:
        base = _round
    if unset is _KEEP or field.has_presence:
        return base
    if base is None:
        return lambda value: value or unset
    convert = base
    return lambda value: convert(value) if value else unset


def _optional(annotation: Any) -> tuple[Any, bool]:
    """`T | None` as (T, True); any other annotation as (it, False)."""
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return annotation, False


def _round(value: float) -> float:
    return round(value, FLOAT_DIGITS)


def _each(item: Convert) -> Convert:
    return lambda values: [item(v) for v in values]
