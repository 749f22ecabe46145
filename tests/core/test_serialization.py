"""SerializedWorkflow: exact round trips, and SerializationError for anything foreign."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb.core._serialization import time_text


@pytest.fixture
async def busy(make_workflow, clock):
    sm = make_workflow(context={"owner": "ana"})
    for event in [E.START, E.PAUSE, E.RESUME, E.fail("disk full"), E.RETRY]:
        await clock.advance(timedelta(seconds=7))
        await sm.process_event(event)
    await sm.set_context("step", 3)
    await sm.process_event(E.custom("note", {"text": "ünïcode ✓"}))
    await sm.rollback()
    return sm


async def test_serialize_round_trips_through_json_exactly(busy, clock):
    text = busy.serialize().to_json(indent=2)
    restored = dn.WorkflowStateMachine.deserialize(
        dn.SerializedWorkflow.from_json(text), clock=clock
    )
    assert restored.serialize() == busy.serialize()
    assert list(restored.history) == list(busy.history)
    assert restored.metadata == busy.metadata
    assert restored.state is dn.LIFECYCLE.state("Running").name  # the definition's own str
    assert restored.allowed_events() == busy.allowed_events()


async def test_deserialized_machine_keeps_working_and_can_roll_back(busy, clock):
    restored = dn.WorkflowStateMachine.deserialize(busy.serialize(), clock=clock)
    await restored.rollback()
    await busy.rollback()
    assert restored.serialize() == busy.serialize()


async def test_to_dict_is_versioned_and_omits_unchanged_context_before(busy):
    data = busy.serialize().to_dict()
    assert data["format"] == "descartes_nb.workflow"
    assert data["format_version"] == 2
    assert "configuration" not in data  # a flat workflow: its state says it
    assert "context_before" in data["history"][0]
    assert "context_before" not in data["history"][1]  # same as the previous context
    # set_context changed the context between Retry and note: recorded explicitly
    note = next(item for item in data["history"] if item["event"] == "note")
    assert note["context_before"] == {"owner": "ana", "step": 3}
    assert data["history"][0]["duration_us"] == 7_000_000


async def test_times_are_written_in_utc_with_a_z_and_read_with_any_offset(busy):
    sw = busy.serialize()
    data = sw.to_dict()
    stamps = [data["created_at"], data["updated_at"], data["state_entered_at"]]
    stamps += [item["timestamp"] for item in data["history"]]
    assert data["created_at"] == "2026-03-01T09:00:00.000000Z"  # as the store writes them
    assert all(stamp.endswith(".000000Z") for stamp in stamps)
    # JSON written before times ended in Z, with another offset, reads back the same
    older = sw.to_json().replace('.000000Z"', '.000000+00:00"')
    assert older.count("+00:00") == len(stamps)
    assert dn.SerializedWorkflow.from_json(older) == sw
    shifted = json.loads(older)
    shifted["created_at"] = "2026-03-01T10:00:00+01:00"
    assert dn.SerializedWorkflow.from_dict(shifted) == sw


async def test_max_history_override_keeps_the_newest(busy, clock):
    restored = dn.WorkflowStateMachine.deserialize(busy.serialize(), clock=clock, max_history=2)
    assert [e.seq for e in restored.history] == [6, 7]
    assert restored.metadata.transition_count == 7


def corrupt(data, path, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(["format"], "other", "not a serialized workflow", id="format"),
        pytest.param(["format_version"], 99, "format_version 99 is not supported", id="version"),
        pytest.param(["state"], KeyError, "has no 'state' field", id="missing"),
        pytest.param(["version"], "7", "version must be int", id="type"),
        pytest.param(["version"], True, "version must be int", id="bool"),
        pytest.param(["created_at"], "yesterday", "not an ISO-8601 time", id="time"),
        pytest.param(["created_at"], "2026-01-01T00:00:00", "UTC offset", id="naive"),
        pytest.param(["context"], [1], "context must be dict", id="context"),
        pytest.param(["context"], {"x": float("inf")}, "not JSON", id="inf"),
        pytest.param(["history", 0], "entry", "must be a JSON object", id="entry"),
        pytest.param(["history", 0, "seq"], 0, "seq must be >= 1", id="seq"),
        pytest.param(["max_history"], 0, "max_history must be >= 1", id="max"),
    ],
)
async def test_from_json_refuses_foreign_or_damaged_input(busy, path, value, message):
    text = corrupt(busy.serialize().to_dict(), path, value)
    with pytest.raises(dn.SerializationError, match=message):
        dn.SerializedWorkflow.from_json(text)


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "42", b"\xff\xfe"])
def test_from_json_refuses_non_objects(text):
    with pytest.raises(dn.SerializationError):
        dn.SerializedWorkflow.from_json(text)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(["state"], "Sleeping", "'Sleeping' is not a state", id="state"),
        pytest.param(["history", 2, "from_state"], "Idle", "history is broken", id="chain"),
        pytest.param(["history", 2, "seq"], 9, "history is broken", id="gap"),
        pytest.param(["history", 3, "duration_us"], 1, "has duration", id="duration"),
        pytest.param(["transition_count"], 99, "do not match the last history entry", id="count"),
        pytest.param(["definition"], "invoice", "pass definition=", id="definition"),
    ],
)
async def test_deserialize_refuses_snapshots_that_do_not_fit(busy, path, value, message):
    sw = dn.SerializedWorkflow.from_json(corrupt(busy.serialize().to_dict(), path, value))
    with pytest.raises(dn.SerializationError, match=message):
        dn.WorkflowStateMachine.deserialize(sw)


async def test_deserialize_needs_the_matching_definition(make_workflow, review_definition):
    sm = make_workflow(review_definition)
    await sm.process_event("submit")
    sw = sm.serialize()
    with pytest.raises(dn.SerializationError, match="runs definition 'review'"):
        dn.WorkflowStateMachine.deserialize(sw, definition=dn.LIFECYCLE)
    restored = dn.WorkflowStateMachine.deserialize(sw, definition=review_definition)
    assert restored.state == "review"


# From the second day on: the same time three hours west must exist too.
FROM_DAY_TWO = st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC))


@settings(max_examples=300)
@given(st.lists(FROM_DAY_TWO, min_size=1, max_size=5))
def test_time_text_is_iso_8601_utc_with_microseconds_whatever_came_before(times):
    # time_text reuses the text of the last second it wrote: any sequence must read right.
    for value in times:
        expected = value.isoformat(timespec="microseconds").replace("+00:00", "Z")
        assert time_text(value) == expected
        assert time_text(value.astimezone(timezone(timedelta(hours=-3)))) == expected
