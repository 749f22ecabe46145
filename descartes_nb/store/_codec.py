"""Rows <-> values for both stores: the one place where entries and headers become rows.

Rows are written the same way to SQLite and PostgreSQL: JSON text, ISO-8601 UTC text times
(PostgreSQL casts them to ``timestamptz``), durations in whole microseconds. Read back, a time
is ISO text from SQLite or an aware ``datetime`` from PostgreSQL: both decode here.

A statechart's moves (``exited``, ``entered``, ``configuration``: JSON arrays of state names,
the configuration sorted) and history memory (a JSON object: history state -> the states it
remembers, as the JSON form writes it) are NULL when empty: always for a flat definition,
whose states say it all, so its rows cost no more than they did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NoReturn, TypeAlias

from ..core._history import StateHistoryEntry
from ..core._jsonvalue import MAX_NESTING, JSONValue, to_context, to_json_value
from ..core._ports import WorkflowChange
from ..core._serialization import (
    LATEST_TIME,
    SerializedWorkflow,
    check_time,
    parse_time,
    time_text,
)
from ..errors import SerializationError

# The column order of the rows these functions read and write.
HEADER_COLUMNS: Final = (
    "id, definition, state, context, version, transition_count, retry_attempts, "
    "max_history, created_at, updated_at, state_entered_at, configuration, memory"
)
TRANSITION_COLUMNS: Final = (
    "seq, from_state, to_state, event, event_data, timestamp, duration_us, context, "
    "context_before, exited, entered, configuration, memory"
)
Memory: TypeAlias = tuple[tuple[str, tuple[str, ...]], ...]
_NO_MOVE_COLUMNS: Final = (None, None, None, None)
# A flat entry's exited, entered, configuration and memory.
_FLAT_MOVE: Final = ((), (), frozenset[str](), ())
_new_entry: Final = tuple.__new__

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
        *(move_columns(entry) if entry.configuration else _NO_MOVE_COLUMNS),
    )


def move_columns(entry: StateHistoryEntry) -> tuple[str | None, ...]:
    """The exited, entered, configuration and memory columns of a statechart's entry."""
    return (
        names_text(entry.exited),
        names_text(entry.entered),
        configuration_text(entry.configuration),
        memory_text(entry.memory),
    )


def names_text(names: Sequence[str]) -> str | None:
    """State names in their order as a JSON array; None (NULL) when there are none."""
    return json_text(_as_list(names)) if names else None


def _as_list(names: Iterable[str]) -> list[JSONValue]:
    return list(names)


_configuration_texts: dict[frozenset[str], str] = {}


def configuration_text(configuration: frozenset[str]) -> str | None:
    """A configuration as a JSON array of its sorted names; None (NULL) when empty.

    Machines share one frozenset per configuration, and few exist per definition: their
    texts are remembered (a bounded cache), on the path of every change.
    """
    if not configuration:
        return None
    text = _configuration_texts.get(configuration)
    if text is None:
        if len(_configuration_texts) >= _MAX_CACHED:
            _configuration_texts.clear()
        text = _configuration_texts[configuration] = json_text(_as_list(sorted(configuration)))
    return text


def memory_text(memory: Memory) -> str | None:
    """History memory as a JSON object {history state: [states]}; None (NULL) when empty."""
    if not memory:
        return None
    return json_text({history: _as_list(states) for history, states in memory})


_MAX_CACHED: Final = 4096
_configurations: dict[str, frozenset[str]] = {}


def parse_names(text: object, where: str) -> tuple[str, ...]:
    """Parse a column of state names (a JSON array of non-empty texts; NULL: none).

    Raises:
        SerializationError: not JSON text, or not an array of non-empty texts.
    """
    if text is None:
        return ()
    return _names(parse_json(text, where), where, text)


def _names(value: JSONValue, where: str, text: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SerializationError(f"{where} must be a JSON array of state names, got {text!r:.80}")
    return tuple(value)  # type: ignore[arg-type]  # checked: every item is a str


def parse_configuration(text: object, where: str) -> frozenset[str]:
    """Parse a configuration column (``parse_names``); equal texts share one frozenset.

    Whether the states can be active together is checked against the definition, when a
    machine is rebuilt from them (``core._snapshot.check_snapshot``).
    """
    if text is None:
        return frozenset()
    found = _configurations.get(text) if isinstance(text, str) else None
    if found is None:
        found = frozenset(parse_names(text, where))
        if not found:
            raise SerializationError(f"{where} must name at least one state, got {text!r:.80}")
        if len(_configurations) >= _MAX_CACHED:
            _configurations.clear()
        _configurations[text] = found  # type: ignore[index]  # text is a str here
    return found


def parse_memory(text: object, where: str) -> Memory:
    """Parse a history memory column (a JSON object of arrays of state names; NULL: none).

    Raises:
        SerializationError: not JSON text, or not an object of arrays of state names.
    """
    if text is None:
        return ()
    value = parse_json(text, where)
    if not isinstance(value, dict):
        raise SerializationError(
            f"{where} must be a JSON object of history states, got {text!r:.80}"
        )
    return tuple(
        sorted(
            (history, _names(states, f"{where} {history!r}", text))
            for history, states in value.items()
        )
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
        (seq, from_state, to_state, event, data, stamp, duration, text, before) = row[:9]
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
        entry = _new_entry(  # tuple.__new__: no argument binding, once per row read
            StateHistoryEntry,
            (
                seq,
                from_state,
                to_state,
                event,
                None if data is None else _parse_data(data, f"{where} seq {seq} event_data"),
                _row_time(stamp, where, seq),
                duration * _MICROSECOND,
                context,
                context_before,
                *_FLAT_MOVE,
            ),
        )
        if row[11] is not None or row[9] is not None or row[10] is not None or row[12] is not None:
            entry = entry._replace(**_move(row[9:], f"{where} seq {seq}"))  # a statechart's
        entries.append(entry)
        last_seq, last_text, last_context = seq, text, context
    return entries


def _move(columns: Sequence[Any], where: str) -> dict[str, Any]:
    """Decode the exited, entered, configuration and memory columns of a row."""
    exited, entered, configuration, memory = columns
    return {
        "exited": parse_names(exited, f"{where} exited"),
        "entered": parse_names(entered, f"{where} entered"),
        "configuration": parse_configuration(configuration, f"{where} configuration"),
        "memory": parse_memory(memory, f"{where} memory"),
    }


def restore_columns(
    configuration: object, to_configuration: object, to_memory: object, where: str
) -> tuple[Any, ...]:
    """The move columns of a restore: from one stored configuration to another (texts).

    A flat workflow's are NULL. Without its definition a store cannot order the states
    exited and entered as a machine does: they are listed by name.

    Raises:
        SerializationError: a stored configuration is unreadable.
    """
    if to_configuration is None:
        return _NO_MOVE_COLUMNS
    before = parse_configuration(configuration, f"{where} configuration")
    after = parse_configuration(to_configuration, f"{where} checkpoint configuration")
    exited, entered = sorted(before - after), sorted(after - before)
    return (names_text(exited), names_text(entered), to_configuration, to_memory)


def _parse_data(text: object, where: str) -> JSONValue:
    return to_json_value(parse_json(text, where), where)


def _check_types(row: Sequence[Any], where: str) -> None:
    seq, from_state, to_state, event, duration = row[0], row[1], row[2], row[3], row[6]
    if type(seq) is not int or type(duration) is not int:
        raise SerializationError(f"{where} seq {seq!r}: seq and duration_us must be integers")
    if type(from_state) is not str or type(to_state) is not str or type(event) is not str:
        raise SerializationError(f"{where} seq {seq}: from_state, to_state and event must be text")


def _row_time(stamp: object, where: str, seq: int) -> datetime:
    """``parse_time``, with a fast path for the texts the store writes."""
    if isinstance(stamp, datetime):  # from PostgreSQL: UTC, and in range, nearly always
        if stamp.tzinfo is UTC and stamp <= LATEST_TIME:
            return stamp
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
    (wid, definition, state, context, version, count, retries, max_history, *rest) = row
    *times, configuration, memory = rest
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
        configuration=parse_configuration(configuration, f"{where} configuration"),
        memory=parse_memory(memory, f"{where} memory"),
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
        configuration_text(sw.configuration),
        memory_text(sw.memory),
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
