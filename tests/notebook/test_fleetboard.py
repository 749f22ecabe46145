"""FleetDashboard: a store's workflows followed live; events sent through the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.notebook import Dashboard, FleetDashboard
from descartes_nb.notebook._tasks import message_text

DEFINITIONS = dn.load_definitions(Path(__file__).parent.parent / "store" / "fleet.toml")
Store = dn.SqliteWorkflowStore | dn.PostgresWorkflowStore


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_db_url"))
    return str(tmp_path / "fleet.db")


@pytest.fixture
async def store(db: str) -> AsyncIterator[Store]:
    async with dn.open_store(db) as opened:
        yield opened


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the dashboard did not show the change within 10 s")


async def test_fleet_dashboard_follows_changes_made_through_another_store(
    db: str, store: Store
) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    board = FleetDashboard(store, DEFINITIONS, poll_interval=0.01)
    try:
        await asyncio.wait_for(board.ready.wait(), 10)
        assert board.rows["c1"] == ("c1", "counter", "Counting", 0, "")
        async with dn.open_store(db) as other:  # another writer: another connection
            counter, timed = DEFINITIONS["counter"], DEFINITIONS["timed"]
            sm = await dn.WorkflowStateMachine.get_or_create("c1", counter, store=other)
            await sm.process_event("tick")
            await dn.WorkflowStateMachine("c2", timed, store=other).process_event("start")
        await _until(lambda: board.rows.get("c2", ("",) * 4)[3] == 1)
        assert board.rows["c1"] == ("c1", "counter", "Counting", 1, "tick")
        assert board.rows["c2"] == ("c2", "timed", "Working", 1, "start")
        assert "Working" in board.table.value
        assert list(board.selector.options) == ["c1", "c2"]
    finally:
        board.close()


async def test_fleet_dashboard_send_button_goes_through_the_store(store: Store) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    board = FleetDashboard(store, DEFINITIONS, poll_interval=0.01)
    worker = dn.Worker(store, DEFINITIONS, poll_interval=0.01)
    serving = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(board.ready.wait(), 10)
        board.selector.value = "c1"
        assert {"stop", "tick"} <= set(board.event.options)
        board.event.value = "tick"
        task = board.send()
        assert task is not None
        await asyncio.wait_for(task, 10)
        assert message_text(board.message) == "tick processed by c1: #1 Counting → Counting\n"
        board.event.value = "nope"
        refused = board.send()
        assert refused is not None
        await asyncio.wait([refused], timeout=10)  # its failure is shown, not raised
        assert "Refused: unknown event 'nope'" in message_text(board.message)
        await _until(lambda: board.rows["c1"].version == 1)
    finally:
        worker.stop()
        await serving
        board.close()
    assert worker.stats == dn.WorkerStats(events=2, refused=1)


async def test_fleet_dashboard_send_without_a_choice_says_so(store: Store) -> None:
    board = FleetDashboard(store, DEFINITIONS, poll_interval=0.01)
    try:
        assert board.send() is None
        assert message_text(board.message) == "choose a workflow and type an event first\n"
    finally:
        board.close()


def test_fleet_dashboard_refuses_what_is_not_a_store() -> None:
    with pytest.raises(TypeError, match=r"got 'fleet\.db'"):
        FleetDashboard("fleet.db")  # type: ignore[arg-type]


async def test_fleet_dashboard_shows_as_text_where_widgets_cannot_run(store: Store) -> None:
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    sm = dn.WorkflowStateMachine("timed-2", DEFINITIONS["timed"])
    await sm.attach_store(store)
    await sm.process_event("start")
    sm.cancel_timers()
    board = FleetDashboard(store, DEFINITIONS, poll_interval=0.01)
    try:
        await asyncio.wait_for(board.ready.wait(), 10)
        bundle = board._repr_mimebundle_()
        assert bundle["text/plain"] == (
            "FleetDashboard: 2 workflows\n"
            "  c1       counter: Counting (version 0)\n"
            "  timed-2  timed: Working (version 1, last event start)"
        )
        assert "<table" in bundle["text/html"]
    finally:
        board.close()


async def test_dashboard_of_a_store_is_the_fleet_board(store: Store) -> None:
    """DESIGN's ``Dashboard(store)``: the same class as for an orchestrator, the fleet inside."""
    await dn.WorkflowStateMachine("c1", DEFINITIONS["counter"]).attach_store(store)
    board = Dashboard(store, DEFINITIONS, poll_interval=0.01)
    try:
        assert isinstance(board.fleet, FleetDashboard)
        assert board.children == (board.fleet,)
        await asyncio.wait_for(board.fleet.ready.wait(), 10)
        assert board.fleet.rows["c1"][:3] == ("c1", "counter", "Counting")
    finally:
        board.close()
