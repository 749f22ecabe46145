"""Timeouts and automatic retries of one workflow, scheduled on the machine's clock.

A state with a ``timeout`` processes ``Timeout`` once the workflow has stayed in it that
long; leaving the state cancels it. When a workflow enters a state that accepts ``Retry``
(such as ``Failed``) from a state with a ``retry`` policy, ``Retry`` is processed after the
policy's backoff, up to ``max_attempts`` consecutive retries; after the last one the workflow
stays where it is. Everything is derived from what a snapshot holds (the state, when it was
entered, the retry count and the history), so a deserialized workflow re-arms the time left.

Jitter is not drawn from a shared random generator: the fraction for attempt ``n`` of
workflow ``w`` is a hash of ``(w, n)``, so it differs between workflows (which is what
jitter is for), is the same after recovery, and makes tests reproducible.

Timers need a place to run: ``ManualClock`` runs them in ``advance()``; ``SystemClock``
needs a running event loop. A machine created where no loop runs arms its timers on its
first change (``process_event``, ``set_context``, ``rollback``); deadlines are absolute, so
a timer armed late still fires when it should, or at once if that time has passed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from . import _engine as engine
from ._clock import Clock, TimerHandle
from ._definition import RetryPolicy, WorkflowDefinition
from ._duration import format_duration
from ._events import RETRY, TIMEOUT
from ._history import History, StateHistoryEntry
from ._jsonvalue import FrozenDict, JSONValue
from ._ports import DurableTimer

_log = logging.getLogger(__name__)

_MICROSECOND: Final = timedelta(microseconds=1)


def jitter_fraction(workflow_id: str, attempt: int) -> float:
    """A fraction in [0, 1) that depends only on the workflow and the attempt number."""
    digest = hashlib.blake2b(f"{workflow_id}\0{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def backoff_delay(policy: RetryPolicy, attempt: int, fraction: float = 0.0) -> timedelta:
    """The wait before retry number ``attempt`` (1 for the first).

    Exponential: ``initial * 2 ** (attempt - 1)``, capped at ``max``; fixed: ``initial``.
    Jitter then shortens it by up to ``jitter`` of itself: ``delay * (1 - jitter * fraction)``.

    Example:
        >>> policy = RetryPolicy(initial=timedelta(seconds=1), max=timedelta(seconds=5))
        >>> [backoff_delay(policy, n).seconds for n in (1, 2, 3, 4)]
        [1, 2, 4, 5]
    """
    initial = policy.initial // _MICROSECOND
    longest = max(policy.max // _MICROSECOND, initial)
    if policy.backoff == "fixed":
        base = initial
    else:
        base = min(longest, initial << min(max(attempt - 1, 0), 64))
    return timedelta(microseconds=round(base * (1 - policy.jitter * fraction)))


@dataclass(slots=True, eq=False)
class _Armed:
    """One scheduled event: what to process, when, and whether it still should be."""

    event: str
    data: JSONValue
    when: datetime
    active: bool = True
    handle: TimerHandle | None = None


Process = Callable[[str, JSONValue, object], Awaitable[None]]


class WorkflowTimers:
    """The timers of one workflow: a timeout per active state that has one, and a retry.

    ``process(event, data, token)`` is the machine's callback; it must process the event
    only while ``is_current(token)`` holds (checked under the machine's lock).
    """

    __slots__ = ("_clock", "_deferred", "_definition", "_process", "_retry", "_timeouts", "_wid")

    def __init__(
        self, definition: WorkflowDefinition, clock: Clock, workflow_id: str, process: Process
    ) -> None:
        self._definition = definition
        self._clock = clock
        self._wid = workflow_id
        self._process = process
        self._timeouts: dict[str, _Armed] = {}
        self._retry: _Armed | None = None
        self._deferred = False

    @property
    def timeout_at(self) -> datetime | None:
        """When the next timeout falls due, if one is pending."""
        return min((a.when for a in self._timeouts.values()), default=None)

    @property
    def next_retry_at(self) -> datetime | None:
        """When the next automatic retry is due, if one is pending."""
        return self._retry.when if self._retry is not None else None

    @property
    def is_deferred(self) -> bool:
        """Whether some timer waits for a running event loop to be armed."""
        return self._deferred

    def is_current(self, token: object) -> bool:
        """Whether the timer ``token`` names is still wanted (not cancelled or replaced)."""
        return isinstance(token, _Armed) and token.active

    def enter(self, states: Iterable[str], at: datetime) -> None:
        """Arm the timeouts of ``states``, entered at ``at``."""
        for name in states:
            timeout = self._definition.state(name).timeout
            if timeout is not None:
                self._cancel(self._timeouts.pop(name, None))
                self._timeouts[name] = self._arm(
                    TIMEOUT, _timeout_data(name, timeout), at + timeout
                )

    def after_step(self, step: engine.Step, at: datetime, retry_attempts: int) -> None:
        """Follow one applied step: cancel what it left, arm what it entered."""
        if not step.moves:
            return  # an internal event: the workflow stays where it is
        for name in step.exited:
            self._cancel(self._timeouts.pop(name, None))
        self._cancel(self._retry)
        self._retry = None
        self.enter(step.entered, at)
        self._plan_retry(step.target, step.source, at, retry_attempts)

    def pending(self) -> tuple[DurableTimer, ...]:
        """The timers armed now, earliest first."""
        armed = [a for a in (*self._timeouts.values(), self._retry) if a is not None and a.active]
        return tuple(sorted((DurableTimer(a.event, a.data, a.when) for a in armed), key=_due))

    def planned(
        self, step: engine.Step, at: datetime, retry_attempts: int
    ) -> tuple[DurableTimer, ...]:
        """The timers ``after_step(step, at, retry_attempts)`` would leave armed (changes nothing).

        A store writes them with the change, so that another process can fire them.
        """
        if not step.moves:
            return self.pending()
        left = set(step.exited) | set(step.entered)
        timers = [
            DurableTimer(a.event, a.data, a.when)
            for name, a in self._timeouts.items()
            if a.active and name not in left
        ]
        for name in step.entered:
            timeout = self._definition.state(name).timeout
            if timeout is not None:
                timers.append(DurableTimer(TIMEOUT, _timeout_data(name, timeout), at + timeout))
        retry = self._retry_plan(step.target, step.source, at, retry_attempts)
        if retry is not None:
            timers.append(retry)
        return tuple(sorted(timers, key=_due))

    def restore(
        self,
        state: str,
        entered: dict[str, datetime],
        history: History,
        retry_attempts: int,
    ) -> None:
        """Re-arm everything for a workflow rebuilt from a snapshot (timeouts keep counting).

        ``entered`` says when each active state was entered (see ``entry_times``).
        """
        self.cancel_all()
        for name, at in entered.items():
            self.enter((name,), at)
        previous = history.previous_state()
        if previous is not None:
            self._plan_retry(state, previous, entered[state], retry_attempts)

    def cancel_all(self) -> None:
        """Cancel every timer (the workflow stops running here)."""
        for armed in self._timeouts.values():
            self._cancel(armed)
        self._timeouts.clear()
        self._cancel(self._retry)
        self._retry = None

    def arm_deferred(self) -> None:
        """Arm the timers that waited for a running event loop."""
        self._deferred = False
        for armed in [*self._timeouts.values(), self._retry]:
            if armed is not None and armed.active and armed.handle is None:
                self._schedule(armed)

    def _plan_retry(self, state: str, failed_in: str, at: datetime, attempts: int) -> None:
        plan = self._retry_plan(state, failed_in, at, attempts)
        if plan is not None:
            self._retry = self._arm(plan.event, plan.data, plan.due_at)

    def _retry_plan(
        self, state: str, failed_in: str, at: datetime, attempts: int
    ) -> DurableTimer | None:
        if not engine.candidates(self._definition, state, RETRY):
            return None
        policy = self._policy(failed_in)
        if policy is None or attempts >= policy.max_attempts:
            return None
        attempt = attempts + 1
        delay = backoff_delay(policy, attempt, jitter_fraction(self._wid, attempt))
        data: JSONValue = {
            "attempt": attempt,
            "max_attempts": policy.max_attempts,
            "delay": format_duration(delay),
        }
        return DurableTimer(RETRY, data, at + delay)

    def _policy(self, name: str) -> RetryPolicy | None:
        """The retry policy of ``name``, else of its nearest ancestor that has one."""
        for candidate in (name, *self._definition.ancestors(name)):
            policy = self._definition.state(candidate).retry
            if policy is not None:
                return policy
        return None

    def _arm(self, event: str, data: JSONValue, when: datetime) -> _Armed:
        armed = _Armed(event, data, when)
        self._schedule(armed)
        return armed

    def _schedule(self, armed: _Armed) -> None:
        async def fire() -> None:
            if armed.active:
                await self._process(armed.event, armed.data, armed)

        try:
            armed.handle = self._clock.call_at(armed.when, fire)
        except RuntimeError:  # SystemClock outside a running loop: arm on the next change
            self._deferred = True

    @staticmethod
    def _cancel(armed: _Armed | None) -> None:
        if armed is not None:
            armed.active = False
            if armed.handle is not None:
                armed.handle.cancel()


def _due(timer: DurableTimer) -> datetime:
    return timer.due_at


@functools.lru_cache(maxsize=1024)
def _timeout_data(state: str, timeout: timedelta) -> JSONValue:
    """The data of a scheduled Timeout (cached: it depends only on the state)."""
    text = format_duration(timeout)
    return FrozenDict(  # read-only, so that every Timeout of the state can share it
        {"state": state, "timeout": text, "message": f"timed out after {text} in state {state!r}"}
    )


def entry_times(
    definition: WorkflowDefinition,
    history: History,
    configuration: frozenset[str],
    state: str,
    state_entered_at: datetime,
    created_at: datetime,
) -> dict[str, datetime]:
    """When each active state was entered, read back from the history (for ``restore``).

    A statechart's entries say which states they entered; a flat definition's say it by their
    states. A state entered before the oldest retained entry counts from that entry's start,
    so that a timeout fires late rather than early.
    """
    start = created_at if history.first_seq == 1 or not len(history) else _base_time(history)
    recorded = bool(len(history)) and bool(history[-1].configuration)
    found = {} if recorded else {state: state_entered_at}
    for name in configuration - found.keys():
        found[name] = start
        for entry in reversed(history):
            if _entered(definition, entry, name, recorded):
                found[name] = entry.timestamp
                break
    return found


def _entered(
    definition: WorkflowDefinition, entry: StateHistoryEntry, name: str, recorded: bool
) -> bool:
    """Whether ``entry`` entered ``name`` (a flat entry: it was not active before it)."""
    if recorded:
        return name in entry.entered
    return name not in engine.configuration_of(definition, entry.from_state)


def _base_time(history: History) -> datetime:
    oldest = history[0]
    return oldest.timestamp - oldest.duration
