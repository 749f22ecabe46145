"""load_history_frame(): a store file read as the frame history_frame() builds from machines."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb

from ..conftest import START
from .test_frames import HISTORY_DTYPES, LIFECYCLE_EVENTS, LIFECYCLE_STATES, dtypes

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "workflows.db"


@pytest.fixture
async def store(db_path, clock):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as opened:
        yield opened


def damage(path, sql: str) -> None:
    """Change the file behind the store's back, with a plain sqlite3 connection."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()


async def write_workflows(path, clock, review) -> None:
    """Workflows with rollbacks, context set between events, a restore, and long histories.

    The store keeps 6 transitions per workflow, so ``long-*`` lose their oldest ones.
    """
    config = dn.StateStoreConfig(history_limit=6)
    async with dn.SqliteWorkflowStore(path, config, clock=clock) as store:
        make = dn.WorkflowStateMachine
        sm = make("build-1", store=store, clock=clock)
        await clock.advance(timedelta(seconds=5))
        await sm.process_event("Start", {"by": "ana"})
        await sm.set_context("step", 1)
        await clock.advance(timedelta(minutes=2))
        await sm.process_event("Pause")
        await sm.rollback()
        await sm.set_context("step", 2)
        await sm.process_event(E.custom("note", {"text": "slow disk"}))
        await clock.advance(timedelta(seconds=30))
        await sm.process_event(E.fail("disk full"))
        review_sm = make("review-7", review, store=store, clock=clock, context={"approvals": 0})
        await review_sm.process_event("submit")
        await review_sm.set_context("approvals", 2)
        await clock.advance(timedelta(hours=1))
        await review_sm.process_event("approve")
        long = make("long-3", store=store, clock=clock)
        await long.process_event("Start")
        await store.create_checkpoint("long-3", label="started")
        for i in range(9):
            await clock.advance(timedelta(seconds=i + 1))
            await long.process_event("Pause" if i % 2 == 0 else "Resume")
            if i % 3 == 0:
                await long.set_context("round", i)
        await store.restore_checkpoint("long-3", "started")
        idle = make("idle-0", store=store, clock=clock)
        await idle.set_context("queued", True)  # stored, with no transition


async def test_load_history_frame_equals_history_frame_of_recovered_machines(
    tmp_path, clock, review_definition
):
    path = tmp_path / "workflows.db"
    await write_workflows(path, clock, review_definition)  # then every object is dropped
    async with dn.SqliteWorkflowStore(path) as store:
        frame = await dnb.load_history_frame(store, definitions=[review_definition])
        report = await dn.WorkflowRecovery(store, [review_definition]).recover_all_workflows()
    assert report.ok, str(report)
    assert list(report.workflows) == ["build-1", "idle-0", "long-3", "review-7"]
    expected = dnb.history_frame(report.workflows.values())
    pd.testing.assert_frame_equal(frame, expected)
    assert dtypes(frame) == HISTORY_DTYPES
    assert frame.groupby("workflow_id")["seq"].agg(list).to_dict() == {
        "build-1": [1, 2, 3, 4, 5],
        "long-3": [6, 7, 8, 9, 10, 11],  # 1 to 5 pruned by the store's history_limit
        "review-7": [1, 2],
    }
    build = frame[frame["workflow_id"] == "build-1"]
    assert build["event"].tolist() == ["Start", "Pause", "Rollback", "note", "Fail"]
    assert build["context"].tolist() == [{}, {"step": 1}, {"step": 1}, {"step": 2}, {"step": 2}]
    assert build["event_data"].tolist()[2:] == [
        {"undone_seq": 2},
        {"text": "slow disk"},
        {"message": "disk full"},
    ]
    assert frame["event"].iloc[-3] == "Restore"
    assert frame["from_state"].cat.categories.tolist() == [
        *LIFECYCLE_STATES,
        "draft",
        "review",
        "approved",
        "rejected",
    ]


async def test_load_history_frame_keeps_what_a_machine_evicts(store, clock):
    sm = dn.WorkflowStateMachine("short-memory", store=store, clock=clock, max_history=3)
    await sm.process_event("Start")
    for i in range(7):
        await clock.advance(timedelta(minutes=i))
        await sm.process_event("Pause" if i % 2 == 0 else "Resume")
    frame = await dnb.load_history_frame(store)
    assert frame["seq"].tolist() == list(range(1, 9))
    recovered = await dn.WorkflowRecovery(store).recover_workflow("short-memory")
    tail = frame.tail(3).reset_index(drop=True)
    pd.testing.assert_frame_equal(tail, dnb.history_frame(recovered))


async def test_load_history_frame_chooses_workflows_and_a_start_time(store, clock):
    for name in ("a", "b", "c"):
        sm = dn.WorkflowStateMachine(name, store=store, clock=clock)
        await sm.process_event("Start")
        await clock.advance(timedelta(minutes=1))
        await sm.process_event("Pause")
    frame = await dnb.load_history_frame(store, ["c", "a"])
    assert frame["workflow_id"].tolist() == ["a", "a", "c", "c"]
    since = START + timedelta(minutes=2)
    later = await dnb.load_history_frame(store, since=since)
    assert list(zip(later["workflow_id"], later["seq"], strict=True)) == [
        ("b", 2),
        ("c", 1),
        ("c", 2),
    ]
    assert (later["timestamp"] >= pd.Timestamp(since)).all()
    assert later["event"].cat.categories.tolist() == LIFECYCLE_EVENTS
    assert len(await dnb.load_history_frame(store, [])) == 0


async def test_load_history_frame_of_an_empty_store_is_typed(store):
    frame = await dnb.load_history_frame(store)
    assert frame.empty
    pd.testing.assert_frame_equal(frame, dnb.history_frame([]))


async def test_load_history_frame_without_definitions_uses_observed_names(
    store, clock, review_definition
):
    sm = dn.WorkflowStateMachine("r", review_definition, store=store, clock=clock)
    await sm.process_event("submit")
    await sm.process_event("reject")
    frame = await dnb.load_history_frame(store)
    assert frame["from_state"].cat.categories.tolist() == ["draft", "review", "rejected"]
    assert frame["event"].cat.categories.tolist() == ["submit", "reject"]


async def test_load_history_frame_of_an_unknown_workflow_names_the_stored_ones(store, clock):
    await dn.WorkflowStateMachine("kept", store=store, clock=clock).process_event("Start")
    with pytest.raises(dn.WorkflowNotFoundError, match=r"no workflow 'gone' .*\['kept'\]"):
        await dnb.load_history_frame(store, ["kept", "gone"])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        pytest.param({"workflow_ids": "build-1"}, TypeError, "not one id: 'build-1'", id="str"),
        pytest.param({"workflow_ids": [7]}, TypeError, "must be str, got 7", id="id"),
        pytest.param({"since": "2026-03-01"}, TypeError, "since must be", id="since"),
        pytest.param(
            {"since": datetime(2026, 3, 1)}, ValueError, "timezone-aware", id="naive-since"
        ),
        pytest.param(
            {"definitions": ["review"]}, TypeError, "objects, got 'review'$", id="definition"
        ),
        pytest.param(
            {"definitions": {"review": 3}}, TypeError, r"got 3 \(named 'review'\)", id="named"
        ),
    ],
)
async def test_load_history_frame_refuses_bad_arguments(store, arguments, error, message):
    with pytest.raises(error, match=message):
        await dnb.load_history_frame(store, **arguments)


async def test_load_history_frame_needs_a_store():
    expected = r"with load_history_columns \(a SqliteWorkflowStore\), got str 'workflows.db'"
    with pytest.raises(TypeError, match=expected):
        await dnb.load_history_frame("workflows.db")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        pytest.param(
            "UPDATE transitions SET context = '{\"oops' WHERE seq = 2",
            r"workflow 'wf' seq 2 context is not JSON",
            id="context",
        ),
        pytest.param(
            "UPDATE transitions SET event_data = 'nan' WHERE seq = 1",
            r"workflow 'wf' seq 1 event_data is not JSON",
            id="event-data",
        ),
        pytest.param(
            "UPDATE transitions SET timestamp = 'yesterday' WHERE seq = 2",
            r"workflow 'wf' seq 2 timestamp is not an ISO-8601 time: 'yesterday'",
            id="timestamp",
        ),
        pytest.param(
            "UPDATE transitions SET seq = 'two' WHERE seq = 2",
            r"stored history cannot be read: ",
            id="seq",
        ),
        pytest.param(
            "UPDATE transitions SET duration_us = 'long' WHERE seq = 2",
            r"stored durations must be integers",
            id="duration",
        ),
    ],
)
async def test_load_history_frame_reports_a_damaged_row(store, db_path, clock, sql, message):
    sm = dn.WorkflowStateMachine("wf", store=store, clock=clock)
    await sm.process_event("Start", {"by": "ana"})
    await sm.process_event("Pause")
    damage(db_path, sql)
    with pytest.raises(dn.SerializationError, match=message):
        await dnb.load_history_frame(store)


async def test_load_history_frame_reads_any_iso_time_recovery_reads(store, db_path, clock):
    sm = dn.WorkflowStateMachine("wf", store=store, clock=clock)
    await clock.advance(timedelta(hours=1))
    await sm.process_event("Start")
    await sm.process_event("Pause")
    before = await dnb.load_history_frame(store)
    year, week, day = (START + timedelta(hours=1)).isocalendar()
    week_date = f"{year}-W{week:02d}-{day}T10:00:00+00:00"  # the same instant, as a week date
    damage(db_path, f"UPDATE transitions SET timestamp = '{week_date}' WHERE seq = 2")
    pd.testing.assert_frame_equal(await dnb.load_history_frame(store), before)
    recovered = await dn.WorkflowRecovery(store).recover_workflow("wf")
    pd.testing.assert_frame_equal(dnb.history_frame(recovered), before)


async def test_history_frame_of_a_store_points_to_load_history_frame(store):
    with pytest.raises(TypeError, match=r"'await load_history_frame\(store\)', got <Sqlite"):
        dnb.history_frame(store)


async def test_load_history_frame_reads_stored_statechart_moves(tmp_path, clock):
    chart = dn.load_definitions(FIXTURES / "valid_statechart.toml")["chart"]
    path = tmp_path / "workflows.db"
    async with dn.SqliteWorkflowStore(path, clock=clock) as store:
        sm = dn.WorkflowStateMachine("chart-1", chart, store=store, clock=clock)
        for event in ("again", "pause", "skip", "next"):
            await clock.advance(timedelta(seconds=1))
            await sm.process_event(event)
        flat = dn.WorkflowStateMachine("flat-2", store=store, clock=clock)
        await flat.process_event("Start")
    async with dn.SqliteWorkflowStore(path) as store:
        frame = await dnb.load_history_frame(store, definitions=[chart])
        unknown = await dnb.load_history_frame(store)  # no definition: flat rows stay empty
    expected = dnb.history_frame([sm, flat])
    pd.testing.assert_frame_equal(frame, expected)
    rows = frame.set_index(["workflow_id", "seq"])
    exited = rows.loc[("chart-1", 2), "exited"]
    assert isinstance(exited, tuple)
    assert exited[-1] == "Work"  # innermost first
    assert set(exited) == {"L1", "Left", "R1", "Right", "Work"}
    assert rows.loc[("chart-1", 3), "configuration"] == ("Work", "Left", "L1", "Right", "R1")
    assert rows.loc[("flat-2", 1), "configuration"] == ("Running",)
    # Without its definition a statechart's rows keep what is stored (states by name);
    # the lifecycle is always known.
    assert unknown["configuration"][0] == tuple(sorted(frame["configuration"][0]))
    assert [set(c) for c in unknown["configuration"]] == [set(c) for c in frame["configuration"]]
