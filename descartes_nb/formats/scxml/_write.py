"""SCXML out: ``to_scxml()`` writes a definition as an ``<scxml>`` document.

``load_scxml(to_scxml(d))`` gives back a definition equal to ``d`` when ``d``'s states are
in document order (every state after its parent, children in order: as Swarm.toml and
SCXML are read) and it has no guards; otherwise the states and transitions come back in
document order, with the same behaviour.

What SCXML has no word for is written as attributes in the ``urn:x-descartes-nb:scxml``
namespace, which other SCXML tools ignore: ``dn:description``, ``dn:timeout``,
``dn:retry``, ``dn:terminal`` (a terminal state that is not a ``<final>``, such as the
``Failed`` of Swarm.toml, which ``Retry`` leaves), ``dn:implicit`` (the uniform ``Fail``,
``Timeout`` and ``Retry`` transitions of Swarm.toml are written, so that the re-imported
definition behaves the same) and ``dn:target="@previous"`` on a transition without
``target`` (for other tools, a targetless transition).

Guards are refused: SCXML writes them as ``cond``, which needs a datamodel that
``load_scxml`` does not read back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final
from xml.sax.saxutils import quoteattr

from ...core._definition import (
    PREVIOUS_STATE,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from ...core._duration import format_duration
from ...core._validate_chart import chart_problems
from ...errors import DefinitionError, DefinitionProblem
from ._parse import DN_NS, SCXML_NS
from ._read import descriptors
from ._retry import format_retry

_ID: Final = re.compile(r"[^\W\d][\w.\-]*\Z")
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_INDENT: Final = "  "


def to_scxml(definition: WorkflowDefinition) -> str:
    """Return the SCXML text of a definition.

    Raises:
        DefinitionError: the definition has guards (SCXML's ``cond`` needs a datamodel),
            names that are not SCXML ids or event names, text XML cannot carry, or a
            statechart shape ``validate()`` refuses; every problem is listed.

    Example:
        >>> door = WorkflowDefinition(
        ...     "door",
        ...     states=(StateDef("Closed"), StateDef("Gone", final=True)),
        ...     initial_state="Closed",
        ...     transitions=(TransitionDef("Closed", "remove", "Gone"),),
        ... )
        >>> print(to_scxml(door), end="")
        <?xml version="1.0" encoding="UTF-8"?>
        <scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="door" initial="Closed">
          <state id="Closed">
            <transition event="remove" target="Gone"/>
          </state>
          <final id="Gone"/>
        </scxml>
    """
    d = definition
    problems = [*_name_problems(d), *chart_problems(d)]
    if problems:
        raise DefinitionError(
            "cannot write SCXML: " + "; ".join(p.message for p in problems),
            workflow=d.name,
            state=problems[0].state,
            key=problems[0].key,
            problems=problems,
        )
    attrs = {"version": "1.0", "name": d.name, "initial": d.initial_state}
    if d.description:
        attrs["dn:description"] = d.description
    body = [line for s in d.states if s.parent is None for line in _state(d, s, 1)]
    spaces = f"xmlns={quoteattr(SCXML_NS)}"
    if any("dn:" in line for line in body) or d.description:
        spaces += f" xmlns:dn={quoteattr(DN_NS)}"
    head = f"<scxml {spaces} {_attributes(attrs)}>"
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', head, *body, "</scxml>", ""])


def _state(d: WorkflowDefinition, s: StateDef, depth: int) -> Iterator[str]:
    pad = _INDENT * depth
    tag = "history" if s.history else "parallel" if s.parallel else "final" if s.final else "state"
    attrs: dict[str, str | None] = {"id": s.name}
    if s.history:
        attrs["type"] = s.history
    if tag == "state":
        attrs["initial"] = s.initial
    attrs["dn:description"] = s.description or None
    attrs["dn:terminal"] = "true" if s.terminal else None
    attrs["dn:timeout"] = None if s.timeout is None else format_duration(s.timeout)
    attrs["dn:retry"] = None if s.retry is None else format_retry(s.retry)
    inner = [*_state_body(d, s, depth + 1)]
    opening = f"{pad}<{tag} {_attributes(attrs)}"
    if not inner:
        yield opening + "/>"
        return
    yield opening + ">"
    yield from inner
    yield f"{pad}</{tag}>"


def _state_body(d: WorkflowDefinition, s: StateDef, depth: int) -> Iterator[str]:
    pad = _INDENT * depth
    if s.history:
        if s.default is not None:
            yield f"{pad}<transition target={quoteattr(s.default)}/>"
        return
    for tag, events in (("onentry", s.raise_on_entry), ("onexit", s.raise_on_exit)):
        if events:
            yield f"{pad}<{tag}>"
            yield from (f"{pad}{_INDENT}<raise event={quoteattr(e)}/>" for e in events)
            yield f"{pad}</{tag}>"
    for t in d.transitions_from(s.name):
        yield from _transition(t, depth)
    for child in d.children(s.name):
        yield from _state(d, d.state(child), depth)


def _transition(t: TransitionDef, depth: int) -> Iterator[str]:
    pad = _INDENT * depth
    previous = t.targets == (PREVIOUS_STATE,)
    attrs = {
        "event": t.event or None,
        "target": None if previous or t.target is None else " ".join(t.targets),
        "type": "internal" if t.internal else None,
        "dn:target": PREVIOUS_STATE if previous else None,
        "dn:implicit": "true" if t.implicit else None,
    }
    opening = f"{pad}<transition {_attributes(attrs)}".rstrip()
    if not t.raises:
        yield opening + "/>"
        return
    yield opening + ">"
    yield from (f"{pad}{_INDENT}<raise event={quoteattr(e)}/>" for e in t.raises)
    yield f"{pad}</transition>"


def _attributes(attrs: dict[str, str | None] | dict[str, str]) -> str:
    return " ".join(f"{key}={quoteattr(value)}" for key, value in attrs.items() if value)


def _name_problems(d: WorkflowDefinition) -> Iterator[DefinitionProblem]:
    def problem(
        message: str, state: str | None = None, key: str | None = None
    ) -> DefinitionProblem:
        return DefinitionProblem(message, workflow=d.name, state=state, key=key)

    texts = [d.name, d.description, *(s.description for s in d.states)]
    for text in texts:
        if _NOT_XML.search(text):
            yield problem(f"{text!r:.60} holds characters XML cannot carry")
    for s in d.states:
        if not _ID.match(s.name):
            yield problem(
                f"state name {s.name!r} is not an SCXML id (a letter or '_', then letters, "
                "digits, '_', '-' or '.')",
                s.name,
            )
    events = [(s.name, e) for s in d.states for e in (*s.raise_on_entry, *s.raise_on_exit)]
    events += [(t.source, e) for t in d.transitions for e in (t.event, *t.raises) if e]
    for state, event in events:
        if descriptors(event) != [event] or _NOT_XML.search(event):
            yield problem(
                f"event {event!r} of state {state!r} is not an SCXML event name (no spaces, "
                "no trailing '.' or '.*')",
                state,
                event,
            )
    for t in d.transitions:
        if t.guard is not None:
            yield problem(
                f"transition {t.source!r} --{t.event!r}--> {t.target!r} has guard "
                f"{t.guard_text!r}: SCXML writes guards as cond, which needs a datamodel "
                "that load_scxml does not read back (keep this definition in Swarm.toml, or "
                "leave the guard out)",
                t.source,
                t.event,
            )
