"""The ``descartes-nb`` command: the demo, and tools for terminals and CI.

``validate`` and ``render`` (in ``_swarmfile.py``) work on Swarm.toml files; bad input
gives exit status 1 and messages that name the file and line. ``demo`` keeps its workflows
in a SQLite file; ``history`` and ``recover`` (in ``_database.py``) show what such a file
holds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, TextIO

from .. import WorkflowEvent, WorkflowOrchestrator, WorkflowStateMachine
from ..core._events import RETRY, ROLLBACK
from ..errors import StateMachineError
from ..store._config import DEFAULT_DATABASE
from ..store._sqlite import SqliteWorkflowStore
from ._database import add_database_tools, history_table, milliseconds, run_database_tool, table
from ._swarmfile import DIRECTIONS, FORMATS, STDOUT, render_file, validate_files


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
    async with SqliteWorkflowStore(db) as store:
        run = await _next_run(store)
        suffix = "" if run == 1 else f"#{run}"
        orchestrator = WorkflowOrchestrator(store=store)
        scripts = [_Script(s.workflow_id + suffix, s.story, s.events, s.pace) for s in _DEMO]
        for script in scripts:
            await orchestrator.register_workflow(WorkflowStateMachine(script.workflow_id))
        async with asyncio.TaskGroup() as group:
            for script in scripts:
                group.create_task(_run_script(orchestrator, script))
    print(f"demo run {run}: {len(scripts)} workflows, each change committed to {db}", file=stream)
    print(f"(see them again with: descartes-nb history {db})", file=stream)
    for script in scripts:
        sm = orchestrator.get_workflow(script.workflow_id)
        print(f"\n{sm.workflow_id}: {script.story}", file=stream)
        print(history_table(sm.history), file=stream)
        for refusal in script.refused:
            print(f"  refused -> {refusal}", file=stream)
    print("\nsummary", file=stream)
    print(_summary_table(orchestrator), file=stream)
    return orchestrator


async def _next_run(store: SqliteWorkflowStore) -> int:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descartes-nb", description="Workflow state machines: demo and tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run a handful of workflows concurrently, durably, and show them"
    )
    demo.add_argument(
        "--db", default=DEFAULT_DATABASE, help=f"SQLite file to keep them in ({DEFAULT_DATABASE})"
    )
    add_database_tools(commands)
    _add_validate(
        commands.add_parser(
            "validate",
            help="check Swarm.toml files; print each problem as file:line: message",
            description="Check Swarm.toml files. Exit status 0 when they have no errors, else 1.",
        )
    )
    _add_render(
        commands.add_parser(
            "render",
            help="draw a workflow of a Swarm.toml file as SVG (or write its DOT source)",
            description=_RENDER_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    return parser


def _add_guard_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--guard",
        action="append",
        default=[],
        metavar="NAME",
        help="a named guard the files may refer to (the program registers it; repeatable)",
    )


def _add_validate(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("files", nargs="+", metavar="FILE", help="a Swarm.toml file")
    validate.add_argument(
        "--lenient",
        action="store_true",
        help="report unreachable states and dead ends as warnings, not errors",
    )
    _add_guard_option(validate)


_RENDER_DESCRIPTION: Final = """\
Draw one workflow of a Swarm.toml file, as the notebook layer does (diagram()), with the
same Graphviz renderer and time limit.

The output format follows OUT's suffix: .svg for SVG, .dot or .gv for the DOT source (no
renderer needed); "-" (the default) writes SVG to standard output. --format overrides it.

Exit status: 0 when written; 1 for bad input (a file that cannot be read, a definition with
errors, printed as file:line: message, an unknown workflow, a renderer that fails or takes
longer than the time limit), with a one-line "error: ..." on standard error; 2 for wrong
options."""


def _add_render(render: argparse.ArgumentParser) -> None:
    render.add_argument("file", metavar="FILE", help="a Swarm.toml file")
    render.add_argument(
        "-w",
        "--workflow",
        metavar="NAME",
        help="the workflow to draw (needed when the file has more than one)",
    )
    render.add_argument(
        "-o", "--output", default=STDOUT, metavar="OUT", help=f"where to write (default: {STDOUT})"
    )
    render.add_argument(
        "--format", choices=FORMATS, help="svg or dot (default: from OUT's suffix, else svg)"
    )
    render.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default="LR",
        help="left to right (default), or top to bottom",
    )
    render.add_argument(
        "--collapse", action="store_true", help="draw compound states as single boxes"
    )
    render.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="time limit of the renderer (default: 10, as for notebook displays)",
    )
    _add_guard_option(render)


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate_files(args.files, strict=not args.lenient, guards=args.guard)
    if args.command == "render":
        return render_file(
            args.file,
            workflow=args.workflow,
            output=args.output,
            output_format=args.format,
            direction=args.direction,
            collapse=args.collapse,
            timeout=args.timeout,
            guards=args.guard,
        )
    if args.command == "demo":
        asyncio.run(run_demo(db=args.db))
        return 0
    return run_database_tool(parser, args)
