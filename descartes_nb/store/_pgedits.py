"""Edits of the PostgreSQL store: one appended transition, deletes, checkpoints and restores.

Each runs in one transaction, the workflow row locked first (``FOR UPDATE``) so that a
concurrent change waits for it, as SQLite's write lock makes one wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from ..core._events import RESTORE
from ..core._serialization import time_text
from ..errors import ConcurrentModificationError, StoreError
from ._checkpoint import Checkpoint, checkpoint_from_row
from ._codec import duration_us, json_text, restore_columns
from ._pgreads import not_found, workflow_key
from ._pgschema import Connection
from ._pgwrites import INSERT_TRANSITION, notify_entries, retain
from ._writes import Retention

_COLUMNS: Final = "c.key, w.id, c.label, c.created_at, c.version, c.seq, c.state"
_LOCK: Final = (
    "SELECT w.key, w.version, w.transition_count, w.state, w.context::text, "
    "coalesce(t.timestamp, w.created_at), t.context::text, w.configuration::text "
    "FROM workflows AS w "
    "LEFT JOIN transitions AS t ON t.workflow = w.key AND t.seq = w.transition_count "
    "WHERE w.id = $1 FOR UPDATE OF w"
)


async def _lock(conn: Connection, workflow_id: str) -> Any:
    """The workflow's row, locked until the transaction ends (see ``_LOCK``).

    Raises:
        WorkflowNotFoundError: it is not stored.
    """
    row = await conn.fetchrow(_LOCK, workflow_id)
    if row is None:
        raise await not_found(conn, workflow_id)
    return row


async def append_transition(
    conn: Connection,
    workflow_id: str,
    transition: tuple[Any, ...],
    retention: Retention,
    retry_attempts: int | None = None,
) -> None:
    """Append one transition and move the header along (see ``_writes.append_next``).

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        ConcurrentModificationError: the stored workflow is not where ``transition`` starts.
    """
    async with conn.transaction():
        locked = await _lock(conn, workflow_id)
        await _append(conn, workflow_id, locked, transition, retention, retry_attempts)


async def _append(
    conn: Connection,
    workflow_id: str,
    locked: Sequence[Any],
    transition: tuple[Any, ...],
    retention: Retention,
    retry_attempts: int | None,
) -> None:
    key, version, count, state, _context, _stamp, newest_context, _configuration = locked
    seq, from_state, to_state, _event, _data, stamp, _us, context, before, *move = transition
    if seq != count + 1 or from_state != state:
        raise ConcurrentModificationError(
            f"entry seq {seq} from {from_state!r} does not continue workflow {workflow_id!r}, "
            f"stored at seq {count} in state {state!r}; nothing was written"
        )
    if newest_context is not None and newest_context == before:
        transition = (*transition[:8], None, *move)
    await conn.execute(
        "UPDATE workflows SET state = $1, context = $2::text::json, version = $3, "
        "transition_count = $4, retry_attempts = coalesce($5, retry_attempts), "
        "updated_at = $6::text::timestamptz, state_entered_at = CASE WHEN state = $1 "
        "THEN state_entered_at ELSE $6::text::timestamptz END, "
        "configuration = $8::text::json, memory = $9::text::json WHERE key = $7",
        to_state,
        context,
        version + 1,
        seq,
        retry_attempts,
        stamp,
        key,
        move[2],
        move[3],
    )
    await conn.execute(INSERT_TRANSITION, key, *transition)
    await retain(conn, [(key, seq, stamp)], retention)
    await notify_entries(conn, key, [transition], version + 1)


async def delete_workflow(conn: Connection, workflow_id: str) -> None:
    """Delete a workflow with its transitions and checkpoints (they cascade).

    Raises:
        WorkflowNotFoundError: it is not stored.
    """
    async with conn.transaction():
        deleted = await conn.fetchval(
            "DELETE FROM workflows WHERE id = $1 RETURNING key", workflow_id
        )
        if deleted is None:
            raise await not_found(conn, workflow_id)


async def create_checkpoint(
    conn: Connection, workflow_id: str, label: str | None, now: str
) -> Checkpoint:
    """Copy the workflow's header into a new checkpoint row; return it.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
    """
    async with conn.transaction():
        key = (await _lock(conn, workflow_id))[0]
        row = await conn.fetchrow(
            "INSERT INTO checkpoints (workflow, label, created_at, version, seq, state, "
            "context, retry_attempts, state_entered_at, configuration, memory) SELECT key, $1, "
            "$2::text::timestamptz, version, transition_count, state, context, retry_attempts, "
            "state_entered_at, configuration, memory FROM workflows WHERE key = $3 "
            "RETURNING key, $4::text, label, created_at, version, seq, state",
            label,
            now,
            key,
            workflow_id,
        )
    return checkpoint_from_row(row)


async def list_checkpoints(conn: Connection, workflow_id: str) -> list[Checkpoint]:
    """The checkpoints of a workflow, oldest first.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
    """
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM checkpoints AS c JOIN workflows AS w ON w.key = c.workflow "
        "WHERE w.id = $1 ORDER BY c.key",
        workflow_id,
    )
    if not rows:
        await workflow_key(conn, workflow_id)  # raises when the workflow is not stored
    return [checkpoint_from_row(row) for row in rows]


async def _find(
    conn: Connection, workflow_id: str, checkpoint: int | str
) -> tuple[Checkpoint, str, int, tuple[Any, Any]]:
    """A checkpoint (by id, or the newest with a label) and what restoring it writes.

    That is its context text, retry count, and configuration and memory texts.
    """
    by = "c.key = $2::bigint" if isinstance(checkpoint, int) else "c.label = $2::text"
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, c.context::text, c.retry_attempts, c.configuration::text, "
        "c.memory::text FROM checkpoints AS c "
        f"JOIN workflows AS w ON w.key = c.workflow WHERE w.id = $1 AND {by} "
        "ORDER BY c.key DESC LIMIT 1",
        workflow_id,
        checkpoint,
    )
    if row is None:
        known = [(c.checkpoint_id, c.label) for c in await list_checkpoints(conn, workflow_id)]
        raise StoreError(
            f"workflow {workflow_id!r} has no checkpoint {checkpoint!r} "
            f"(checkpoints as (id, label): {known})"
        )
    return checkpoint_from_row(row[:7]), row[7], row[8], (row[9], row[10])


async def restore_checkpoint(
    conn: Connection,
    workflow_id: str,
    checkpoint: int | str,
    now: datetime,
    retention: Retention,
) -> Checkpoint:
    """Move a stored workflow back to a checkpoint, recorded as a ``Restore`` transition.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        StoreError: it has no such checkpoint.
    """
    async with conn.transaction():
        locked = await _lock(conn, workflow_id)
        found, context, retries, (configuration, memory) = await _find(
            conn, workflow_id, checkpoint
        )
        _key, _version, count, state, before, previous, _newest, current = locked
        data = {"checkpoint": found.checkpoint_id, "label": found.label, "seq": found.seq}
        transition = (
            *(count + 1, state, found.state, RESTORE, json_text(data)),
            *(time_text(now), duration_us(now - previous), context, before),
            *restore_columns(current, configuration, memory, f"workflow {workflow_id!r}"),
        )
        await _append(conn, workflow_id, locked, transition, retention, retries)
    return found
