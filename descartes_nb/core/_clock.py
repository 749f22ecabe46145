"""Injected time: the Clock protocol, SystemClock and ManualClock."""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, runtime_checkable

_log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[object]]


class TimerHandle:
    """A scheduled callback; ``cancel()`` stops it from running."""

    __slots__ = ("_cancel", "cancelled", "when")

    def __init__(self, when: datetime, cancel: Callable[[], None] | None = None) -> None:
        self.when = when
        self.cancelled = False
        self._cancel = cancel

    def cancel(self) -> None:
        """Stop the callback from running; harmless if it already ran."""
        self.cancelled = True
        if self._cancel is not None:
            self._cancel()


@runtime_checkable
class Clock(Protocol):
    """Where a machine gets the time and schedules timeouts and retries."""

    def now(self) -> datetime:
        """Return the current time, aware UTC."""
        ...

    def call_at(self, when: datetime, callback: Callback) -> TimerHandle:
        """Run ``await callback()`` at ``when`` (at once if ``when`` has passed)."""
        ...


class SystemClock:
    """Wall-clock time; callbacks run as tasks on the running event loop."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    # The current time, aware UTC: datetime.now(UTC) itself rather than a method wrapping
    # it, because every transition reads the clock.
    now: Final[Callable[[], datetime]] = staticmethod(functools.partial(datetime.now, UTC))

    def call_at(self, when: datetime, callback: Callback) -> TimerHandle:
        """Run ``await callback()`` at ``when`` on the running loop; failures are logged."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, (when - self.now()).total_seconds())
        timer = loop.call_later(delay, self._start, callback)
        return TimerHandle(when, timer.cancel)

    def _start(self, callback: Callback) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(callback())
        self._tasks.add(task)  # keep a reference until done, or the task may vanish
        task.add_done_callback(self._finish)

    def _finish(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("scheduled callback failed", exc_info=task.exception())


class ManualClock:
    """Time that moves only when told to, for tests and teaching notebooks.

    Example:
        >>> import asyncio
        >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        >>> asyncio.run(clock.advance(timedelta(minutes=5)))
        >>> clock.now().isoformat()
        '2026-01-01T00:05:00+00:00'
    """

    __slots__ = ("_cancelled", "_counter", "_now", "_timers")

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got {start!r}")
        self._now = start.astimezone(UTC)
        self._timers: list[tuple[datetime, int, TimerHandle, Callback]] = []
        self._counter = itertools.count()
        self._cancelled = 0  # about how many scheduled entries were cancelled since compacted

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def call_at(self, when: datetime, callback: Callback) -> TimerHandle:
        """Run ``await callback()`` when ``advance()`` reaches ``when``."""
        if self._cancelled > 32 and 2 * self._cancelled > len(self._timers):
            # Drop cancelled entries, or a workflow that re-arms timeouts on every
            # transition grows the heap without end.
            self._timers = [t for t in self._timers if not t[2].cancelled]
            heapq.heapify(self._timers)
            self._cancelled = 0
        handle = TimerHandle(when, self._count_cancel)
        heapq.heappush(self._timers, (when, next(self._counter), handle, callback))
        return handle

    def _count_cancel(self) -> None:
        self._cancelled += 1

    async def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta``, running every callback that falls due, in order."""
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot go back: advance({delta!r})")
        target = self._now + delta
        while self._timers and self._timers[0][0] <= target:
            when, _, handle, callback = heapq.heappop(self._timers)
            if handle.cancelled:
                continue
            self._now = max(self._now, when)
            handle.cancelled = True  # it ran: cancelling it later is a no-op
            await callback()
        self._now = target

    @property
    def pending(self) -> list[datetime]:
        """The times of the callbacks still scheduled, soonest first."""
        return sorted(when for when, _, handle, _ in self._timers if not handle.cancelled)
