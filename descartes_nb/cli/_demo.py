"""The ``demo`` command: a handful of workflows run concurrently and durably, then shown."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from .. import WorkflowEvent, WorkflowOrchestrator, WorkflowStateMachine
from ..core._events import RETRY, ROLLBACK
from ..errors import StateMachineError
from ..store._config import DEFAULT_DATABASE
from ..store._open import open_store
from ..store._postgres import PostgresWorkflowStore
from ..store._sqlite import SqliteWorkflowStore
from ._database import check_database, history_table, milliseconds, shown_database, table


@dataclass(frozen=True)
class _Script:
    """One demo workflow: its id, its events, and a pause (seconds) before each."""

    workflow_id: str
    story: str
    events: Sequence[WorkflowEvent]
    pace: float = 0.01
    refused: list[str] = field(default_factory=list)


_F = WorkflowEvent
_DEMO: tuple[_Script, ...] = (
    _Script("build-101", "completes", [_F.START, _F.COMPLETE]),
    _Script("build-102", "completes", [_F.START, _F.COMPLETE], pace=0.015),
    _Script("build-103", "completes", [_F.START, _F.COMPLETE], pace=0.02),
    _Script(
        "deploy-201",
        "fails, is retried, completes",
        [_F.START, _F.fail("registry timed out"), _F.RETRY, _F.COMPLETE],
    ),
    _Script(
        "report-301",
        "is paused and resumed",
        [_F.START, _F.PAUSE, _F.RESUME, _F.COMPLETE],
        pace=0.012,
    ),
    _Script(
        "migrate-401",
        "is rolled back, then completes",
        [_F.START, _F.PAUSE, _F.ROLLBACK, _F.COMPLETE],
        pace=0.008,
    ),
    _Script("backup-501", "is refused an event", [_F.START, _F.COMPLETE, _F.RESUME]),
)


async def _run_script(orchestrator: WorkflowOrchestrator, script: _Script) -> None:
    for event in script.events:
        await asyncio.sleep(script.pace)  # stands in for real work between events
        try:
            await orchestrator.process_event(script.workflow_id, event)
        except StateMachineError as exc:
            script.refused.append(f"{type(exc).__name__}: {exc}")


async def run_demo(
    out: TextIO | None = None, db: str | os.PathLike[str] = DEFAULT_DATABASE
) -> WorkflowOrchestrator:
    """Run the demo workflows concurrently, durably in ``db``; print histories and a summary.

    Each run adds its workflows under fresh ids (``build-101``, then ``build-101#2``...), so
    the demo can run again on the same file without touching what is stored there.
    """
    stream = out or sys.stdout
    async with open_store(db) as store:
        run = await _next_run(store)
        suffix = "" if run == 1 else f"#{run}"
        orchestrator = WorkflowOrchestrator(store=store)
        scripts = [_Script(s.workflow_id + suffix, s.story, s.events, s.pace) for s in _DEMO]
        for script in scripts:
            await orchestrator.register_workflow(WorkflowStateMachine(script.workflow_id))
        async with asyncio.TaskGroup() as group:
            for script in scripts:
                group.create_task(_run_script(orchestrator, script))
    where = shown_database(os.fspath(db))
    print(
        f"demo run {run}: {len(scripts)} workflows, each change committed to {where}", file=stream
    )
    print(f"(see them again with: descartes-nb history {where})", file=stream)
    for script in scripts:
        sm = orchestrator.get_workflow(script.workflow_id)
        print(f"\n{sm.workflow_id}: {script.story}", file=stream)
        print(history_table(sm.history), file=stream)
        for refusal in script.refused:
            print(f"  refused -> {refusal}", file=stream)
    print("\nsummary", file=stream)
    print(_summary_table(orchestrator), file=stream)
    return orchestrator


async def _next_run(store: SqliteWorkflowStore | PostgresWorkflowStore) -> int:
    """The first demo run number whose workflow ids are all free in ``store``."""
    stored = set(await store.list_workflows())
    run = 1
    while any(s.workflow_id + ("" if run == 1 else f"#{run}") in stored for s in _DEMO):
        run += 1
    return run


def _summary_table(orchestrator: WorkflowOrchestrator) -> str:
    rows = [
        [
            sm.workflow_id,
            str(sm.state),
            str(sm.metadata.transition_count),
            # every Retry taken (metadata counts only those since the workflow last failed)
            str(sum(e.event == RETRY for e in sm.history)),
            str(sum(e.event == ROLLBACK for e in sm.history)),
            milliseconds(sm.metadata.updated_at - sm.metadata.created_at),
        ]
        for sm in orchestrator
    ]
    header = ["workflow_id", "state", "transitions", "retries", "rollbacks", "elapsed"]
    return table(header, rows)


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    demo = commands.add_parser(
        "demo", help="run a handful of workflows concurrently, durably, and show them"
    )
    demo.add_argument(
        "--db",
        default=DEFAULT_DATABASE,
        help=f"SQLite file, sqlite:/// or postgresql:// URL to keep them in ({DEFAULT_DATABASE})",
    )
    demo.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    check_database(args.db, existing=False)
    asyncio.run(run_demo(db=args.db))
    return 0
