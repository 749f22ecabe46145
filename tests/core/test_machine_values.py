"""Values in and out of a machine: read-only all the way down, checked, and within limits.

No value a caller holds can change a workflow behind its back, and every bad value is
refused with the library's own error before anything changes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._jsonvalue import (
    MAX_INT_DIGITS,
    MAX_NESTING,
    FrozenDict,
    FrozenList,
    to_json_value,
)

from ..strategies import holding_itself, nested
from .test_machine import snapshot

NOT_JSON: Any = {"a": {1}}
NESTED = {"items": [{"n": 1}, [2, 3]], "owner": {"name": "ana", "tags": ["a"]}}

# Every way a plain dict or list can be changed in place, as (name, call).
DICT_CHANGES = [
    ("setitem", lambda d: d.__setitem__("x", 1)),
    ("delitem", lambda d: d.__delitem__(next(iter(d)))),
    ("ior", lambda d: d.__ior__({"x": 1})),
    ("clear", lambda d: d.clear()),
    ("pop", lambda d: d.pop(next(iter(d)))),
    ("popitem", lambda d: d.popitem()),
    ("setdefault", lambda d: d.setdefault("x", 1)),
    ("update", lambda d: d.update(x=1)),
]
LIST_CHANGES = [
    ("setitem", lambda v: v.__setitem__(0, 1)),
    ("setslice", lambda v: v.__setitem__(slice(None), [])),
    ("delitem", lambda v: v.__delitem__(0)),
    ("iadd", lambda v: v.__iadd__([1])),
    ("imul", lambda v: v.__imul__(2)),
    ("append", lambda v: v.append({1, 2})),
    ("extend", lambda v: v.extend([1])),
    ("insert", lambda v: v.insert(0, 1)),
    ("remove", lambda v: v.remove(v[0])),
    ("pop", lambda v: v.pop()),
    ("clear", lambda v: v.clear()),
    ("sort", lambda v: v.sort(key=str)),
    ("reverse", lambda v: v.reverse()),
]


def containers(value: Any) -> list[Any]:
    """Every object and array inside ``value``, itself included."""
    found: list[Any] = []
    if isinstance(value, dict | list):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            found.extend(containers(item))
    return found


def attempt(change, target) -> None:
    with pytest.raises(TypeError, match="read-only"):
        change(target)


@pytest.mark.parametrize(("name", "change"), DICT_CHANGES, ids=[n for n, _ in DICT_CHANGES])
async def test_context_objects_refuse_every_change(make_workflow, name, change):
    sm = make_workflow(context=NESTED)
    before = snapshot(sm)
    attempt(change, sm.context)
    attempt(change, sm.context["owner"])
    assert snapshot(sm) == before
    assert sm.context == NESTED


@pytest.mark.parametrize(("name", "change"), LIST_CHANGES, ids=[n for n, _ in LIST_CHANGES])
async def test_context_arrays_refuse_every_change(make_workflow, name, change):
    sm = make_workflow(context=NESTED)
    before = snapshot(sm)
    attempt(change, sm.context["items"])
    attempt(change, sm.context["items"][1])
    assert snapshot(sm) == before
    assert sm.context == NESTED


async def test_init_called_again_changes_nothing(make_workflow):
    sm = make_workflow(context=NESTED)
    context: Any = sm.context
    context.__init__({"x": 1})
    context["items"].__init__([9])
    assert sm.context == NESTED


async def test_nested_append_from_the_issue_changes_neither_memory_nor_the_store(tmp_path, clock):
    async with dn.SqliteWorkflowStore(tmp_path / "wf.db") as store:
        sm = dn.WorkflowStateMachine("build-42", store=store, clock=clock)
        await sm.set_context("items", [])
        before = snapshot(sm)
        items: Any = sm.context["items"]
        with pytest.raises(TypeError, match="read-only"):
            items.append({1, 2})
        assert snapshot(sm) == before
        await sm.process_event("Start")  # the next commit writes what memory holds
        stored = await store.load_workflow("build-42")
        assert stored.context == sm.context == {"items": []}
        assert json.loads(sm.serialize().to_json())["context"] == {"items": []}


async def test_reading_hands_out_the_same_objects_without_copying(make_workflow):
    sm = make_workflow(context=NESTED)
    assert sm.context is sm.context
    assert sm.context["items"] is sm.context["items"]
    await sm.process_event("Start")
    assert sm.history[-1].context is sm.context  # history shares the frozen snapshot


async def test_frozen_values_read_like_plain_ones(make_workflow):
    sm = make_workflow(context=NESTED)
    items = sm.context["items"]
    assert isinstance(sm.context, dict)
    assert isinstance(items, list)
    assert isinstance(sm.context["owner"], dict)
    assert items == [{"n": 1}, [2, 3]]
    assert repr(sm.context) == repr(NESTED)
    assert json.dumps(sm.context) == json.dumps(NESTED)
    assert items + [4] == [{"n": 1}, [2, 3], 4]  # noqa: RUF005  (list's + on purpose)
    assert type(items + [4]) is list  # noqa: RUF005  (results of reading are plain again)
    assert type(items[:1]) is list
    assert type(sm.context | {"x": 1}) is dict


def test_copies_are_plain_and_changeable_and_pickles_stay_frozen():
    frozen = FrozenDict(NESTED)
    deep: Any = copy.deepcopy(frozen)
    assert deep == NESTED
    assert [type(c) for c in containers(deep)] == [dict, list, dict, list, dict, list]
    deep["items"][1].append(4)  # a copy can be changed...
    assert frozen == NESTED  # ...and changing it changes nothing else
    shallow = copy.copy(frozen)
    assert type(shallow) is dict
    assert type(copy.copy(frozen["items"])) is list
    back = pickle.loads(pickle.dumps(frozen))
    assert back == NESTED
    assert {type(c) for c in containers(back)} == {FrozenDict, FrozenList}


def test_frozen_constructors_check_what_they_are_given():
    assert FrozenList((1, [2])) == [1, [2]]
    assert type(FrozenList(iter([1]))) is FrozenList
    assert FrozenDict() == {}
    with pytest.raises(dn.SerializationError, match=r"FrozenDict\['a'\] is \{1\}"):
        FrozenDict({"a": {1}})
    with pytest.raises(dn.SerializationError, match="takes a mapping"):
        FrozenDict([("a", 1)])


async def test_event_data_kept_by_a_handler_cannot_change_history(make_workflow):
    kept = []

    class Keeper(dn.StateHandler):
        def on_event(self, state, event):
            kept.append(event)

        def on_enter(self, state, ctx):
            kept.append(ctx)  # the draft: a plain dict, the handler's own

    sm = make_workflow(handler=Keeper())
    await sm.start()
    kept.clear()
    data = {"by": ["ana"]}
    entry = await sm.process_event("Start", data)
    data["by"].append("bob")  # the caller's own dict: it was copied
    event, draft = kept
    with pytest.raises(TypeError, match="read-only"):
        event.data["by"].append("eve")
    draft["later"] = [1]  # changing the draft after the handler returned changes nothing
    assert entry.event_data == sm.history[-1].event_data == {"by": ["ana"]}
    assert sm.context == {}


async def test_an_event_is_frozen_when_made_so_it_can_be_shared(make_workflow):
    data: dict[str, Any] = {"who": ["ana"]}
    event = dn.WorkflowEvent.custom("note", data)
    data["who"].append("bob")
    assert event.data == {"who": ["ana"]}
    machines = [make_workflow(), make_workflow()]
    entries = [await sm.process_event(event) for sm in machines]
    assert entries[0].event_data is entries[1].event_data is event.data


async def test_deserialize_copies_a_hand_built_snapshot(make_workflow):
    sw = (await _started(make_workflow)).serialize()
    context: Any = {"items": [1]}
    hand_built = dataclasses.replace(sw, context=context)
    sm = dn.WorkflowStateMachine.deserialize(hand_built)
    context["items"].append(2)
    context["new"] = True
    assert sm.context == {"items": [1]}
    items: Any = sm.context["items"]
    with pytest.raises(TypeError, match="read-only"):
        items.append(3)


async def test_deserialize_checks_a_hand_built_snapshot_context(make_workflow):
    sw = (await _started(make_workflow)).serialize()
    bad: Any
    for bad in ({"a": {1, 2}}, {"n": 10**700}, ["not", "a", "mapping"]):
        hand_built = dataclasses.replace(sw, context=bad)
        with pytest.raises(dn.SerializationError, match="context"):
            dn.WorkflowStateMachine.deserialize(hand_built)


async def test_rollback_restores_a_frozen_context(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    await sm.set_context("items", [1])
    await sm.process_event("Pause")
    await sm.set_context("items", [1, 2])
    await sm.rollback()
    assert sm.context == {"items": [1]}  # Pause undone: the context as it was just before it
    with pytest.raises(TypeError, match="read-only"):
        sm.context["items"].append(3)


async def test_handler_changing_a_value_to_an_equal_one_of_another_kind_is_kept(make_workflow):
    class Flag(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx["done"] = True  # was 1: equal by ==, but another JSON value

    sm = make_workflow(handler=Flag(), context={"done": 1})
    await sm.process_event("Start")
    assert sm.context["done"] is True
    assert json.loads(sm.serialize().to_json())["context"] == {"done": True}


# -- context values -----------------------------------------------------------------------


def dict_holding_itself() -> object:
    value: dict[str, object] = {}
    value["a"] = [value]
    return value


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: nested(10_000), id="10000-deep"),
        pytest.param(lambda: nested(MAX_NESTING), id="one-too-deep"),  # the context is one more
        pytest.param(holding_itself, id="self-recursive"),
        pytest.param(dict_holding_itself, id="self-recursive-dict"),
    ],
)
async def test_set_context_refuses_values_nested_too_deep(make_workflow, make):
    value = make()
    sm = make_workflow()
    before = snapshot(sm)
    with pytest.raises(dn.SerializationError, match=f"deeper than the {MAX_NESTING} levels"):
        await sm.set_context("deep", value)
    assert snapshot(sm) == before


async def test_set_context_accepts_nesting_up_to_the_limit(make_workflow):
    sm = make_workflow()
    await sm.set_context("deep", nested(MAX_NESTING - 1))
    text = sm.serialize().to_json()
    assert dn.SerializedWorkflow.from_json(text).context == sm.context


@pytest.mark.parametrize(
    ("digits", "accepted"), [(MAX_INT_DIGITS, True), (MAX_INT_DIGITS + 1, False), (5000, False)]
)
async def test_context_ints_are_bounded_so_serialize_never_fails(make_workflow, digits, accepted):
    value = -(10 ** (digits - 1))  # a sign does not count as a digit
    sm = make_workflow()
    before = snapshot(sm)
    if accepted:
        await sm.set_context("n", value)
        restored = dn.SerializedWorkflow.from_json(sm.serialize().to_json())
        assert restored.context["n"] == value
        return
    with pytest.raises(dn.SerializationError, match=f"more than {MAX_INT_DIGITS} digits"):
        await sm.set_context("n", value)
    with pytest.raises(dn.SerializationError, match=f"more than {MAX_INT_DIGITS} digits"):
        make_workflow(context={"n": value})
    assert snapshot(sm) == before
    sm.serialize().to_json()


async def test_context_int_bound_holds_at_the_lowest_interpreter_digit_limit(make_workflow):
    sm = make_workflow()
    await sm.set_context("n", 10**MAX_INT_DIGITS - 1)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(sys.int_info.str_digits_check_threshold)
    try:
        text = sm.serialize().to_json()
        assert dn.SerializedWorkflow.from_json(text).context == sm.context
    finally:
        sys.set_int_max_str_digits(old)


async def test_handler_draft_with_a_numpy_array_is_refused_and_changes_nothing(make_workflow):
    numpy = pytest.importorskip("numpy")

    class Arrays(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx["scores"] = numpy.array([1.0, 2.0])

    sm = make_workflow(handler=Arrays(), context={"scores": [1.0, 2.0]})
    before = snapshot(sm)
    with pytest.raises(dn.SerializationError, match=r"context.*\['scores'\].*ndarray"):
        await sm.process_event("Start")
    assert snapshot(sm) == before


async def test_handler_draft_with_a_huge_int_is_refused(make_workflow):
    class Huge(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx["n"] = 10**5000

    sm = make_workflow(handler=Huge())
    with pytest.raises(dn.SerializationError, match="more than 640 digits"):
        await sm.process_event("Start")
    assert sm.state == dn.WorkflowState.IDLE
    assert sm.context == {}


def test_plain_subclasses_are_stored_as_the_plain_value():
    class Name(str):
        pass

    value = to_json_value({Name("k"): [Name("v"), True, 1.5]}, "context")
    assert value == {"k": ["v", True, 1.5]}
    key = next(iter(value))
    assert type(key) is str
    assert type(value["k"][0]) is str  # type: ignore[index]


# -- events and ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: dn.WorkflowEvent.custom(123), id="custom"),  # type: ignore[arg-type]
        pytest.param(lambda: dn.WorkflowEvent(None), id="plain"),  # type: ignore[arg-type]
        pytest.param(lambda: dn.WorkflowEvent.fail(7), id="fail"),  # type: ignore[arg-type]
        pytest.param(lambda: dn.WorkflowEvent("x", NOT_JSON), id="data"),
        pytest.param(lambda: dn.WorkflowEvent("x", is_custom="yes"), id="is-custom"),  # type: ignore[arg-type]
    ],
)
def test_workflow_event_refuses_what_it_cannot_be(make):
    with pytest.raises(dn.SerializationError) as info:
        make()
    assert isinstance(info.value, ValueError)


def test_workflow_event_keeps_a_name_of_a_str_subclass_as_plain_str():
    event = dn.WorkflowEvent(dn.WorkflowState.RUNNING)
    assert event.name == "Running"
    assert type(event.name) is str


async def test_process_event_refuses_an_event_that_is_not_one(make_workflow):
    sm = make_workflow()
    before = snapshot(sm)
    with pytest.raises(dn.SerializationError, match="got 123 of type int"):
        await sm.process_event(123)
    assert snapshot(sm) == before


@pytest.mark.parametrize("workflow_id", ["", None, 7])
def test_workflow_id_must_be_a_non_empty_str(workflow_id):
    with pytest.raises(dn.SerializationError, match=f"non-empty str, got {workflow_id!r}") as info:
        dn.WorkflowStateMachine(workflow_id)
    assert isinstance(info.value, ValueError)


# -- properties ---------------------------------------------------------------------------

nested_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=3)
    ),
    max_leaves=10,
)


@given(value=nested_values.filter(lambda v: isinstance(v, dict | list)), data=st.data())
def test_any_change_to_any_nested_context_value_raises_and_changes_nothing(value, data):
    sm = dn.WorkflowStateMachine("prop", context={"v": value})
    before = (sm.serialize().to_json(), sm.version)
    target = data.draw(st.sampled_from(containers(sm.context["v"])))
    changes = DICT_CHANGES if isinstance(target, dict) else LIST_CHANGES
    name, change = data.draw(st.sampled_from(changes))
    try:
        change(target)
    except (TypeError, StopIteration, IndexError):
        pass  # refused (or nothing to change, as for pop on an empty dict)
    else:
        pytest.fail(f"{name} changed a context value")
    assert (sm.serialize().to_json(), sm.version) == before
    assert sm.context == {"v": value}


async def _started(make_workflow) -> dn.WorkflowStateMachine:
    sm: dn.WorkflowStateMachine = make_workflow()
    await sm.process_event("Start")
    return sm
