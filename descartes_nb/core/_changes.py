"""How a machine changes: decide, run the handlers, commit to the store, apply in memory.

``MachineChanges`` holds the internals of ``WorkflowStateMachine`` (core/_machine.py) that
carry out a change; the machine's own module keeps its public API and its reads. Every change
goes the same way: the interpreter decides a ``Step`` (pure), the handlers run on a draft of
the context, the store commits the change, and ``_apply`` records it in memory (no await, so
atomic on the event loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ..errors import (
    ConcurrentModificationError,
    InvalidTransitionError,
    UnknownEventError,
    WorkflowError,
)
from . import _engine as engine
from ._definition import TransitionDef, WorkflowDefinition
from ._events import FAILURE_EVENTS, RETRY, ROLLBACK, WorkflowEvent
from ._handlers import NO_HOOKS, Hooks, call_guard, run_hooks
from ._history import History, Move, StateHistoryEntry
from ._interpreter import Interpreter
from ._jsonvalue import JSONValue, to_json_value
from ._ports import DurableTimer, WorkflowChange
from ._refusal import refusal
from ._step import Memory, NoPreviousState, Step, Unsettled
from ._timers import WorkflowTimers

if TYPE_CHECKING:
    from ._clock import Clock
    from ._ports import WorkflowStore

_log = logging.getLogger("descartes_nb.core._machine")
_KEEPS_RETRY_COUNT: Final = frozenset({*FAILURE_EVENTS, ROLLBACK})


class MachineChanges:
    """The change machinery of ``WorkflowStateMachine``, and the state it changes."""

    __slots__ = (
        "_clock",
        "_configuration",
        "_context",
        "_created_at",
        "_definition",
        "_history",
        "_hooks",
        "_interpreter",
        "_listeners",
        "_lock",
        "_lock_free",
        "_memory",
        "_retry_attempts",
        "_started",
        "_state",
        "_state_entered_at",
        "_store",
        "_timers",
        "_updated_at",
        "_version",
        "workflow_id",
    )

    workflow_id: str
    _clock: Clock
    _configuration: frozenset[str]
    _context: Mapping[str, JSONValue]
    _created_at: datetime
    _definition: WorkflowDefinition
    _history: History
    _hooks: Hooks
    _interpreter: Interpreter
    _listeners: list[Callable[..., object]] | None
    _lock: asyncio.Lock | None
    _memory: Memory
    _retry_attempts: int
    _started: bool
    _state: str
    _state_entered_at: datetime
    _store: WorkflowStore | None
    _timers: WorkflowTimers | None
    _updated_at: datetime
    _version: int

    if TYPE_CHECKING:

        @property
        def is_terminal(self) -> bool: ...
        def allowed_events(self) -> list[str]: ...
        def _notify(self, entry: StateHistoryEntry | None) -> None: ...
        async def _start_locked(self) -> None: ...

    def _make_lock(self) -> asyncio.Lock:
        self._lock = asyncio.Lock()
        return self._lock

    async def _process_locked(
        self, name: str, data: JSONValue, is_custom: bool
    ) -> StateHistoryEntry:
        """Process one event; the caller holds the lock."""
        if not self._started:
            await self._start_locked()
        if name == ROLLBACK:
            return await self._rollback()
        step, data = self._decide(name, data, is_custom)
        context = self._context
        if self._hooks is not NO_HOOKS:
            event = WorkflowEvent(name, data, is_custom)
            context = await run_hooks(self._hooks, step, event, context, self.workflow_id)
        return await self._commit(step, name, data, context)

    async def _on_timer(self, name: str, data: JSONValue, token: object) -> None:
        """Process a timeout or retry that fell due, unless the workflow moved on meanwhile."""
        async with self._lock or self._make_lock():
            if self._timers is None or not self._timers.is_current(token):
                return
            try:
                await self._process_locked(name, data, False)
            except (InvalidTransitionError, UnknownEventError) as exc:
                _log.warning("workflow %r: scheduled %s refused: %s", self.workflow_id, name, exc)
            except ConcurrentModificationError as exc:  # a worker fired it first: void here
                self._timers.cancel_all()
                _log.info(
                    "workflow %r: scheduled %s not processed: %s", self.workflow_id, name, exc
                )

    def _decide(self, name: str, data: JSONValue, is_custom: bool) -> tuple[Step, JSONValue]:
        """Pick the step ``name`` takes now (checking its data), or raise the refusal."""
        if data is not None:
            data = to_json_value(data, f"data of event {name!r}")
        try:
            step = self._interpreter.macrostep(
                self._configuration,
                self._memory,
                name,
                data,
                self._guard_check,
                self._history.previous_state,
            )
        except NoPreviousState:
            raise InvalidTransitionError(
                f"event {name!r} refused in state {str(self._state)!r} of workflow "
                f"{self.workflow_id!r}: it returns to the previous state, and no state change "
                f"is left in the {len(self._history)} history entries kept",
                workflow_id=self.workflow_id,
                state=self._state,
                event=name,
            ) from None
        except Unsettled as exc:
            raise WorkflowError(
                f"event {name!r} in state {str(self._state)!r} of workflow "
                f"{self.workflow_id!r}: {exc}; nothing was changed",
                workflow_id=self.workflow_id,
                state=self._state,
                event=name,
            ) from None
        if step is None:
            if not is_custom or self.is_terminal:
                raise self._refusal(name)
            step = self._interpreter.stay(self._configuration, self._memory)
        return step, data

    async def _rollback(self) -> StateHistoryEntry:
        index = self._undo_index()
        if index is None:
            raise self._refusal(ROLLBACK)
        undone = self._history[index]
        before = self._move_before(index, undone)
        step = self._interpreter.jump(self._configuration, before.configuration, before.memory)
        evt = WorkflowEvent(ROLLBACK, {"undone_seq": undone.seq})
        context = undone.context_before
        if self._hooks is not NO_HOOKS:
            context = await run_hooks(self._hooks, step, evt, context, self.workflow_id)
        return await self._commit(step, ROLLBACK, evt.data, context, undone_event=undone.event)

    def _move_before(self, index: int, undone: StateHistoryEntry) -> Move:
        """Where the workflow was before the entry ``undone`` at ``index``."""
        if not undone.configuration:  # a flat definition: its from_state says it
            configuration = engine.configuration_of(self._definition, undone.from_state)
            return self._interpreter.stay(configuration, undone.memory)
        found = self._history.move_before(index)
        if found is not None:
            return found
        if undone.seq == 1:
            return self._interpreter.initial
        # An older entry was evicted: undo what ``undone`` exited and entered.
        configuration = (undone.configuration - set(undone.entered)) | set(undone.exited)
        return self._interpreter.stay(configuration, undone.memory)

    def _undo_index(self) -> int | None:
        """Index of the newest entry not yet undone, or None if there is none or we can't."""
        if self.is_terminal:
            return None
        pending_undos = 0
        for i in range(len(self._history) - 1, -1, -1):
            if self._history.event_at(i) == ROLLBACK:
                pending_undos += 1
            elif pending_undos:
                pending_undos -= 1
            else:
                return i
        return None

    async def _commit(
        self,
        step: Step,
        event: str,
        data: JSONValue,
        context: Mapping[str, JSONValue],
        undone_event: str | None = None,
    ) -> StateHistoryEntry:
        """Write the change to the store (if any), then apply it in memory."""
        now = self._clock.now()
        cancelled = False
        if self._store is not None:
            history = self._history
            entry = history.next_entry(
                step.source,
                step.target,
                event,
                data,
                now,
                context,
                self._context,
                step.record,
            )
            previous = history.last_context
            attempts = self._next_retry_attempts(event, step, undone_event)
            timers = self._timers
            cancelled = await self._save(
                self._change(
                    step.target,
                    context,
                    now,
                    now if step.moves else self._state_entered_at,
                    attempts,
                    entry,
                    previous,
                    None if timers is None else timers.planned(step, now, attempts),
                )
            )
        entry = self._apply(step, event, data, context, now, undone_event)
        if self._timers is not None:
            self._timers.after_step(step, now, self._retry_attempts)
        if cancelled:
            raise asyncio.CancelledError
        return entry

    async def _save(self, change: WorkflowChange) -> bool:
        """Commit ``change`` to the store; True if the caller was cancelled meanwhile.

        A store withdraws a change it has not started writing when the caller is cancelled
        (it raises CancelledError: nothing is written, nothing is applied), and finishes one
        it has: then it returns, and the change is committed, so the caller applies it in
        memory before raising the CancelledError itself. ``Task.cancelling()`` counts the
        cancellations requested, including those the store held back.
        """
        assert self._store is not None
        task = asyncio.current_task()
        requested = 0 if task is None else task.cancelling()
        await self._store.save_change(change)
        return task is not None and task.cancelling() > requested

    def _apply(
        self,
        step: Step,
        event: str,
        data: JSONValue,
        context: Mapping[str, JSONValue],
        now: datetime,
        undone_event: str | None = None,
    ) -> StateHistoryEntry:
        """Apply a decided step in memory (no await: atomic on the event loop)."""
        entry = self._history.append(
            step.source, step.target, event, data, now, context, self._context, step.record
        )
        if self._retry_attempts or event == RETRY:
            self._retry_attempts = self._next_retry_attempts(event, step, undone_event)
        if step.moves:
            self._state_entered_at = now
        self._state = step.target
        self._configuration = step.configuration
        self._memory = step.memory
        self._context = context
        self._updated_at = now
        self._version += 1
        if self._listeners:
            self._notify(entry)
        return entry

    def _next_retry_attempts(self, event: str, step: Step, undone_event: str | None) -> int:
        """Count consecutive retries: Retry adds one, leaving the failure behind resets."""
        if event == RETRY:
            return self._retry_attempts + 1
        if undone_event == RETRY:
            return max(0, self._retry_attempts - 1)
        if event in _KEEPS_RETRY_COUNT or step.transition is None:
            return self._retry_attempts
        return 0

    def _change(
        self,
        state: str,
        context: Mapping[str, JSONValue],
        now: datetime,
        state_entered_at: datetime,
        retry_attempts: int,
        entry: StateHistoryEntry | None = None,
        previous_context: Mapping[str, JSONValue] | None = None,
        timers: tuple[DurableTimer, ...] | None = None,
    ) -> WorkflowChange:
        if entry is not None:
            configuration, memory = entry.configuration, entry.memory
        elif self._interpreter.chart.has_chart_features:
            configuration, memory = self._configuration, self._memory
        else:
            configuration, memory = frozenset(), ()
        # Positional, in field order: cheaper than keywords, once per durable change.
        return WorkflowChange(
            self.workflow_id,
            self._definition.name,
            state,
            context,
            self._version + 1,
            self._created_at,
            now,
            state_entered_at,
            retry_attempts,
            self._history.last_seq + (entry is not None),
            self._history.max_history,
            entry,
            previous_context,
            timers,
            configuration,
            memory,
        )

    def _guard_check(self, t: TransitionDef, data: object) -> bool:
        return self._check_guard(t, self._context, data)  # type: ignore[arg-type]

    def _check_guard(
        self, t: TransitionDef, context: Mapping[str, JSONValue], data: JSONValue
    ) -> bool:
        assert t.guard is not None
        return call_guard(
            t.guard,
            context,
            data,
            label=t.guard_text or "",
            workflow_id=self.workflow_id,
            state=self._state,
            event=t.event,
        )

    def _refusal(self, event: str) -> WorkflowError:
        """Explain why ``event`` cannot be processed now."""
        return refusal(
            self._definition,
            self._state,
            event,
            workflow_id=self.workflow_id,
            enabled=self.allowed_events(),
            kept=len(self._history),
        )
