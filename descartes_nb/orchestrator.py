"""WorkflowOrchestrator: many workflows side by side, routing and fan-out."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Final

from .core import _display as display
from .core._clock import Clock
from .core._definition import WorkflowDefinition
from .core._events import WorkflowEvent
from .core._history import StateHistoryEntry
from .core._jsonvalue import JSONValue
from .core._lifecycle import LIFECYCLE
from .core._machine import DEFAULT_MAX_HISTORY, WorkflowMetadata, WorkflowStateMachine
from .core._ports import EventInbox, WorkflowStore
from .errors import (
    DuplicateWorkflowError,
    StateMachineError,
    StoreError,
    WorkflowNotFoundError,
)

_SHOWN_WORKFLOWS: Final = 20
_DIGITS: Final = re.compile(r"(\d+)")


def _id_key(workflow_id: str) -> tuple[tuple[int, int | str], ...]:
    """Order ids as people do: ``job-2`` before ``job-10``."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in _DIGITS.split(workflow_id))


def first_by_id(
    machines: Iterable[WorkflowStateMachine], count: int
) -> list[WorkflowStateMachine]:
    """The first ``count`` machines in id order (numbers in ids compared as numbers)."""
    return sorted(machines, key=lambda sm: _id_key(sm.workflow_id))[:count]


def count_by_state(machines: Iterable[WorkflowStateMachine]) -> str:
    """``Completed 276, Failed 24``: how many machines are in each state, most first."""
    counts = Counter(str(sm.state) for sm in machines)
    return ", ".join(f"{state} {n:,}" for state, n in counts.most_common())


BroadcastResult = dict[str, StateHistoryEntry | StateMachineError]
"""Per workflow id: the entry the event produced, or the error it raised."""


class WorkflowOrchestrator:
    """Many workflows by id: register them, route events to them, fan events out.

    With a ``store``, every registered machine without a store of its own is attached to it
    (and written there), so that each of its changes is durable.

    Example:
        >>> import asyncio
        >>> async def main():
        ...     orch = WorkflowOrchestrator()
        ...     for i in range(3):
        ...         await orch.register_workflow(WorkflowStateMachine(f"job-{i}"))
        ...     results = await orch.broadcast("Start")
        ...     return sorted(str(e.to_state) for e in results.values())
        >>> asyncio.run(main())
        ['Running', 'Running', 'Running']
    """

    def __init__(self, store: WorkflowStore | None = None) -> None:
        self._store = store
        self._workflows: dict[str, WorkflowStateMachine] = {}
        self._listeners: list[Callable[[WorkflowOrchestrator], object]] = []

    def subscribe(self, listener: Callable[[WorkflowOrchestrator], object]) -> Callable[[], None]:
        """Call ``listener(orchestrator)`` after each registration or removal.

        Like machine listeners, it runs on the event loop just after the change. Returns a
        function that unsubscribes. (Subscribe to the machines themselves for their changes.)
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self) -> None:
        loop = asyncio.get_running_loop()
        for listener in list(self._listeners):
            loop.call_soon(listener, self)

    @property
    def store(self) -> WorkflowStore | None:
        """The store registered machines are attached to, if any."""
        return self._store

    def __len__(self) -> int:
        return len(self._workflows)

    def __iter__(self) -> Iterator[WorkflowStateMachine]:
        return iter(list(self._workflows.values()))

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._workflows

    def __repr__(self) -> str:
        count = len(self._workflows)
        return f"<WorkflowOrchestrator {count} workflow{'s' * (count != 1)}>"

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        machines = list(self._workflows.values())
        rows = [("workflow", "definition", "state", "transitions")]
        rows.extend(
            (sm.workflow_id, sm.definition.name, str(sm.state), str(sm.history.last_seq))
            for sm in first_by_id(machines, _SHOWN_WORKFLOWS)
        )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [repr(self)] + [f"  by state: {count_by_state(machines)}"] * bool(machines)
        lines.extend(
            "  " + "  ".join(f"{v:<{w}}" for v, w in zip(row, widths, strict=True))
            for row in rows
            if machines
        )
        if len(machines) > _SHOWN_WORKFLOWS:
            more = len(machines) - _SHOWN_WORKFLOWS
            lines.append(f"  ... and {more} more (the first {_SHOWN_WORKFLOWS} by id are shown)")
        text = "\n".join(line.rstrip() for line in lines)
        return display.mimebundle(self, text, include, exclude)

    async def register_workflow(
        self, sm: WorkflowStateMachine, *, overwrite: bool = False
    ) -> WorkflowStateMachine:
        """Add a machine (attaching and writing it to the store, if there is one).

        A workflow already stored under its id is not replaced (see
        ``WorkflowStateMachine.attach_store``): use ``get_or_create`` to go on with it.

        Args:
            sm: the machine.
            overwrite: replace a workflow stored under its id, and its history.

        Raises:
            DuplicateWorkflowError: a workflow with the same id is registered.
            ConcurrentModificationError: a workflow with its id is stored and ``sm`` does
                not continue it; nothing was written or registered.
            StoreError: the store could not write it.
        """
        if sm.workflow_id in self._workflows:
            raise DuplicateWorkflowError(
                f"workflow {sm.workflow_id!r} is already registered "
                f"({len(self._workflows)} workflows)"
            )
        if self._store is not None and sm.store is None:
            await sm.attach_store(self._store, overwrite=overwrite)
        self._workflows[sm.workflow_id] = sm
        self._notify()
        return sm

    async def get_or_create(
        self,
        workflow_id: str,
        definition: WorkflowDefinition = LIFECYCLE,
        *,
        handler: object | None = None,
        clock: Clock | None = None,
        max_history: int | None = None,
        context: Mapping[str, object] | None = None,
    ) -> WorkflowStateMachine:
        """The workflow registered as ``workflow_id``, else the stored or a new one, registered.

        With a store, see ``WorkflowStateMachine.get_or_create``: a stored workflow is rebuilt
        (no handler runs), a new one is written at once. Without a store, a new machine.

        Raises:
            DuplicateWorkflowError: the workflow registered as ``workflow_id`` runs another
                definition.
            SerializationError: the stored workflow runs another definition.
            StoreError: the store could not read or write it.
        """
        sm = self._workflows.get(workflow_id)
        if sm is None:
            if self._store is not None:
                sm = await WorkflowStateMachine.get_or_create(
                    workflow_id,
                    definition,
                    store=self._store,
                    handler=handler,
                    clock=clock,
                    max_history=max_history,
                    context=context,
                )
            else:
                sm = WorkflowStateMachine(
                    workflow_id,
                    definition,
                    handler=handler,
                    clock=clock,
                    max_history=max_history or DEFAULT_MAX_HISTORY,
                    context=context,
                )
            # Another task may have registered it while this one read the store.
            sm = self._workflows.get(workflow_id) or await self.register_workflow(sm)
        if sm.definition != definition:
            raise DuplicateWorkflowError(
                f"workflow {workflow_id!r} is registered running definition "
                f"{sm.definition.name!r}, not {definition.name!r}"
            )
        return sm

    async def unregister_workflow(self, workflow_id: str) -> WorkflowStateMachine:
        """Remove a workflow from the orchestrator (it stays in the store) and return it.

        Raises:
            WorkflowNotFoundError: no such workflow.
        """
        sm = self.get_workflow(workflow_id)
        del self._workflows[workflow_id]
        self._notify()
        return sm

    def get_workflow(self, workflow_id: str) -> WorkflowStateMachine:
        """Return the machine registered as ``workflow_id``.

        Raises:
            WorkflowNotFoundError: no such workflow.
        """
        try:
            return self._workflows[workflow_id]
        except KeyError:
            known = sorted(self._workflows)
            shown = known[:10] + (["..."] if len(known) > 10 else [])
            raise WorkflowNotFoundError(
                f"no workflow {workflow_id!r} is registered (registered: {shown})"
            ) from None

    def list_workflows(self) -> list[str]:
        """The registered workflow ids, in registration order."""
        return list(self._workflows)

    def get_all_metadata(self) -> list[WorkflowMetadata]:
        """The metadata of every registered workflow, in registration order."""
        return [sm.metadata for sm in self._workflows.values()]

    async def process_event(
        self, workflow_id: str, event: WorkflowEvent | str, data: JSONValue = None
    ) -> StateHistoryEntry:
        """Route an event to one workflow; see ``WorkflowStateMachine.process_event``.

        A workflow this orchestrator does not hold is sent the event through its store
        (``store.send_event``), if the store takes events: a ``Worker`` processes it, and
        this returns its entry or raises its refusal once it has (bound the wait with
        ``asyncio.timeout``; the event stays sent).

        Raises:
            WorkflowNotFoundError: no such workflow (here, or stored when sent).
            StoreError: the entry was processed by a worker but is no longer kept.
        """
        sm = self._workflows.get(workflow_id)
        if sm is not None or not isinstance(self._store, EventInbox):
            return await self.get_workflow(workflow_id).process_event(event, data)
        sent = await self._store.send_event(workflow_id, event, data)
        entry = await sent.result()
        if entry is None:
            raise StoreError(
                f"event {event!r} to workflow {workflow_id!r} was processed by a worker, but "
                "its history entry is no longer kept (StateStoreConfig.history_limit)"
            )
        return entry

    async def broadcast(
        self, event: WorkflowEvent | str, data: JSONValue = None
    ) -> BroadcastResult:
        """Process an event in every workflow concurrently.

        Returns:
            For each workflow id, the entry produced or the error raised (a refusal in one
            workflow does not stop the others).
        """
        machines = list(self._workflows.values())
        results: BroadcastResult = {}

        async def one(sm: WorkflowStateMachine) -> None:
            try:
                results[sm.workflow_id] = await sm.process_event(event, data)
            except StateMachineError as exc:
                results[sm.workflow_id] = exc

        async with asyncio.TaskGroup() as group:
            for sm in machines:
                group.create_task(one(sm))
        return {sm.workflow_id: results[sm.workflow_id] for sm in machines}
