"""Reads of the PostgreSQL store: workflows, history, columns for frames, listings.

Every read of more than one statement runs in one read-only REPEATABLE READ transaction, so
it sees one committed state; rows decode through ``_codec`` and ``_reads`` as SQLite's do.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from ..core._history import StateHistoryEntry
from ..core._serialization import SerializedWorkflow
from ..errors import WorkflowNotFoundError
from ._codec import HEADER_COLUMNS, TRANSITION_COLUMNS, entries_from_rows
from ._pgschema import Connection
from ._reads import HistoryColumns, LoadedWorkflows, workflow_or_error

_HEADER: Final = f"SELECT key, {HEADER_COLUMNS} FROM workflows"
_WINDOWS: Final = (
    "SELECT t.workflow, t."
    + TRANSITION_COLUMNS.replace(", ", ", t.")
    + " FROM workflows AS w JOIN transitions AS t"
    " ON t.workflow = w.key AND t.seq >= w.transition_count - w.max_history"
)
_HISTORY: Final = (
    f"SELECT {TRANSITION_COLUMNS} FROM transitions WHERE workflow = $1 AND seq >= $2 "
    "ORDER BY seq LIMIT $3"
)
_CHOSEN: Final = "$1::text[] IS NULL OR w.id = ANY($1::text[])"
# Ids sort by their bytes (COLLATE "C"), as in SQLite and Python, whatever the server's locale.
_BY_ID: Final = 'ORDER BY id COLLATE "C"'
_HEADERS: Final = f"SELECT id, definition FROM workflows AS w WHERE {_CHOSEN} {_BY_ID}"
_COLUMNS: Final = (
    "SELECT w.id, t.seq, t.timestamp, t.from_state, t.to_state, t.event, t.event_data, "
    "t.duration_us, t.context, t.exited, t.entered, t.configuration "
    "FROM workflows AS w JOIN transitions AS t ON t.workflow = w.key "
    f"WHERE ({_CHOSEN}) AND ($2::timestamptz IS NULL OR t.timestamp >= $2::timestamptz) "
    'ORDER BY w.id COLLATE "C", t.seq'
)


def snapshot(conn: Connection) -> Any:
    """A read-only transaction in which every statement sees the same committed state."""
    return conn.transaction(isolation="repeatable_read", readonly=True)  # type: ignore[call-arg]


async def not_found(conn: Connection, workflow_id: str) -> WorkflowNotFoundError:
    """The error for a workflow that is not stored, naming some that are."""
    count = await conn.fetchval("SELECT count(*) FROM workflows")
    some = [r[0] for r in await conn.fetch(f"SELECT id FROM workflows {_BY_ID} LIMIT 10")]
    return WorkflowNotFoundError(
        f"no workflow {workflow_id!r} is stored ({count} are: {some}{'...' if count > 10 else ''})"
    )


async def workflow_key(conn: Connection, workflow_id: str) -> int:
    """The row key of a stored workflow.

    Raises:
        WorkflowNotFoundError: it is not stored.
    """
    key = await conn.fetchval("SELECT key FROM workflows WHERE id = $1", workflow_id)
    if key is None:
        raise await not_found(conn, workflow_id)
    return int(key)


async def read_workflow(conn: Connection, workflow_id: str) -> SerializedWorkflow:
    """Read one workflow with its newest ``max_history`` transitions.

    Raises:
        WorkflowNotFoundError: it is not stored.
        SerializationError: a stored value is unreadable.
    """
    async with snapshot(conn):
        return await read_workflow_in(conn, workflow_id)


async def read_workflow_in(conn: Connection, workflow_id: str) -> SerializedWorkflow:
    """``read_workflow`` inside the caller's transaction."""
    row = await conn.fetchrow(f"{_HEADER} WHERE id = $1", workflow_id)
    if row is None:
        raise await not_found(conn, workflow_id)
    rows = await conn.fetch(f"{_WINDOWS} WHERE w.key = $1 ORDER BY t.seq", row[0])
    found = workflow_or_error(tuple(row), [tuple(r)[1:] for r in rows])
    if isinstance(found, Exception):
        raise found
    return found


async def read_all_workflows(conn: Connection) -> LoadedWorkflows:
    """Read every workflow, by id; an unreadable one gives the error instead."""
    out: LoadedWorkflows = []
    async with snapshot(conn):
        headers = {row[0]: tuple(row) for row in await conn.fetch(_HEADER)}
        rows = await conn.fetch(f"{_WINDOWS} ORDER BY t.workflow, t.seq")
    for key, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        header = headers.pop(key, None)
        if header is not None:
            out.append((header[1], workflow_or_error(header, [tuple(r)[1:] for r in group])))
    out += [(header[1], workflow_or_error(header, [])) for header in headers.values()]
    out.sort(key=operator.itemgetter(0))
    return out


async def read_history(
    conn: Connection, workflow_id: str, since_seq: int, limit: int | None
) -> list[StateHistoryEntry]:
    """The stored transitions after seq ``since_seq``, oldest first, at most ``limit``.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        SerializationError: a stored value is unreadable.
    """
    first = since_seq + 1
    async with snapshot(conn):
        key = await workflow_key(conn, workflow_id)
        rows = [
            tuple(row)
            for row in await conn.fetch(
                _HISTORY, key, first - 1, None if limit is None else limit + 1
            )
        ]
    previous = rows.pop(0) if rows and rows[0][0] == first - 1 else None
    where = f"workflow {workflow_id!r} history"
    return entries_from_rows(rows if limit is None else rows[:limit], where, previous)


async def read_history_columns(
    conn: Connection, workflow_ids: Sequence[str] | None, since: datetime | None
) -> HistoryColumns:
    """Every stored transition of ``workflow_ids`` (None: all) from time ``since`` on.

    Times come as aware datetimes, JSON as its stored text.

    Raises:
        WorkflowNotFoundError: a chosen workflow is not stored.
    """
    chosen = None if workflow_ids is None else list(workflow_ids)
    async with snapshot(conn):
        definitions: dict[str, str] = {
            row[0]: row[1] for row in await conn.fetch(_HEADERS, chosen)
        }
        for workflow_id in workflow_ids or ():
            if workflow_id not in definitions:
                raise await not_found(conn, workflow_id)
        rows = await conn.fetch(_COLUMNS, chosen, since)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 12
    return HistoryColumns(definitions, *columns)


async def list_workflow_ids(
    conn: Connection, state: str | None, definition: str | None
) -> list[str]:
    """The stored workflow ids, sorted, optionally only those in a state or definition."""
    rows = await conn.fetch(
        "SELECT id FROM workflows WHERE ($1::text IS NULL OR state = $1) "
        f"AND ($2::text IS NULL OR definition = $2) {_BY_ID}",
        state,
        definition,
    )
    return [row[0] for row in rows]
