"""Checkpoints: named snapshots of a stored workflow, and restoring one as a new transition."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ..core._events import RESTORE
from ..core._serialization import parse_time, time_text
from ..errors import StoreError
from ._codec import duration_us, json_text, read_time, restore_columns
from ._reads import workflow_key
from ._writes import Retention, Transaction, append_next

_COLUMNS: Final = "c.key, w.id, c.label, c.created_at, c.version, c.seq, c.state"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A snapshot of a stored workflow's state and context, kept apart from its history.

    Attributes:
        checkpoint_id: its id, unique in the database.
        workflow_id: the workflow it belongs to.
        label: the label it was given, if any.
        created_at: when it was taken (the store's clock).
        version: the workflow's version then.
        seq: the seq of the workflow's newest transition then.
        state: the workflow's state then.
    """

    checkpoint_id: int
    workflow_id: str
    label: str | None
    created_at: datetime
    version: int
    seq: int
    state: str

    def __repr__(self) -> str:
        label = "" if self.label is None else f" {self.label!r}"
        when = self.created_at.isoformat(sep=" ", timespec="seconds")
        return (
            f"<Checkpoint {self.checkpoint_id}{label} of {self.workflow_id!r}: state "
            f"{self.state!r} at seq {self.seq} (version {self.version}), taken {when}>"
        )


def checkpoint_from_row(row: Sequence[Any]) -> Checkpoint:
    """A checkpoint from its row (``_COLUMNS``; the time as text or a datetime)."""
    key, wid, label, created, version, seq, state = row
    return Checkpoint(
        key, wid, label, read_time(created, f"checkpoint {key}"), version, seq, state
    )


def create_checkpoint(
    conn: sqlite3.Connection, workflow_id: str, label: str | None, now: str
) -> Checkpoint:
    """Copy the workflow's header into a new checkpoint row; return it.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
    """
    with Transaction(conn):
        key = workflow_key(conn, workflow_id)
        checkpoint = conn.execute(
            "INSERT INTO checkpoints (workflow, label, created_at, version, seq, state, "
            "context, retry_attempts, state_entered_at, configuration, memory) SELECT key, "
            "?, ?, version, transition_count, state, context, retry_attempts, "
            "state_entered_at, configuration, memory FROM workflows WHERE key = ? RETURNING key",
            (label, now, key),
        ).fetchall()[0][0]
    return _find(conn, workflow_id, checkpoint)[0]


def list_checkpoints(conn: sqlite3.Connection, workflow_id: str) -> list[Checkpoint]:
    """The checkpoints of a workflow, oldest first.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
    """
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM checkpoints AS c JOIN workflows AS w ON w.key = c.workflow "
        "WHERE w.id = ? ORDER BY c.key",
        (workflow_id,),
    ).fetchall()
    if not rows:
        workflow_key(conn, workflow_id)  # raises when the workflow is not stored
    return [checkpoint_from_row(row) for row in rows]


def _find(
    conn: sqlite3.Connection, workflow_id: str, checkpoint: int | str
) -> tuple[Checkpoint, str, int, tuple[Any, Any]]:
    """A checkpoint (by id, or the newest with a label) and what restoring it writes.

    That is its context text, retry count, and configuration and memory texts.
    """
    by = "c.key = ?2" if isinstance(checkpoint, int) else "c.label = ?2"
    row = conn.execute(
        f"SELECT {_COLUMNS}, c.context, c.retry_attempts, c.configuration, c.memory "
        "FROM checkpoints AS c "
        f"JOIN workflows AS w ON w.key = c.workflow WHERE w.id = ?1 AND {by} "
        "ORDER BY c.key DESC LIMIT 1",
        (workflow_id, checkpoint),
    ).fetchone()
    if row is None:
        known = [(c.checkpoint_id, c.label) for c in list_checkpoints(conn, workflow_id)]
        raise StoreError(
            f"workflow {workflow_id!r} has no checkpoint {checkpoint!r} "
            f"(checkpoints as (id, label): {known})"
        )
    return checkpoint_from_row(row[:7]), row[7], row[8], (row[9], row[10])


def restore_checkpoint(
    conn: sqlite3.Connection,
    workflow_id: str,
    checkpoint: int | str,
    now: datetime,
    retention: Retention,
) -> Checkpoint:
    """Move a stored workflow back to a checkpoint, recorded as a ``Restore`` transition.

    The workflow's seq keeps counting and its version goes up, so machines still holding
    the old version get ``ConcurrentModificationError`` on their next change.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        StoreError: it has no such checkpoint.
    """
    with Transaction(conn):
        found, context, retries, (configuration, memory) = _find(conn, workflow_id, checkpoint)
        state, count, before, previous, current = conn.execute(
            "SELECT w.state, w.transition_count, w.context, coalesce(t.timestamp, w.created_at), "
            "w.configuration FROM workflows AS w LEFT JOIN transitions AS t "
            "ON t.workflow = w.key AND t.seq = w.transition_count WHERE w.id = ?",
            (workflow_id,),
        ).fetchone()
        data = {"checkpoint": found.checkpoint_id, "label": found.label, "seq": found.seq}
        duration = now - parse_time(previous, f"workflow {workflow_id!r} last transition")
        transition = (
            *(count + 1, state, found.state, RESTORE, json_text(data)),
            *(time_text(now), duration_us(duration), context, before),
            *restore_columns(current, configuration, memory, f"workflow {workflow_id!r}"),
        )
        append_next(conn, workflow_id, transition, retention, retries)
    return found
