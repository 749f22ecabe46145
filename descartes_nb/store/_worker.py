"""Worker: fires the durable timers and processes the sent events of the workflows in a store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from ..core._clock import Callback, TimerHandle
from ..core._definition import WorkflowDefinition
from ..core._machine import WorkflowStateMachine
from ..core._ports import Serializable, WorkflowChange
from ..core._serialization import SerializedWorkflow
from ..errors import SerializationError, StoreError, WorkflowError, WorkflowNotFoundError
from ._fleet import Claimed, Outcome, poll_seconds, refusal_outcome

_log = logging.getLogger(__name__)
# Seconds an idle worker waits at least: a due timer another worker holds is not a reason
# to look again at once.
_MIN_IDLE: Final = 0.01


class Claims(Protocol):
    """A store's side of a worker: claim one item, finish or release it (one at a time)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def claim(self, now: datetime) -> Claimed | None: ...
    async def finish(
        self, claimed: Claimed, change: WorkflowChange | None, outcome: Outcome, now: datetime
    ) -> None: ...
    async def release(self) -> None: ...
    async def idle(self, seconds: float, stop: asyncio.Event) -> None: ...
    async def next_due(self) -> datetime | None: ...


class FleetStore(Protocol):
    """A store a worker can serve (``SqliteWorkflowStore``, ``PostgresWorkflowStore``)."""

    def worker_claims(self) -> Claims: ...


class _Unscheduled:
    """A clock that tells the time but runs nothing: the durable timers are the worker's."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callback) -> TimerHandle:
        return TimerHandle(when)


_CLOCK = _Unscheduled()


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """What a worker did since it started.

    Attributes:
        events: sent events processed (each moved its workflow, or was refused).
        timers: due timers fired.
        refused: of those, how many the workflow refused.
        failures: items given back after a store error (processed later, by any worker).
    """

    events: int = 0
    timers: int = 0
    refused: int = 0
    failures: int = 0


class _ClaimedStore:
    """The store a machine rebuilt for one claimed item commits through (the claim's)."""

    __slots__ = ("_claimed", "_claims")

    def __init__(self, claims: Claims, claimed: Claimed) -> None:
        self._claims = claims
        self._claimed = claimed

    async def save_change(self, change: WorkflowChange) -> None:
        seq = None if change.entry is None else change.entry.seq
        outcome = Outcome(seq, None, None)
        await self._claims.finish(self._claimed, change, outcome, change.updated_at)

    async def save_workflow(self, sm: Serializable, *, overwrite: bool = False) -> None:
        raise StoreError("a worker's machine writes only the change its item causes")

    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow:
        raise StoreError("a worker's machine reads nothing more")

    async def delete_workflow(self, workflow_id: str) -> None:
        raise StoreError("a worker's machine deletes nothing")


class Worker:
    """Fire the due timers and process the sent events of the workflows in ``store``.

    Several workers (processes, hosts) may serve one store: each item is claimed by one
    of them, processed with the workflow's handler, and committed with the change it
    caused in one transaction; a worker killed halfway leaves the item to the others.

    Args:
        store: an open ``SqliteWorkflowStore`` or ``PostgresWorkflowStore``.
        definitions: the definitions of the stored workflows, by name (as
            ``load_definitions`` returns them) or as an iterable.
        handlers: the handler for each definition name.
        poll_interval: how long to wait between looks at an idle store.

    Example:
        >>> # async with dn.open_store(url) as store:
        >>> #     await dn.Worker(store, dn.load_definitions("swarm.toml")).run()
    """

    def __init__(
        self,
        store: FleetStore,
        definitions: Mapping[str, WorkflowDefinition] | Iterable[WorkflowDefinition],
        *,
        handlers: Mapping[str, object] | None = None,
        poll_interval: timedelta | float = timedelta(milliseconds=200),
    ) -> None:
        if not callable(getattr(store, "worker_claims", None)):
            raise TypeError(
                f"a Worker needs a SqliteWorkflowStore or PostgresWorkflowStore, got {store!r}"
            )
        self._store = store
        found = definitions.values() if isinstance(definitions, Mapping) else definitions
        self._definitions = {d.name: d for d in found}
        for d in self._definitions.values():
            if not isinstance(d, WorkflowDefinition):
                raise TypeError(f"definitions must be WorkflowDefinitions, got {d!r}")
        self._handlers = dict(handlers or {})
        unknown = sorted(set(self._handlers) - set(self._definitions))
        if unknown:
            raise ValueError(
                f"handlers for unknown definitions {unknown} "
                f"(definitions: {sorted(self._definitions)})"
            )
        self._poll = poll_seconds(poll_interval)
        self._stop = asyncio.Event()
        self._counts = [0, 0, 0, 0]

    @property
    def stats(self) -> WorkerStats:
        """Counts of what this worker did."""
        return WorkerStats(*self._counts)

    def stop(self) -> None:
        """Stop ``run`` once the item in hand is finished (safe from a signal handler)."""
        self._stop.set()

    async def run(self) -> None:
        """Serve the store until ``stop()``; an item in hand is finished first."""
        claims = self._store.worker_claims()
        await claims.open()
        try:
            while not self._stop.is_set():
                if await self._serve(claims) == 0:
                    await claims.idle(await self._idle_seconds(claims), self._stop)
        finally:
            await claims.close()

    async def _idle_seconds(self, claims: Claims) -> float:
        """Until the next timer is due, within the poll interval (and at least 10 ms)."""
        try:
            due = await claims.next_due()
        except StoreError:
            return self._poll
        if due is None:
            return self._poll
        return min(self._poll, max((due - _CLOCK.now()).total_seconds(), _MIN_IDLE))

    async def run_once(self) -> int:
        """Process everything due now, then return how many items were processed."""
        claims = self._store.worker_claims()
        await claims.open()
        try:
            return await self._serve(claims)
        finally:
            await claims.close()

    async def _serve(self, claims: Claims) -> int:
        """Process the items due when called until none is left (or ``stop()``); say how many.

        An item that falls due meanwhile (a Retry armed by a Timeout just fired) waits for the
        next call: what one call does does not depend on how fast it ran.
        """
        done = 0
        now = _CLOCK.now()
        while not self._stop.is_set():
            try:
                claimed = await claims.claim(now)
            except StoreError as exc:
                _log.warning("worker: could not claim work: %s", exc)
                return done
            if claimed is None:
                return done
            await self._process(claims, claimed)
            done += 1
        return done

    async def _process(self, claims: Claims, claimed: Claimed) -> None:
        """Process one claimed item; a store failure gives it back (still pending)."""
        try:
            refused = await self._run_item(claims, claimed)
        except StoreError as exc:
            self._counts[3] += 1
            wid = claimed.workflow_id
            _log.warning("worker: %s of %r given back: %s", claimed.event, wid, exc)
            await claims.release()
            return
        except BaseException:
            await claims.release()
            raise
        self._counts[0 if claimed.kind == "event" else 1] += 1
        self._counts[2] += refused

    async def _run_item(self, claims: Claims, claimed: Claimed) -> bool:
        """Process the item; True if it was refused (the refusal is recorded)."""
        try:
            sm = self._machine(claims, claimed)
            await sm.process_event(claimed.event, claimed.data)
        except (WorkflowError, SerializationError, WorkflowNotFoundError) as exc:
            if claimed.kind == "timer":
                wid = claimed.workflow_id
                _log.warning("workflow %r: %s refused: %s", wid, claimed.event, exc)
            await claims.finish(claimed, None, refusal_outcome(exc), _CLOCK.now())
            return True
        return False

    def _machine(self, claims: Claims, claimed: Claimed) -> WorkflowStateMachine:
        stored = claimed.workflow
        if not isinstance(stored, SerializedWorkflow):
            raise stored
        definition = self._definitions.get(stored.definition)
        if definition is None:
            raise WorkflowError(
                f"workflow {claimed.workflow_id!r} runs definition {stored.definition!r}, which "
                f"this worker does not have (it has: {sorted(self._definitions)})",
                workflow_id=claimed.workflow_id,
                event=claimed.event,
            )
        return WorkflowStateMachine.deserialize(
            stored,
            definition=definition,
            handler=self._handlers.get(stored.definition),
            clock=_CLOCK,
            store=_ClaimedStore(claims, claimed),
        )
