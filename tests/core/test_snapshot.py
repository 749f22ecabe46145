"""Snapshots in range: every field is checked for its type and range before it is used."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._jsonvalue import MAX_NESTING
from descartes_nb.core._serialization import EARLIEST_TIME, LATEST_TIME, MAX_COUNT, time_text

from ..conftest import START
from ..strategies import nested
from .test_serialization import corrupt


@pytest.fixture
async def sample(make_workflow, clock) -> dn.WorkflowStateMachine:
    """A workflow with a context and a few history entries, seconds apart."""
    sm: dn.WorkflowStateMachine = make_workflow(context={"owner": "ana"})
    for event in ["Start", "Pause", "Resume"]:
        await clock.advance(timedelta(seconds=7))
        await sm.process_event(event)
    return sm


def test_the_sample_snapshot_is_valid():
    sm = dn.WorkflowStateMachine.deserialize(dn.SerializedWorkflow.from_json(json.dumps(SNAPSHOT)))
    assert json.loads(sm.serialize().to_json()) == SNAPSHOT


def test_format_version_1_is_still_read():
    old = dn.SerializedWorkflow.from_json(json.dumps({**SNAPSHOT, "format_version": 1}))
    assert old == dn.SerializedWorkflow.from_json(json.dumps(SNAPSHOT))


async def test_from_json_refuses_an_empty_workflow_id(sample):
    text = corrupt(sample.serialize().to_dict(), ["workflow_id"], "")
    with pytest.raises(dn.SerializationError, match="workflow_id must be a non-empty str"):
        dn.SerializedWorkflow.from_json(text)


def test_from_json_refuses_nesting_too_deep_for_the_parser():
    with pytest.raises(dn.SerializationError, match=f"at most {MAX_NESTING} levels"):
        dn.SerializedWorkflow.from_json("[" * 5000 + "]" * 5000)


async def test_from_json_refuses_a_context_nested_beyond_the_limit(sample):
    text = corrupt(sample.serialize().to_dict(), ["context", "deep"], nested(150))
    with pytest.raises(dn.SerializationError, match=f"deeper than the {MAX_NESTING} levels"):
        dn.SerializedWorkflow.from_json(text)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(
            ["created_at"],
            "0001-01-01T00:00:00+01:00",
            re.escape("created_at '0001-01-01T00:00:00+01:00' is out of range"),
            id="before-the-calendar",
        ),
        pytest.param(
            ["history", 0, "timestamp"],
            "9999-12-31T23:59:59-01:00",
            re.escape("timestamp '9999-12-31T23:59:59-01:00' is out of range"),
            id="after-the-calendar",
        ),
        pytest.param(
            ["updated_at"], "9999-12-30T00:00:00+00:00", "updated_at .* is out of range", id="late"
        ),
        pytest.param(
            ["history", 0, "duration_us"], 10**20, "duration_us must be between", id="duration"
        ),
        pytest.param(
            ["version"], 10**30, f"version must be >= 0 and <= {MAX_COUNT}", id="version"
        ),
        pytest.param(["history", 0, "seq"], 2**63, "seq must be >= 1 and <=", id="seq"),
        pytest.param(["retry_attempts"], MAX_COUNT + 1, "retry_attempts must be", id="retries"),
        pytest.param(["context", "n"], 10**700, "more than 640 digits", id="int"),
    ],
)
async def test_from_json_refuses_values_out_of_range(sample, path, value, message):
    text = corrupt(sample.serialize().to_dict(), path, value)
    with pytest.raises(dn.SerializationError, match=message):
        dn.SerializedWorkflow.from_json(text)


def entry_with(sw: dn.SerializedWorkflow, **changes: Any) -> dn.SerializedWorkflow:
    return dataclasses.replace(sw, history=(sw.history[0]._replace(**changes), *sw.history[1:]))


PLUS_ONE = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"created_at": datetime(1, 1, 1, tzinfo=PLUS_ONE)},
            re.escape("created_at '0001-01-01T00:00:00+01:00' is out of range"),
            id="created-at-edge",
        ),
        pytest.param(
            {"updated_at": datetime(2026, 1, 1)},
            "updated_at must be an aware datetime",
            id="naive",
        ),
        pytest.param({"version": 10**30}, "version must be an int >= 0", id="version"),
        pytest.param({"max_history": 0}, "max_history must be an int >= 1", id="max-history"),
        pytest.param({"retry_attempts": True}, "retry_attempts must be an int", id="bool"),
        pytest.param({"workflow_id": ""}, "workflow_id must be a non-empty str", id="empty-id"),
        pytest.param({"state": 3}, "state must be a str", id="state"),
        pytest.param({"history": "abc"}, "history must be a tuple", id="history"),
        pytest.param(
            {"history": ("entry",)}, "history\\[0\\] must be a StateHistoryEntry", id="entry"
        ),
    ],
)
async def test_deserialize_refuses_a_hand_built_snapshot_out_of_range(sample, change, message):
    sw = dataclasses.replace(sample.serialize(), **change)
    with pytest.raises(dn.SerializationError, match=message):
        dn.WorkflowStateMachine.deserialize(sw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"duration": timedelta(days=999_999_999)}, "duration .* is out of range", id="duration"
        ),
        pytest.param(
            {"duration": START - datetime(9995, 1, 1, tzinfo=UTC)},
            "timestamp minus duration .* out of range",
            id="base",
        ),
        pytest.param({"duration": 5}, "duration must be a timedelta", id="duration-type"),
        pytest.param({"seq": 10**30}, "must be an int >= 1", id="seq"),
        pytest.param({"event": None}, "event must be a str", id="event"),
        pytest.param(
            {"timestamp": datetime(9999, 12, 31, 23, tzinfo=UTC)},
            "timestamp .* out of range",
            id="late",
        ),
        pytest.param({"event_data": {"x": {1}}}, "event_data\\['x'\\] is \\{1\\}", id="data"),
        pytest.param({"context_before": [1]}, "context_before must be a mapping", id="context"),
    ],
)
async def test_deserialize_refuses_a_hand_built_history_entry_out_of_range(
    sample, change, message
):
    with pytest.raises(dn.SerializationError, match=message):
        dn.WorkflowStateMachine.deserialize(entry_with(sample.serialize(), **change))


async def test_attach_store_refuses_times_it_could_not_keep(tmp_path):
    clock = dn.ManualClock(LATEST_TIME + timedelta(days=1))
    sm = dn.WorkflowStateMachine("late", clock=clock)
    await sm.process_event("Start")
    async with dn.SqliteWorkflowStore(tmp_path / "wf.db") as store:
        with pytest.raises(dn.SerializationError, match=r"created_at .* is out of range"):
            await sm.attach_store(store)
        assert sm.store is None
        assert await store.list_workflows() == []


async def test_snapshot_times_at_the_edges_of_the_range_are_kept(sample, clock):
    sw = sample.serialize()
    first = sw.history[0]
    shifted = dataclasses.replace(
        sw,
        created_at=EARLIEST_TIME,
        history=(first._replace(duration=first.timestamp - EARLIEST_TIME), *sw.history[1:]),
    )
    sm = dn.WorkflowStateMachine.deserialize(shifted, clock=clock)
    assert sm.metadata.created_at == EARLIEST_TIME
    late = dn.ManualClock(LATEST_TIME)
    sm = dn.WorkflowStateMachine("late", clock=late)
    text = sm.serialize().to_json()
    assert dn.SerializedWorkflow.from_json(text).created_at == LATEST_TIME


# -- properties ---------------------------------------------------------------------------


def stamp(seconds: int) -> str:
    return time_text(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds))


def entry(seq: int, source: str, target: str, event: str) -> dict[str, object]:
    return {
        "seq": seq,
        "from_state": source,
        "to_state": target,
        "event": event,
        "event_data": None,
        "timestamp": stamp(7 * seq),
        "duration_us": 7_000_000,
        "context": {"owner": "ana"},
    }


# A valid snapshot as JSON data: three lifecycle transitions, seven seconds apart.
SNAPSHOT: dict[str, object] = {
    "format": "descartes_nb.workflow",
    "format_version": 2,
    "workflow_id": "prop",
    "definition": "lifecycle",
    "state": "Running",
    "context": {"owner": "ana"},
    "created_at": stamp(0),
    "updated_at": stamp(21),
    "state_entered_at": stamp(21),
    "retry_attempts": 0,
    "version": 3,
    "max_history": 1000,
    "transition_count": 3,
    "history": [
        {**entry(1, "Idle", "Running", "Start"), "context_before": {"owner": "ana"}},
        entry(2, "Running", "Paused", "Pause"),
        entry(3, "Paused", "Running", "Resume"),
    ],
}
FIELDS = [
    *(
        [key]
        for key in SNAPSHOT
        if key not in ("format", "format_version", "definition", "state", "history")
    ),
    *(["history", 0, key] for key in ("seq", "timestamp", "duration_us", "event_data")),
    ["history", 2, "timestamp"],
    ["context", "owner"],
]
offsets = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23))
times = st.builds(
    lambda when, offset: when.replace(tzinfo=timezone(offset)).isoformat(),
    st.sampled_from([datetime.min, datetime.max, datetime(1, 1, 1, 0, 30)]) | st.datetimes(),
    offsets,
)
DEEP_TEXT = "[" * 2000 + "]" * 2000  # deeper than json.dumps can write, so put in as text
replacements = (
    st.integers()
    | st.sampled_from([10**20, -(10**20), 10**30, 2**63, MAX_COUNT + 1, 0, -1])
    | st.integers(600, 4000).map(lambda digits: 10**digits)
    | times
    | st.text(max_size=3)
    | st.sampled_from([DEEP_TEXT, nested(MAX_NESTING + 1), None, True, 1e308])
)


@given(path=st.sampled_from(FIELDS), value=replacements)
def test_a_damaged_snapshot_is_read_or_refused_never_a_raw_error(path, value):
    text = corrupt(copy.deepcopy(SNAPSHOT), path, value).replace(f'"{DEEP_TEXT}"', DEEP_TEXT)
    try:
        sm = dn.WorkflowStateMachine.deserialize(dn.SerializedWorkflow.from_json(text))
    except dn.SerializationError:
        return
    again = dn.WorkflowStateMachine.deserialize(
        dn.SerializedWorkflow.from_json(sm.serialize().to_json())
    )
    assert again.serialize() == sm.serialize()
