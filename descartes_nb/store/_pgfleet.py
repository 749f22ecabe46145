"""The fleet on PostgreSQL: the inbox of sent events, and claims with ``SKIP LOCKED``.

A worker claims one item (a due timer or the oldest pending event) by locking its row and
its workflow's row (``FOR UPDATE ... SKIP LOCKED``), and keeps that transaction open while
it processes the item: the change, the timers it arms and the item marked done commit
together, or roll back together when the worker dies (the server ends the session). Other
workers skip the locked rows, so they share the work without a coordinator, and events to
one workflow are taken one at a time, in the order sent. A sent event wakes idle workers
through ``LISTEN``/``NOTIFY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable
from datetime import datetime
from types import ModuleType
from typing import Any, Final, TypeVar

from ..core._jsonvalue import JSONValue
from ..core._ports import WorkflowChange
from ..core._serialization import SerializedWorkflow, time_text
from ..errors import SerializationError, StoreError, WorkflowNotFoundError
from ._codec import parse_json
from ._config import StateStoreConfig
from ._encode import ChangeEncoder
from ._fleet import Claimed, Outcome
from ._pgpool import CONNECT_TIMEOUT, server_settings, shown
from ._pgreads import read_workflow_in
from ._pgschema import Connection
from ._pgwrites import write_one
from ._writes import Retention

_T = TypeVar("_T")
INBOX_CHANNEL: Final = "descartes_nb_inbox"
_SEND: Final = (
    "WITH i AS (INSERT INTO inbox (workflow, event, event_data, sent_at) "
    "VALUES ($1, $2, $3::text::json, $4::text::timestamptz) RETURNING key) "
    f"SELECT key, pg_notify('{INBOX_CHANNEL}', '') FROM i"
)
_OUTCOME: Final = "SELECT done_at IS NOT NULL, seq, error, message FROM inbox WHERE key = $1"
_HAS_WORK: Final = (
    "SELECT EXISTS (SELECT 1 FROM timers WHERE due_at <= $1::text::timestamptz) "
    "OR EXISTS (SELECT 1 FROM inbox WHERE done_at IS NULL)"
)
# A claim locks the workflow's row alone (locking an item's row too would keep it locked
# when its workflow is skipped, and hide it from the others), then reads the item again in
# a new statement: whoever holds a workflow's row is the only one processing its items, so
# what that statement sees is settled.
_DUE_TIMER: Final = (
    "SELECT x.key, w.id, w.version FROM timers AS x JOIN workflows AS w ON w.key = x.workflow "
    "WHERE x.due_at <= $1::text::timestamptz ORDER BY x.due_at LIMIT 1 "
    "FOR UPDATE OF w SKIP LOCKED"
)
_TIMER: Final = "SELECT event, event_data::text, version FROM timers WHERE key = $1"
# The workflow of the oldest pending event that no other worker holds.
_EVENT_WORKFLOW: Final = (
    "SELECT w.id FROM inbox AS i JOIN workflows AS w ON w.id = i.workflow "
    "WHERE i.done_at IS NULL ORDER BY i.key LIMIT 1 FOR UPDATE OF w SKIP LOCKED"
)
_OLDEST_EVENT: Final = (
    "SELECT key, workflow, event, event_data::text FROM inbox "
    "WHERE workflow = $1 AND done_at IS NULL ORDER BY key LIMIT 1"
)
# Events sent to no workflow are refused in turn (an inbox row's lock is enough for them).
_ORPHAN_EVENT: Final = (
    "SELECT i.key, i.workflow, i.event, i.event_data::text FROM inbox AS i "
    "WHERE i.done_at IS NULL AND NOT EXISTS (SELECT 1 FROM workflows AS w "
    "WHERE w.id = i.workflow) ORDER BY i.key LIMIT 1 FOR UPDATE OF i SKIP LOCKED"
)
_DONE: Final = (
    "UPDATE inbox SET done_at = $1::text::timestamptz, seq = $2, error = $3, message = $4 "
    "WHERE key = $5"
)


async def send_event(
    conn: Connection, workflow_id: str, event: str, data: str | None, now: str
) -> int:
    """Record a sent event in the inbox and wake the idle workers; return its key."""
    row = await conn.fetchrow(_SEND, workflow_id, event, data, now)
    return int(row[0])


async def read_outcome(conn: Connection, key: int) -> Outcome | None:
    """What became of sent event ``key``; None while it is pending."""
    done, seq, error, message = await conn.fetchrow(_OUTCOME, key)
    return Outcome(seq, error, message) if done else None


async def _next_item(conn: Connection, now: str) -> Claimed | None:
    """Lock the workflow of the next item and return the item; void timers are deleted."""
    while (row := await conn.fetchrow(_DUE_TIMER, now)) is not None:
        key, wid, current = row
        timer = await conn.fetchrow(_TIMER, key)
        if timer is None:  # fired by another worker since
            continue
        event, data, version = timer
        if version == current:
            return Claimed("timer", key, wid, event, _data(data), version, await _load(conn, wid))
        await conn.execute("DELETE FROM timers WHERE key = $1", key)  # void: it moved on
    while (wid := await conn.fetchval(_EVENT_WORKFLOW)) is not None:
        row = await conn.fetchrow(_OLDEST_EVENT, wid)
        if row is not None:
            return _event(row, await _load(conn, wid))
    row = await conn.fetchrow(_ORPHAN_EVENT)
    return None if row is None else _event(row, await _load(conn, row[1]))


def _event(row: Any, workflow: Any) -> Claimed:
    key, wid, event, data = row
    return Claimed("event", key, wid, event, _data(data), None, workflow)


def _data(text: str | None) -> JSONValue:
    return None if text is None else parse_json(text, "event_data")


async def _load(
    conn: Connection, workflow_id: str
) -> SerializedWorkflow | WorkflowNotFoundError | SerializationError:
    try:
        return await read_workflow_in(conn, workflow_id)
    except (WorkflowNotFoundError, SerializationError) as exc:
        return exc


class PgClaims:
    """A worker's own connection to a PostgreSQL store: one claim at a time.

    It listens for sent events (``idle`` returns when one arrives); a lost connection is
    reported as ``StoreError`` and made anew by the next claim.
    """

    __slots__ = (
        "_asyncpg",
        "_config",
        "_conn",
        "_encoder",
        "_failures",
        "_retention",
        "_transaction",
        "_url",
        "_woken",
    )

    def __init__(self, url: str, config: StateStoreConfig, retention: Retention) -> None:
        self._url = url
        self._config = config
        self._retention = retention
        self._encoder = ChangeEncoder()
        self._conn: Any = None
        self._transaction: Any = None
        self._woken = asyncio.Event()
        self._asyncpg: ModuleType = importlib.import_module("asyncpg")
        self._failures: ModuleType = importlib.import_module("descartes_nb.store._pgfailures")

    async def open(self) -> None:
        """Connect and listen for sent events."""
        await self._connection()

    async def close(self) -> None:
        """Give back a claim still held, and disconnect."""
        await self.release()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=CONNECT_TIMEOUT)

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            settings = server_settings(self._config, read_only=False)
            connect = self._asyncpg.connect(
                self._url, timeout=CONNECT_TIMEOUT, server_settings=settings
            )
            conn = await self._translated("connecting", connect)
            await self._translated("listening", conn.add_listener(INBOX_CHANNEL, self._wake))
            self._conn = conn
            self._woken.set()  # events sent while we were away: look now
        return self._conn

    def _wake(self, *_args: object) -> None:
        self._woken.set()

    async def _translated(self, doing: str, work: Awaitable[_T]) -> _T:
        try:
            return await work
        except (Exception, TimeoutError) as exc:
            if not self._failures.is_translatable(exc):
                raise
            if self._failures.is_connection_lost(exc) and self._conn is not None:
                self._conn.terminate()
                self._conn = self._transaction = None
            raise self._failures.translate(
                exc, repr(shown(self._url)), doing, self._config.busy_timeout, read_only=False
            ) from exc

    async def idle(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait until an event is sent, ``stop`` is set, or ``seconds`` have passed."""
        if not self._woken.is_set():
            waits = [asyncio.ensure_future(e.wait()) for e in (stop, self._woken)]
            try:
                await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        self._woken.clear()

    async def next_due(self) -> datetime | None:
        """When the earliest stored timer is due (None: there is none)."""
        conn = await self._connection()
        due: datetime | None = await self._translated(
            "reading the next timer", conn.fetchval("SELECT min(due_at) FROM timers")
        )
        return due

    async def claim(self, now: datetime) -> Claimed | None:
        """The next item due at ``now``, held in an open transaction; None if none."""
        conn = await self._connection()
        text = time_text(now)
        if not await self._translated("looking for work", conn.fetchval(_HAS_WORK, text)):
            return None
        transaction = conn.transaction()
        await self._translated("claiming work", transaction.start())
        self._transaction = transaction
        try:
            claimed = await self._translated("claiming work", _next_item(conn, text))
        except BaseException:
            await self.release()
            raise
        if claimed is None:
            await self._end("claiming work", commit=True)
        return claimed

    async def finish(
        self, claimed: Claimed, change: WorkflowChange | None, outcome: Outcome, now: datetime
    ) -> None:
        """Commit the item's change (if any) with the item marked done.

        Raises:
            ConcurrentModificationError: the workflow changed since it was claimed.
        """
        doing = f"finishing {claimed.event} of workflow {claimed.workflow_id!r}"
        encoded = None if change is None else self._encoder.encode(change)
        self._encoder.forget()
        conn = self._conn
        if conn is None or self._transaction is None:
            raise StoreError(f"{doing}: the claim was lost with the connection")
        try:
            if encoded is not None:
                refused = await self._translated(doing, write_one(conn, encoded, self._retention))
                if refused is not None:
                    raise refused
            if claimed.kind == "event":
                done = conn.execute(_DONE, time_text(now), *outcome, claimed.key)
            else:  # fired: replaced by the change's timers; refused: dropped
                done = conn.execute("DELETE FROM timers WHERE key = $1", claimed.key)
            await self._translated(doing, done)
            await self._end(doing, commit=True)
        except BaseException:
            await self.release()
            raise

    async def _end(self, doing: str, *, commit: bool) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            end = transaction.commit() if commit else transaction.rollback()
            await self._translated(doing, end)

    async def release(self) -> None:
        """Roll the claim back: the item stays pending (harmless without one)."""
        with contextlib.suppress(StoreError):
            await self._end("releasing a claim", commit=False)
