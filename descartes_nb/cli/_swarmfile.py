"""The definition-file commands of ``descartes-nb``: ``validate`` files, ``render`` a workflow.

Both read Swarm.toml files and, by their ``.scxml`` suffix, SCXML files. Both report bad
input instead of raising: the file's problems as ``file:line: message`` lines, and exit
status 1. ``render`` draws with the notebook layer (``diagram()``,
``render_svg()``), so the picture, the renderer and its time limit are those of notebooks.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, TextIO

from ..core._definition import Guard, WorkflowDefinition
from ..errors import DefinitionError, DefinitionProblem, RenderError, RenderTimeoutError
from ..formats.scxml._load import check_scxml
from ..formats.swarm._load import check_definitions
from ..formats.swarm._report import suggest
from ._report import BadInput, report_error

Format = Literal["svg", "dot"]
Direction = Literal["LR", "TB"]
FORMATS: Final[tuple[Format, ...]] = ("svg", "dot")
DIRECTIONS: Final[tuple[Direction, ...]] = ("LR", "TB")
STDOUT: Final = "-"
SCXML_SUFFIX: Final = ".scxml"
_SUFFIXES: Final[dict[str, Format]] = {".svg": "svg", ".dot": "dot", ".gv": "dot"}


def validate_files(
    files: Sequence[str],
    *,
    strict: bool = True,
    guards: Sequence[str] = (),
    out: TextIO | None = None,
) -> int:
    """Check Swarm.toml (and ``.scxml``) files, print what is wrong; 0 if nothing is, else 1."""
    stream = out or sys.stdout
    named = declared_guards(guards)
    status = 0
    for path in files:
        try:
            definitions, problems = check_file(path, named, strict=strict)
        except DefinitionError as exc:  # unreadable, or not TOML
            definitions, problems = {}, list(exc.problems)
        _print_problems(problems, stream)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            status = 1
            print(f"{path}: {_count(errors, 'error')}", file=stream)
        else:
            print(f"{path}: ok ({', '.join(definitions)})", file=stream)
    return status


def check_file(
    path: str, guards: Mapping[str, Guard], *, strict: bool = True
) -> tuple[dict[str, WorkflowDefinition], list[DefinitionProblem]]:
    """The workflows of a Swarm.toml file, or of an SCXML file (``.scxml``), and problems.

    Raises:
        DefinitionError: the file cannot be read (or, for TOML, is not TOML).
    """
    if Path(path).suffix.lower() == SCXML_SUFFIX:
        definition, problems = check_scxml(Path(path), strict=strict)
        return ({} if definition is None else {definition.name: definition}), problems
    return check_definitions(Path(path), guards=guards, strict=strict)


def _print_problems(problems: Iterable[DefinitionProblem], stream: TextIO) -> None:
    """Each problem as ``file:line: message``, warnings marked ``(warning)``."""
    for problem in problems:
        warning = " (warning)" if problem.severity == "warning" else ""
        print(f"{problem}{warning}", file=stream)


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def _declared_guard(context: object, data: object) -> bool:  # pragma: no cover - never run
    """Stands in for a guard the program registers; validation never calls it."""
    return True


def declared_guards(names: Iterable[str]) -> dict[str, Guard]:
    """Stand-ins for the named guards a program registers, for commands that never run them."""
    return dict.fromkeys(names, _declared_guard)


def render_file(
    path: str,
    *,
    workflow: str | None = None,
    output: str = STDOUT,
    output_format: Format | None = None,
    direction: Direction = "LR",
    collapse: bool = False,
    timeout: float | None = None,
    guards: Sequence[str] = (),
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Draw one workflow of a Swarm.toml (or ``.scxml``) file to ``output``; 0, or 1 if bad.

    Nothing is written unless the drawing succeeded. Problems of the file go to ``err`` as
    ``file:line: message`` lines, then one ``error: ...`` line says why nothing was drawn.

    Args:
        path: the Swarm.toml file, or an SCXML file (``.scxml``).
        workflow: the workflow to draw; may be left out when the file has only one.
        output: a file to write, or ``"-"`` for ``out``.
        output_format: ``"svg"`` or ``"dot"`` (the DOT source); by default from the suffix
            of ``output`` (``.svg``, ``.dot``, ``.gv``), SVG for ``"-"``.
        direction: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
        collapse: draw compound states as single boxes.
        timeout: the renderer's time limit in seconds (default: the notebook layer's).
        guards: names of guards the program registers, which the file may refer to.
        out: where ``"-"`` and the confirmation go (default: standard output).
        err: where problems and errors go (default: standard error).

    Returns:
        The exit status: 0 when written, 1 when not.
    """
    stdout, stderr = out or sys.stdout, err or sys.stderr
    try:
        kind = output_format or _format_of(output)
        definition = _pick_workflow(_load_for_render(path, guards, stderr), workflow, path)
        text = _draw(definition, kind, direction=direction, collapse=collapse, timeout=timeout)
        _write(text, output, stdout)
    except BadInput as exc:
        return report_error(str(exc), stderr)
    if output != STDOUT:
        size = _count(definition.states, "state")
        print(f"{output}: workflow {definition.name!r} ({size}, {kind})", file=stdout)
    return 0


def _format_of(output: str) -> Format:
    if output == STDOUT:
        return "svg"
    suffix = Path(output).suffix.lower()
    if suffix not in _SUFFIXES:
        raise BadInput(
            f"cannot tell the output format from {output!r}: end it in "
            f"{', '.join(_SUFFIXES)}, or pass --format {' or '.join(FORMATS)}"
        )
    return _SUFFIXES[suffix]


def _load_for_render(
    path: str, guards: Sequence[str], stderr: TextIO
) -> dict[str, WorkflowDefinition]:
    """The file's workflows; its problems printed, and ``BadInput`` if any is an error."""
    try:
        definitions, problems = check_file(path, declared_guards(guards))
    except DefinitionError as exc:
        if all(p.line is None for p in exc.problems):  # cannot be read: one line says why
            raise BadInput("; ".join(p.message for p in exc.problems)) from exc
        definitions, problems = {}, list(exc.problems)  # not TOML: the line says where
    _print_problems(problems, stderr)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise BadInput(f"{path}: {_count(errors, 'error')}, nothing drawn")
    return definitions


def _pick_workflow(
    definitions: dict[str, WorkflowDefinition], name: str | None, path: str
) -> WorkflowDefinition:
    names = list(definitions)
    if name is None and len(names) == 1:
        return definitions[names[0]]
    if name is None:
        if not names:
            raise BadInput(f"{path}: no workflow to draw")
        raise BadInput(f"{path} has {len(names)} workflows, choose one with --workflow: {names}")
    if name not in definitions:
        raise BadInput(
            f"unknown workflow {name!r} in {path}: {suggest(name, names)}choose from {names}"
        )
    return definitions[name]


def _draw(
    definition: WorkflowDefinition,
    kind: Format,
    *,
    direction: Direction,
    collapse: bool,
    timeout: float | None,
) -> str:
    """The DOT source, or the SVG drawn within the time limit."""
    # Imported here, not at the top: the notebook layer loads pandas and ipywidgets, which
    # the other commands do not need.
    from ..notebook._diagram import diagram
    from ..notebook._render import render_svg

    graph = diagram(definition, direction=direction, collapse=collapse)
    if kind == "dot":
        return str(graph.source)
    try:
        return render_svg(graph, timeout=timeout)
    except RenderTimeoutError as exc:
        raise BadInput(
            f"{exc}; draw it with --collapse, raise --timeout, or write the DOT source "
            "with -o FILE.dot"
        ) from exc
    except RenderError as exc:
        raise BadInput(str(exc)) from exc


def _write(text: str, output: str, stdout: TextIO) -> None:
    if output == STDOUT:
        stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {output!r}: {exc.strerror or exc}") from exc


def add_swarm_tools(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` and ``render`` commands."""
    _add_validate(
        commands.add_parser(
            "validate",
            help="check Swarm.toml and SCXML files; print each problem as file:line: message",
            description="Check Swarm.toml files and SCXML files (by their .scxml suffix). "
            "Exit status 0 when they have no errors, else 1.",
        )
    )
    _add_render(
        commands.add_parser(
            "render",
            help="draw a workflow of a Swarm.toml or SCXML file as SVG (or its DOT source)",
            description=_RENDER_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )


def add_guard_option(command: argparse.ArgumentParser) -> None:
    """Add ``--guard NAME`` (repeatable): guards the files may name, stood in for."""
    command.add_argument(
        "--guard",
        action="append",
        default=[],
        metavar="NAME",
        help="a named guard the files may refer to (the program registers it; repeatable)",
    )


def _add_validate(validate: argparse.ArgumentParser) -> None:
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="a Swarm.toml file, or an SCXML file (.scxml)"
    )
    validate.add_argument(
        "--lenient",
        action="store_true",
        help="report unreachable states and dead ends as warnings, not errors",
    )
    add_guard_option(validate)
    validate.set_defaults(run=_run_validate)


_RENDER_DESCRIPTION: Final = """\
Draw one workflow of a Swarm.toml file or of an SCXML file (.scxml), as the notebook layer
does (diagram()), with the same Graphviz renderer and time limit.

The output format follows OUT's suffix: .svg for SVG, .dot or .gv for the DOT source (no
renderer needed); "-" (the default) writes SVG to standard output. --format overrides it.

Exit status: 0 when written; 1 for bad input (a file that cannot be read, a definition with
errors, printed as file:line: message, an unknown workflow, a renderer that fails or takes
longer than the time limit), with a one-line "error: ..." on standard error; 2 for wrong
options."""


def _add_render(render: argparse.ArgumentParser) -> None:
    render.add_argument(
        "file", metavar="FILE", help="a Swarm.toml file, or an SCXML file (.scxml)"
    )
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
    add_guard_option(render)
    render.set_defaults(run=_run_render)


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _run_validate(args: argparse.Namespace) -> int:
    return validate_files(args.files, strict=not args.lenient, guards=args.guard)


def _run_render(args: argparse.Namespace) -> int:
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
