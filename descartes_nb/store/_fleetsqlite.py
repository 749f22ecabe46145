"""The fleet on SQLite: the inbox of sent events, and claims of due timers and events.

A worker claims one item (a due timer or the oldest pending event) in a ``BEGIN IMMEDIATE``
transaction and keeps that transaction open while it processes the item: the change it
makes, the timers it arms and the item marked done are committed together, or, if the
worker dies, rolled back together (SQLite drops the lock of a dead process). So an item is
processed exactly once, and workers on one file take turns without a coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import datetime
from typing import Final

from ..core._jsonvalue import JSONValue
from ..core._ports import WorkflowChange
from ..core._serialization import SerializedWorkflow, parse_time, time_text
from ..errors import SerializationError, WorkflowNotFoundError
from ._codec import parse_json
from ._config import StateStoreConfig
from ._connection import ConnectionThread
from ._encode import ChangeEncoder
from ._fleet import Claimed, Outcome
from ._reads import read_workflow_in
from ._writes import EncodedChange, Retention, write_change

_DUE_TIMER: Final = (
    "SELECT t.rowid, t.workflow, t.event, t.event_data, t.version, w.version "
    "FROM timers AS t LEFT JOIN workflows AS w ON w.id = t.workflow "
    "WHERE t.due_at <= ? ORDER BY t.due_at LIMIT 1"
)
_NEXT_EVENT: Final = (
    "SELECT key, workflow, event, event_data FROM inbox WHERE done_at IS NULL ORDER BY key LIMIT 1"
)
_SEND: Final = (
    "INSERT INTO inbox (workflow, event, event_data, sent_at) VALUES (?, ?, ?, ?) RETURNING key"
)
_DROP_TIMER: Final = "DELETE FROM timers WHERE rowid = ? AND version = ?"
_OUTCOME: Final = "SELECT done_at IS NOT NULL, seq, error, message FROM inbox WHERE key = ?"


def send_event(
    conn: sqlite3.Connection, workflow_id: str, event: str, data: str | None, now: str
) -> int:
    """Record a sent event in the inbox; return its key."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        key: int = conn.execute(_SEND, (workflow_id, event, data, now)).fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return key


def read_outcome(conn: sqlite3.Connection, key: int) -> Outcome | None:
    """What became of sent event ``key``; None while it is pending."""
    done, seq, error, message = conn.execute(_OUTCOME, (key,)).fetchone()
    return Outcome(seq, error, message) if done else None


def claim(conn: sqlite3.Connection, now: str) -> Claimed | None:
    """Begin a write transaction and return the next item to process in it.

    Timers whose workflow moved on since they were armed are deleted (void) on the way.
    When there is nothing to do, the transaction is committed and None returned;
    otherwise it stays open until ``finish`` or ``release``.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        claimed = _next_item(conn, now)
        if claimed is None:
            conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return claimed


def _next_item(conn: sqlite3.Connection, now: str) -> Claimed | None:
    while (row := conn.execute(_DUE_TIMER, (now,)).fetchone()) is not None:
        rowid, wid, event, data, version, current = row
        if version == current:
            return Claimed("timer", rowid, wid, event, _data(data), version, _load(conn, wid))
        conn.execute("DELETE FROM timers WHERE rowid = ?", (rowid,))  # void: it moved on
    row = conn.execute(_NEXT_EVENT).fetchone()
    if row is None:
        return None
    key, wid, event, data = row
    return Claimed("event", key, wid, event, _data(data), None, _load(conn, wid))


def _data(text: str | None) -> JSONValue:
    return None if text is None else parse_json(text, "event_data")


def _load(
    conn: sqlite3.Connection, workflow_id: str
) -> SerializedWorkflow | WorkflowNotFoundError | SerializationError:
    try:
        return read_workflow_in(conn, workflow_id)
    except (WorkflowNotFoundError, SerializationError) as exc:
        return exc


def finish(
    conn: sqlite3.Connection,
    claimed: Claimed,
    change: EncodedChange | None,
    outcome: Outcome,
    now: str,
    retention: Retention,
) -> None:
    """Write the change the item caused (if any), mark the item done, and commit.

    Raises:
        ConcurrentModificationError: the workflow changed meanwhile (not on SQLite, where
            the claim holds the write lock; kept for symmetry); nothing was written.
    """
    try:
        if change is not None:
            write_change(conn, change, retention)
        if claimed.kind == "event":
            conn.execute(
                "UPDATE inbox SET done_at = ?, seq = ?, error = ?, message = ? WHERE key = ?",
                (now, *outcome, claimed.key),
            )
        else:  # a fired timer is replaced by the change's; a refused one is dropped
            conn.execute(_DROP_TIMER, (claimed.key, claimed.version))
        conn.execute("COMMIT")
    except BaseException:
        release(conn)
        raise


def release(conn: sqlite3.Connection) -> None:
    """Roll back a claim: the item stays to be processed."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def next_due(conn: sqlite3.Connection) -> str | None:
    """The due time of the earliest timer (ISO text), or None."""
    due: str | None = conn.execute("SELECT min(due_at) FROM timers").fetchone()[0]
    return due


def has_work(conn: sqlite3.Connection, now: str) -> bool:
    """Whether a timer is due or an event pending (a read: no lock taken)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM timers WHERE due_at <= ?) "
        "OR EXISTS (SELECT 1 FROM inbox WHERE done_at IS NULL)",
        (now,),
    ).fetchone()
    return bool(row[0])


class SqliteClaims:
    """A worker's connection to a SQLite store: one claim at a time, in its own thread."""

    __slots__ = ("_connection", "_encoder", "_retention")

    def __init__(self, path: str, config: StateStoreConfig, retention: Retention) -> None:
        self._connection = ConnectionThread(path, config)
        self._retention = retention
        self._encoder = ChangeEncoder()

    async def open(self) -> None:
        """Connect (the store that made this already migrated the file)."""
        await self._connection.open()

    async def close(self) -> None:
        """Give back a claim still held, and disconnect."""
        if self._connection.is_open:
            await self._connection.run("releasing a claim", release)
        await self._connection.close()

    async def claim(self, now: datetime) -> Claimed | None:
        """The next item due at ``now``, held in an open transaction; None if none."""
        text = time_text(now)
        if not await self._connection.run("looking for work", has_work, text):
            return None
        return await self._connection.run("claiming work", claim, text)

    async def finish(
        self, claimed: Claimed, change: WorkflowChange | None, outcome: Outcome, now: datetime
    ) -> None:
        """Commit the item's change (if any) with the item marked done."""
        encoded = None if change is None else self._encoder.encode(change)
        self._encoder.forget()
        await self._connection.run(
            f"finishing {claimed.event} of workflow {claimed.workflow_id!r}",
            finish,
            claimed,
            encoded,
            outcome,
            time_text(now),
            self._retention,
        )

    async def release(self) -> None:
        """Roll the claim back: the item stays pending."""
        await self._connection.run("releasing a claim", release)

    async def next_due(self) -> datetime | None:
        """When the earliest stored timer is due (None: there is none)."""
        text = await self._connection.run("reading the next timer", next_due)
        return None if text is None else parse_time(text, "timers.due_at")

    @staticmethod
    async def idle(seconds: float, stop: asyncio.Event) -> None:
        """Wait ``seconds``, or until ``stop`` is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
