"""``changes()`` on PostgreSQL: the notices each writing transaction sends, heard by LISTEN.

A notice is sent in the transaction that commits the entry, so it arrives once that commits,
and notices arrive in commit order. Its payload is ``[id, seq, version, state, event]``, or
``[null, key, seq, version]`` when that would not fit in a notice (8000 bytes): the feed
then reads the entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from typing import Any, Final

from ..errors import StoreError
from ._changes import ChangeFeed, CommittedChange
from ._config import StateStoreConfig
from ._pgpool import CONNECT_TIMEOUT, server_settings, shown
from ._pgwrites import CHANGES_CHANNEL

_ENTRY: Final = (
    "SELECT w.id, t.to_state, t.event FROM transitions AS t "
    "JOIN workflows AS w ON w.key = t.workflow WHERE t.workflow = $1 AND t.seq = $2"
)


class PgChangeFeed(ChangeFeed):
    """The changes committed to a PostgreSQL database, heard on their own connection."""

    def __init__(self, url: str, config: StateStoreConfig) -> None:
        super().__init__()
        self._url = url
        self._config = config
        self._conn: Any = None
        self._notices: asyncio.Queue[str | None] = asyncio.Queue()  # None: connection lost

    async def _begin(self) -> None:
        asyncpg = importlib.import_module("asyncpg")
        failures = importlib.import_module("descartes_nb.store._pgfailures")
        try:
            self._conn = await asyncpg.connect(
                self._url,
                timeout=CONNECT_TIMEOUT,
                server_settings=server_settings(self._config, read_only=True),
            )
            await self._conn.add_listener(CHANGES_CHANNEL, self._heard)
            self._conn.add_termination_listener(self._lost)
        except (Exception, TimeoutError) as exc:
            await self._end()
            if not failures.is_translatable(exc):
                raise
            where = repr(shown(self._url))
            lock_timeout = self._config.busy_timeout
            raise failures.translate(
                exc, where, "following changes", lock_timeout, read_only=True
            ) from exc

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._notices.put_nowait(payload)

    def _lost(self, _conn: object) -> None:
        self._notices.put_nowait(None)

    async def _end(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=CONNECT_TIMEOUT)

    async def _next_batch(self) -> list[CommittedChange]:
        payloads = [await self._notices.get()]
        while not self._notices.empty():
            payloads.append(self._notices.get_nowait())
        if None in payloads:
            self._conn = None
            raise StoreError(
                f"database {shown(self._url)!r}: the connection that followed its changes was "
                "lost; changes committed since may be missed (read the workflows again and "
                "follow anew)"
            )
        changes = [await self._change(json.loads(p)) for p in payloads if p is not None]
        return [change for change in changes if change is not None]

    async def _change(self, notice: list[Any]) -> CommittedChange | None:
        if notice[0] is not None:
            wid, seq, version, state, event = notice
            return CommittedChange(wid, seq, version, state, event)
        _none, key, seq, version = notice
        row = await self._conn.fetchrow(_ENTRY, key, seq)
        if row is None:  # deleted since: nothing to say about it
            return None
        wid, state, event = row
        return CommittedChange(wid, seq, version, state, event)
