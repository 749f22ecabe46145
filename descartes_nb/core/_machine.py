"""WorkflowStateMachine: one workflow's state, context and history; async process_event()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Self

from ..errors import (
    ConcurrentModificationError,
    SerializationError,
    WorkflowError,
    WorkflowNotFoundError,
)
from . import _display as display
from . import _engine as engine
from ._changes import MachineChanges
from ._clock import Clock, SystemClock
from ._definition import WorkflowDefinition
from ._events import ROLLBACK, WorkflowEvent
from ._handlers import NO_HOOKS, hooks_of, run_hooks
from ._history import History, StateHistoryEntry
from ._interpreter import interpreter_of
from ._jsonvalue import EMPTY_CONTEXT, JSONValue, to_context, to_json_value, with_item
from ._lifecycle import LIFECYCLE
from ._ports import DurableTimer
from ._serialization import SerializedWorkflow
from ._snapshot import canonical_history, check_snapshot, check_values, resolve_definition
from ._step import Step, Unsettled
from ._timers import WorkflowTimers, entry_times

if TYPE_CHECKING:
    from ._ports import WorkflowStore


DEFAULT_MAX_HISTORY: Final = 1000
Listener = Callable[["WorkflowStateMachine", StateHistoryEntry | None], object]
_SYSTEM_CLOCK: Final = SystemClock()


@dataclass(frozen=True, slots=True)
class WorkflowMetadata:
    """A summary of one workflow, as of when it was read."""

    workflow_id: str
    definition: str
    state: str
    created_at: datetime
    updated_at: datetime
    transition_count: int
    time_in_state: timedelta
    retry_attempts: int
    timeout_at: datetime | None = None  # when Timeout is processed, unless the state is left
    next_retry_at: datetime | None = None  # when Retry is processed automatically


class WorkflowStateMachine(MachineChanges):
    """One run of a workflow definition (the built-in ``LIFECYCLE`` by default).

    Reads (``state``, ``context``, ``history``, ``allowed_events()``) are sync and in memory;
    changes (``process_event``, ``set_context``, ``rollback``) are async, one at a time per
    machine, and all-or-nothing: a refused event, a failing handler, a bad value or a failed
    store write raises and leaves state, context, history and metadata as they were.

    A cancelled change (its task cancelled, or ``asyncio.wait_for`` timing out around it)
    happens in memory and in the store, or in neither. Cancelled while it waits for the
    machine's lock, in a handler, or in the store's queue (group commit), it is withdrawn:
    nothing is stored or applied. Cancelled once the store is writing it, it is finished:
    the machine waits for the write, applies the change if it was committed, and then
    raises the CancelledError. Either way the lock is released only once memory equals
    the store, and the machine goes on working.

    State timeouts and retry policies run on ``clock``: ``Timeout`` and ``Retry`` are
    processed when due (``metadata.timeout_at``, ``metadata.next_retry_at``), and
    ``deserialize`` re-arms them with the time left. With ``SystemClock`` they need a running
    event loop: a machine made where none runs arms them on its first change (see
    ``core/_timers.py``); ``cancel_timers()`` stops them.

    Args:
        workflow_id: a name for this run, unique within an orchestrator or store.
        definition: the definition it runs.
        handler: an object with any of the ``StateHandler`` hooks.
        max_history: how many history entries are kept in memory.
        clock: where time comes from (``SystemClock()`` by default).
        store: a ``WorkflowStore``; each change is committed there before it is applied.
        context: the initial context (JSON values only).

    Example:
        >>> import asyncio
        >>> sm = WorkflowStateMachine("build-42")
        >>> entry = asyncio.run(sm.process_event("Start"))
        >>> entry.seq, entry.event, sm.state
        (1, 'Start', 'Running')
    """

    __slots__ = ()  # the state is declared in MachineChanges

    def __init__(
        self,
        workflow_id: str,
        definition: WorkflowDefinition = LIFECYCLE,
        *,
        handler: object | None = None,
        max_history: int = DEFAULT_MAX_HISTORY,
        clock: Clock | None = None,
        store: WorkflowStore | None = None,
        context: Mapping[str, object] | None = None,
    ) -> None:
        if not isinstance(workflow_id, str) or not workflow_id:
            raise SerializationError(f"workflow_id must be a non-empty str, got {workflow_id!r}")
        if not isinstance(definition, WorkflowDefinition):
            raise TypeError(f"definition must be a WorkflowDefinition, got {definition!r}")
        self.workflow_id = workflow_id
        self._definition = definition
        self._hooks = NO_HOOKS if handler is None else hooks_of(handler)
        self._clock: Clock = clock or _SYSTEM_CLOCK
        self._store = store
        self._lock: asyncio.Lock | None = None  # made on first use: idle machines stay small
        self._listeners: list[Listener] | None = None
        self._interpreter = interpreter = interpreter_of(definition)
        self._context = EMPTY_CONTEXT if context is None else to_context(context)
        initial = interpreter.initial
        self._state = initial.target  # (guards' errors name it)
        if interpreter.chart.eventless:  # its guards may read the initial context
            initial = self._initial_step()
        self._configuration = initial.configuration
        self._memory = initial.memory
        self._state = initial.target
        self._started = self._hooks is NO_HOOKS  # no handler to run on entering
        now = self._clock.now()
        self._created_at = self._updated_at = self._state_entered_at = now
        self._history = History(max_history, now)
        self._retry_attempts = 0
        self._version = 0
        self._timers: WorkflowTimers | None = None
        if interpreter.has_timers:
            self._timers = WorkflowTimers(definition, self._clock, workflow_id, self._on_timer)
            self._timers.enter(self._configuration, now)
        # Without handlers, a store or timers no change awaits or needs more than _apply,
        # so none needs the lock (see process_event).
        self._lock_free = self._hooks is NO_HOOKS and store is None and self._timers is None

    def _initial_step(self) -> Step:
        try:
            return self._interpreter.start(self._interpreter.initial.memory, self._guard_check)
        except Unsettled as exc:
            raise WorkflowError(
                f"workflow {self.workflow_id!r}: entering the initial configuration {exc}",
                workflow_id=self.workflow_id,
                state=self._interpreter.initial.target,
                event="",
            ) from None

    # -- reads ---------------------------------------------------------------------------

    @property
    def definition(self) -> WorkflowDefinition:
        """The definition this workflow runs."""
        return self._definition

    @property
    def state(self) -> str:
        """The innermost active state, a plain ``str``."""
        return self._state

    @property
    def configuration(self) -> frozenset[str]:
        """Every active state, ancestors included."""
        return self._configuration

    @property
    def is_started(self) -> bool:
        """Whether the initial configuration was entered with its handlers (see ``start``)."""
        return self._started

    @property
    def context(self) -> Mapping[str, JSONValue]:
        """The context, read-only all the way down; change it with ``set_context`` or in handlers.

        Its objects and arrays are read-only ``dict`` and ``list`` subclasses (see
        ``core/jsonvalue.py``): handing it out costs nothing, and nothing done with it can
        change the workflow. ``copy.deepcopy`` gives a plain copy to work on.
        """
        return self._context

    @property
    def history(self) -> History:
        """The recorded entries, oldest first, at most ``max_history``."""
        return self._history

    @property
    def store(self) -> WorkflowStore | None:
        """The store each change is committed to, if any."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The clock this machine reads time from."""
        return self._clock

    @property
    def version(self) -> int:
        """How many changes (events and context edits) this workflow has had."""
        return self._version

    @property
    def is_terminal(self) -> bool:
        """Whether the workflow is in a terminal state."""
        return self._definition.is_terminal(self._state)

    def history_tail(self, n: int) -> list[StateHistoryEntry]:
        """The newest ``n`` history entries, oldest first."""
        return self._history.tail(n)

    def allowed_events(self) -> list[str]:
        """The event names that would be accepted now (custom events aside).

        Guards are evaluated against the current context with no event data.
        """
        events = self._interpreter.enabled_events(self._configuration, self._guard_check)
        if self._undo_index() is not None:
            events.append(ROLLBACK)
        return events

    @property
    def metadata(self) -> WorkflowMetadata:
        """A summary of this workflow as of now."""
        return WorkflowMetadata(
            workflow_id=self.workflow_id,
            definition=self._definition.name,
            state=self._state,
            created_at=self._created_at,
            updated_at=self._updated_at,
            transition_count=self._history.last_seq,
            time_in_state=self._clock.now() - self._state_entered_at,
            retry_attempts=self._retry_attempts,
            timeout_at=self._timers.timeout_at if self._timers else None,
            next_retry_at=self._timers.next_retry_at if self._timers else None,
        )

    def __repr__(self) -> str:
        return (
            f"<WorkflowStateMachine {self.workflow_id!r} ({self._definition.name}) "
            f"state={str(self._state)!r} transitions={self._history.last_seq}>"
        )

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        text = f"{self!r}\ncontext: {display.short_repr(dict(self._context))}"
        return display.mimebundle(self, text, include, exclude)

    # -- changes -------------------------------------------------------------------------

    async def process_event(
        self, event: WorkflowEvent | str, data: JSONValue = None
    ) -> StateHistoryEntry:
        """Process one event and return the history entry it produced.

        Args:
            event: a ``WorkflowEvent`` or an event name.
            data: JSON data for an event given by name.

        Raises:
            UnknownEventError: the definition does not declare the event.
            InvalidTransitionError: the event is not allowed now.
            HandlerError: a handler or guard raised.
            SerializationError: the event data, or a context a handler made, is not JSON.
            StoreError: the store could not commit the change.
        """
        if type(event) is str:
            name, is_custom = event, False
        else:
            name, data, is_custom = _unpack_event(event, data)
        lock = self._lock
        if self._lock_free and data is None and (lock is None or not lock.locked()):
            direct = self._interpreter.direct
            if direct is not None:
                step = direct.get((self._state, name))
            else:
                step = self._interpreter.remembered.get((self._configuration, self._memory, name))
            if step is not None:
                # The fast path: an unguarded transition with nothing that awaits. No other
                # task can run before it returns, so it is atomic without taking the lock.
                return self._apply(step, name, None, self._context, self._clock.now())
        if self._timers is not None and self._timers.is_deferred:
            self._timers.arm_deferred()
        async with lock or self._make_lock():
            return await self._process_locked(name, data, is_custom)

    async def start(self) -> None:
        """Enter the initial configuration: run ``on_enter`` of the initial states.

        Entering is a macrostep (eventless transitions and raised events included), done
        when the machine is made; ``start`` runs its handlers, once. A machine not started
        runs it before its first event; one without handlers, or rebuilt by
        ``deserialize`` or recovery, is started already. A context the handlers change is
        committed like ``set_context``. All or nothing: a handler that raises leaves the
        machine not started, and nothing changed.

        Raises:
            HandlerError: a handler raised.
            StoreError: the store could not commit the context the handlers made.
        """
        if self._started:
            return
        async with self._lock or self._make_lock():
            if not self._started:
                await self._start_locked()

    async def _start_locked(self) -> None:
        step = self._initial_step()
        context = await run_hooks(self._hooks, step, None, self._context, self.workflow_id)
        if context is not self._context:
            await self._commit_context(context)
        self._started = True

    def pending_timers(self) -> tuple[DurableTimer, ...] | None:
        """The timeouts and retry armed now, earliest first (None: the definition has none).

        A store writes them with each change (``WorkflowChange.timers``), so that a worker
        in another process fires them if this one does not (see ``Worker``).
        """
        return None if self._timers is None else self._timers.pending()

    def cancel_timers(self) -> None:
        """Cancel this workflow's pending timeout and retry (say, before dropping it).

        They stay cancelled until the workflow next changes state.
        """
        if self._timers is not None:
            self._timers.cancel_all()

    async def rollback(self) -> StateHistoryEntry:
        """Undo the last transition not already undone; the rollback is itself recorded.

        State and context return to what they were just before that transition.

        Raises:
            InvalidTransitionError: nothing to undo, or the workflow is in a terminal state.
        """
        return await self.process_event(WorkflowEvent.ROLLBACK)

    async def set_context(self, key: str, value: object) -> None:
        """Set one context key to a JSON value (kept as a read-only copy), durably with a store.

        Raises:
            SerializationError: ``key`` is not a str, or ``value`` is not JSON or is beyond
                what JSON reads back as written (nested deeper than ``MAX_NESTING``, holding
                itself, an int of more than ``MAX_INT_DIGITS`` digits); nothing changes.
        """
        if not isinstance(key, str):
            raise SerializationError(f"context keys must be str, got {key!r}")
        checked = to_json_value(value, f"context[{key!r}]", depth=1)
        if self._timers is not None and self._timers.is_deferred:
            self._timers.arm_deferred()
        lock = self._lock or self._make_lock()
        async with lock:
            await self._commit_context(with_item(self._context, str.__str__(key), checked))

    async def _commit_context(self, context: Mapping[str, JSONValue]) -> None:
        """Commit a new context alone (no history entry); the caller holds the lock."""
        now = self._clock.now()
        cancelled = self._store is not None and await self._save(
            self._change(
                self._state,
                context,
                now,
                self._state_entered_at,
                self._retry_attempts,
                timers=self.pending_timers(),
            )
        )
        self._context = context
        self._updated_at = now
        self._version += 1
        if self._listeners:
            self._notify(None)
        if cancelled:
            raise asyncio.CancelledError

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(sm, entry)`` after every change; return a function that unsubscribes.

        ``entry`` is the new history entry, or None when only the context changed. Listeners
        run on the event loop just after the change (``loop.call_soon``), never inside it: one
        that raises cannot break or undo a change, and the loop reports its error.
        """
        listeners = self._listeners = self._listeners or []
        listeners.append(listener)

        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    def _notify(self, entry: StateHistoryEntry | None) -> None:
        loop = asyncio.get_running_loop()
        for listener in list(self._listeners or ()):
            loop.call_soon(listener, self, entry)

    async def attach_store(self, store: WorkflowStore, *, overwrite: bool = False) -> None:
        """Write the whole workflow to ``store``; from then on each change is committed there.

        A workflow stored under the same id is never replaced silently: unless this machine
        continues it (see ``SqliteWorkflowStore.save_workflow``), the store refuses. To go
        on with a stored workflow, use ``get_or_create`` or ``WorkflowRecovery`` instead.

        Args:
            store: the store to write to.
            overwrite: replace a workflow stored under this id, and its history.

        Raises:
            SerializationError: a value cannot be stored (a time or count out of range).
            ConcurrentModificationError: a workflow with this id is stored and this machine
                does not continue it; nothing was written (the machine stays unattached).
            StoreError: the store could not write it (the machine stays unattached).
        """
        lock = self._lock or self._make_lock()
        async with lock:
            check_values(self.serialize())
            await store.save_workflow(self, overwrite=overwrite)
            self._store = store
            self._lock_free = False

    # -- serialization -------------------------------------------------------------------

    def serialize(self) -> SerializedWorkflow:
        """Return everything about this workflow as a ``SerializedWorkflow``.

        A flat definition's workflow leaves out the configuration: its state says it.
        """
        chart = self._interpreter.chart.has_chart_features
        return SerializedWorkflow(
            workflow_id=self.workflow_id,
            definition=self._definition.name,
            state=self._state,
            context=self._context,
            created_at=self._created_at,
            updated_at=self._updated_at,
            state_entered_at=self._state_entered_at,
            retry_attempts=self._retry_attempts,
            version=self._version,
            max_history=self._history.max_history,
            transition_count=self._history.last_seq,
            history=tuple(self._history),
            configuration=self._configuration if chart else frozenset(),
            memory=self._memory,
        )

    @classmethod
    async def get_or_create(
        cls,
        workflow_id: str,
        definition: WorkflowDefinition = LIFECYCLE,
        *,
        store: WorkflowStore,
        handler: object | None = None,
        clock: Clock | None = None,
        max_history: int | None = None,
        context: Mapping[str, object] | None = None,
    ) -> Self:
        """The workflow stored as ``workflow_id``, rebuilt; or a new one, stored at once.

        A stored workflow is rebuilt as ``deserialize`` does (no handler runs, timers are
        re-armed with the time left; ``context`` is not used) and attached to ``store``.
        Otherwise a new machine is made with ``context`` and written to ``store``; when
        another process stores the same id first, its workflow is loaded instead. So a
        script or notebook that starts with it can run again and go on where it stopped.

        Args:
            workflow_id: the workflow's id.
            definition: the definition it runs (checked against a stored workflow's).
            store: where it is stored.
            handler: the handler of the machine.
            clock: its clock.
            max_history: how many history entries it keeps in memory (a stored workflow:
                as stored, unless given).
            context: the initial context of a new workflow.

        Raises:
            SerializationError: the stored workflow runs another definition, or does not fit
                ``definition``.
            ConcurrentModificationError: another process stored the workflow and deleted it
                again while this one was being made.
            StoreError: the store could not read or write it.

        Example:
            >>> import asyncio, tempfile, os
            >>> from descartes_nb import SqliteWorkflowStore
            >>> async def main(path):
            ...     async with SqliteWorkflowStore(path) as store:
            ...         sm = await WorkflowStateMachine.get_or_create("build-42", store=store)
            ...         if "Start" in sm.allowed_events():
            ...             await sm.process_event("Start")
            ...         await sm.set_context("runs", sm.context.get("runs", 0) + 1)
            ...         return sm.state, sm.context["runs"]
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     path = os.path.join(tmp, "workflows.db")
            ...     first, second = asyncio.run(main(path)), asyncio.run(main(path))
            >>> first, second
            (('Running', 1), ('Running', 2))
        """
        try:
            stored = await store.load_workflow(workflow_id)
        except WorkflowNotFoundError:
            sm = cls(
                workflow_id,
                definition,
                handler=handler,
                clock=clock,
                max_history=max_history or DEFAULT_MAX_HISTORY,
                context=context,
            )
            try:
                await sm.attach_store(store)  # refused if another process stored it meanwhile
                return sm
            except ConcurrentModificationError as exc:
                try:
                    stored = await store.load_workflow(workflow_id)
                except WorkflowNotFoundError:
                    raise exc from None
        return cls.deserialize(
            stored,
            definition=definition,
            handler=handler,
            clock=clock,
            store=store,
            max_history=max_history,
        )

    @classmethod
    def deserialize(
        cls,
        serialized: SerializedWorkflow,
        *,
        definition: WorkflowDefinition | None = None,
        handler: object | None = None,
        clock: Clock | None = None,
        store: WorkflowStore | None = None,
        max_history: int | None = None,
    ) -> Self:
        """Rebuild a machine from a ``SerializedWorkflow`` without running any handler.

        Args:
            serialized: what ``serialize()`` (or a store) returned.
            definition: the definition it runs; needed unless it is the lifecycle.
            handler: the handler for the rebuilt machine.
            clock: its clock.
            store: its store.
            max_history: overrides the serialized ``max_history``.

        Raises:
            SerializationError: a value of the snapshot is wrong or out of range (see
                ``snapshot.check_values``), the definition is missing or different, or the
                snapshot does not fit it (unknown states, a broken history chain).
        """
        # A checked copy: the machine shares nothing the caller could still change.
        serialized = check_values(serialized)
        definition = resolve_definition(serialized, definition)
        check_snapshot(serialized, definition)
        sm = cls(
            serialized.workflow_id,
            definition,
            handler=handler,
            clock=clock,
            store=store,
            max_history=max_history or serialized.max_history,
        )
        sm._state = definition.state(serialized.state).name
        sm._configuration = serialized.configuration or engine.configuration_of(
            definition, sm._state
        )
        sm._memory = serialized.memory
        sm._started = True
        sm._context = serialized.context
        sm._created_at = serialized.created_at
        sm._updated_at = serialized.updated_at
        sm._state_entered_at = serialized.state_entered_at
        sm._retry_attempts = serialized.retry_attempts
        sm._version = serialized.version
        sm._history = History.restore(
            sm._history.max_history,
            canonical_history(serialized, definition),
            serialized.state_entered_at,
            serialized.transition_count,
        )
        if sm._timers is not None:  # timeouts keep counting from when the states were entered
            entered = entry_times(
                definition,
                sm._history,
                sm._configuration,
                sm._state,
                sm._state_entered_at,
                sm._created_at,
            )
            sm._timers.restore(sm._state, entered, sm._history, sm._retry_attempts)
        return sm


def _unpack_event(event: WorkflowEvent | str, data: JSONValue) -> tuple[str, JSONValue, bool]:
    if isinstance(event, WorkflowEvent):
        if data is not None:
            raise TypeError("give event data either in the WorkflowEvent or as data=, not both")
        return event.name, event.data, event.is_custom
    if isinstance(event, str):
        return str(event), data, False
    raise SerializationError(
        f"an event must be a WorkflowEvent or an event name (str), got {event!r} of type "
        f"{type(event).__name__}"
    )
