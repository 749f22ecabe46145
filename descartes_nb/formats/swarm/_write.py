"""Writing definitions back to Swarm.toml text: ``to_toml()``.

For a definition read by ``load_definitions``, ``load_definitions(to_toml(d))`` gives back
an equal definition (the uniform failure parts are left out and added again on reading).
Guards are written as their text: an expression, or the name of a registered guard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from ...core._definition import (
    DONE_PREFIX,
    RetryPolicy,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from ...core._duration import format_duration
from ...errors import DefinitionError
from ._state import EVENT_KEYS

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_KEY_OF_EVENT: Final = {event: key for key, event in EVENT_KEYS.items()}


def to_toml(
    definitions: WorkflowDefinition
    | Iterable[WorkflowDefinition]
    | Mapping[str, WorkflowDefinition],
) -> str:
    """Return Swarm.toml text for one definition or several.

    Raises:
        DefinitionError: a name or description holds text TOML cannot carry (a lone
            surrogate).

    Example:
        >>> door = WorkflowDefinition(
        ...     "door",
        ...     states=(StateDef("Closed"), StateDef("Gone", terminal=True)),
        ...     initial_state="Closed",
        ...     transitions=(TransitionDef("Closed", "remove", "Gone"),),
        ... )
        >>> print(to_toml(door))
        [workflow.door]
        initial_state = "Closed"
        uniform_failure = false
        <BLANKLINE>
        [workflow.door.states.Closed]
        <BLANKLINE>
        [workflow.door.states.Closed.on]
        remove = "Gone"
        <BLANKLINE>
        [workflow.door.states.Gone]
        terminal = true
        <BLANKLINE>
    """
    if isinstance(definitions, WorkflowDefinition):
        items: Iterable[WorkflowDefinition] = [definitions]
    elif isinstance(definitions, Mapping):
        items = definitions.values()
    else:
        items = definitions
    return "\n".join(_workflow(d) for d in items)


def _workflow(d: WorkflowDefinition) -> str:
    base = f"workflow.{_key(d.name)}"
    lines = [f"[{base}]"]
    if d.description:
        lines.append(f"description = {_string(d.description)}")
    lines.append(f"initial_state = {_string(d.initial_state)}")
    if not any(t.implicit for t in d.transitions):
        lines.append("uniform_failure = false")
    for state in d.states:
        lines += ["", *_state(f"{base}.states.{_key(state.name)}", state, d)]
    return "\n".join(lines) + "\n"


def _state(header: str, s: StateDef, d: WorkflowDefinition) -> list[str]:
    lines = [f"[{header}]"]
    values = {
        "description": _string(s.description) if s.description else None,
        "terminal": "true" if s.terminal else None,
        "parent": None if s.parent is None else _string(s.parent),
        "initial": None if s.initial is None else _string(s.initial),
        "parallel": "true" if s.parallel else None,
        "final": "true" if s.final else None,
        "history": None if s.history is None else _string(s.history),
        "default": None if s.default is None else _string(s.default),
        "timeout": None if s.timeout is None else _string(format_duration(s.timeout)),
        "retry": None if s.retry is None else _retry(s.retry),
    }
    lines += [f"{key} = {value}" for key, value in values.items() if value is not None]
    if s.raise_on_entry or s.raise_on_exit:
        raise DefinitionError(
            f"state {s.name!r} raises events on entry or exit, which Swarm.toml cannot "
            "write (SCXML can: to_scxml)",
            workflow=d.name,
            state=s.name,
        )
    events: dict[str, list[TransitionDef]] = {}
    for t in d.transitions:
        if t.source == s.name and not t.implicit:
            events.setdefault(t.event, []).append(t)
    for event, key in (*_KEY_OF_EVENT.items(), (DONE_PREFIX + s.name, "on_done")):
        if event in events:
            lines.append(f"{key} = {_targets(events.pop(event))}")
    if events:
        lines += ["", f"[{header}.on]"]
        lines += [f"{_key(event)} = {_targets(group)}" for event, group in events.items()]
    return lines


def _retry(r: RetryPolicy) -> str:
    return (
        f"{{ max_attempts = {r.max_attempts}, backoff = {_string(r.backoff)}, "
        f"initial = {_string(format_duration(r.initial))}, "
        f"max = {_string(format_duration(r.max))}, jitter = {float(r.jitter)!r} }}"
    )


def _targets(group: list[TransitionDef]) -> str:
    items = [_target(t) for t in group]
    if len(items) == 1:
        return items[0]
    return "[\n" + "".join(f"    {item},\n" for item in items) + "]"


def _target(t: TransitionDef) -> str:
    if t.target is None or t.more_targets or t.is_eventless or t.raises:
        raise DefinitionError(
            f"transition {t.source!r} --{t.event!r}--> {list(t.targets)!r}: Swarm.toml "
            "writes transitions with an event and exactly one target, raising no events "
            "(SCXML writes the others: to_scxml)",
            state=t.source,
            key=t.event,
        )
    parts = [f"target = {_string(t.target)}"]
    if t.guard is not None:
        parts.append(f"guard = {_string(t.guard_text or '')}")
    if t.internal:
        parts.append('type = "internal"')
    return _string(t.target) if len(parts) == 1 else "{ " + ", ".join(parts) + " }"


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for char in str(text):
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise DefinitionError(f"{text!r} holds a lone surrogate, which TOML cannot carry")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
