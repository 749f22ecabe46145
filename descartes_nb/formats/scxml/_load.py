"""SCXML in: ``load_scxml()`` reads the datamodel-free part of W3C SCXML into a definition.

What is read (one ``<scxml>`` document is one ``WorkflowDefinition``):

- ``<scxml initial name>``: ``name`` names the definition (else the file's stem, else
  ``"scxml"``); ``initial`` names one state (else the first top-level state);
- ``<state id initial>``, ``<parallel id>``, ``<final id>`` (at the top: a terminal state),
  ``<history id type>`` with its default ``<transition target>`` (which SCXML requires and
  this reader does not: without one, the parent's default entry is used), ``<initial>``
  with its ``<transition target>``;
- ``<transition event target type>``: ``event`` is a space-separated list of descriptors,
  read as one transition per descriptor, in document order, with the same targets (the
  first that matches is taken, as SCXML takes the one transition); ``error.*`` reads as
  ``error``; no ``event`` is an eventless transition; ``target`` may name several states
  (one per region) or none (a targetless transition); ``type="internal"``;
- ``<onentry>``, ``<onexit>`` and transition bodies holding ``<raise event>``.

A state without ``id`` (SCXML allows it) gets ``_<kind><n>``, ``n`` counting state
elements in document order. Elements in other namespaces (an editor's layout notes) are
ignored; attributes in the ``urn:x-descartes-nb:scxml`` namespace (``dn:``) carry what
``to_scxml`` writes for Swarm.toml definitions: descriptions, timeouts, retries, terminal
states, implicit transitions, ``@previous`` targets. ``initial`` naming several states or a
state that is not a child, a history default with several targets, executable content in
an initial or history transition are not supported and reported.

Anything that needs a datamodel (``<datamodel>``, ``<data>``, ``<assign>``, ``<script>``,
``<send>``, ``<invoke>``, ``<log>``, ``<if>``, ``<foreach>``, ``<donedata>``, ``cond``,
``expr``, ...) is refused with its line, as is a DOCTYPE (no DTD, no entity is ever read).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ...core._definition import WorkflowDefinition
from ...core._validate import validate
from ...errors import DefinitionError, DefinitionProblem, DefinitionWarning
from ._parse import ParseError, parse
from ._read import ScxmlReader


def load_scxml(path_or_text: str | os.PathLike[str]) -> WorkflowDefinition:
    """Read an SCXML document (a file or its text) into a definition.

    ``validate(definition)`` is not applied (SCXML charts are often kept open-ended): call it
    for unreachable states, dead ends and the like.

    Args:
        path_or_text: a ``pathlib.Path``, a str naming a ``.scxml`` or ``.xml`` file, or the
            document's text.

    Returns:
        The definition the ``<scxml>`` document describes.

    Raises:
        DefinitionError: the file cannot be read, is not well-formed XML, has a DOCTYPE,
            uses what needs a datamodel or what is not supported, or describes a chart that
            cannot run; ``.problems`` lists every problem with its line.

    Example:
        >>> d = load_scxml('''
        ... <scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="door">
        ...   <state id="Closed"><transition event="open" target="Open"/></state>
        ...   <state id="Open"><transition event="close" target="Closed"/></state>
        ... </scxml>''')
        >>> d.name, d.initial_state, sorted(d.events)
        ('door', 'Closed', ['close', 'open'])
    """
    definition, problems = check_scxml(path_or_text, lint=False)
    errors = [p for p in problems if p.severity == "error"]
    if errors or definition is None:
        raise scxml_error(problems)
    for problem in problems:  # pragma: no cover - without lint, every problem is an error
        warnings.warn(str(problem), DefinitionWarning, stacklevel=2)
    return definition


def check_scxml(
    path_or_text: str | os.PathLike[str], *, lint: bool = True, strict: bool = True
) -> tuple[WorkflowDefinition | None, list[DefinitionProblem]]:
    """Like ``load_scxml``, but return the problems (with ``validate()``'s when ``lint``).

    Returns:
        The definition (None when it has errors) and every problem found, by line.
    """
    text, source, name = _read(path_or_text)
    try:
        root = parse(text, source)
    except ParseError as exc:
        return None, [exc.problem]
    reader = ScxmlReader(source, name)
    definition = reader.read(root)
    problems = reader.problems
    if definition is not None and lint:
        reader.found(root, validate(definition, strict=strict))
        problems = reader.problems
        if any(p.severity == "error" for p in problems):
            definition = None
    return definition, sorted(problems, key=lambda p: p.line or 0)


def scxml_error(problems: list[DefinitionProblem]) -> DefinitionError:
    """One DefinitionError listing every problem, naming where the first error is."""
    first = next((p for p in problems if p.severity == "error"), problems[0])
    count = len(problems)
    lines = [f"{count} problem{'s' if count > 1 else ''} in {first.source!r}:"]
    lines += [str(p) if p.severity == "error" else f"{p} (warning)" for p in problems]
    return DefinitionError(
        "\n".join(lines),
        source=first.source,
        workflow=first.workflow,
        state=first.state,
        key=first.key,
        line=first.line,
        problems=problems,
    )


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str, str]:
    """The text, the name to cite it by, and the definition's name if the text has none."""
    is_path = isinstance(path_or_text, os.PathLike) or (
        isinstance(path_or_text, str)
        and "<" not in path_or_text
        and path_or_text.strip().lower().endswith((".scxml", ".xml"))
    )
    if is_path:
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8"), str(path), path.stem or "scxml"
        except (OSError, UnicodeDecodeError) as exc:
            problem = DefinitionProblem(f"cannot read {str(path)!r}: {exc}", source=str(path))
            raise scxml_error([problem]) from exc
    if not isinstance(path_or_text, str):
        raise TypeError(f"expected a path or SCXML text, got {path_or_text!r:.80}")
    return path_or_text, "<text>", "scxml"
