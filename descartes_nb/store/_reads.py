"""Reads a store runs on its connection's thread: workflows, history, listings."""

from __future__ import annotations

import dataclasses
import itertools
import json
import operator
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeAlias

from ..core._history import StateHistoryEntry
from ..core._serialization import SerializedWorkflow, time_text
from ..errors import SerializationError, StoreError, WorkflowNotFoundError
from ._codec import HEADER_COLUMNS, TRANSITION_COLUMNS, entries_from_rows, workflow_from_row

_HEADER: Final = f"SELECT key, {HEADER_COLUMNS} FROM workflows"
_HISTORY: Final = (
    f"SELECT {TRANSITION_COLUMNS} FROM transitions WHERE workflow = ? AND seq >= ? "
    "ORDER BY seq LIMIT ?"
)
# The rows a workflow's snapshot needs: its newest max_history transitions and the one before
# them (whose context a NULL context_before points at), in workflow and seq order.
_WINDOWS: Final = (
    "SELECT t.workflow, t."
    + TRANSITION_COLUMNS.replace(", ", ", t.")
    + " FROM workflows AS w JOIN transitions AS t"
    " ON t.workflow = w.key AND t.seq >= w.transition_count - w.max_history"
)
# The chosen workflows (?1: a JSON array of ids, NULL: all) and their transitions from time ?2
# on (NULL: all), in workflow id and seq order: the id index of workflows orders the outer
# loop, the (workflow, seq) index the inner one. ISO-8601 UTC text as stored sorts by time.
_CHOSEN: Final = "?1 IS NULL OR w.id IN (SELECT value FROM json_each(?1))"
_HEADERS: Final = f"SELECT id, definition FROM workflows AS w WHERE {_CHOSEN} ORDER BY id"
_COLUMNS: Final = (
    "SELECT w.id, t.seq, t.timestamp, t.from_state, t.to_state, t.event, t.event_data, "
    "t.duration_us, t.context, t.exited, t.entered, t.configuration "
    "FROM workflows AS w JOIN transitions AS t ON t.workflow = w.key "
    f"WHERE ({_CHOSEN}) AND (?2 IS NULL OR t.timestamp >= ?2) ORDER BY w.id, t.seq"
)


# Every stored workflow by id, or the reason it cannot be read: a stored value that cannot
# be decoded (SerializationError), or a damaged page of the file (StoreError, see salvage).
LoadedWorkflows: TypeAlias = list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]


class HistoryColumns(NamedTuple):
    """Stored transitions as columns of raw values, in workflow id and seq order.

    ``timestamp`` holds ISO-8601 UTC text (SQLite) or aware datetimes (PostgreSQL),
    ``event_data`` and ``context`` JSON text
    (``event_data`` None when the event had none), ``duration_us`` whole microseconds;
    ``exited``, ``entered`` and ``configuration`` JSON arrays of state names, None where
    a flat definition's states say them (see ``_codec``).
    """

    definitions: dict[str, str]  # every chosen workflow id, in id order -> its definition
    workflow_id: Sequence[str]
    seq: Sequence[int]
    timestamp: Sequence[str] | Sequence[datetime]
    from_state: Sequence[str]
    to_state: Sequence[str]
    event: Sequence[str]
    event_data: Sequence[str | None]
    duration_us: Sequence[int]
    context: Sequence[str]
    exited: Sequence[str | None]  # JSON arrays; None for a flat definition's entries
    entered: Sequence[str | None]
    configuration: Sequence[str | None]


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Read inside one transaction: every statement sees the same committed state.

    Without it, another process could commit between reading a header and its history.
    """
    conn.execute("BEGIN")
    try:
        yield
    finally:
        # A read transaction: rolling it back writes nothing, as a commit would, and
        # unlike a commit it also succeeds after a read that found a damaged page.
        conn.execute("ROLLBACK")


def workflow_key(conn: sqlite3.Connection, workflow_id: str) -> int:
    """The row key of a stored workflow.

    Raises:
        WorkflowNotFoundError: it is not stored.
    """
    row = conn.execute("SELECT key FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
    if row is None:
        raise not_found(conn, workflow_id)
    key: int = row[0]
    return key


def not_found(conn: sqlite3.Connection, workflow_id: str) -> WorkflowNotFoundError:
    """The error for a workflow that is not stored, naming some that are."""
    count = conn.execute("SELECT count(*) FROM workflows").fetchone()[0]
    some = [r[0] for r in conn.execute("SELECT id FROM workflows ORDER BY id LIMIT 10")]
    return WorkflowNotFoundError(
        f"no workflow {workflow_id!r} is stored ({count} are: {some}{'...' if count > 10 else ''})"
    )


def read_workflow(conn: sqlite3.Connection, workflow_id: str) -> SerializedWorkflow:
    """Read one workflow with its newest ``max_history`` transitions.

    Raises:
        WorkflowNotFoundError: it is not stored.
        SerializationError: a stored value is unreadable.
    """
    with snapshot(conn):
        return read_workflow_in(conn, workflow_id)


def read_workflow_in(conn: sqlite3.Connection, workflow_id: str) -> SerializedWorkflow:
    """``read_workflow`` inside the caller's transaction."""
    row = conn.execute(f"{_HEADER} WHERE id = ?", (workflow_id,)).fetchone()
    if row is None:
        raise not_found(conn, workflow_id)
    rows = conn.execute(f"{_WINDOWS} WHERE w.key = ? ORDER BY t.seq", (row[0],))
    return _workflow(row, [r[1:] for r in rows])


def read_all_workflows(conn: sqlite3.Connection) -> LoadedWorkflows:
    """Read every workflow, by id; an unreadable one gives the error instead.

    One query streams the history rows of all workflows, grouped by workflow: much faster
    than a query per workflow, and only one workflow's rows are held at a time.
    """
    out: LoadedWorkflows = []
    with snapshot(conn):
        headers = {row[0]: row for row in conn.execute(_HEADER)}
        rows = conn.execute(f"{_WINDOWS} ORDER BY t.workflow, t.seq")
        for key, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            header = headers.pop(key, None)
            if header is not None:  # else rows of no workflow: nothing to recover
                out.append((header[1], workflow_or_error(header, [r[1:] for r in group])))
        out += [(header[1], workflow_or_error(header, [])) for header in headers.values()]
    out.sort(key=operator.itemgetter(0))
    return out


def workflow_or_error(
    header: tuple[Any, ...], rows: list[tuple[Any, ...]]
) -> SerializedWorkflow | SerializationError:
    """A workflow from its row (key first) and its window of history rows, or why not."""
    try:
        return _workflow(header, rows)
    except SerializationError as exc:
        return exc


def _workflow(header: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> SerializedWorkflow:
    """Decode a workflow from its row (key first) and its window of history rows."""
    workflow = workflow_from_row(header[1:], ())  # checks the counts before they are used
    first = max(1, workflow.transition_count - workflow.max_history + 1)
    previous = rows[0] if rows and rows[0][0] == first - 1 else None
    history = entries_from_rows(
        rows[1:] if previous else rows, f"workflow {header[1]!r} history", previous
    )
    return dataclasses.replace(workflow, history=tuple(history))


def _entries(
    conn: sqlite3.Connection, key: int, first: int, limit: int | None, where: str
) -> list[StateHistoryEntry]:
    """Decode up to ``limit`` transitions from seq ``first`` on, reading the row before too."""
    rows = conn.execute(_HISTORY, (key, first - 1, -1 if limit is None else limit + 1)).fetchall()
    previous = rows.pop(0) if rows and rows[0][0] == first - 1 else None
    return entries_from_rows(rows if limit is None else rows[:limit], f"{where} history", previous)


def read_history(
    conn: sqlite3.Connection, workflow_id: str, since_seq: int, limit: int | None
) -> list[StateHistoryEntry]:
    """The stored transitions after seq ``since_seq``, oldest first, at most ``limit``.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        SerializationError: a stored value is unreadable.
    """
    with snapshot(conn):
        key = workflow_key(conn, workflow_id)
        return _entries(conn, key, since_seq + 1, limit, f"workflow {workflow_id!r}")


def history_filter(
    workflow_ids: Iterable[str] | None, since: datetime | None
) -> tuple[list[str] | None, str | None]:
    """Check the arguments of ``read_history_columns``: ids as a list, ``since`` as text.

    Raises:
        TypeError: ``workflow_ids`` is a str or holds a non-str; ``since`` is not a datetime.
        ValueError: ``since`` is naive.
    """
    ids = None
    if workflow_ids is not None:
        if isinstance(workflow_ids, str | bytes):
            raise TypeError(
                f"workflow_ids must be an iterable of ids, not one id: {workflow_ids!r} "
                "(write [id] for one workflow)"
            )
        ids = list(workflow_ids)
        wrong = [i for i in ids if not isinstance(i, str)]
        if wrong:
            raise TypeError(f"workflow ids must be str, got {wrong[0]!r}")
    if since is None:
        return ids, None
    if not isinstance(since, datetime):
        raise TypeError(f"since must be an aware datetime or None, got {since!r}")
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError(f"since must be timezone-aware (a UTC time), got {since!r}")
    return ids, time_text(since)


def read_history_columns(
    conn: sqlite3.Connection, workflow_ids: Sequence[str] | None, since: str | None
) -> HistoryColumns:
    """Every stored transition of ``workflow_ids`` (None: all) from time ``since`` on.

    One query, transposed into columns here: the values stay as stored, for the caller to
    convert in bulk.

    Raises:
        WorkflowNotFoundError: a chosen workflow is not stored.
    """
    chosen = None if workflow_ids is None else json.dumps(list(workflow_ids))
    with snapshot(conn):
        definitions: dict[str, str] = dict(conn.execute(_HEADERS, (chosen,)).fetchall())
        for workflow_id in workflow_ids or ():
            if workflow_id not in definitions:
                raise not_found(conn, workflow_id)
        rows = conn.execute(_COLUMNS, (chosen, since)).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 12
    return HistoryColumns(definitions, *columns)


def list_workflow_ids(
    conn: sqlite3.Connection, state: str | None, definition: str | None
) -> list[str]:
    """The stored workflow ids, sorted, optionally only those in a state or definition."""
    rows = conn.execute(
        "SELECT id FROM workflows WHERE (?1 IS NULL OR state = ?1) "
        "AND (?2 IS NULL OR definition = ?2) ORDER BY id",
        (state, definition),
    ).fetchall()
    return [row[0] for row in rows]
