"""Rows <-> values for both stores: the one place where entries and headers become rows.

Rows are written the same way to SQLite and PostgreSQL: JSON text, ISO-8601 UTC text times
(PostgreSQL casts them to ``timestamptz``), durations in whole microseconds. Read back, a time
is ISO text from SQLite or an aware ``datetime`` from PostgreSQL: both decode here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NoReturn

from ..core._history import StateHistoryEntry
from ..core._jsonvalue import MAX_NESTING, JSONValue, to_context, to_json_value
from ..core._ports import WorkflowChange
from ..core._serialization import SerializedWorkflow, check_time, parse_time, time_text
from ..errors import SerializationError

# The column order of the rows these functions read and write.
HEADER_COLUMNS: Final = (
    "id, definition, state, context, version, transition_count, retry_attempts, "
    "max_history, created_at, updated_at, state_entered_at"
)
TRANSITION_COLUMNS: Final = (
    "seq, from_state, to_state, event, event_data, timestamp, duration_us, context, context_before"
)

_ZERO: Final = timedelta(0)
_fromisoformat: Final = datetime.fromisoformat
_MICROSECOND: Final = timedelta(microseconds=1)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


# One encoder and decoder for every call: json.dumps with options builds a new one each time.
_encode: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode
_decode: Final = json.JSONDecoder(parse_constant=_refuse_constant).decode


_encode_ascii: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def json_text(value: JSONValue | Mapping[str, JSONValue]) -> str:
    """Compact JSON text for a value already checked to be JSON.

    Text stays readable (not escaped), except text SQLite cannot store as UTF-8 (lone
    surrogates): then the whole value is written in ASCII escapes, which read back the same.
    """
    if isinstance(value, MappingProxyType):
        value = dict(value)
    text: str = _encode(value)
    if not text.isascii() and not is_utf8(text):
        text = _encode_ascii(value)
    return text


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be stored as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_names(workflow_id: str, *names: str) -> None:
    """Check that names (ids, states, events) of a workflow can be stored as UTF-8 text.

    The message is only made when a name fails: this runs once per stored change.

    Raises:
        SerializationError: naming the first one that cannot.
    """
    for name in names:
        if not name.isascii() and not is_utf8(name):
            raise SerializationError(
                f"workflow {workflow_id!r}: {name!r} holds a lone surrogate, which cannot be "
                "stored as UTF-8"
            )


def parse_json(text: object, where: str) -> JSONValue:
    """Parse a JSON text column.

    Raises:
        SerializationError: the column is not JSON text.
    """
    if not isinstance(text, str):
        raise SerializationError(f"{where} must be JSON text, got {text!r:.80}")
    try:
        value: JSONValue = _decode(text)
    except ValueError as exc:
        raise SerializationError(f"{where} is not JSON ({exc}): {text!r:.80}") from exc
    except RecursionError:  # what this library writes nests at most MAX_NESTING levels
        raise SerializationError(
            f"{where} nests deeper than the {MAX_NESTING} levels allowed: {text!r:.80}"
        ) from None
    return value


def parse_context(text: object, where: str) -> Mapping[str, JSONValue]:
    """Parse a context column: JSON text holding an object, read-only like every context.

    Raises:
        SerializationError: not JSON text, not an object, or beyond what a context may hold.
    """
    value = parse_json(text, where)
    if not isinstance(value, dict):
        raise SerializationError(f"{where} must be a JSON object, got {text!r:.80}")
    return to_context(value, where)


def duration_us(value: timedelta) -> int:
    """A duration as whole microseconds."""
    return value // _MICROSECOND


def transition_row(
    entry: StateHistoryEntry,
    context_text: str,
    before_text: str | None,
    stamp: str | None = None,
) -> tuple[Any, ...]:
    """The transition columns of ``entry`` (in ``TRANSITION_COLUMNS`` order).

    ``stamp`` is ``time_text(entry.timestamp)`` when the caller has it already.
    """
    data = entry.event_data
    return (
        entry.seq,
        str(entry.from_state),
        str(entry.to_state),
        entry.event,
        None if data is None else json_text(data),
        stamp or time_text(entry.timestamp),
        entry.duration // _MICROSECOND,
        context_text,
        before_text,
    )


def entries_from_rows(
    rows: Iterable[Sequence[Any]], where: str, previous: Sequence[Any] | None = None
) -> list[StateHistoryEntry]:
    """Decode transition rows (``TRANSITION_COLUMNS``, in seq order) into history entries.

    A NULL ``context_before`` means the context of the row just before; ``previous`` is that
    row for the first one, when the caller read it. Equal context texts share one mapping,
    as they do in a live machine.

    Raises:
        SerializationError: a column has the wrong type or holds unreadable JSON or times.
    """
    entries: list[StateHistoryEntry] = []
    last_seq, last_text, last_context = _start_from(previous, where)
    for row in rows:
        seq, from_state, to_state, event, data, stamp, duration, text, before = row
        _check_types(row, where)
        if last_context is not None and text == last_text:
            context = last_context
        else:
            context = parse_context(text, f"{where} seq {seq} context")
        if before is not None:
            context_before = parse_context(before, f"{where} seq {seq} context_before")
        elif last_seq == seq - 1 and last_context is not None:
            context_before = last_context
        else:
            raise SerializationError(
                f"{where} seq {seq}: context_before is NULL but the row before it "
                f"(seq {seq - 1}) is missing"
            )
        entries.append(
            StateHistoryEntry(
                seq,
                from_state,
                to_state,
                event,
                None if data is None else _parse_data(data, f"{where} seq {seq} event_data"),
                _row_time(stamp, where, seq),
                duration * _MICROSECOND,
                context,
                context_before,
            )
        )
        last_seq, last_text, last_context = seq, text, context
    return entries


def _parse_data(text: object, where: str) -> JSONValue:
    return to_json_value(parse_json(text, where), where)


def _check_types(row: Sequence[Any], where: str) -> None:
    seq, from_state, to_state, event, _data, _stamp, duration, _text, _before = row
    if type(seq) is not int or type(duration) is not int:
        raise SerializationError(f"{where} seq {seq!r}: seq and duration_us must be integers")
    if type(from_state) is not str or type(to_state) is not str or type(event) is not str:
        raise SerializationError(f"{where} seq {seq}: from_state, to_state and event must be text")


def _row_time(stamp: object, where: str, seq: int) -> datetime:
    """``parse_time``, with a fast path for the texts the store writes."""
    if isinstance(stamp, datetime):
        return check_time(stamp, f"{where} seq {seq} timestamp")
    try:
        value = _fromisoformat(stamp)  # type: ignore[arg-type]  # a wrong type raises
    except (TypeError, ValueError):
        value = None
    if value is None or value.tzinfo is not UTC:
        value = parse_time(stamp, f"{where} seq {seq} timestamp")
    return value


def _start_from(
    previous: Sequence[Any] | None, where: str
) -> tuple[int | None, object, Mapping[str, JSONValue] | None]:
    """The (seq, context text, context) that the first decoded row follows."""
    if previous is None:
        return None, None, None
    seq, text = previous[0], previous[7]
    return seq, text, parse_context(text, f"{where} seq {seq!r} context")


def workflow_from_row(
    row: Sequence[Any], history: Sequence[StateHistoryEntry]
) -> SerializedWorkflow:
    """Build a ``SerializedWorkflow`` from a workflows row (``HEADER_COLUMNS``) and entries.

    Raises:
        SerializationError: a column has the wrong type or holds unreadable JSON or times.
    """
    (wid, definition, state, context, version, count, retries, max_history, *times) = row
    where = f"workflow {wid!r}"
    for name, value in (("definition", definition), ("state", state)):
        if type(value) is not str:
            raise SerializationError(f"{where}: {name} must be text, got {value!r:.80}")
    for name, value in (
        ("version", version),
        ("transition_count", count),
        ("retry_attempts", retries),
        ("max_history", max_history),
    ):
        if type(value) is not int or value < (1 if name == "max_history" else 0):
            raise SerializationError(f"{where}: {name} must be a count, got {value!r:.80}")
    created, updated, entered = (
        read_time(text, f"{where} {name}")
        for text, name in zip(times, ("created_at", "updated_at", "state_entered_at"), strict=True)
    )
    return SerializedWorkflow(
        workflow_id=wid,
        definition=definition,
        state=state,
        context=parse_context(context, f"{where} context"),
        created_at=created,
        updated_at=updated,
        state_entered_at=entered,
        retry_attempts=retries,
        version=version,
        max_history=max_history,
        transition_count=count,
        history=tuple(history),
    )


def read_time(value: object, where: str) -> datetime:
    """A stored time: ISO-8601 text (SQLite) or an aware datetime (PostgreSQL), as UTC.

    Raises:
        SerializationError: neither, or out of range.
    """
    if isinstance(value, datetime):
        return check_time(value, where)
    return parse_time(value, where)


def header_row(sw: SerializedWorkflow | WorkflowChange, context_text: str) -> tuple[Any, ...]:
    """The workflows row of a workflow or a change (``HEADER_COLUMNS`` order)."""
    return (
        *(sw.workflow_id, sw.definition, str(sw.state), context_text, sw.version),
        *(sw.transition_count, sw.retry_attempts, sw.max_history),
        *(time_text(sw.created_at), time_text(sw.updated_at), time_text(sw.state_entered_at)),
    )


def transition_rows(history: Sequence[StateHistoryEntry]) -> list[tuple[Any, ...]]:
    """Transition rows; context_before is NULL where it equals the previous row's context."""
    rows: list[tuple[Any, ...]] = []
    previous: StateHistoryEntry | None = None
    text = ""
    for e in history:
        if previous is None or e.context is not previous.context:
            text = json_text(e.context)
        before: str | None = None
        if previous is None or not (
            e.context_before is previous.context or e.context_before == previous.context
        ):
            before = json_text(e.context_before)
        rows.append(transition_row(e, text, before))
        previous = e
    return rows
