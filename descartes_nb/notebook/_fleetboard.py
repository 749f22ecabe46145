"""FleetDashboard: every workflow of a store, followed live; events sent through the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, Protocol

import ipywidgets

from ..core._definition import WorkflowDefinition
from ..core._events import WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ..core._serialization import SerializedWorkflow
from ..errors import SerializationError, StoreError
from ..store._changes import ChangeFeed, CommittedChange
from ..store._fleet import SentEvent
from ._panelview import table, with_static_view
from ._tasks import show_message, spawn
from ._timefmt import plural

_WAIT: Final = 30.0  # seconds a sent event's outcome is awaited before saying so
_HEADER: Final = ("workflow", "definition", "state", "version", "last event")


class _Row(NamedTuple):
    workflow: str
    definition: str
    state: str
    version: int
    event: str


def _row(found: SerializedWorkflow) -> _Row:
    last = found.history[-1].event if found.history else ""
    return _Row(found.workflow_id, found.definition, found.state, found.version, last)


class _Followed(Protocol):
    """A store a fleet dashboard follows (``SqliteWorkflowStore``, ``PostgresWorkflowStore``)."""

    def changes(self, *, poll_interval: float = ...) -> ChangeFeed: ...
    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow: ...
    async def load_all_workflows(
        self,
    ) -> list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]: ...
    async def send_event(
        self, workflow_id: str, event: WorkflowEvent | str, data: JSONValue = None
    ) -> SentEvent: ...


class FleetDashboard(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Every workflow in a store, as workers in any process move them; send them events.

    ``FleetDashboard(store)`` reads the stored workflows, then follows ``store.changes()``:
    a row changes as soon as a change is committed, whichever process or host made it.
    Its Send button records the chosen event with ``store.send_event``, for a ``Worker``
    to process, and shows the outcome. ``close()`` stops following.

    Example:
        >>> # board = dnb.FleetDashboard(store, definitions)   # a notebook cell shows it

    Args:
        store: an open ``SqliteWorkflowStore`` or ``PostgresWorkflowStore``.
        definitions: the definitions of the stored workflows, to offer their events.
        poll_interval: seconds between looks at a SQLite file (see ``changes``).
    """

    def __init__(
        self,
        store: _Followed,
        definitions: Mapping[str, WorkflowDefinition] | Iterable[WorkflowDefinition] = (),
        *,
        poll_interval: float = 0.2,
    ) -> None:
        if not callable(getattr(store, "changes", None)):
            raise TypeError(
                f"a FleetDashboard follows a SqliteWorkflowStore or PostgresWorkflowStore, "
                f"got {store!r}"
            )
        self.store = store
        found = definitions.values() if isinstance(definitions, Mapping) else definitions
        self._events = {d.name: _event_names(d) for d in found}
        self._feed = store.changes(poll_interval=poll_interval)
        self.rows: dict[str, _Row] = {}
        self.changes_seen = 0
        self.table = ipywidgets.HTML()
        self.selector = ipywidgets.Dropdown(options=[], description="workflow")
        self.event = ipywidgets.Combobox(placeholder="event", description="event")
        self.send_button = ipywidgets.Button(description="Send", button_style="primary")
        self.message = ipywidgets.Output()
        super().__init__(
            [
                self.table,
                ipywidgets.HBox([self.selector, self.event, self.send_button]),
                self.message,
            ]
        )
        self.selector.observe(lambda _: self._offer_events(), names="value")
        self.send_button.on_click(lambda _: self.send())
        self.ready = asyncio.Event()
        self.following = spawn(self._follow(), self.message)
        self._draw()

    async def _follow(self) -> None:
        """Read every workflow, then apply each committed change as it comes."""
        async with self._feed as feed:
            for _wid, found in await self.store.load_all_workflows():
                if isinstance(found, SerializedWorkflow):
                    self.rows[found.workflow_id] = _row(found)
            self._draw()
            self.ready.set()
            async for change in feed:
                if change.workflow_id not in self.rows:  # added since: read it once
                    self.rows[change.workflow_id] = _row(
                        await self.store.load_workflow(change.workflow_id)
                    )
                self.apply(change)

    def apply(self, change: CommittedChange) -> None:
        """Show one committed change (one older than the row shown is ignored)."""
        self.changes_seen += 1
        row = self.rows[change.workflow_id]
        if change.version > row.version:
            self.rows[change.workflow_id] = row._replace(
                state=change.state, version=change.version, event=change.event
            )
        self._draw()

    def _draw(self) -> None:
        rows = [self.rows[wid] for wid in sorted(self.rows)]
        self.table.value = table(_HEADER, rows)
        if list(self.selector.options) != sorted(self.rows):
            self.selector.options = sorted(self.rows)
        self._offer_events()

    def _offer_events(self) -> None:
        row = self.rows.get(self.selector.value or "")
        self.event.options = self._events.get(row.definition, []) if row else []

    def send(self) -> asyncio.Task[Any] | None:
        """Send the chosen event to the chosen workflow through the store."""
        wid, name = self.selector.value, self.event.value.strip()
        if not wid or not name:
            show_message(self.message, "choose a workflow and type an event first", error=True)
            return None
        return spawn(self._send(wid, name), self.message)

    async def _send(self, workflow_id: str, name: str) -> None:
        sent = await self.store.send_event(workflow_id, name)
        show_message(self.message, f"sent {name} to {workflow_id}: waiting for a worker")
        try:
            async with asyncio.timeout(_WAIT):
                entry = await sent.result()
        except TimeoutError:
            show_message(
                self.message,
                f"sent {name} to {workflow_id}: no worker processed it within {_WAIT:g} s "
                "(it stays sent)",
                error=True,
            )
            return
        show_message(self.message, _outcome(workflow_id, name, entry))

    def static_text(self) -> str:
        """The dashboard as plain text: one line per workflow, in id order."""
        rows = [self.rows[wid] for wid in sorted(self.rows)]
        width = max((len(r.workflow) for r in rows), default=0)
        lines = [f"FleetDashboard: {plural(len(rows), 'workflow', 'workflows')}"]
        lines += [
            f"  {r.workflow:{width}}  {r.definition}: {r.state} (version {r.version}"
            + (f", last event {r.event})" if r.event else ")")
            for r in rows
        ]
        return "\n".join(lines)

    def static_html(self) -> str:
        """The dashboard's table as static HTML (what a saved notebook shows)."""
        return str(self.table.value)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return with_static_view(super()._repr_mimebundle_(**kwargs), self)

    def close(self) -> None:
        """Stop following the store and close the widgets."""
        following = getattr(self, "following", None)  # None: __init__ refused its store
        if following is not None:
            following.cancel()
        super().close()


def _outcome(workflow_id: str, name: str, entry: StateHistoryEntry | None) -> str:
    if entry is None:
        return f"{name} processed by {workflow_id} (its entry is no longer kept)"
    return f"{name} processed by {workflow_id}: #{entry.seq} {entry.from_state} → {entry.to_state}"


def _event_names(definition: WorkflowDefinition) -> list[str]:
    return sorted({t.event for t in definition.transitions if t.event})
