"""Writes a store runs on its connection's thread, each in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final, NamedTuple

from ..core._serialization import parse_time, time_text
from ..errors import ConcurrentModificationError, StoreError
from ._codec import HEADER_COLUMNS, TRANSITION_COLUMNS
from ._conflicts import conflict
from ._reads import not_found
from ._timerrows import Timers, write_timers

_INSERT_HEADER: Final = (
    f"INSERT INTO workflows ({HEADER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING RETURNING key"
)
# The version test is the optimistic lock: no row matches when another writer got there first.
# Numbered parameters take a header row (HEADER_COLUMNS order) as it is: ?2 and ?9
# (definition, created_at) never change, and ?5 is the version the change creates.
_UPDATE_HEADER: Final = (
    "UPDATE workflows SET state = ?3, context = ?4, version = ?5, transition_count = ?6, "
    "retry_attempts = ?7, max_history = ?8, updated_at = ?10, state_entered_at = ?11, "
    "configuration = ?12, memory = ?13 "
    "WHERE id = ?1 AND version = ?5 - 1 RETURNING key"
)
_UPDATE_HEADER_ONLY: Final = _UPDATE_HEADER.removesuffix(" RETURNING key")
_KEY: Final = "SELECT key FROM workflows WHERE id = ?"
_INSERT_TRANSITION_BY_ID: Final = (
    f"INSERT INTO transitions (workflow, {TRANSITION_COLUMNS}) "
    "VALUES ((SELECT key FROM workflows WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TRANSITION: Final = (
    f"INSERT INTO transitions (workflow, {TRANSITION_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_MATERIALIZE: Final = (
    "UPDATE transitions SET context_before = "
    "(SELECT context FROM transitions WHERE workflow = ?1 AND seq = ?2) "
    "WHERE workflow = ?1 AND seq = ?2 + 1 AND context_before IS NULL"
)
_PRUNE: Final = "DELETE FROM transitions WHERE workflow = ? AND seq <= ?"
_OLD_SEQ: Final = "SELECT max(seq) FROM transitions WHERE workflow = ? AND timestamp < ?"


class Transaction:
    """One write transaction: ``with Transaction(conn):`` commits if the block returns.

    If the block or the commit raises, it is rolled back. A class, not a generator
    context manager: cheaper, on the path of every change.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")  # the write lock now: no deadlock upgrading

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise
        else:
            self._roll_back()

    def _roll_back(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


class Retention(NamedTuple):
    """How many transitions, and how old, a store keeps per workflow (None: no limit)."""

    limit: int | None
    max_age: timedelta | None


class EncodedChange(NamedTuple):
    """A ``WorkflowChange`` as column values, ready for the connection thread."""

    workflow_id: str
    version: int  # the version this change creates
    header: tuple[Any, ...]  # HEADER_COLUMNS order
    transition: tuple[Any, ...] | None  # TRANSITION_COLUMNS order
    timers: Timers | None = None  # (event, event_data, due_at) rows; None: leave them


def write_together(
    conn: sqlite3.Connection, changes: Sequence[EncodedChange], retention: Retention
) -> list[StoreError | None] | None:
    """Write many changes in one transaction; per change None or its conflict.

    A change that conflicts fails alone (it is found before any of it is written). None
    when one breaks a constraint: the transaction is rolled back, and the committer writes
    each change alone (``write_alone``), so that only that one fails.

    Commits at most one transaction, so an error raised (a lock not granted) means that
    nothing was written.
    """
    if len(changes) > 1 and all(change.version > 1 for change in changes):
        try:
            with Transaction(conn):
                if _write_updates(conn, changes, retention):
                    return [None] * len(changes)
                raise _Redo  # some change conflicts: roll back, sort it out one by one
        except (_Redo, sqlite3.IntegrityError):
            pass
    try:
        with Transaction(conn):
            return [_write_or_conflict(conn, change, retention) for change in changes]
    except sqlite3.IntegrityError:
        pass  # the committer writes each alone, naming the change that breaks a constraint
    return None


class _Redo(Exception):
    """The fast path met a conflict; its transaction is rolled back."""


def _write_updates(
    conn: sqlite3.Connection, changes: Sequence[EncodedChange], retention: Retention
) -> bool:
    """Write changes of stored workflows two statements per batch; False on any conflict.

    ``executemany`` binds and steps in C: less time per change than a statement per change,
    which is what group commit is for.
    """
    updated = conn.executemany(_UPDATE_HEADER_ONLY, [c.header for c in changes])
    if updated.rowcount != len(changes):
        return False
    write_timers(conn, changes)
    moved = [(c.workflow_id, c.transition) for c in changes if c.transition is not None]
    conn.executemany(_INSERT_TRANSITION_BY_ID, [(wid, *row) for wid, row in moved])
    if retention.limit or retention.max_age:
        for wid, row in moved:
            retain(conn, conn.execute(_KEY, (wid,)).fetchone()[0], row, retention)
    return True


def _write_or_conflict(
    conn: sqlite3.Connection, change: EncodedChange, retention: Retention
) -> ConcurrentModificationError | None:
    try:
        write_change(conn, change, retention)
    except ConcurrentModificationError as exc:  # found before anything of it was written
        return exc
    return None


def write_alone(
    conn: sqlite3.Connection, change: EncodedChange, retention: Retention
) -> StoreError | None:
    """Write one change in a transaction of its own; None, or why it was not written."""
    try:
        with Transaction(conn):
            return _write_or_conflict(conn, change, retention)
    except sqlite3.IntegrityError as exc:
        error = StoreError(f"workflow {change.workflow_id!r} could not be written: {exc}")
        error.__cause__ = exc
        return error


def write_change(conn: sqlite3.Connection, change: EncodedChange, retention: Retention) -> None:
    """Write one change (header, then its transition) inside the caller's transaction.

    Raises:
        ConcurrentModificationError: the stored version is not ``change.version - 1``;
            nothing was written.
    """
    header = change.header
    rows = conn.execute(_UPDATE_HEADER, header).fetchall()
    if not rows and change.version == 1:  # version 0: stored by save_workflow, or not at all
        rows = conn.execute(_INSERT_HEADER, header).fetchall()
    if not rows:
        raise _conflict(conn, change.workflow_id, change.version - 1)
    key = rows[0][0]
    if change.timers is not None:
        write_timers(conn, (change,))
    transition = change.transition
    if transition is not None:
        conn.execute(INSERT_TRANSITION, (key, *transition))
        retain(conn, key, transition, retention)


def retain(
    conn: sqlite3.Connection, key: int, newest: tuple[Any, ...], retention: Retention
) -> None:
    """Delete the transitions of workflow ``key`` that ``retention`` no longer keeps.

    ``newest`` is the transition just written; it always stays. Before old rows go, the
    new oldest row gets its context_before written out, since the row its NULL pointed to
    is about to disappear.
    """
    seq = newest[0]
    cutoff = seq - retention.limit if retention.limit else 0
    if retention.max_age is not None:
        oldest_kept = parse_time(newest[5], "timestamp") - retention.max_age
        old = conn.execute(_OLD_SEQ, (key, time_text(oldest_kept))).fetchone()[0]
        cutoff = max(cutoff, min(old or 0, seq - 1))
    if cutoff > 0:
        conn.execute(_MATERIALIZE, (key, cutoff))
        conn.execute(_PRUNE, (key, cutoff))


def _conflict(
    conn: sqlite3.Connection, workflow_id: str, expected: int
) -> ConcurrentModificationError:
    """Say why a change that continues version ``expected`` found something else stored."""
    row = conn.execute(
        "SELECT version, state FROM workflows WHERE id = ?", (workflow_id,)
    ).fetchone()
    return conflict(workflow_id, row, expected)


def append_transition(
    conn: sqlite3.Connection,
    workflow_id: str,
    transition: tuple[Any, ...],
    retention: Retention,
) -> None:
    """Append one transition to a stored workflow in its own transaction; see ``append_next``."""
    with Transaction(conn):
        append_next(conn, workflow_id, transition, retention)


def append_next(
    conn: sqlite3.Connection,
    workflow_id: str,
    transition: tuple[Any, ...],
    retention: Retention,
    retry_attempts: int | None = None,
) -> None:
    """Append one transition to a stored workflow and move its header along.

    ``transition`` (``TRANSITION_COLUMNS`` order) must be the next seq and start from the
    stored state; its context_before is stored as NULL when it equals the previous row's
    context text. The header takes the transition's state, context, seq and time, one more
    version, and ``retry_attempts`` when given.

    Raises:
        WorkflowNotFoundError: the workflow is not stored.
        ConcurrentModificationError: the stored workflow is not where ``transition`` starts.
    """
    key, version = _check_next(conn, workflow_id, transition)
    seq, _from, to_state, _event, _data, stamp, _us, context, before, *move = transition
    previous = conn.execute(
        "SELECT context FROM transitions WHERE workflow = ? AND seq = ?", (key, seq - 1)
    ).fetchone()
    if previous is not None and previous[0] == before:
        transition = (*transition[:8], None, *move)
    conn.execute(
        "UPDATE workflows SET state = ?1, context = ?2, version = ?3, transition_count = ?4, "
        "retry_attempts = coalesce(?5, retry_attempts), updated_at = ?6, "
        "state_entered_at = CASE WHEN state = ?1 THEN state_entered_at ELSE ?6 END, "
        "configuration = ?8, memory = ?9 WHERE key = ?7",
        (to_state, context, version + 1, seq, retry_attempts, stamp, key, move[2], move[3]),
    )
    conn.execute(INSERT_TRANSITION, (key, *transition))
    retain(conn, key, transition, retention)


def _check_next(
    conn: sqlite3.Connection, workflow_id: str, transition: tuple[Any, ...]
) -> tuple[int, int]:
    """Return (key, version) of the stored workflow ``transition`` continues."""
    row = conn.execute(
        "SELECT key, version, transition_count, state FROM workflows WHERE id = ?",
        (workflow_id,),
    ).fetchone()
    if row is None:
        raise not_found(conn, workflow_id)
    key, version, count, state = row
    seq, from_state = transition[0], transition[1]
    if seq != count + 1 or from_state != state:
        raise ConcurrentModificationError(
            f"entry seq {seq} from {from_state!r} does not continue workflow {workflow_id!r}, "
            f"stored at seq {count} in state {state!r}; nothing was written"
        )
    return key, version


def delete_workflow(conn: sqlite3.Connection, workflow_id: str) -> None:
    """Delete a workflow with its transitions and checkpoints.

    Raises:
        WorkflowNotFoundError: it is not stored.
    """
    with Transaction(conn):
        row = conn.execute("SELECT key FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
        if row is None:
            raise not_found(conn, workflow_id)
        for table in ("transitions", "checkpoints"):
            conn.execute(f"DELETE FROM {table} WHERE workflow = ?", row)
        conn.execute("DELETE FROM timers WHERE workflow = ?", (workflow_id,))
        conn.execute("DELETE FROM workflows WHERE key = ?", row)
