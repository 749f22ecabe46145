"""SerializedWorkflow: the versioned JSON form of one workflow; times as text.

Times are written one way everywhere, here and in stores: ISO 8601, UTC, microseconds and a
``Z`` (``time_text``). ``parse_time`` reads that and any other UTC offset (``+00:00`` was
written by versions before the JSON form used ``Z``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..errors import SerializationError
from . import _display as display
from ._duration import MAX_DURATION
from ._history import StateHistoryEntry
from ._jsonvalue import MAX_NESTING, JSONValue, to_context, to_json_value

FORMAT: Final = "descartes_nb.workflow"
FORMAT_VERSION: Final = 2
"""2 added the statechart fields (configuration, history memory, exited and entered states);
version 1 files are read as before."""
_READS: Final = (1, 2)
_MICROSECOND: Final = timedelta(microseconds=1)

MAX_COUNT: Final = 2**53 - 1
"""The largest seq, version, retry count or max_history a snapshot may hold.

The largest integer a JSON reader that uses doubles (JavaScript, so any browser showing a
snapshot) reads exactly, and far enough below SQLite's 2**63 to go on counting.
"""
EARLIEST_TIME: Final = datetime.min.replace(tzinfo=UTC)
"""The earliest time a snapshot may hold (in UTC: an offset must not take it out of range)."""
LATEST_TIME: Final = datetime.max.replace(tzinfo=UTC) - MAX_DURATION
"""The latest time a snapshot may hold: room is left to arm the longest timeout or retry."""
_MAX_SPAN_US: Final = (LATEST_TIME - EARLIEST_TIME) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class SerializedWorkflow:
    """Everything about one workflow, as plain values: header, context and history.

    ``to_json()``/``from_json()`` round-trip it exactly; ``from_dict`` checks every field
    and raises ``SerializationError`` naming the first one that is wrong.
    """

    workflow_id: str
    definition: str
    state: str
    context: Mapping[str, JSONValue]
    created_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    retry_attempts: int
    version: int
    max_history: int
    transition_count: int
    history: tuple[StateHistoryEntry, ...]
    configuration: frozenset[str] = frozenset()  # empty: ``state`` and its ancestors
    memory: tuple[tuple[str, tuple[str, ...]], ...] = ()  # what history states remember

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        text = (
            f"<SerializedWorkflow {self.workflow_id!r} ({self.definition}) "
            f"state={str(self.state)!r} version={self.version} "
            f"transitions={self.transition_count}>\n"
            f"context: {display.short_repr(dict(self.context))}"
        )
        return display.mimebundle(self, text, include, exclude)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict (format name and version included)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "workflow_id": self.workflow_id,
            "definition": self.definition,
            "state": str(self.state),
            "context": dict(self.context),
            "created_at": time_text(self.created_at),
            "updated_at": time_text(self.updated_at),
            "state_entered_at": time_text(self.state_entered_at),
            "retry_attempts": self.retry_attempts,
            "version": self.version,
            "max_history": self.max_history,
            "transition_count": self.transition_count,
            "history": _entries_to_list(self.history),
            **_chart_fields(self),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """Return the JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> SerializedWorkflow:
        """Parse JSON text written by ``to_json``.

        Raises:
            SerializationError: not JSON, not this format, or a field is wrong.
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise SerializationError(f"not JSON: {exc}") from exc
        except RecursionError:  # a context nests at most MAX_NESTING levels in the format
            raise SerializationError(
                f"JSON text nested too deeply to read (contexts and event data nest at most "
                f"{MAX_NESTING} levels)"
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: object) -> SerializedWorkflow:
        """Check and convert a dict made by ``to_dict``.

        Raises:
            SerializationError: not this format, or a field is missing or wrong.
        """
        obj = _Reader(data, "workflow")
        if obj.get("format", str) != FORMAT:
            raise SerializationError(
                f"not a serialized workflow: format is "
                f"{obj.raw.get('format')!r}, expected {FORMAT!r}"
            )
        version = obj.get("format_version", int)
        if version not in _READS:
            raise SerializationError(
                f"format_version {version!r} is not supported (this version reads "
                f"{', '.join(map(str, _READS))})"
            )
        return cls(
            workflow_id=obj.name("workflow_id"),
            definition=obj.get("definition", str),
            state=obj.get("state", str),
            context=obj.context("context"),
            created_at=obj.time("created_at"),
            updated_at=obj.time("updated_at"),
            state_entered_at=obj.time("state_entered_at"),
            retry_attempts=obj.count("retry_attempts"),
            version=obj.count("version"),
            max_history=obj.count("max_history", minimum=1),
            transition_count=obj.count("transition_count"),
            history=_entries_from_list(obj.get("history", list)),
            configuration=obj.states("configuration"),
            memory=obj.memory("memory"),
        )


def check_time(value: object, where: str) -> datetime:
    """``value`` as an aware UTC datetime, checked to lie in [EARLIEST_TIME, LATEST_TIME].

    Raises:
        SerializationError: not an aware datetime, or out of range (also where its offset
            takes it out of the calendar).
    """
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SerializationError(f"{where} must be an aware datetime, got {value!r:.80}")
    try:
        utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_TIME <= utc <= LATEST_TIME:
        raise SerializationError(
            f"{where} {value.isoformat()!r} is out of range (allowed: "
            f"{EARLIEST_TIME.isoformat()} to {LATEST_TIME.isoformat()})"
        )
    return utc


def time_text(value: datetime) -> str:
    """ISO 8601 UTC text with microseconds and a ``Z``: sorts as text in time order.

    Example:
        >>> time_text(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
        '2026-03-01T09:30:00.000000Z'
    """
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat costs about 1 us, once per stored change; the text up to the second is
    # reused while the second lasts (one tuple, so threads can share it safely).
    second = (value.second, value.minute, value.hour, value.day, value.month, value.year)
    last_second, prefix = _LAST_SECOND[0]
    if second != last_second:
        prefix = value.isoformat(timespec="seconds")[:-6]
        _LAST_SECOND[0] = (second, prefix)
    return f"{prefix}.{value.microsecond:06d}Z"


# The last second time_text wrote, and its text: (second, minute, hour, day, month, year).
_LAST_SECOND: Final[list[tuple[tuple[int, ...], str]]] = [((), "")]


def parse_time(text: object, where: str) -> datetime:
    """Parse an ISO-8601 time column into an aware UTC datetime.

    Raises:
        SerializationError: not text, not ISO-8601, or without a UTC offset.
    """
    if not isinstance(text, str):
        raise SerializationError(f"{where} must be ISO-8601 text, got {text!r:.80}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SerializationError(f"{where} is not an ISO-8601 time: {text!r:.80}") from exc
    if value.tzinfo is None:
        raise SerializationError(f"{where} must carry a UTC offset, got {text!r}")
    return check_time(value, where)


def _entries_to_list(entries: Sequence[StateHistoryEntry]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    previous: Mapping[str, JSONValue] | None = None
    for e in entries:
        item: dict[str, Any] = {
            "seq": e.seq,
            "from_state": str(e.from_state),
            "to_state": str(e.to_state),
            "event": e.event,
            "event_data": e.event_data,
            "timestamp": time_text(e.timestamp),
            "duration_us": e.duration // _MICROSECOND,
            "context": dict(e.context),
        }
        if previous is None or e.context_before != previous:
            item["context_before"] = dict(e.context_before)  # omitted when it is the last context
        if e.configuration:  # a statechart's entry (a flat one's states say it all)
            item.update(_move_fields(e))
        out.append(item)
        previous = e.context
    return out


def _entries_from_list(items: list[Any]) -> tuple[StateHistoryEntry, ...]:
    entries: list[StateHistoryEntry] = []
    previous: Mapping[str, JSONValue] | None = None
    for i, raw in enumerate(items):
        item = _Reader(raw, f"history[{i}]")
        context = item.context("context")
        if previous is not None and context == previous:
            context = previous  # share unchanged snapshots, as a live machine does
        if "context_before" in item.raw or previous is None:
            context_before = item.context("context_before")
        else:
            context_before = previous
        entries.append(
            StateHistoryEntry(
                seq=item.count("seq", minimum=1),
                from_state=item.get("from_state", str),
                to_state=item.get("to_state", str),
                event=item.get("event", str),
                event_data=to_json_value(item.raw.get("event_data"), f"history[{i}].event_data"),
                timestamp=item.time("timestamp"),
                duration=item.span_us("duration_us") * _MICROSECOND,
                context=context,
                context_before=context_before,
                exited=item.names("exited"),
                entered=item.names("entered"),
                configuration=item.states("configuration"),
                memory=item.memory("memory"),
            )
        )
        previous = context
    return tuple(entries)


def _chart_fields(s: SerializedWorkflow) -> dict[str, Any]:
    if not s.configuration:
        return {}
    return {"configuration": sorted(s.configuration), "memory": _memory_dict(s.memory)}


def _move_fields(e: StateHistoryEntry) -> dict[str, Any]:
    return {
        "exited": list(e.exited),
        "entered": list(e.entered),
        "configuration": sorted(e.configuration),
        "memory": _memory_dict(e.memory),
    }


def _memory_dict(memory: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, list[str]]:
    return {history: list(states) for history, states in memory}


class _Reader:
    """Typed access to one JSON object, with errors that name the field."""

    __slots__ = ("raw", "where")

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, dict):
            raise SerializationError(f"{where} must be a JSON object, got {raw!r:.80}")
        self.raw: dict[str, Any] = raw
        self.where = where

    def get(self, key: str, kind: type[Any]) -> Any:
        if key not in self.raw:
            raise SerializationError(f"{self.where} has no {key!r} field")
        value = self.raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SerializationError(
                f"{self.where}.{key} must be {kind.__name__}, got {value!r:.80}"
            )
        return value

    def name(self, key: str) -> str:
        value: str = self.get(key, str)
        if not value:
            raise SerializationError(f"{self.where}.{key} must be a non-empty str, got ''")
        return value

    def count(self, key: str, minimum: int = 0) -> int:
        value: int = self.get(key, int)
        if not minimum <= value <= MAX_COUNT:
            raise SerializationError(
                f"{self.where}.{key} must be >= {minimum} and <= {MAX_COUNT}, got {value!r}"
            )
        return value

    def span_us(self, key: str) -> int:
        """A duration in microseconds, no longer than the range of times."""
        value: int = self.get(key, int)
        if not -_MAX_SPAN_US <= value <= _MAX_SPAN_US:
            raise SerializationError(
                f"{self.where}.{key} must be between {-_MAX_SPAN_US} and {_MAX_SPAN_US} "
                f"(the span of allowed times), got {value!r}"
            )
        return value

    def time(self, key: str) -> datetime:
        return check_time(
            parse_time(self.get(key, str), f"{self.where}.{key}"), f"{self.where}.{key}"
        )

    def names(self, key: str) -> tuple[str, ...]:
        """An optional list of state names (empty when absent)."""
        if key not in self.raw:
            return ()
        value = self.get(key, list)
        if not all(isinstance(v, str) and v for v in value):
            raise SerializationError(
                f"{self.where}.{key} must be a list of state names, got {value!r:.80}"
            )
        return tuple(value)

    def states(self, key: str) -> frozenset[str]:
        return frozenset(self.names(key))

    def memory(self, key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Optional history memory: {history state: [remembered states]}."""
        if key not in self.raw:
            return ()
        value = _Reader(self.get(key, dict), f"{self.where}.{key}")
        return tuple(sorted((name, value.names(name)) for name in value.raw))

    def context(self, key: str) -> Mapping[str, JSONValue]:
        value = self.get(key, dict)
        return to_context(value, f"{self.where}.{key}")
