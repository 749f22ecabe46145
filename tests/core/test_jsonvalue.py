"""JSON checks for contexts and event data."""

from __future__ import annotations

import math

import pytest

from descartes_nb import SerializationError
from descartes_nb.core._jsonvalue import EMPTY_CONTEXT, to_context, to_json_value


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
