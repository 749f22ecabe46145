"""Group commit: one writer task puts the pending changes of many workflows in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ..errors import StateMachineError, StoreError
from .writes import EncodedChange

__all__ = ["GroupCommit", "StoreStats"]

WriteBatch = Callable[[Sequence[EncodedChange]], Awaitable[list[StoreError | None]]]


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What a store has written since it was opened.

    Attributes:
        changes: changes committed (transitions and context edits).
        transactions: transactions they took; fewer than ``changes`` when writes of
            concurrent workflows were grouped.
        conflicts: changes refused with ``ConcurrentModificationError``.
    """

    changes: int = 0
    transactions: int = 0
    conflicts: int = 0


class GroupCommit:
    """Queue changes; one writer task commits everything queued in one transaction.

    While a transaction is in flight, new changes wait and go together in the next one,
    so many workflows share commits; each ``submit`` returns when its own change is
    committed, or raises why it was not.
    """

    __slots__ = ("_max_batch", "_pending", "_stats", "_task", "_write")

    def __init__(self, write: WriteBatch, max_batch: int) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[EncodedChange, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._stats = StoreStats()

    @property
    def stats(self) -> StoreStats:
        """Counts of what was written so far."""
        return self._stats

    async def submit(self, change: EncodedChange) -> None:
        """Commit ``change`` with whatever else is pending; return once it is committed.

        If the caller is cancelled while waiting, the change may still be committed.

        Raises:
            ConcurrentModificationError: the stored version was not the expected one.
            StoreError: the transaction failed; nothing of it was written.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((change, done))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="descartes_nb group commit")
        await done

    async def wait_idle(self) -> None:
        """Return when everything submitted so far has been written (or has failed)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: len(batch)]
                await self._commit(batch)
        except BaseException as exc:  # cancelled: nobody may be left waiting forever
            waiting, self._pending = self._pending, []
            for _, done in waiting:
                _fail(done, exc)
            raise
        finally:
            self._task = None

    async def _commit(self, batch: list[tuple[EncodedChange, asyncio.Future[None]]]) -> None:
        try:
            results = await self._write([change for change, _ in batch])
        except BaseException as exc:
            for _, done in batch:
                _fail(done, exc)
            if not isinstance(exc, Exception):
                raise
            return  # each caller has the error; the next batch may well succeed
        conflicts = 0
        for (_, done), error in zip(batch, results, strict=True):
            conflicts += error is not None
            if done.done():  # its caller was cancelled
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)
        s = self._stats
        self._stats = StoreStats(
            s.changes + len(batch) - conflicts, s.transactions + 1, s.conflicts + conflicts
        )


def _fail(done: asyncio.Future[None], exc: BaseException) -> None:
    """Fail one caller with its own copy of a whole-batch error (chained like it)."""
    if done.done():
        return
    if isinstance(exc, StateMachineError):
        error = type(exc)(str(exc))
        error.__cause__ = exc.__cause__
    else:
        error = StoreError(f"the write did not finish: {exc!r}")
        error.__cause__ = exc
    done.set_exception(error)
