"""The ``descartes-nb`` command: the demo, and tools for terminals and CI.

``validate`` and ``render`` (in ``swarmfile.py``) work on Swarm.toml files; bad input
gives exit status 1 and messages that name the file and line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, TextIO

from . import WorkflowEvent, WorkflowOrchestrator, WorkflowStateMachine
from .core.history import StateHistoryEntry
from .errors import StateMachineError
from .swarmfile import DIRECTIONS, FORMATS, STDOUT, render_file, validate_files

__all__ = ["main"]


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


async def run_demo(out: TextIO | None = None) -> WorkflowOrchestrator:
    """Run the demo workflows concurrently and print their histories and a summary."""
    stream = out or sys.stdout
    orchestrator = WorkflowOrchestrator()
    scripts = [_Script(s.workflow_id, s.story, s.events, s.pace) for s in _DEMO]
    for script in scripts:
        await orchestrator.register_workflow(WorkflowStateMachine(script.workflow_id))
    async with asyncio.TaskGroup() as group:
        for script in scripts:
            group.create_task(_run_script(orchestrator, script))
    for script in scripts:
        sm = orchestrator.get_workflow(script.workflow_id)
        print(f"\n{sm.workflow_id}: {script.story}", file=stream)
        print(_history_table(sm.history), file=stream)
        for refusal in script.refused:
            print(f"  refused -> {refusal}", file=stream)
    print("\nsummary", file=stream)
    print(_summary_table(orchestrator), file=stream)
    return orchestrator


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _ms(delta: timedelta) -> str:
    return f"{delta.total_seconds() * 1000:.1f} ms"


def _history_table(entries: Sequence[StateHistoryEntry]) -> str:
    rows = [
        [
            str(e.seq),
            str(e.from_state),
            str(e.to_state),
            e.event,
            "" if e.event_data is None else json.dumps(e.event_data),
            e.timestamp.strftime("%H:%M:%S.%f")[:-3],
            _ms(e.duration),
        ]
        for e in entries
    ]
    header = ["seq", "from_state", "to_state", "event", "event_data", "timestamp", "duration"]
    return _table(header, rows)


def _summary_table(orchestrator: WorkflowOrchestrator) -> str:
    rows = [
        [
            m.workflow_id,
            str(m.state),
            str(m.transition_count),
            str(m.retry_attempts),
            _ms(m.updated_at - m.created_at),
        ]
        for m in orchestrator.get_all_metadata()
    ]
    return _table(["workflow_id", "state", "transitions", "retries", "elapsed"], rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descartes-nb", description="Workflow state machines: demo and tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run a handful of workflows concurrently and show them")
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
    args = _parser().parse_args(argv)
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
        asyncio.run(run_demo())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
