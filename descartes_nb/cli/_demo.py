"""The ``demo`` command: a handful of workflows run concurrently and durably, then shown."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from .. import WorkflowEvent, WorkflowOrchestrator, WorkflowStateMachine
from ..core._events import RETRY, ROLLBACK
from ..errors import StateMachineError
from ..store._config import DEFAULT_DATABASE
from ..store._open import open_store
from ..store._postgres import PostgresWorkflowStore
from ..store._sqlite import SqliteWorkflowStore
from ._database import (
    check_database,
    history_table,
    is_postgres,
    milliseconds,
    shown_database,
    table,
)

PROGRAM: Final = "descartes-nb"


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
    print(f"(see them again with: {again(os.fspath(db))})", file=stream)
    for script in scripts:
        sm = orchestrator.get_workflow(script.workflow_id)
        print(f"\n{sm.workflow_id}: {script.story}", file=stream)
        print(history_table(sm.history), file=stream)
        for refusal in script.refused:
            print(f"  refused -> {refusal}", file=stream)
    print("\nsummary", file=stream)
    print(_summary_table(orchestrator), file=stream)
    return orchestrator


def again(db: str) -> str:
    """The ``history`` command of ``db`` as the user can run it, with no password shown."""
    command = f"{program()} history {shlex.quote(shown_database(db))}"
    if is_postgres(db) and shown_database(db) != db:
        return f"{command}, your password in place of ***"
    return command


def program() -> str:
    """This program as the user can run it again: ``descartes-nb`` when it is on PATH."""
    run = Path(sys.argv[0])
    if run.stem != PROGRAM:  # python -m descartes_nb.cli
        return f"{_runnable(Path(sys.executable))} -m descartes_nb.cli"
    found = shutil.which(PROGRAM)
    if found is not None and Path(found).resolve() == run.resolve():
        return PROGRAM
    return _runnable(run)  # .venv/bin/descartes-nb, not on PATH until the venv is activated


def _runnable(path: Path) -> str:
    """``path`` as a shell runs it: relative to the current folder when below it."""
    absolute = path.absolute()  # not resolved: a venv's python is a symbolic link
    if not absolute.is_relative_to(Path.cwd()):
        return shlex.quote(str(absolute))
    relative = absolute.relative_to(Path.cwd())
    in_folder = len(relative.parts) == 1  # a shell would look it up on PATH
    return shlex.quote(os.path.join(os.curdir, relative) if in_folder else str(relative))


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
