"""``store.changes()``: the history entries committed to a store, by any process, as they come.

SQLite tells a connection that another one committed through ``PRAGMA data_version``: the
feed looks at it every polling interval and then reads the transitions added since (their
rowids grow in commit order). PostgreSQL sends a notice in each writing transaction
(``_pgchanges``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from types import TracebackType
from typing import Final, NamedTuple, Self

from ._config import StateStoreConfig
from ._connection import ConnectionThread

DEFAULT_POLL: Final = 0.2  # seconds between looks at a SQLite file


class CommittedChange(NamedTuple):
    """A history entry committed to a store, as ``store.changes()`` yields it.

    Attributes:
        workflow_id: the workflow it moved.
        seq: the entry's seq in that workflow's history.
        version: the workflow's version once it was committed (on SQLite: the newer
            version when a change of the context alone followed before the feed looked).
        state: the state it led to.
        event: the event that caused it.
    """

    workflow_id: str
    seq: int
    version: int
    state: str
    event: str


class ChangeFeed:
    """An async iterator of the changes committed after it started, in commit order.

    Start it with ``async with`` (then changes committed inside the block are all seen),
    or just iterate (it starts at the first ``__anext__``); leaving the block or ``close()``
    disconnects it.
    """

    def __init__(self) -> None:
        self._ready: deque[CommittedChange] = deque()
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CommittedChange:
        if not self._started:
            await self.start()
        while not self._ready:
            self._ready.extend(await self._next_batch())
        return self._ready.popleft()

    async def start(self) -> None:
        """Begin following: changes committed from now on are yielded."""
        if not self._started:
            await self._begin()
            self._started = True

    async def close(self) -> None:
        """Stop following and disconnect (harmless when closed)."""
        await self._end()

    async def _begin(self) -> None:
        raise NotImplementedError

    async def _end(self) -> None:
        raise NotImplementedError

    async def _next_batch(self) -> list[CommittedChange]:
        raise NotImplementedError


_SINCE: Final = (
    "SELECT t.rowid, w.id, t.seq, w.version - (w.transition_count - t.seq), t.to_state, t.event "
    "FROM transitions AS t JOIN workflows AS w ON w.key = t.workflow "
    "WHERE t.rowid > ? ORDER BY t.rowid"
)


def _mark(conn: sqlite3.Connection) -> tuple[int, int]:
    """The file's data_version and the newest transition's rowid."""
    version: int = conn.execute("PRAGMA data_version").fetchone()[0]
    newest: int = conn.execute("SELECT coalesce(max(rowid), 0) FROM transitions").fetchone()[0]
    return version, newest


def _read_since(
    conn: sqlite3.Connection, data_version: int, after: int
) -> tuple[int, list[tuple[int, str, int, int, str, str]]]:
    """The data_version now, and the transitions after rowid ``after`` if it changed."""
    now: int = conn.execute("PRAGMA data_version").fetchone()[0]
    if now == data_version:
        return now, []
    return now, conn.execute(_SINCE, (after,)).fetchall()


class SqliteChangeFeed(ChangeFeed):
    """The changes committed to a SQLite file, found by polling ``PRAGMA data_version``."""

    def __init__(self, path: str, config: StateStoreConfig, poll: float) -> None:
        super().__init__()
        self._connection = ConnectionThread(path, config)
        self._poll = poll
        self._data_version = 0
        self._after = 0

    async def _begin(self) -> None:
        await self._connection.open()
        self._data_version, self._after = await self._connection.run(
            "starting to follow changes", _mark
        )

    async def _end(self) -> None:
        await self._connection.close()

    async def _next_batch(self) -> list[CommittedChange]:
        await asyncio.sleep(self._poll)
        self._data_version, rows = await self._connection.run(
            "reading changes", _read_since, self._data_version, self._after
        )
        if rows:
            self._after = rows[-1][0]
        return [CommittedChange(*row[1:]) for row in rows]
