"""The committer: one write policy for both stores, whatever the database.

Machines' changes are queued and committed together (group commit): everything queued goes
in one transaction, a change based on a stale version fails alone (the database leaves it
out), and if one breaks a constraint the batch is written again a change per transaction,
so that again only that one fails. Each caller returns once its own change is committed.
A store says how to write through a ``ChangeWriter``: SQLite and PostgreSQL differ only there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import StateMachineError, StoreError
from ._writes import EncodedChange

Results = list[StoreError | None]


class ChangeWriter(Protocol):
    """How one database writes changes; it holds nothing that refers back to its store."""

    def write_now(self, changes: Sequence[EncodedChange]) -> Results | None:
        """Write in one transaction on the caller's thread; None when it cannot (nothing written).

        Raises:
            StoreError: the transaction failed; nothing of it was written.
        """
        ...

    async def write_together(self, changes: Sequence[EncodedChange]) -> Results | None:
        """Write in one transaction; per change None or its conflict.

        None when a change breaks a constraint (nothing was written).

        Raises:
            StoreError: the transaction failed; nothing of it was written.
        """
        ...

    async def write_alone(self, change: EncodedChange) -> StoreError | None:
        """Write one change in a transaction of its own; None, or why it was not written."""
        ...


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
    changes queue for the next one; with ``in_flight`` > 1 (PostgreSQL, one transaction per
    pooled connection), up to that many writer tasks commit queued changes at once, so the
    server flushes their commits together. Each ``submit`` returns when its own change is
    committed, or raises why it was not.

    A caller cancelled while its change waits in the queue withdraws it: the writer task
    leaves it out, and nothing of it is written. Once the writer task has taken a change
    into a transaction it cannot be taken back, so a caller cancelled then waits for that
    transaction to end (see ``submit``).
    """

    __slots__ = (
        "_counts",
        "_in_flight",
        "_lone",
        "_max_batch",
        "_pending",
        "_tasks",
        "_turn_writer",
        "_writer",
    )

    def __init__(self, writer: ChangeWriter, max_batch: int, in_flight: int = 1) -> None:
        self._writer = writer
        self._in_flight = in_flight  # transactions under way at once (one per connection)
        self._max_batch = max_batch
        self._pending: list[_Waiter] = []
        self._tasks: set[asyncio.Task[None]] = set()
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

        If the caller is cancelled while the change waits in the queue, the change is
        withdrawn (never written) and CancelledError is raised. If it is cancelled once the
        change is being written, the write is finished first: ``submit`` then returns if
        the change was committed, leaving the cancellation to the caller (the machine
        applies the change, then raises CancelledError), and raises CancelledError if it
        was not. So CancelledError always means that nothing was written.

        Raises:
            ConcurrentModificationError: the stored version was not the expected one.
            StoreError: the transaction failed; nothing of it was written.
        """
        if not self._tasks and self._lone and self._may_write_now():
            results = self._writer.write_now((change,))  # no await: it cannot be cancelled
            if results is not None:
                self._count(results, on_loop=True)
                if results[0] is not None:
                    raise results[0]
                return
        waiter = _Waiter(change, asyncio.get_running_loop().create_future())
        self._pending.append(waiter)
        if len(self._tasks) < self._in_flight:
            task = asyncio.create_task(self._drain(), name="descartes_nb group commit")
            self._tasks.add(task)
        try:
            await waiter.wakeup
        except asyncio.CancelledError:
            # Cancelled while queued, its wakeup was cancelled too: _take leaves it out.
            if not waiter.taken or await waiter.outcome() is not None:
                raise  # nothing was written
            return  # committed: the caller honours the cancellation once it has applied it
        if waiter.error is not None:
            raise waiter.error

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
        while self._tasks:
            await asyncio.shield(next(iter(self._tasks)))

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                if batch:
                    await self._commit(batch)
        except BaseException as exc:  # cancelled: nobody may be left waiting forever
            waiting, self._pending = self._pending, []
            for waiter in waiting:
                _fail(waiter, exc, written=False)
            raise
        finally:
            self._tasks.discard(asyncio.current_task())

    def _take(self) -> list[_Waiter]:
        """Take the next transaction's changes off the queue.

        Those whose callers were cancelled while they waited are withdrawn: left out.
        """
        pending = self._pending
        taken = pending[: self._max_batch]
        del pending[: len(taken)]
        batch = [waiter for waiter in taken if not waiter.wakeup.cancelled()]
        for waiter in batch:
            waiter.taken = True
        return batch

    async def _commit(self, batch: list[_Waiter]) -> None:
        changes = [waiter.change for waiter in batch]
        try:
            results = self._writer.write_now(changes)
            on_loop = results is not None
            if results is None:
                results = await self._writer.write_together(changes)
            if results is None:  # a change breaks a constraint: each alone, so it fails alone
                results = [await self._writer.write_alone(change) for change in changes]
        except BaseException as exc:
            for waiter in batch:
                _fail(waiter, exc, written=isinstance(exc, asyncio.CancelledError))
            if not isinstance(exc, Exception):
                raise
            return  # each caller has the error; the next batch may well succeed
        self._count(results, on_loop)
        for waiter, error in zip(batch, results, strict=True):
            waiter.finish(error)

    def _count(self, results: Results, on_loop: bool) -> None:
        conflicts = len(results) - results.count(None)
        self._lone = len(results) == 1
        counts = self._counts
        counts[0] += len(results) - conflicts
        counts[1] += 1
        counts[2] += conflicts
        counts[3] += on_loop


class _Waiter:
    """One queued change, the future its caller waits on, and what became of it."""

    __slots__ = ("change", "error", "finished", "taken", "wakeup")

    def __init__(self, change: EncodedChange, wakeup: asyncio.Future[None]) -> None:
        self.change = change
        self.wakeup = wakeup  # only wakes the caller: the outcome is in error
        self.taken = False  # into a transaction: from then on it is finished, not withdrawn
        self.finished = False
        self.error: StateMachineError | None = None

    def finish(self, error: StateMachineError | None) -> None:
        """Record the outcome and wake the caller (unless it was cancelled meanwhile)."""
        self.finished = True
        self.error = error
        if not self.wakeup.done():
            self.wakeup.set_result(None)

    async def outcome(self) -> StateMachineError | None:
        """Wait for the transaction holding this change to end, through any cancellation."""
        while not self.finished:
            if self.wakeup.done():  # cancelled together with its caller
                self.wakeup = self.wakeup.get_loop().create_future()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.wakeup)
        return self.error


def _fail(waiter: _Waiter, exc: BaseException, *, written: bool) -> None:
    """Fail one caller with its own copy of a whole-batch error (chained like it).

    ``written``: the batch was on its way to the database when the writer task was
    interrupted (the loop is shutting down), so whether it was committed is unknown.
    """
    if waiter.finished:
        return
    error: StateMachineError
    if isinstance(exc, StateMachineError):
        error = type(exc)(str(exc))
        error.__cause__ = exc.__cause__
    elif written:
        error = StoreError(
            f"the store's writer was interrupted ({exc!r}) while this change was being "
            "written: whether it was committed is known only by loading the workflow again"
        )
        error.__cause__ = exc
    else:
        error = StoreError(
            f"the store's writer was interrupted ({exc!r}) before this change was written; "
            "nothing was written"
        )
        error.__cause__ = exc
    waiter.finish(error)
