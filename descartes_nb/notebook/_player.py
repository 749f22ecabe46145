"""HistoryPlayer: replay a workflow's history step by step, diagram and context at each step."""

from __future__ import annotations

from typing import Any, Final

import ipywidgets

from ..core._history import StateHistoryEntry
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ._moves import configuration_before
from ._panelview import context_html, esc, history_text, step_sentence, with_static_view
from ._timefmt import plural
from ._widgets import Refresher, mark, svg_html

_STATIC_NOTE: Final = "A static view: run the notebook to use the slider."


class HistoryPlayer(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Replay a workflow's history: a slider (with play/pause) through its steps.

    ``HistoryPlayer(sm)`` shows, at step k, the diagram as it was after the k-th history
    entry (current state and visited path up to then), a sentence saying what that entry
    did, and the context then. Step 0 is the start, before any event (or before the oldest
    entry the workflow still keeps). Rollbacks say which entry they undid. Where widgets
    cannot run, the output shows a static view: the newest steps as text.

    Args:
        sm: the workflow to replay; the player follows its new entries.
        interval_ms: the pause between steps while playing.
        rows: how many of the newest steps the static view lists.
    """

    def __init__(self, sm: WorkflowStateMachine, *, interval_ms: int = 700, rows: int = 8) -> None:
        self.sm = sm
        self.rows = rows
        self.play = ipywidgets.Play(min=0, max=0, interval=interval_ms, description="play")
        self.slider = ipywidgets.IntSlider(min=0, max=0, description="step")
        ipywidgets.jslink((self.play, "value"), (self.slider, "value"))
        self.diagram = ipywidgets.HTML()
        self.entry = ipywidgets.HTML()
        self.context = ipywidgets.HTML(layout=ipywidgets.Layout(margin="0 0 0 24px"))
        super().__init__(
            [
                ipywidgets.HBox([self.play, self.slider]),
                self.entry,
                ipywidgets.HBox(
                    [self.diagram, self.context],
                    layout=ipywidgets.Layout(align_items="flex-start"),
                ),
            ]
        )
        mark(self, "history-player")
        for part in ("diagram", "entry", "context"):
            mark(getattr(self, part), part)
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self._unsubscribe = sm.subscribe(Refresher(self._follow))
        self._follow()

    @property
    def steps(self) -> int:
        """The last step (the number of history entries kept)."""
        return len(self.sm.history)

    def _follow(self) -> None:
        at_end = self.slider.value == self.slider.max
        self.play.max = self.slider.max = self.steps
        self.play.disabled = self.slider.disabled = self.steps == 0
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
        if last is not None:
            configuration, memory = last.configuration, last.memory
        else:  # what the first entry started in (empty for a flat definition: its state)
            configuration = _before(first)
            before = self.sm.history.move_before(0)
            memory = before.memory if before is not None else ()
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
            configuration=configuration,
            memory=memory,
        )

    def sentence(self, step: int) -> str:
        """What the player says at ``step``."""
        history = self.sm.history
        entry = history[step - 1] if step else None
        first_seq = history[0].seq if len(history) else 1
        return step_sentence(entry, step, self.steps, first_seq)

    def show(self, step: int) -> None:
        """Draw step ``step``."""
        snapshot = self.snapshot(step)
        self.diagram.value = svg_html(snapshot, self.sm)
        self.context.value = context_html(snapshot.context)
        self.entry.value = f"<div>{esc(self.sentence(step))}</div>"

    def headline(self) -> str:
        """``lesson-1 (lifecycle): 8 steps, now in Completed``."""
        sm = self.sm
        steps = plural(self.steps, "step")
        return f"{sm.workflow_id} ({sm.definition.name}): {steps}, now in {sm.state}"

    def static_text(self) -> str:
        """The player as plain text: the newest steps."""
        history = self.sm.history_tail(self.rows)
        return "\n".join(
            [f"HistoryPlayer of {self.headline()}", *history_text(history, self.steps)]
        )

    def static_html(self) -> str:
        """The player as static HTML (no script): the newest steps, one sentence each."""
        first = max(self.steps - self.rows + 1, 0)
        lines = "".join(
            f"<li>{esc(self.sentence(step))}</li>" for step in range(first, self.steps + 1)
        )
        return (
            f'<div class="descartes-nb-static"><div>{esc(self.headline())}</div>'
            f'<ul style="margin:2px 0">{lines}</ul><div><i>{esc(_STATIC_NOTE)}</i></div></div>'
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return with_static_view(super()._repr_mimebundle_(**kwargs), self)

    def close(self) -> None:
        """Stop following the workflow and close the widgets."""
        self._unsubscribe()
        super().close()


def _before(entry: StateHistoryEntry) -> frozenset[str]:
    if not entry.configuration:
        return frozenset()
    return configuration_before(entry.configuration, entry.exited, entry.entered)
