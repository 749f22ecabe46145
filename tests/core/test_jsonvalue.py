"""JSON checks for contexts and event data."""

from __future__ import annotations

import collections
import copy
import enum
import math
from types import MappingProxyType
from typing import Any

import pytest

from descartes_nb import SerializationError
from descartes_nb.core._jsonvalue import (
    EMPTY_CONTEXT,
    MAX_NESTING,
    FrozenDict,
    FrozenList,
    is_same,
    thaw,
    to_context,
    to_json_value,
)

from ..strategies import nested


def test_to_json_value_copies_nested_containers():
    source = {"a": [1, {"b": (2, 3)}], "c": None, "d": True, "e": 1.5, "f": "x"}
    copied = to_json_value(source, "context")
    assert copied == {"a": [1, {"b": [2, 3]}], "c": None, "d": True, "e": 1.5, "f": "x"}
    source["a"][1]["b"] = "changed"  # type: ignore[index]
    assert copied == {"a": [1, {"b": [2, 3]}], "c": None, "d": True, "e": 1.5, "f": "x"}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        pytest.param({"a": [1, {2}]}, "context['a'][1]", id="set"),
        pytest.param({"a": math.nan}, "context['a']", id="nan"),
        pytest.param({"a": {1: "x"}}, "context['a'] has a key 1", id="key"),
        pytest.param({"a": b"x"}, "context['a']", id="bytes"),
    ],
)
def test_to_json_value_names_the_bad_place(value, where):
    with pytest.raises(SerializationError, match=r"allowed|must be str") as info:
        to_json_value(value, "context")
    assert where in str(info.value)


def test_to_context_is_read_only_and_shares_the_empty_one():
    assert to_context(None) is EMPTY_CONTEXT
    assert to_context({}) is EMPTY_CONTEXT
    ctx = to_context({"a": 1})
    with pytest.raises(TypeError):
        ctx["a"] = 2  # type: ignore[index]
    with pytest.raises(SerializationError, match="must be a mapping"):
        to_context(["a"])  # type: ignore[arg-type]


def test_to_json_value_takes_any_mapping_or_sequence_and_plain_subclasses():
    class Level(enum.IntEnum):
        HIGH = 3

    class Ratio(float):
        pass

    Point = collections.namedtuple("Point", "x y")
    value: Any = to_json_value(
        MappingProxyType({"a": collections.OrderedDict(b=Point(Level.HIGH, Ratio(0.5)))}), "v"
    )
    assert value == {"a": {"b": [3, 0.5]}}
    inner = value["a"]["b"]
    assert (type(value), type(inner)) == (FrozenDict, FrozenList)
    assert [type(x) for x in inner] == [int, float]
    with pytest.raises(SerializationError, match=r"v\[0\] is inf of type float"):
        to_json_value([Ratio("inf")], "v")


def test_a_frozen_value_is_shared_only_where_it_fits():
    deep = to_json_value(nested(MAX_NESTING), "v")
    assert to_json_value(deep, "v") is deep  # shared, not copied
    with pytest.raises(SerializationError, match=r"context\['x'\] nests .* deeper than the 100"):
        to_json_value(deep, "context['x']", depth=1)  # one level more than allowed
    context = to_context({"x": nested(MAX_NESTING - 1)})
    with pytest.raises(SerializationError, match="deeper than the 100"):
        to_json_value({"again": context}, "context['y']", depth=1)


def test_thaw_gives_plain_changeable_copies():
    frozen: Any = to_json_value({"a": [1, {"b": [2]}]}, "v")
    thawed: Any = thaw(frozen)
    assert thawed == frozen
    assert [type(thawed), type(thawed["a"]), type(thawed["a"][1])] == [dict, list, dict]
    assert thaw(3) == 3
    assert type(copy.deepcopy(frozen["a"])) is list


class Unequal:
    """A value whose == must never be called (as a numpy array's cannot answer)."""

    def __eq__(self, other: object) -> bool:
        raise AssertionError("== called on a value that is not JSON")

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
        ({"a": 1}, {"a": True}, False),
        ({"a": 1}, {"a": 1.0}, False),
        ([0.0], [-0.0], False),
        ([-0.0], [-0.0], True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": 1}, {"b": 1}, False),
        ([1, 2], [2, 1], False),
        ({"a": [1]}, {"a": {"0": 1}}, False),
        ({"a": Unequal()}, {"a": [1]}, False),
        ([Unequal()], [Unequal()], False),
        ((1,), [1], False),  # a tuple is not a checked value
    ],
)
def test_is_same_compares_a_draft_with_its_frozen_original_strictly(a, b, same):
    frozen = to_json_value(b, "v") if isinstance(b, dict | list) and not _holds_unequal(b) else b
    assert is_same(a, frozen) is same


def _holds_unequal(value: dict[str, object] | list[object]) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(item, Unequal) for item in items)
