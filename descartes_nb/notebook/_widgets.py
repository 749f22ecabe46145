"""ipywidgets panels: EventPanel drives a workflow, HistoryPlayer replays it, Dashboard many."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import ipywidgets

from ..core._events import FAIL, ROLLBACK, WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ..orchestrator import WorkflowOrchestrator
from ._diagram import diagram
from ._tasks import show_message, spawn

_TABLE_STYLE: Final = "border-collapse:collapse;font-size:12px"
_CELL: Final = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(obj: WorkflowStateMachine | SerializedWorkflow, sm: WorkflowStateMachine) -> str:
    """The diagram as inline SVG, or the reason it could not be drawn (never raises)."""
    return diagram(obj, definition=sm.definition).display_bundle()["text/html"]


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f'<th style="{_CELL}">{_esc(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{_esc(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_TABLE_STYLE}"><tr>{head}</tr>{body}</table>'


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _context_html(context: Mapping[str, JSONValue]) -> str:
    return f'<pre style="margin:0;font-size:12px">{_esc(_json(dict(context)))}</pre>'


def _history_rows(entries: Iterable[StateHistoryEntry]) -> list[list[object]]:
    return [
        [
            e.seq,
            e.from_state,
            e.to_state,
            e.event,
            "" if e.event_data is None else json.dumps(e.event_data, ensure_ascii=False),
            e.timestamp.strftime("%H:%M:%S"),
            e.duration,
        ]
        for e in entries
    ]


def _mark(widget: ipywidgets.DOMWidget, part: str) -> None:
    """Give a widget a stable CSS class (for styling and for browser tests)."""
    widget.add_class(f"descartes-nb-{part}")


class _Refresher:
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

    ``panel = EventPanel(sm); panel`` shows it. A button is enabled only while its event is
    allowed; the panel follows every change, also changes made by code outside it. A click
    processes the event as a task on the kernel's loop; refusals and failures appear in the
    message area.

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
        self.context = ipywidgets.HTML()
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
                ipywidgets.HBox([self.history, self.context]),
            ]
        )
        _mark(self, "event-panel")
        for part in ("title", "diagram", "history", "context", "message"):
            _mark(getattr(self, part), part)
        self._unsubscribe = sm.subscribe(_Refresher(self.refresh))
        self.refresh()

    def _button(self, name: str) -> ipywidgets.Button:
        button = ipywidgets.Button(description=name, tooltip=f"process {name!r}")
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
            show_message(self.message, "type a custom event name first", error=True)
            return None
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError as exc:
            show_message(self.message, f"data is not JSON: {exc} in {text!r}", error=True)
            return None
        return self._spawn(WorkflowEvent.custom(name, data))

    def _spawn(self, event: WorkflowEvent | str) -> asyncio.Task[Any]:
        task = spawn(self._run(event), self.message)
        self.tasks.append(task)
        task.add_done_callback(self.tasks.remove)
        return task

    async def _run(self, event: WorkflowEvent | str) -> None:
        entry = await self.sm.process_event(event)
        show_message(self.message, f"{entry.event}: {entry.from_state} -> {entry.to_state}")

    async def wait(self) -> None:
        """Wait for the events still being processed (for tests and scripted cells)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def refresh(self) -> None:
        """Redraw everything from the workflow as it is now."""
        sm, allowed = self.sm, set(self.sm.allowed_events())
        for name, button in self.buttons.items():
            button.disabled = name not in allowed
        self.title.value = (
            f"<b>{_esc(sm.workflow_id)}</b> ({_esc(sm.definition.name)}): state "
            f"<b>{_esc(sm.state)}</b>, {sm.metadata.transition_count} transitions"
        )
        self.diagram.value = _svg(sm, sm)
        header = ["seq", "from", "to", "event", "data", "time", "duration"]
        self.history.value = _table(header, _history_rows(sm.history_tail(self.rows)))
        self.context.value = _context_html(sm.context)

    def close(self) -> None:
        """Stop following the workflow and close the widgets."""
        self._unsubscribe()
        super().close()


def _event_names(sm: WorkflowStateMachine) -> list[str]:
    names = list(dict.fromkeys(t.event for t in sm.definition.transitions))
    return [*names, ROLLBACK]


class HistoryPlayer(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Replay a workflow's history: a slider (with play/pause) through its steps.

    ``HistoryPlayer(sm)`` shows, at step k, the diagram as it was after the k-th kept entry
    (current state and visited path up to then), that entry, and the context then. Step 0
    is just before the oldest kept entry. Rollbacks are marked as such.
    """

    def __init__(self, sm: WorkflowStateMachine, *, interval_ms: int = 700) -> None:
        self.sm = sm
        self.play = ipywidgets.Play(min=0, max=0, interval=interval_ms, description="play")
        self.slider = ipywidgets.IntSlider(min=0, max=0, description="step")
        ipywidgets.jslink((self.play, "value"), (self.slider, "value"))
        self.diagram = ipywidgets.HTML()
        self.entry = ipywidgets.HTML()
        self.context = ipywidgets.HTML()
        super().__init__(
            [
                ipywidgets.HBox([self.play, self.slider]),
                self.entry,
                ipywidgets.HBox([self.diagram, self.context]),
            ]
        )
        _mark(self, "history-player")
        for part in ("diagram", "entry", "context"):
            _mark(getattr(self, part), part)
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self._unsubscribe = sm.subscribe(_Refresher(self._follow))
        self._follow()

    @property
    def steps(self) -> int:
        """The last step (the number of kept history entries)."""
        return len(self.sm.history)

    def _follow(self) -> None:
        at_end = self.slider.value == self.slider.max
        self.play.max = self.slider.max = self.steps
        if at_end:
            self.slider.value = self.steps
        self.show(self.slider.value)

    def snapshot(self, step: int) -> SerializedWorkflow:
        """The workflow as it was at ``step`` (its history cut there)."""
        entries = list(self.sm.history)
        if not 0 <= step <= len(entries):
            raise ValueError(f"step must be between 0 and {len(entries)}, got {step!r}")
        live = self.sm.serialize()
        if not entries:
            return live
        kept = tuple(entries[:step])
        last = kept[-1] if kept else None
        first = entries[0]
        return SerializedWorkflow(
            workflow_id=live.workflow_id,
            definition=live.definition,
            state=last.to_state if last else first.from_state,
            context=last.context if last else first.context_before,
            created_at=live.created_at,
            updated_at=last.timestamp if last else first.timestamp - first.duration,
            state_entered_at=last.timestamp if last else live.created_at,
            retry_attempts=0,
            version=0,
            max_history=live.max_history,
            transition_count=last.seq if last else first.seq - 1,
            history=kept,
        )

    def show(self, step: int) -> None:
        """Draw step ``step``."""
        snapshot = self.snapshot(step)
        self.diagram.value = _svg(snapshot, self.sm)
        self.context.value = _context_html(snapshot.context)
        self.entry.value = _entry_html(
            snapshot.history[-1] if snapshot.history else None, step, self.steps
        )

    def close(self) -> None:
        """Stop following the workflow and close the widgets."""
        self._unsubscribe()
        super().close()


def _entry_html(entry: StateHistoryEntry | None, step: int, steps: int) -> str:
    where = f"step {step} of {steps}"
    if entry is None:
        return f"<div>{_esc(where)}: before the first kept entry</div>"
    undo = ""
    if entry.event == ROLLBACK and isinstance(entry.event_data, dict):
        undo = f" (undid seq {entry.event_data.get('undone_seq')})"
    data = "" if entry.event_data is None else f", data {_json(entry.event_data)}"
    return (
        f"<div>{_esc(where)}: <b>{_esc(entry.event)}</b>{_esc(undo)} (seq {entry.seq}) "
        f"{_esc(entry.from_state)} &#8594; {_esc(entry.to_state)} at "
        f"{_esc(entry.timestamp.isoformat())}, after {_esc(entry.duration)} in "
        f"{_esc(entry.from_state)}{_esc(data)}</div>"
    )


class Dashboard(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Every workflow of an orchestrator: state, time in state, last event; pick one to drive.

    ``Dashboard(orchestrator)`` lists the workflows (filterable by state), shows the
    ``EventPanel`` of the one selected, and can broadcast an event to all of them. It follows
    changes made by other code, to the workflows and to the orchestrator.
    """

    def __init__(self, orchestrator: WorkflowOrchestrator) -> None:
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
        self._refresher = _Refresher(self.refresh)
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
        self.table.value = _table(header, [_dashboard_row(sm) for sm in shown])
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
        """Stop following the orchestrator and its workflows, and close the widgets."""
        self._unsubscribe()
        for unsubscribe in self._watched.values():
            unsubscribe()
        if self.panel is not None:
            self.panel.close()
        super().close()


def _dashboard_row(sm: WorkflowStateMachine) -> list[object]:
    meta = sm.metadata
    last = sm.history_tail(1)
    seconds = int(meta.time_in_state.total_seconds())
    return [
        sm.workflow_id,
        sm.definition.name,
        sm.state,
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
        last[0].event if last else "",
    ]
