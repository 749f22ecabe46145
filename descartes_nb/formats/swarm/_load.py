"""Swarm.toml: workflow definitions read from TOML, every problem reported with its line.

The format (README.md and ``notebooks/workflows/swarm.toml`` show examples)::

    [workflow.<name>]            initial_state (required), description, uniform_failure
    [workflow.<name>.states.<state>]
                                 terminal, description, parent, initial, timeout, retry,
                                 next_on_success (event "success"), next_on_failure
                                 (event "failure"), on = { <event> = <target>, ... },
                                 parallel, final, history ("shallow" or "deep"),
                                 default, on_done (event "done.state.<state>")

A target is a state name (or ``"@previous"``: the state the workflow came from), a table
``{ target = "...", guard = "...", type = "internal" }`` (guard and type optional; type is
``"external"`` by default), or a list of those tried in order. A guard is an expression over
``context`` and ``data`` (see ``guards/_parser.py``) or the name of a guard passed to
``load_definitions(..., guards=)``. Durations read ``"30m"``, ``"1h30m"``, ``"250ms"``.

Statecharts: ``parallel = true`` makes a state's children regions, active at once;
``final = true`` marks a state that completes its parent (at the top: like ``terminal``);
``history`` makes a pseudo-state child that re-enters what its parent last had active,
``default`` when nothing is remembered yet; ``on_done`` is taken when the state is done (a
final child entered; for a parallel state, every region in a final state).

Failure is uniform (unless ``uniform_failure = false``): every non-terminal, non-final
top-level state (parallel ones included, so a ``Fail`` in any region leaves the parallel
state as a whole), and every state with ``next_on_failure``, accepts ``Fail`` and
``Timeout``, going where ``next_on_failure`` says or else to a terminal ``Failed`` state that
is added when the workflow has none; ``Retry`` leaves ``Failed`` for the state the failure
happened in. Children without ``next_on_failure`` let failures bubble to their ancestors.
These transitions are marked ``implicit``.
"""

from __future__ import annotations

import os
import re
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from ...core._definition import Guard, WorkflowDefinition
from ...errors import DefinitionError, DefinitionProblem, DefinitionWarning
from ._index import LineIndex
from ._read import WorkflowReader

_AT_LINE: Final = re.compile(r" ?\(at line (\d+), column (\d+)\)")


def load_definitions(
    path_or_text: str | os.PathLike[str],
    *,
    guards: Mapping[str, Guard] | None = None,
    strict: bool = True,
) -> dict[str, WorkflowDefinition]:
    """Read the workflows of a Swarm.toml file (or text), by name.

    Args:
        path_or_text: a ``pathlib.Path``, a str naming a ``.toml`` file, or TOML text.
        guards: named guards that ``guard = "<name>"`` may refer to.
        strict: when False, unreachable states, dead ends and states that cannot lead to a
            terminal state are reported as ``DefinitionWarning`` warnings (message
            ``file:line: ...``) instead of errors; catch them with
            ``warnings.catch_warnings(record=True)``, or call ``validate(definition,
            strict=False)`` for the same problems as values.

    Returns:
        The definitions in file order, by workflow name.

    Raises:
        DefinitionError: the file cannot be read, is not TOML, or has problems; ``.problems``
            lists every one (file, line, workflow, state, key), not just the first.

    Example:
        >>> defs = load_definitions('''
        ... [workflow.door]
        ... initial_state = "Closed"
        ... [workflow.door.states.Closed]
        ... on = { open = "Open" }
        ... [workflow.door.states.Open]
        ... on = { close = "Closed", remove = "Gone" }
        ... [workflow.door.states.Gone]
        ... terminal = true
        ... ''')
        >>> defs["door"].state_names
        ('Closed', 'Open', 'Gone', 'Failed')
    """
    definitions, problems = check_definitions(path_or_text, guards=guards, strict=strict)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise _error(errors[0].source, problems)
    for problem in problems:
        warnings.warn(str(problem), DefinitionWarning, stacklevel=2)
    return definitions


def check_definitions(
    path_or_text: str | os.PathLike[str],
    *,
    guards: Mapping[str, Guard] | None = None,
    strict: bool = True,
) -> tuple[dict[str, WorkflowDefinition], list[DefinitionProblem]]:
    """Like ``load_definitions``, but return the problems instead of raising or warning.

    Returns:
        The workflows without errors, and every problem found (errors and warnings).

    Raises:
        DefinitionError: the file cannot be read or is not TOML.
    """
    text, source = _read(path_or_text)
    try:
        document = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer beyond Python's digit limit
        raise _error(source, [_syntax_problem(exc, source)]) from exc
    except RecursionError as exc:
        problem = DefinitionProblem("not valid TOML: nesting is too deep", source=source)
        raise _error(source, [problem]) from exc
    reader = WorkflowReader(source, LineIndex(text), guards or {}, strict=strict)
    definitions = reader.read(document)
    return definitions, sorted(reader.problems, key=lambda p: p.line or 0)


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    """Return the text and the name to cite it by."""
    is_path = isinstance(path_or_text, os.PathLike) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and path_or_text.strip().endswith(".toml")
    )
    if is_path:
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            problem = DefinitionProblem(f"cannot read {str(path)!r}: {exc}", source=str(path))
            raise _error(str(path), [problem]) from exc
    if not isinstance(path_or_text, str):
        raise TypeError(f"expected a path or TOML text, got {path_or_text!r:.80}")
    return path_or_text, "<text>"


def _syntax_problem(exc: Exception, source: str) -> DefinitionProblem:
    text = str(exc)
    found = _AT_LINE.search(text)
    line = int(found.group(1)) if found else None
    detail = _AT_LINE.sub("", text)
    if found:
        detail += f" (column {found.group(2)})"
    return DefinitionProblem(f"not valid TOML: {detail}", source=source, line=line)


def _error(source: str | None, problems: list[DefinitionProblem]) -> DefinitionError:
    first = next(p for p in problems if p.severity == "error")
    count = len(problems)
    lines = [f"{count} problem{'s' if count > 1 else ''} in {source!r}:"]
    lines += [str(p) if p.severity == "error" else f"{p} (warning)" for p in problems]
    return DefinitionError(
        "\n".join(lines),
        source=source,
        workflow=first.workflow,
        state=first.state,
        key=first.key,
        line=first.line,
        problems=problems,
    )
