"""Property: random cancellations in random concurrent bursts keep every machine equal to
its stored workflow, and every machine working."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn

from ..conftest import START

TURNS = 12  # loop turns during which tasks may be cancelled (a change takes a few)
OPERATIONS: dict[str, Callable[[dn.WorkflowStateMachine], Coroutine[Any, Any, object]]] = {
    "Pause": lambda sm: sm.process_event("Pause"),
    "Resume": lambda sm: sm.process_event("Resume"),
    "note": lambda sm: sm.process_event(dn.WorkflowEvent.custom("note", {"n": sm.version})),
    "set_context": lambda sm: sm.set_context("step", sm.version),
    "rollback": lambda sm: sm.rollback(),
}
REFUSED = dn.InvalidTransitionError  # Resume while running, nothing left to undo...


class Yielding(dn.StateHandler):
    """Gives other tasks a chance (and cancellations a place) inside every transition."""

    def __init__(self, turns: int) -> None:
        self.turns = turns

    async def on_transition(self, from_state, to_state, event):
        for _ in range(self.turns):
            await asyncio.sleep(0)


@st.composite
def bursts(draw) -> tuple[int, list[tuple[int, str, int | None]]]:
    """Workflows, and changes to them: (workflow, operation, turn it is cancelled at)."""
    workflows = draw(st.integers(1, 8))
    changes = draw(
        st.lists(
            st.tuples(
                st.integers(0, workflows - 1),
                st.sampled_from(list(OPERATIONS)),
                st.none() | st.integers(0, TURNS),
            ),
            min_size=1,
            max_size=40,
        )
    )
    return workflows, changes


async def run_burst(
    path: Path,
    config: dn.StateStoreConfig,
    burst: tuple[int, list[tuple[int, str, int | None]]],
    handler_turns: int,
    locked_until: int | None,
) -> None:
    workflows, changes = burst
    clock = dn.ManualClock(START)
    handler = Yielding(handler_turns) if handler_turns else None
    async with dn.SqliteWorkflowStore(path, config, clock=clock) as store:
        machines = [
            dn.WorkflowStateMachine(f"w{i}", store=store, handler=handler, clock=clock)
            for i in range(workflows)
        ]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        # Another connection may hold the write lock for a while: writes then wait for it
        # on the connection's thread, where cancellations find them being written.
        blocker = None
        if locked_until is not None:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
        try:
            tasks = [
                (asyncio.create_task(OPERATIONS[kind](machines[i])), at) for i, kind, at in changes
            ]
            for turn in range(TURNS + 1):
                if blocker is not None and turn == locked_until:
                    blocker.close()  # rolls back: the lock is free
                    blocker = None
                for task, at in tasks:
                    if at == turn:
                        task.cancel()
                await asyncio.sleep(0)
        finally:
            if blocker is not None:
                blocker.close()
        results = await asyncio.gather(*(task for task, _ in tasks), return_exceptions=True)
        for result in results:
            assert result is None or isinstance(
                result, dn.StateHistoryEntry | asyncio.CancelledError | REFUSED
            ), repr(result)
        for sm in machines:
            assert await store.load_workflow(sm.workflow_id) == sm.serialize()
        await asyncio.gather(*(sm.process_event(dn.WorkflowEvent.custom("on")) for sm in machines))
        for sm in machines:
            assert await store.load_workflow(sm.workflow_id) == sm.serialize()


@given(
    burst=bursts(),
    synchronous=st.sampled_from(["NORMAL", "FULL"]),
    loop_commits=st.booleans(),
    handler_turns=st.integers(0, 3),
    locked_until=st.none() | st.integers(0, TURNS + 1),
)
def test_random_cancellations_keep_every_machine_equal_to_the_store(
    burst, synchronous, loop_commits, handler_turns, locked_until
):
    config = dn.StateStoreConfig(
        synchronous=synchronous, loop_commits=loop_commits, busy_timeout=timedelta(minutes=5)
    )
    folder = Path(tempfile.mkdtemp(prefix="descartes-cancel-"))
    try:
        asyncio.run(run_burst(folder / "burst.db", config, burst, handler_turns, locked_until))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
