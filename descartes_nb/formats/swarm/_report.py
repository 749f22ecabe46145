"""Reporting problems while reading Swarm.toml: places, typed look-ups, "did you mean"."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

from ...core._duration import DURATION_HELP, parse_duration
from ...errors import DefinitionProblem
from ._index import KeyPath, LineIndex

_KINDS: Final = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "string",
    list: "array",
    dict: "table",
}


@dataclass(frozen=True, slots=True)
class Place:
    """Where a value sits: its key path, and its workflow, state and key as users read them."""

    path: KeyPath
    workflow: str | None = None
    state: str | None = None
    key: str | None = None

    def at(self, *parts: str | int, state: str | None = None) -> Place:
        """The place of a value inside this one; ``key`` grows by the str parts."""
        words = [p for p in parts if isinstance(p, str)]
        key = self.key
        if words and state is None:
            key = ".".join([key, *words] if key else words)
        return Place((*self.path, *parts), self.workflow, state or self.state, key)

    def prefix(self, *, with_key: bool = True) -> str:
        """``"workflow 'w', state 's', key 'k': "`` (as much of it as is known)."""
        parts = [f"workflow {self.workflow!r}"] if self.workflow is not None else []
        if self.state is not None:
            parts.append(f"state {self.state!r}")
        if with_key and self.key is not None:
            parts.append(f"key {self.key!r}")
        return ", ".join(parts) + ": " if parts else ""


def show(value: object) -> str:
    """A value for a message, with its TOML type: ``3 (integer)``."""
    kind = _KINDS.get(type(value), type(value).__name__)
    return f"{value!r:.60} ({kind})"


def suggest(word: str, allowed: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` when ``word`` is close to one of ``allowed``, else ``""``."""
    close = difflib.get_close_matches(word, list(allowed), 1)
    return f"did you mean {close[0]!r}? " if close else ""


class Reporter:
    """Collects ``DefinitionProblem``s, each with the file and line of its place."""

    def __init__(self, source: str, index: LineIndex) -> None:
        self.source = source
        self.index = index
        self.problems: list[DefinitionProblem] = []

    def add(
        self,
        place: Place,
        message: str,
        *,
        with_key: bool = True,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        """Report ``message`` at ``place`` (prefixed with the workflow, state and key)."""
        self.add_problem(
            DefinitionProblem(
                place.prefix(with_key=with_key) + message,
                workflow=place.workflow,
                state=place.state,
                key=place.key,
                severity=severity,
            ),
            place,
        )

    def add_problem(self, problem: DefinitionProblem, place: Place) -> None:
        """Report ``problem`` as it is, with the source and the line of ``place``."""
        line = self.index.line(place.path)
        self.problems.append(dataclasses.replace(problem, source=self.source, line=line))

    def errors(self) -> int:
        """How many errors (not warnings) were reported so far."""
        return sum(p.severity == "error" for p in self.problems)

    def unknown_keys(self, table: Mapping[str, Any], allowed: Sequence[str], place: Place) -> None:
        """Report every key of ``table`` that is not in ``allowed``."""
        for key in table:
            if key not in allowed:
                where = place.at(key)
                self.add(
                    where,
                    f"unknown key {where.key!r} ({suggest(key, allowed)}"
                    f"allowed: {', '.join(allowed)})",
                    with_key=False,
                )

    def value(
        self,
        table: Mapping[str, Any],
        key: str,
        kinds: tuple[type, ...],
        place: Place,
        what: str,
        *,
        required: bool = False,
    ) -> Any:
        """``table[key]`` if it has one of ``kinds``; otherwise report it and return None."""
        if key not in table:
            if required:
                self.add(place.at(key), f"is required ({what})")
            return None
        value = table[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            self.add(place.at(key), f"must be {what}, got {show(value)}")
            return None
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, allowed: Sequence[str], place: Place
    ) -> Any:
        """``table[key]`` if it is one of the strings ``allowed``; otherwise reported, None."""
        text = self.value(table, key, (str,), place, " or ".join(map(repr, allowed)))
        if text is None or text in allowed:
            return text
        self.add(
            place.at(key),
            f"unknown {key} {text!r} ({suggest(text, allowed)}allowed: {list(allowed)})",
        )
        return None

    def duration(self, table: Mapping[str, Any], key: str, place: Place) -> timedelta | None:
        """A positive duration such as ``"30m"`` at ``table[key]``, or None (reported)."""
        text = self.value(table, key, (str,), place, f"a duration ({DURATION_HELP})")
        if text is None:
            return None
        try:
            value = parse_duration(text)
        except ValueError as exc:
            self.add(place.at(key), str(exc))
            return None
        if not value:
            self.add(place.at(key), f"must be longer than zero, got {text!r}")
            return None
        return value
