"""Reading one Swarm.toml state: its keys, its transitions and guards, its retry policy.

Also ``assemble()``, which adds the uniform failure parts (``_load.py`` describes them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ...core._definition import (
    DONE_PREFIX,
    PREVIOUS_STATE,
    Guard,
    RetryPolicy,
    StateDef,
    TransitionDef,
)
from ...core._events import FAILURE_EVENTS, RETRY, ROLLBACK
from ...errors import DefinitionError
from ._report import Place, Reporter, show, suggest
from .guards._parser import parse_guard

FAILED: Final = "Failed"
IMPLICIT_FAILED: Final = StateDef(
    FAILED, terminal=True, description="failed; Retry returns to the state the failure happened in"
)
STATE_KEYS: Final = (
    "terminal",
    "description",
    "parent",
    "initial",
    "parallel",
    "final",
    "history",
    "default",
    "timeout",
    "retry",
    "next_on_success",
    "next_on_failure",
    "on_done",
    "on",
)
RETRY_KEYS: Final = ("max_attempts", "backoff", "initial", "max", "jitter")
EVENT_KEYS: Final[Mapping[str, str]] = {"next_on_success": "success", "next_on_failure": "failure"}
MAX_ATTEMPTS: Final = 1000
_TARGET_KEYS: Final = ("target", "guard", "type")
_TYPES: Final = ("external", "internal")
_HISTORY_KINDS: Final = ("shallow", "deep")
_BACKOFFS: Final = ("exponential", "fixed")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_GUARD_NAMES: Final = frozenset({"context", "data", "true", "false", "null"})


@dataclass(slots=True)
class ParsedState:
    """One state as read: its StateDef, the transitions it wrote, where its targets are."""

    state: StateDef
    transitions: list[TransitionDef] = field(default_factory=list)
    failure: list[TransitionDef] = field(default_factory=list)
    targets: list[tuple[str, Place]] = field(default_factory=list)


class StateReader:
    """Reads state tables; remembers where each event was written (``event_places``)."""

    def __init__(self, report: Reporter, guards: Mapping[str, Guard]) -> None:
        self.report = report
        self.guards = guards
        self.event_places: dict[tuple[str, str], Place] = {}

    def state(self, workflow: Place, name: str, table: object) -> ParsedState | None:
        """Read ``[workflow.<w>.states.<name>]``; None when it cannot be used at all."""
        report, place = self.report, workflow.at("states", name, state=name)
        if not name or name == PREVIOUS_STATE:
            why = "cannot be empty" if not name else "is reserved (it means the previous state)"
            report.add(place, f"a state name {why}")
            return None
        if not isinstance(table, dict):
            report.add(place, f"must be a table, got {show(table)}")
            return None
        report.unknown_keys(table, STATE_KEYS, place)
        flag = "true or false"
        parsed = ParsedState(
            StateDef(
                name,
                terminal=report.value(table, "terminal", (bool,), place, flag) or False,
                description=report.value(table, "description", (str,), place, "a string") or "",
                parent=report.value(table, "parent", (str,), place, "a state name"),
                initial=report.value(table, "initial", (str,), place, "the name of a child"),
                timeout=report.duration(table, "timeout", place),
                retry=self.retry(table, place),
                parallel=report.value(table, "parallel", (bool,), place, flag) or False,
                final=report.value(table, "final", (bool,), place, flag) or False,
                history=report.choice(table, "history", _HISTORY_KINDS, place),
                default=report.value(table, "default", (str,), place, "a state name"),
            )
        )
        for key, event in (*EVENT_KEYS.items(), ("on_done", DONE_PREFIX + name)):
            if key in table:
                found = self.transitions(parsed, place.at(key), table[key], event)
                if event == "failure":
                    parsed.failure = found
        self.events(parsed, place, table)
        return parsed

    def events(self, parsed: ParsedState, place: Place, table: Mapping[str, Any]) -> None:
        """Read the ``on`` table of a state."""
        on = self.report.value(table, "on", (dict,), place, "a table of event = target")
        for event, value in (on or {}).items():
            where = place.at("on", event)
            if not event:
                self.report.add(where, "an event name cannot be empty")
            elif event == ROLLBACK:
                self.report.add(where, f"{ROLLBACK!r} is reserved (it undoes the last transition)")
            elif (parsed.state.name, event) in self.event_places:
                first = self.event_places[(parsed.state.name, event)].key
                self.report.add(where, f"event {event!r} is already given by {first!r}")
            else:
                self.transitions(parsed, where, value, event)

    def transitions(
        self, parsed: ParsedState, place: Place, value: object, event: str
    ) -> list[TransitionDef]:
        """Read one event's target(s): a name, ``{ target, guard }``, or an array of them."""
        self.event_places[(parsed.state.name, event)] = place
        items: list[tuple[object, Place]] = [(value, place)]
        if isinstance(value, list):
            items = [(item, place.at(i)) for i, item in enumerate(value)]
            if not items:
                self.report.add(place, "needs at least one target")
        found: list[TransitionDef] = []
        for item, where in items:
            transition = self.transition(parsed.state.name, event, item, where)
            if transition is not None and transition.target is not None:
                parsed.targets.append((transition.target, where))
                found.append(transition)
        parsed.transitions.extend(found)
        return found

    def transition(
        self, state: str, event: str, item: object, place: Place
    ) -> TransitionDef | None:
        """Read one target: a state name or ``{ target = ..., guard = ..., type = ... }``."""
        if isinstance(item, str):
            return TransitionDef(state, event, item)
        if not isinstance(item, dict):
            self.report.add(
                place,
                "must be a state name, a table { target = ..., guard = ..., type = ... } or "
                f"an array of them, got {show(item)}",
            )
            return None
        report = self.report
        report.unknown_keys(item, _TARGET_KEYS, place)
        target = report.value(item, "target", (str,), place, "a state name", required=True)
        text = report.value(item, "guard", (str,), place, "a guard expression or name")
        guard = None if text is None else self.guard(text, place.at("guard"))
        kind = report.choice(item, "type", _TYPES, place)
        if target is None or (text is not None and guard is None):
            return None
        label = None if text is None else text.strip()
        return TransitionDef(state, event, target, guard, label, internal=kind == "internal")

    def guard(self, text: str, place: Place) -> Guard | None:
        """A registered guard named ``text``, or ``text`` parsed as an expression."""
        name = text.strip()
        if _NAME.match(name) and name not in _NOT_GUARD_NAMES:
            if name in self.guards:
                return self.guards[name]
            self.report.add(
                place,
                f"unknown guard {name!r} ({suggest(name, self.guards)}registered guards: "
                f"{sorted(self.guards)}; or write an expression such as "
                "'context.approvals >= 2')",
            )
            return None
        try:
            return parse_guard(text)
        except DefinitionError as exc:
            self.report.add(place, str(exc))
            return None

    def retry(self, table: Mapping[str, Any], place: Place) -> RetryPolicy | None:
        """Read ``retry = { max_attempts, backoff, initial, max, jitter }`` (all optional)."""
        report = self.report
        raw = report.value(table, "retry", (dict,), place, f"a table of {', '.join(RETRY_KEYS)}")
        if raw is None:
            return None
        where = place.at("retry")
        report.unknown_keys(raw, RETRY_KEYS, where)
        default = RetryPolicy()
        attempts = report.value(raw, "max_attempts", (int,), where, "an integer")
        if attempts is not None and not 1 <= attempts <= MAX_ATTEMPTS:
            report.add(where.at("max_attempts"), f"must be 1 to {MAX_ATTEMPTS}, got {attempts!r}")
        backoff = report.value(raw, "backoff", (str,), where, "'exponential' or 'fixed'")
        if backoff is not None and backoff not in _BACKOFFS:
            report.add(
                where.at("backoff"),
                f"unknown backoff {backoff!r} ({suggest(backoff, _BACKOFFS)}"
                f"allowed: {list(_BACKOFFS)})",
            )
        initial = report.duration(raw, "initial", where) or default.initial
        longest = report.duration(raw, "max", where)
        if longest is not None and longest < initial:
            report.add(where.at("max"), f"{raw['max']!r} is shorter than initial ({initial})")
        jitter = report.value(raw, "jitter", (int, float), where, "a number from 0 to 1")
        if jitter is not None and not (math.isfinite(jitter) and 0 <= jitter <= 1):
            report.add(where.at("jitter"), f"must be from 0 to 1, got {jitter!r}")
        return RetryPolicy(
            max_attempts=attempts or default.max_attempts,
            backoff=backoff if backoff in _BACKOFFS else default.backoff,
            initial=initial,
            max=longest or max(default.max, initial),
            jitter=float(jitter or 0.0),
        )


def assemble(
    parsed: Sequence[ParsedState], *, uniform: bool
) -> tuple[list[StateDef], list[TransitionDef]]:
    """The states and transitions of a workflow, with the uniform failure parts added."""
    states = [p.state for p in parsed]
    transitions: list[TransitionDef] = []
    for p in parsed:
        transitions.extend(p.transitions)
        if uniform:
            transitions.extend(_implicit(p))
    if uniform and not any(s.name == FAILED for s in states):
        states.append(IMPLICIT_FAILED)
        transitions.append(TransitionDef(FAILED, RETRY, PREVIOUS_STATE, implicit=True))
    return states, transitions


def _implicit(p: ParsedState) -> list[TransitionDef]:
    """The implicit ``Fail`` and ``Timeout`` (for ``Failed``: ``Retry``) of one state."""
    s = p.state
    written = {t.event for t in p.transitions}
    if s.name == FAILED:
        retry = TransitionDef(FAILED, RETRY, PREVIOUS_STATE, implicit=True)
        return [] if RETRY in written else [retry]
    if s.terminal or s.final or s.history or (s.parent is not None and not p.failure):
        return []  # a child without next_on_failure lets failures bubble to its parent
    targets = list(p.failure)
    if not targets or targets[-1].guard is not None:
        targets.append(TransitionDef(s.name, "failure", FAILED))
    return [
        TransitionDef(s.name, event, t.target, t.guard, t.guard_label, implicit=True)
        for event in FAILURE_EVENTS
        if event not in written
        for t in targets
    ]
