"""ipywidgets panels: EventPanel drives a workflow, HistoryPlayer replays it, Dashboard many."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import ipywidgets

from ..core._definition import DONE_PREFIX, WorkflowDefinition
from ..core._events import FAIL, ROLLBACK, WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ..orchestrator import WorkflowOrchestrator
from ._diagram import diagram
from ._fleetboard import FleetDashboard
from ._panelview import (
    context_html,
    esc,
    history_html,
    history_text,
    processed,
    table,
    to_json,
    with_static_view,
)
from ._tasks import show_message, spawn
from ._timefmt import format_duration, plural

_STATIC_NOTE: Final = "A static view: run the notebook to use the buttons."


def svg_html(obj: WorkflowStateMachine | SerializedWorkflow, sm: WorkflowStateMachine) -> str:
    """The diagram as inline SVG, or the reason it could not be drawn (never raises)."""
    return diagram(obj, definition=sm.definition).display_bundle()["text/html"]


def mark(widget: ipywidgets.DOMWidget, part: str) -> None:
    """Give a widget a stable CSS class (for styling and for browser tests)."""
    widget.add_class(f"descartes-nb-{part}")


class Refresher:
    """Coalesce a burst of change notifications into one redraw on the loop."""

    def __init__(self, redraw: Callable[[], None]) -> None:
        self._redraw = redraw
        self._scheduled = False

    def __call__(self, *_: object) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._run)

    def _run(self) -> None:
        self._scheduled = False
        self._redraw()


class EventPanel(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Drive one workflow: a button per event, the live diagram, history, context, messages.

    ``panel = EventPanel(sm); panel`` shows it. The buttons of the events allowed now are
    highlighted, the others disabled; the panel follows every change, also changes made by
    code outside it. A click processes the event as a task on the kernel's loop; what it did,
    or why it was refused, appears as a sentence under the buttons. Where widgets cannot run
    (a saved notebook on GitHub, or opened without running it) the output shows a static view
    instead: the state, the events allowed and the newest history entries.

    Args:
        sm: the workflow to drive.
        rows: how many recent history entries the table shows.
    """

    def __init__(self, sm: WorkflowStateMachine, *, rows: int = 8) -> None:
        self.sm = sm
        self.rows = rows
        self.title = ipywidgets.HTML()
        self.buttons = {name: self._button(name) for name in _event_names(sm)}
        self.failure_message = ipywidgets.Text(placeholder="failure message (for Fail)")
        self.custom_name = ipywidgets.Text(placeholder="custom event name")
        self.custom_data = ipywidgets.Text(placeholder='JSON data, e.g. {"note": "hi"}')
        self.custom_button = ipywidgets.Button(description="Process custom")
        self.custom_button.on_click(lambda _: self.process_custom())
        self.diagram = ipywidgets.HTML()
        self.history = ipywidgets.HTML()
        self.context = ipywidgets.HTML(layout=ipywidgets.Layout(margin="0 0 0 24px"))
        self.message = ipywidgets.Output()
        self.tasks: list[asyncio.Task[Any]] = []
        super().__init__(
            [
                self.title,
                ipywidgets.HBox(list(self.buttons.values())),
                ipywidgets.HBox(
                    [self.failure_message, self.custom_name, self.custom_data, self.custom_button]
                ),
                self.message,
                self.diagram,
                ipywidgets.HBox(
                    [self.history, self.context],
                    layout=ipywidgets.Layout(align_items="flex-start"),
                ),
            ]
        )
        mark(self, "event-panel")
        for part in ("title", "diagram", "history", "context", "message"):
            mark(getattr(self, part), part)
        self._unsubscribe = sm.subscribe(Refresher(self.refresh))
        self.refresh()

    def _button(self, name: str) -> ipywidgets.Button:
        button = ipywidgets.Button(description=name)
        button.on_click(lambda _: self.process(name))
        return button

    def process(self, name: str) -> asyncio.Task[Any]:
        """Process event ``name`` as a button click does (``Fail`` takes the message input)."""
        event = WorkflowEvent.fail(self.failure_message.value) if name == FAIL else name
        return self._spawn(event)

    def process_custom(self) -> asyncio.Task[Any] | None:
        """Process the custom event typed in the inputs; bad JSON is reported, not sent."""
        name, text = self.custom_name.value.strip(), self.custom_data.value.strip()
        if not name:
            show_message(self.message, "Type a custom event name first.", error=True)
            return None
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError as exc:
            show_message(self.message, f"The data is not JSON ({exc}): {text!r}", error=True)
            return None
        return self._spawn(WorkflowEvent.custom(name, data))

    def _spawn(self, event: WorkflowEvent | str) -> asyncio.Task[Any]:
        task = spawn(self._run(event), self.message)
        self.tasks.append(task)
        task.add_done_callback(self.tasks.remove)
        return task

    async def _run(self, event: WorkflowEvent | str) -> None:
        entry = await self.sm.process_event(event)
        show_message(self.message, processed(entry))

    async def wait(self) -> None:
        """Wait for the events still being processed (for tests and scripted cells)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def refresh(self) -> None:
        """Redraw everything from the workflow as it is now."""
        sm, allowed = self.sm, set(self.sm.allowed_events())
        for name, button in self.buttons.items():
            _set_button(button, name in allowed, f"not allowed in state {sm.state!r}")
        closed = f"{sm.state!r} is terminal: no event is processed any more"
        _set_button(self.custom_button, not sm.is_terminal, closed)
        self.custom_name.disabled = self.custom_data.disabled = sm.is_terminal
        self.failure_message.disabled = FAIL not in allowed
        self.title.value = self.headline(html=True)
        self.diagram.value = svg_html(sm, sm)
        self.history.value = history_html(sm.history_tail(self.rows), len(sm.history))
        self.context.value = context_html(sm.context)

    def headline(self, *, html: bool = False) -> str:
        """``build-42 (lifecycle): state Running, 3 transitions`` (as text or HTML)."""
        sm = self.sm
        count = plural(sm.metadata.transition_count, "transition")
        if html:
            return (
                f"<div><b>{esc(sm.workflow_id)}</b> ({esc(sm.definition.name)}): state "
                f"<b>{esc(sm.state)}</b>, {count}</div>"
            )
        return f"{sm.workflow_id} ({sm.definition.name}): state {sm.state}, {count}"

    def static_text(self) -> str:
        """The panel as plain text: state, events allowed and not, newest entries, context."""
        sm, allowed = self.sm, self.sm.allowed_events()
        refused = [name for name in self.buttons if name not in allowed]
        return "\n".join(
            [
                f"EventPanel of {self.headline()}",
                f"Allowed now: {', '.join(allowed) or 'nothing (the workflow is terminal)'}",
                f"Not allowed now: {', '.join(refused) or 'nothing'}",
                *history_text(sm.history_tail(self.rows), len(sm.history)),
                f"Context: {to_json(dict(sm.context), indent=None)}",
            ]
        )

    def static_html(self) -> str:
        """The panel as static HTML (no script): what a saved notebook shows without widgets."""
        sm, allowed = self.sm, self.sm.allowed_events()
        chips = " ".join(f"<b>{esc(name)}</b>" for name in allowed) or "nothing (terminal)"
        return (
            f'<div class="descartes-nb-static">{self.headline(html=True)}'
            f"<div>Allowed now: {chips}</div>"
            f"{history_html(sm.history_tail(self.rows), len(sm.history))}"
            f"{context_html(sm.context)}<div><i>{esc(_STATIC_NOTE)}</i></div></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return with_static_view(super()._repr_mimebundle_(**kwargs), self)

    def close(self) -> None:
        """Stop following the workflow and close the widgets."""
        self._unsubscribe()
        super().close()


def _set_button(button: ipywidgets.Button, enabled: bool, why_not: str) -> None:
    """Enabled buttons look clickable (primary); disabled ones say why in their tooltip."""
    button.disabled = not enabled
    button.button_style = "primary" if enabled else ""
    button.tooltip = f"process {button.description!r}" if enabled else why_not


def _event_names(sm: WorkflowStateMachine) -> list[str]:
    """Every event a user may process: the chart's own (eventless, done.state.*) aside."""
    names = dict.fromkeys(t.event for t in sm.definition.transitions)
    return [n for n in names if n and not n.startswith(DONE_PREFIX)] + [ROLLBACK]


class Dashboard(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Every workflow of an orchestrator, or of a store: state, time in state, last event.

    ``Dashboard(orchestrator)`` lists the workflows (filterable by state), shows the
    ``EventPanel`` of the one selected, and can broadcast an event to all of them. It follows
    changes made by other code, to the workflows and to the orchestrator.

    ``Dashboard(store, definitions)`` shows the whole fleet of a store instead, live through
    ``store.changes()``, its buttons sending events through ``store.send_event`` for the
    workers of any process (a ``FleetDashboard``, kept as ``dashboard.fleet``).
    """

    def __init__(
        self,
        source: WorkflowOrchestrator | Any,
        definitions: Mapping[str, WorkflowDefinition] | Iterable[WorkflowDefinition] = (),
        *,
        poll_interval: float = 0.2,
    ) -> None:
        self.fleet: FleetDashboard | None = None
        if not isinstance(source, WorkflowOrchestrator):  # a store: the fleet
            self.fleet = FleetDashboard(source, definitions, poll_interval=poll_interval)
            super().__init__([self.fleet])
            return
        orchestrator = source
        self.orchestrator = orchestrator
        self.state_filter = ipywidgets.Dropdown(options=["all"], value="all", description="state")
        self.table = ipywidgets.HTML()
        self.selector = ipywidgets.Dropdown(options=[], description="workflow")
        self.panel_box = ipywidgets.VBox()
        self.broadcast_event = ipywidgets.Combobox(placeholder="event", description="broadcast")
        self.broadcast_button = ipywidgets.Button(description="Broadcast")
        self.message = ipywidgets.Output()
        self.panel: EventPanel | None = None
        super().__init__(
            [
                ipywidgets.HBox([self.state_filter, self.selector]),
                self.table,
                ipywidgets.HBox([self.broadcast_event, self.broadcast_button]),
                self.message,
                self.panel_box,
            ]
        )
        self.state_filter.observe(lambda _: self.refresh(), names="value")
        self.selector.observe(lambda change: self.select(change["new"]), names="value")
        self.broadcast_button.on_click(lambda _: self.broadcast())
        self._refresher = Refresher(self.refresh)
        self._watched: dict[str, Callable[[], None]] = {}
        self._unsubscribe = orchestrator.subscribe(self._refresher)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table and the choices from the workflows as they are now."""
        machines = list(self.orchestrator)
        self._watch(machines)
        states = sorted({str(sm.state) for sm in machines})
        self.state_filter.options = ["all", *states]
        wanted = self.state_filter.value
        shown = [sm for sm in machines if wanted in ("all", str(sm.state))]
        header = ["workflow", "definition", "state", "time in state", "last event"]
        self.table.value = table(header, [_dashboard_row(sm) for sm in shown])
        self.selector.options = [sm.workflow_id for sm in shown]
        events = {t.event for sm in machines for t in sm.definition.transitions}
        self.broadcast_event.options = sorted(events)

    def _watch(self, machines: list[WorkflowStateMachine]) -> None:
        current = {sm.workflow_id for sm in machines}
        for workflow_id in set(self._watched) - current:
            self._watched.pop(workflow_id)()
        for sm in machines:
            if sm.workflow_id not in self._watched:
                self._watched[sm.workflow_id] = sm.subscribe(self._refresher)

    def select(self, workflow_id: str | None) -> None:
        """Show the EventPanel of one workflow (None hides it)."""
        if self.panel is not None:
            self.panel.close()
            self.panel = None
        if workflow_id is not None and workflow_id in self.orchestrator:
            self.panel = EventPanel(self.orchestrator.get_workflow(workflow_id))
        self.panel_box.children = [self.panel] if self.panel else []

    def broadcast(self) -> asyncio.Task[Any] | None:
        """Broadcast the event typed in the broadcast box to every workflow."""
        name = self.broadcast_event.value.strip()
        if not name:
            show_message(self.message, "type the event to broadcast first", error=True)
            return None
        return spawn(self._broadcast(name), self.message)

    async def _broadcast(self, name: str) -> None:
        results = await self.orchestrator.broadcast(name)
        accepted = sum(isinstance(r, StateHistoryEntry) for r in results.values())
        lines = [f"{name}: accepted by {accepted} of {len(results)}"]
        lines += [
            f"{wid}: {r}" for wid, r in results.items() if not isinstance(r, StateHistoryEntry)
        ]
        show_message(self.message, "\n".join(lines), error=accepted < len(results))

    def close(self) -> None:
        """Stop following the orchestrator and its workflows (or the store), and close."""
        if self.fleet is not None:
            self.fleet.close()
            super().close()
            return
        self._unsubscribe()
        for unsubscribe in self._watched.values():
            unsubscribe()
        if self.panel is not None:
            self.panel.close()
        super().close()


def _dashboard_row(sm: WorkflowStateMachine) -> list[object]:
    meta = sm.metadata
    last = sm.history_tail(1)
    return [
        sm.workflow_id,
        sm.definition.name,
        sm.state,
        format_duration(meta.time_in_state),
        last[0].event if last else "",
    ]
