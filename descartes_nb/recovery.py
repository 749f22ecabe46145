"""WorkflowRecovery: rebuild stored workflows without running handlers; report what failed."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from .core._clock import Clock
from .core._definition import WorkflowDefinition
from .core._lifecycle import LIFECYCLE
from .core._machine import WorkflowStateMachine
from .core._ports import WorkflowStore
from .core._serialization import SerializedWorkflow
from .errors import RecoveryError, SerializationError, StoreError

_YIELD_EVERY: Final = 256  # workflows rebuilt between chances for other tasks to run


class RecoverableStore(WorkflowStore, Protocol):
    """A store that can also read all its workflows at once."""

    async def load_all_workflows(
        self,
    ) -> list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]:
        """Every stored workflow by id; for an unreadable one, the reason instead."""
        ...


@dataclass(frozen=True, slots=True)
class RecoveryFailure:
    """A stored workflow that could not be rebuilt, and why.

    Attributes:
        workflow_id: the workflow.
        reason: what is wrong, in words (broken chain, unreadable JSON, unknown state...).
        error: the ``RecoveryError`` raised for it (the cause is chained).
    """

    workflow_id: str
    reason: str
    error: RecoveryError


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``recover_all_workflows`` rebuilt, and what it could not.

    Attributes:
        workflows: the rebuilt machines by workflow id, in id order.
        failures: the workflows that could not be rebuilt, in id order.
    """

    workflows: Mapping[str, WorkflowStateMachine] = field(
        default_factory=lambda: MappingProxyType({})
    )
    failures: tuple[RecoveryFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every stored workflow was rebuilt."""
        return not self.failures

    def __repr__(self) -> str:
        failed = f" ({', '.join(repr(f.workflow_id) for f in self.failures)})" * bool(
            self.failures
        )
        return f"<RecoveryReport: {self._counts()}{failed}>"

    def _counts(self) -> str:
        count = len(self.workflows)
        return f"recovered {count} workflow{'s' * (count != 1)}, {len(self.failures)} failed"

    def __str__(self) -> str:
        lines = [self._counts()]
        lines += [f"  {f.workflow_id!r}: {f.reason}" for f in self.failures]
        return "\n".join(lines)


class WorkflowRecovery:
    """Rebuild stored workflows as machines (state, context, history, metadata).

    No handler runs while rebuilding. Each rebuilt machine is attached to the store, so
    its next changes are durable, and gets the handler registered for its definition.

    Args:
        store: where the workflows are stored.
        definitions: the definitions workflows may run, as a mapping by name or an
            iterable; the built-in lifecycle is always known.
        handlers: a handler per definition name, for the rebuilt machines.
        clock: the clock of the rebuilt machines.

    Example:
        >>> import asyncio, tempfile, os
        >>> from descartes_nb import SqliteWorkflowStore, WorkflowStateMachine
        >>> async def main(path):
        ...     async with SqliteWorkflowStore(path) as store:
        ...         await WorkflowStateMachine("job-1", store=store).process_event("Start")
        ...     async with SqliteWorkflowStore(path) as store:   # later, or after a crash
        ...         report = await WorkflowRecovery(store).recover_all_workflows()
        ...         return report.ok, report.workflows["job-1"].state
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     asyncio.run(main(os.path.join(tmp, "workflows.db")))
        (True, 'Running')
    """

    def __init__(
        self,
        store: RecoverableStore,
        definitions: Mapping[str, WorkflowDefinition] | Iterable[WorkflowDefinition] = (),
        *,
        handlers: Mapping[str, object] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        if isinstance(definitions, Mapping):
            known = dict(definitions)
        else:
            known = {d.name: d for d in definitions}
        for name, definition in known.items():
            if not isinstance(definition, WorkflowDefinition):
                raise TypeError(
                    f"definition {name!r} must be a WorkflowDefinition, got {definition!r}"
                )
        self._definitions = {LIFECYCLE.name: LIFECYCLE, **known}
        self._handlers = dict(handlers or {})
        self._clock = clock

    async def recover_workflow(self, workflow_id: str) -> WorkflowStateMachine:
        """Rebuild one stored workflow.

        Raises:
            WorkflowNotFoundError: it is not stored.
            RecoveryError: it is damaged or its definition is unknown (the cause is chained).
        """
        try:
            serialized = await self._store.load_workflow(workflow_id)
        except SerializationError as exc:
            raise RecoveryError(f"workflow {workflow_id!r} cannot be recovered: {exc}") from exc
        return self._rebuild(serialized)

    async def recover_all_workflows(self) -> RecoveryReport:
        """Rebuild every stored workflow; report those that cannot be, without stopping.

        On a damaged database, the workflows that can still be read are rebuilt and the
        others reported (``SqliteWorkflowStore.load_all_workflows``).

        Raises:
            StoreError: the database itself cannot be read.
        """
        workflows: dict[str, WorkflowStateMachine] = {}
        failures: list[RecoveryFailure] = []
        with cyclic_gc_paused():
            loaded = await self._store.load_all_workflows()
            for i, (workflow_id, item) in enumerate(loaded, 1):
                try:
                    if isinstance(item, SerializationError | StoreError):
                        raise RecoveryError(
                            f"workflow {workflow_id!r} cannot be recovered: {item}"
                        ) from item
                    workflows[workflow_id] = self._rebuild(item)
                except RecoveryError as exc:
                    failures.append(RecoveryFailure(workflow_id, _reason(exc), exc))
                if i % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # rebuilding thousands takes a while: let others run
            # What was read is garbage before the collector runs again, so its first pass
            # does not scan it (bench/README.md, recovery).
            loaded.clear()
        return RecoveryReport(MappingProxyType(workflows), tuple(failures))

    def _rebuild(self, serialized: SerializedWorkflow) -> WorkflowStateMachine:
        """A machine from a snapshot, checked against its definition (no handler runs)."""
        wid, name = serialized.workflow_id, serialized.definition
        definition = self._definitions.get(name)
        if definition is None:
            raise RecoveryError(
                f"workflow {wid!r} cannot be recovered: it runs definition {name!r}, which "
                f"is not registered (known: {sorted(self._definitions)})"
            )
        if serialized.transition_count and not serialized.history:
            raise RecoveryError(
                f"workflow {wid!r} cannot be recovered: its transition_count is "
                f"{serialized.transition_count} but none of its transitions is stored"
            )
        try:
            return WorkflowStateMachine.deserialize(
                serialized,
                definition=definition,
                handler=self._handlers.get(name),
                clock=self._clock,
                store=self._store,
            )
        except SerializationError as exc:
            raise RecoveryError(f"workflow {wid!r} cannot be recovered: {exc}") from exc


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk read or rebuild, then restore it.

    Rebuilding allocates millions of small acyclic objects (entries, times, tuples), and the
    collector rescans the growing set of live ones again and again, so the time grew faster
    than the number of workflows (bench/README.md); ``notebook.load_history_frame`` reading
    rows is the same. None of them is cyclic garbage, so nothing is lost by collecting once
    afterwards instead.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reason(exc: RecoveryError) -> str:
    """The part of the message after the workflow is named."""
    return str(exc).partition("cannot be recovered: ")[2] or str(exc)
