"""The fleet in one process: durable timers, send_event and its outcome, the Worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import descartes_nb as dn

from .conftest import Backend

DEFINITIONS = dn.load_definitions(Path(__file__).with_name("fleet.toml"))
Store = dn.SqliteWorkflowStore | dn.PostgresWorkflowStore


@pytest.fixture(params=["sqlite-loop", "sqlite-thread", "postgres"])
def fleet_backend(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("pg_db_url"))
    return Backend(request.param, str(db_path), loop_commits=request.param == "sqlite-loop")


@pytest.fixture
async def store(fleet_backend: Backend) -> AsyncIterator[Store]:
    async with fleet_backend.open() as opened:
        yield opened


def _past_clock() -> dn.ManualClock:
    """A clock an hour behind: timers it arms are already due for a worker."""
    return dn.ManualClock(start=datetime.now(UTC) - timedelta(hours=1))


async def _timed(store: Store, wid: str = "t1") -> dn.WorkflowStateMachine:
    sm = dn.WorkflowStateMachine(wid, DEFINITIONS["timed"], clock=_past_clock())
    await sm.attach_store(store)
    await sm.process_event("start")
    return sm


async def test_send_event_worker_processes_and_result_is_the_entry(store: Store) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    first = await store.send_event("c1", "tick", {"n": 1})
    second = await store.send_event("c1", dn.WorkflowEvent.custom("tick", {"n": 2}))
    worker = dn.Worker(store, DEFINITIONS)
    assert await worker.run_once() == 2
    one, two = await first.result(), await second.result()
    assert (one and one.seq, one and one.event_data) == (1, {"n": 1})
    assert (two and two.seq, two and two.event_data) == (2, {"n": 2})
    assert worker.stats == dn.WorkerStats(events=2)
    assert (await store.load_workflow("c1")).version == 2


@pytest.mark.parametrize(
    ("wid", "event", "error"),
    [
        pytest.param("c1", "nope", dn.UnknownEventError, id="unknown-event"),
        pytest.param("c1", "Retry", dn.InvalidTransitionError, id="not-allowed"),
        pytest.param("ghost", "tick", dn.WorkflowNotFoundError, id="no-workflow"),
    ],
)
async def test_send_event_refusal_is_raised_by_result(
    store: Store, wid: str, event: str, error: type[Exception]
) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    sent = await store.send_event(wid, event)
    worker = dn.Worker(store, DEFINITIONS)
    assert await worker.run_once() == 1
    with pytest.raises(error, match=repr(wid) if wid == "ghost" else repr(event)):
        await sent.result()
    assert worker.stats.refused == 1
    assert (await store.load_workflow("c1")).version == 0


async def test_send_event_bad_event_raises_and_records_nothing(store: Store) -> None:
    with pytest.raises(dn.SerializationError, match="got 42"):
        await store.send_event("c1", 42)  # type: ignore[arg-type]
    with pytest.raises(dn.SerializationError, match="data of event 'tick'"):
        await store.send_event("c1", "tick", {"n": object()})  # type: ignore[dict-item]
    assert await dn.Worker(store, DEFINITIONS).run_once() == 0


async def test_result_waits_for_a_worker(store: Store) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    sent = await store.send_event("c1", "tick")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await sent.result()


async def test_durable_timer_is_written_with_its_change_and_fired_by_a_worker(
    store: Store, fleet_backend: Backend
) -> None:
    sm = await _timed(store)
    due = sm.clock.now() + timedelta(milliseconds=150)
    timers = sm.pending_timers()
    assert timers is not None
    assert [(t.event, t.due_at) for t in timers] == [("Timeout", due)]
    worker = dn.Worker(store, DEFINITIONS)
    assert await worker.run_once() == 1  # the Timeout; the Retry it arms is not due yet
    history = await store.get_workflow_history("t1")
    assert [(e.event, e.to_state) for e in history] == [
        ("start", "Working"),
        ("Timeout", "Failed"),
    ]
    assert worker.stats == dn.WorkerStats(timers=1)
    # Fired once: its row went with the change, which armed the Retry at its version.
    rows = await fleet_backend.query("SELECT event, version FROM timers")
    assert rows == [("Retry", 2)]


async def test_durable_timer_of_an_older_version_is_void(store: Store) -> None:
    sm = await _timed(store)
    await store.create_checkpoint("t1", "working")
    await store.restore_checkpoint("t1", "working")  # a new version, its timers not rearmed
    worker = dn.Worker(store, DEFINITIONS)
    assert await worker.run_once() == 0
    assert [e.event for e in await store.get_workflow_history("t1")] == ["start", "Restore"]
    del sm


async def test_durable_timers_follow_each_change(store: Store) -> None:
    sm = await _timed(store)
    await sm.process_event("finish")  # Done: no timer left
    assert sm.pending_timers() == ()
    assert await dn.Worker(store, DEFINITIONS).run_once() == 0
    assert (await store.load_workflow("t1")).state == "Done"


async def test_machine_timer_beaten_by_a_worker_is_void(store: Store) -> None:
    clock = dn.ManualClock(start=datetime.now(UTC) - timedelta(hours=1))
    sm = dn.WorkflowStateMachine("t1", DEFINITIONS["timed"], clock=clock)
    await sm.attach_store(store)
    await sm.process_event("start")
    assert await dn.Worker(store, DEFINITIONS).run_once() == 1
    await clock.advance(timedelta(milliseconds=150))  # the machine's own Timeout: stale
    assert sm.state == "Working"
    assert [e.event for e in await store.get_workflow_history("t1")] == ["start", "Timeout"]


def test_worker_rejects_bad_arguments(tmp_path: Path) -> None:
    store = dn.SqliteWorkflowStore(tmp_path / "w.db")
    with pytest.raises(ValueError, match=r"handlers for unknown definitions \['nope'\]"):
        dn.Worker(store, DEFINITIONS, handlers={"nope": object()})
    with pytest.raises(TypeError, match=r"got 'w\.db'"):
        dn.Worker("w.db", DEFINITIONS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="got 0"):
        dn.Worker(store, DEFINITIONS, poll_interval=0)


async def test_orchestrator_sends_events_to_workflows_it_does_not_hold(store: Store) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    orchestrator = dn.WorkflowOrchestrator(store)
    worker = dn.Worker(store, DEFINITIONS, poll_interval=0.01)
    serving = asyncio.create_task(worker.run())
    try:
        entry = await asyncio.wait_for(orchestrator.process_event("c1", "tick", {"n": 1}), 10)
        assert (entry.seq, entry.event, entry.event_data) == (1, "tick", {"n": 1})
        with pytest.raises(dn.InvalidTransitionError, match="'Retry'"):
            await asyncio.wait_for(orchestrator.process_event("c1", "Retry"), 10)
        with pytest.raises(dn.WorkflowNotFoundError, match="'ghost'"):
            await asyncio.wait_for(orchestrator.process_event("ghost", "tick"), 10)
    finally:
        worker.stop()
        await serving
    assert "c1" not in orchestrator
    assert worker.stats == dn.WorkerStats(events=3, refused=2)
    assert (await store.load_workflow("c1")).version == 1


async def test_idle_worker_wakes_for_the_next_timer_before_its_poll_interval(
    store: Store,
) -> None:
    sm = dn.WorkflowStateMachine("t1", DEFINITIONS["timed"])
    await sm.attach_store(store)
    await sm.process_event("start")  # a Timeout due in 150 ms, written with the change
    sm.cancel_timers()  # this process leaves it to the worker
    worker = dn.Worker(store, DEFINITIONS, poll_interval=30)
    serving = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(10):  # far less than the poll interval
            while worker.stats.timers == 0:  # noqa: ASYNC110 - another task's progress
                await asyncio.sleep(0.02)
    finally:
        worker.stop()
        await serving
    history = await store.get_workflow_history("t1")
    assert [e.event for e in history][:2] == ["start", "Timeout"]  # then Retry, 50 ms on
