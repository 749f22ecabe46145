"""Group commit: the pending changes of many workflows go to the database in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ..errors import StateMachineError, StoreError
from ._writes import EncodedChange

Results = list[StoreError | None]
WriteBatch = Callable[[Sequence[EncodedChange]], Awaitable[Results]]
# Writes at once, on the caller's thread; None when it cannot (nothing was written).
WriteNow = Callable[[Sequence[EncodedChange]], Results | None]


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What a store has written since it was opened.

    Attributes:
        changes: changes committed (transitions and context edits).
        transactions: transactions they took; fewer than ``changes`` when writes of
            concurrent workflows were grouped.
        conflicts: changes refused with ``ConcurrentModificationError``.
        loop_transactions: those of ``transactions`` committed on the event loop's thread
            (see ``StateStoreConfig.loop_commits``); the others ran on the connection's.
    """

    changes: int = 0
    transactions: int = 0
    conflicts: int = 0
    loop_transactions: int = 0


class GroupCommit:
    """Queue changes; commit everything queued in one transaction.

    While changes come one at a time, each is written at once by ``write_now``: a lone
    caller never waits for company. Once they come in bursts (another task wrote in this
    turn of the event loop, or the last transaction held several changes), they queue,
    and one writer task commits the queue in one transaction: with ``write_now`` when it
    can, else with ``write`` (on the connection's thread). While that is in flight, new
    changes queue for the next one. Each ``submit`` returns when its own change is
    committed, or raises why it was not.
    """

    __slots__ = (
        "_counts",
        "_lone",
        "_max_batch",
        "_pending",
        "_task",
        "_turn_writer",
        "_write",
        "_write_now",
    )

    def __init__(self, write: WriteBatch, max_batch: int, write_now: WriteNow) -> None:
        self._write = write
        self._write_now = write_now
        self._max_batch = max_batch
        self._pending: list[tuple[EncodedChange, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._counts = [0, 0, 0, 0]  # StoreStats fields, counted in place (cheaper)
        self._lone = True  # the last transaction held one change
        # The task that wrote at once in this turn of the loop; None from the next turn on.
        self._turn_writer: asyncio.Task[object] | None = None

    @property
    def stats(self) -> StoreStats:
        """Counts of what was written so far."""
        return StoreStats(*self._counts)

    async def submit(self, change: EncodedChange) -> None:
        """Commit ``change`` with whatever else is pending; return once it is committed.

        If the caller is cancelled while waiting, the change may still be committed.

        Raises:
            ConcurrentModificationError: the stored version was not the expected one.
            StoreError: the transaction failed; nothing of it was written.
        """
        if self._task is None and self._lone and self._may_write_now():
            results = self._write_now((change,))
            if results is not None:
                self._count(results, on_loop=True)
                if results[0] is not None:
                    raise results[0]
                return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((change, done))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="descartes_nb group commit")
        await done

    def _may_write_now(self) -> bool:
        """Whether no other task wrote at once in this turn of the loop.

        Tasks woken in the same turn are a burst of concurrent changes: the first one
        writes at once, the others queue and share the next transaction. One task writing
        again and again (a caller in a loop, which never yields) keeps writing at once.
        """
        task = asyncio.current_task()
        if self._turn_writer is None:
            self._turn_writer = task
            asyncio.get_running_loop().call_soon(self._next_turn)
            return True
        return self._turn_writer is task

    def _next_turn(self) -> None:
        self._turn_writer = None

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
        changes = [change for change, _ in batch]
        try:
            results = self._write_now(changes)
            on_loop = results is not None
            if results is None:
                results = await self._write(changes)
        except BaseException as exc:
            for _, done in batch:
                _fail(done, exc)
            if not isinstance(exc, Exception):
                raise
            return  # each caller has the error; the next batch may well succeed
        self._count(results, on_loop)
        for (_, done), error in zip(batch, results, strict=True):
            if done.done():  # its caller was cancelled
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    def _count(self, results: Results, on_loop: bool) -> None:
        conflicts = len(results) - results.count(None)
        self._lone = len(results) == 1
        counts = self._counts
        counts[0] += len(results) - conflicts
        counts[1] += 1
        counts[2] += conflicts
        counts[3] += on_loop


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
