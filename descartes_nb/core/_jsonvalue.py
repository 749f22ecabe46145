"""JSON values: the only things a context or event data may hold."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

from ..errors import SerializationError

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
Context: TypeAlias = Mapping[str, JSONValue]

EMPTY_CONTEXT: Final[Mapping[str, JSONValue]] = MappingProxyType({})

_ALLOWED: Final = "str, int, float (finite), bool, None, list, dict with str keys"
_SCALARS: Final = (str, int, bool, type(None))


def to_json_value(value: object, where: str) -> JSONValue:
    """Return a private deep copy of ``value`` after checking it is plain JSON.

    Args:
        value: the candidate value.
        where: how to name the value's place in an error message, e.g. ``"context['step']"``.

    Raises:
        SerializationError: ``value`` holds something JSON cannot represent.

    Example:
        >>> to_json_value({"n": [1, 2.5, None]}, "context")
        {'n': [1, 2.5, None]}
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_json(value, where)
        return value
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        copied: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(
                    f"{where} has a key {key!r} of type {type(key).__name__}; "
                    "JSON object keys must be str"
                )
            copied[key] = to_json_value(item, f"{where}[{key!r}]")
        return copied
    raise _not_json(value, where)


def to_context(value: Mapping[str, object] | None, where: str = "context") -> Context:
    """Return a checked, read-only copy of a whole context mapping.

    Raises:
        SerializationError: ``value`` is not a mapping of str to JSON values.
    """
    if value is None or (isinstance(value, Mapping) and not value):
        return EMPTY_CONTEXT
    if not isinstance(value, Mapping):
        raise SerializationError(
            f"{where} must be a mapping with str keys, got {type(value).__name__} {value!r}"
        )
    checked = to_json_value(value, where)
    assert isinstance(checked, dict)
    return MappingProxyType(checked)


def _not_json(value: object, where: str) -> SerializationError:
    return SerializationError(
        f"{where} is {value!r} of type {type(value).__name__}, which is not JSON "
        f"(allowed: {_ALLOWED})"
    )
