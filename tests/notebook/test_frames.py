"""history_frame(), workflows_frame() and frame_from_columns(): dtypes and values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb
from descartes_nb.notebook._frames import frame_from_columns

from ..conftest import START

HISTORY_DTYPES = {
    "workflow_id": "str",
    "seq": "int64",
    "timestamp": "datetime64[us, UTC]",
    "from_state": "category",
    "to_state": "category",
    "event": "category",
    "event_data": "object",
    "duration": "timedelta64[us]",
    "context": "object",
    "exited": "object",
    "entered": "object",
    "configuration": "object",
}
LIFECYCLE_STATES = ["Idle", "Running", "Paused", "Completed", "Failed"]
LIFECYCLE_EVENTS = ["Start", "Pause", "Complete", "Fail", "Timeout", "Resume", "Retry"]


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


async def test_history_frame_of_one_machine_has_its_entries_typed(make_workflow, clock):
    sm = make_workflow()
    await clock.advance(timedelta(seconds=5))
    await sm.process_event("Start", {"by": "ana"})
    await sm.set_context("step", 1)
    await clock.advance(timedelta(minutes=2))
    await sm.process_event("Pause")
    await clock.advance(timedelta(seconds=30))
    await sm.process_event(E.fail("disk full"))
    frame = dnb.history_frame(sm)
    assert list(frame.columns) == list(dnb.HISTORY_COLUMNS)
    assert dtypes(frame) == HISTORY_DTYPES
    assert frame["workflow_id"].tolist() == ["wf-1"] * 3
    assert frame["seq"].tolist() == [1, 2, 3]
    assert frame["timestamp"].tolist() == [
        pd.Timestamp(START + timedelta(seconds=s)) for s in (5, 125, 155)
    ]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert frame["from_state"].tolist() == ["Idle", "Running", "Paused"]
    assert frame["to_state"].tolist() == ["Running", "Paused", "Failed"]
    assert frame["event"].tolist() == ["Start", "Pause", "Fail"]
    assert frame["event_data"].tolist() == [{"by": "ana"}, None, {"message": "disk full"}]
    assert frame["duration"].tolist() == [
        pd.Timedelta(seconds=5),
        pd.Timedelta(minutes=2),
        pd.Timedelta(seconds=30),
    ]
    assert frame["context"].tolist() == [{}, {"step": 1}, {"step": 1}]


async def test_history_frame_categories_hold_every_state_and_event(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    await sm.process_event(E.custom("note"))
    await sm.rollback()
    frame = dnb.history_frame(sm)
    assert frame["from_state"].cat.categories.tolist() == LIFECYCLE_STATES
    assert frame["to_state"].cat.categories.tolist() == LIFECYCLE_STATES
    assert frame["event"].cat.categories.tolist() == [*LIFECYCLE_EVENTS, "note", "Rollback"]
    assert frame["from_state"].value_counts()["Paused"] == 0  # unvisited, still a category
    assert (frame["from_state"] == frame["to_state"]).tolist() == [False, True, True]


async def test_history_frame_of_several_machines_and_an_orchestrator(make_workflow, clock):
    orch = dn.WorkflowOrchestrator()
    machines = [await orch.register_workflow(make_workflow()) for _ in range(3)]
    await orch.broadcast("Start")
    await clock.advance(timedelta(seconds=10))
    await orch.process_event("wf-2", "Complete")
    frame = dnb.history_frame(orch)
    assert frame[["workflow_id", "seq", "event"]].values.tolist() == [
        ["wf-1", 1, "Start"],
        ["wf-2", 1, "Start"],
        ["wf-2", 2, "Complete"],
        ["wf-3", 1, "Start"],
    ]
    assert frame["duration"].tolist()[2] == pd.Timedelta(seconds=10)
    pd.testing.assert_frame_equal(dnb.history_frame(machines), frame)
    pd.testing.assert_frame_equal(dnb.history_frame(iter(machines)), frame)


async def test_history_frame_mixes_definitions(make_workflow, review_definition):
    review = make_workflow(review_definition)
    await review.process_event("submit")
    life = make_workflow()
    await life.process_event("Start")
    frame = dnb.history_frame([review, life])
    states = frame["from_state"].cat.categories.tolist()
    assert states == ["draft", "review", "approved", "rejected", *LIFECYCLE_STATES]
    assert frame["to_state"].tolist() == ["review", "Running"]


async def test_history_frame_holds_only_retained_history(make_workflow, clock):
    sm = make_workflow(max_history=2)
    for event in ["Start", "Pause", "Resume", "Complete"]:
        await clock.advance(timedelta(seconds=1))
        await sm.process_event(event)
    frame = dnb.history_frame(sm)
    assert frame["seq"].tolist() == [3, 4]
    assert frame["duration"].tolist() == [pd.Timedelta(seconds=1)] * 2


def test_history_frame_of_nothing_is_empty_and_typed():
    frame = dnb.history_frame([])
    assert len(frame) == 0
    assert dtypes(frame) == HISTORY_DTYPES
    assert len(dnb.history_frame(dn.WorkflowStateMachine("new"))) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param(3, "got int 3", id="int"),
        pytest.param("wf-1", "got str 'wf-1'", id="str"),
        pytest.param([dn.LIFECYCLE], "expected WorkflowStateMachine items", id="item"),
    ],
)
def test_history_frame_refuses_other_objects(bad, message):
    with pytest.raises(TypeError, match=message):
        dnb.history_frame(bad)


def test_frame_from_columns_reads_iso_text_like_datetimes():
    columns: dict[str, list[Any]] = {
        "workflow_id": ["a", "a"],
        "seq": [1, 2],
        "from_state": ["Idle", "Running"],
        "to_state": ["Running", "Paused"],
        "event": ["Start", "Pause"],
        "event_data": [None, None],
        "duration": [timedelta(seconds=1), timedelta(seconds=2)],
        "context": [{}, {}],
    }
    times = [START + timedelta(seconds=1), START + timedelta(seconds=3)]
    from_text = frame_from_columns(
        {**columns, "timestamp": [t.isoformat() for t in times]}, states=LIFECYCLE_STATES
    )
    from_times = frame_from_columns({**columns, "timestamp": times}, states=LIFECYCLE_STATES)
    pd.testing.assert_frame_equal(from_text, from_times)
    assert dtypes(from_text) == HISTORY_DTYPES
    assert from_text["from_state"].cat.categories.tolist() == LIFECYCLE_STATES


def test_frame_from_columns_converts_other_offsets_to_utc():
    columns: dict[str, list[Any]] = {name: [None] for name in dnb.HISTORY_COLUMNS}
    columns.update(
        workflow_id=["a"], seq=[1], from_state=["x"], to_state=["y"], event=["go"],
        duration=[timedelta(0)], timestamp=["2026-03-01T10:00:00+01:00"],
    )  # fmt: skip
    frame = frame_from_columns(columns)
    assert frame["timestamp"][0] == pd.Timestamp(datetime(2026, 3, 1, 9, tzinfo=UTC))
    assert frame["from_state"].cat.categories.tolist() == ["x", "y"]


def test_frame_from_columns_refuses_missing_or_uneven_columns():
    columns = {name: [1, 2] for name in dnb.HISTORY_COLUMNS if name != "context"}
    with pytest.raises(ValueError, match=r"missing \['context'\], lengths \[2\]"):
        frame_from_columns(columns)
    with pytest.raises(ValueError, match=r"lengths \[1, 2\]"):
        frame_from_columns({**columns, "context": [{}]})


def test_frame_from_columns_refuses_naive_timestamps():
    columns: dict[str, list[Any]] = {name: [None] for name in dnb.HISTORY_COLUMNS}
    columns.update(
        workflow_id=["a"], seq=[1], from_state=["x"], to_state=["y"], event=["go"],
        duration=[timedelta(0)], timestamp=[datetime(2026, 3, 1, 9)],
    )  # fmt: skip
    with pytest.raises(ValueError, match="timestamps must be timezone-aware, got datetime"):
        frame_from_columns(columns)


async def test_workflows_frame_has_one_typed_row_per_workflow(make_workflow, clock):
    a, b = make_workflow(), make_workflow()
    await a.process_event("Start")
    await a.process_event(E.fail("x"))
    await a.process_event("Retry")
    await clock.advance(timedelta(minutes=1))
    await b.process_event("Start")
    await b.process_event("Complete")
    await clock.advance(timedelta(seconds=30))
    frame = dnb.workflows_frame([a, b])
    assert dtypes(frame) == {
        "workflow_id": "str",
        "definition": "str",
        "state": "category",
        "is_terminal": "bool",
        "created_at": "datetime64[us, UTC]",
        "updated_at": "datetime64[us, UTC]",
        "transition_count": "int64",
        "time_in_state": "timedelta64[us]",
        "retry_attempts": "int64",
        "version": "int64",
    }
    assert frame.to_dict("records") == [
        {
            "workflow_id": "wf-1",
            "definition": "lifecycle",
            "state": "Running",
            "is_terminal": False,
            "created_at": pd.Timestamp(START),
            "updated_at": pd.Timestamp(START),
            "transition_count": 3,
            "time_in_state": pd.Timedelta(seconds=90),
            "retry_attempts": 1,
            "version": 3,
        },
        {
            "workflow_id": "wf-2",
            "definition": "lifecycle",
            "state": "Completed",
            "is_terminal": True,
            "created_at": pd.Timestamp(START),
            "updated_at": pd.Timestamp(START + timedelta(minutes=1)),
            "transition_count": 2,
            "time_in_state": pd.Timedelta(seconds=30),
            "retry_attempts": 0,
            "version": 2,
        },
    ]
    assert frame["state"].cat.categories.tolist() == LIFECYCLE_STATES
