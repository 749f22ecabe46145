"""Widgets without a browser: click, await the task, check the workflow and every widget."""

from __future__ import annotations

import asyncio
import html
from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S
from descartes_nb.notebook import diagram
from descartes_nb.notebook._player import HistoryPlayer
from descartes_nb.notebook._tasks import message_text
from descartes_nb.notebook._widgets import Dashboard, EventPanel

HOSTILE = "<img src=x onerror=alert(1)>"


async def settle() -> None:
    """Let listeners and coalesced redraws (call_soon) run."""
    for _ in range(3):
        await asyncio.sleep(0)


def enabled(panel: EventPanel) -> list[str]:
    return [name for name, button in panel.buttons.items() if not button.disabled]


async def test_event_panel_buttons_follow_allowed_events(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    assert list(panel.buttons) == [
        "Start",
        "Pause",
        "Complete",
        "Fail",
        "Timeout",
        "Resume",
        "Retry",
        "Rollback",
    ]
    assert enabled(panel) == ["Start"]
    panel.buttons["Start"].click()
    await panel.wait()
    await settle()
    assert sm.state == S.RUNNING
    assert enabled(panel) == ["Pause", "Complete", "Fail", "Timeout", "Rollback"]
    assert message_text(panel.message) == "Processed Start: Idle → Running.\n"
    assert panel.message.outputs[0]["name"] == "stdout"
    assert "<b>Running</b>" in panel.title.value
    assert panel.history.value.count("<tr>") == 2  # header + one entry
    assert "Start" in panel.history.value


async def test_event_panel_follows_changes_made_by_other_code(make_workflow):
    class Counting(EventPanel):
        redraws = 0

        def refresh(self):
            Counting.redraws += 1
            super().refresh()

    sm = make_workflow()
    panel = Counting(sm)
    await sm.process_event("Start")
    await sm.process_event("Pause")
    await sm.set_context("owner", "ana")
    await settle()
    assert enabled(panel) == ["Fail", "Timeout", "Resume", "Rollback"]
    assert "&quot;owner&quot;: &quot;ana&quot;" in panel.context.value
    assert panel.history.value.count("<tr>") == 3
    assert Counting.redraws == 2  # once when built, once for the burst of three changes


async def test_event_panel_double_click_processes_once_and_reports_refusal(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    first, second = panel.process("Start"), panel.process("Start")
    await asyncio.gather(first, second, return_exceptions=True)
    await settle()
    assert [e.event for e in sm.history] == ["Start"]
    assert "Refused: event" in message_text(panel.message)
    assert "'Start' is not allowed in state 'Running'" in message_text(panel.message)
    assert panel.message.outputs[0]["name"] == "stderr"


async def test_event_panel_fail_uses_the_message_input(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    await sm.process_event("Start")
    panel.failure_message.value = "disk full"
    panel.buttons["Fail"].click()
    await panel.wait()
    assert sm.history[-1].event_data == {"message": "disk full"}
    assert sm.state == S.FAILED


async def test_event_panel_custom_event_with_json_data(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    panel.custom_name.value = "note"
    panel.custom_data.value = '{"text": "hello"}'
    panel.custom_button.click()
    await panel.wait()
    assert sm.history[-1].event == "note"
    assert sm.history[-1].event_data == {"text": "hello"}


async def test_event_panel_bad_inputs_are_reported_and_nothing_is_sent(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    panel.custom_name.value = "note"
    panel.custom_data.value = "{not json"
    assert panel.process_custom() is None
    assert "The data is not JSON" in message_text(panel.message)
    panel.custom_name.value = ""
    assert panel.process_custom() is None
    assert "custom event name" in message_text(panel.message)
    assert len(sm.history) == 0


async def test_event_panel_shows_handler_failures(make_workflow):
    class Broken(dn.StateHandler):
        def on_enter(self, state, ctx):
            raise ValueError("printer on fire")

    sm = make_workflow(handler=Broken())
    panel = EventPanel(sm)
    panel.buttons["Start"].click()
    await panel.wait()
    assert "Refused: handler on_enter raised" in message_text(panel.message)
    assert "printer on fire" in message_text(panel.message)
    assert sm.state == S.IDLE


async def test_event_panel_escapes_hostile_text(make_workflow):
    sm = dn.WorkflowStateMachine(HOSTILE, context={"note": HOSTILE})
    panel = EventPanel(sm)
    await sm.process_event(dn.WorkflowEvent.custom(HOSTILE, {"x": HOSTILE}))
    panel.failure_message.value = HOSTILE
    await sm.process_event("Start")
    panel.process("Fail")
    await panel.wait()
    await settle()
    for widget in (panel.title, panel.history, panel.context, panel.diagram):
        assert "<img" not in widget.value, widget
    panel.process("Start")  # refused: the message names the workflow by its (hostile) id
    await panel.wait()
    # messages are a text stream, never HTML: the typed text shows as it is
    assert HOSTILE in message_text(panel.message)
    assert panel.message.outputs[0]["output_type"] == "stream"
    assert html.escape(HOSTILE) in panel.title.value
    panel.close()


async def test_history_player_steps_match_diagram_of_the_history_prefix(make_workflow, clock):
    sm = make_workflow()
    events: list[dn.WorkflowEvent | str] = [
        "Start",
        "Pause",
        "Rollback",
        dn.WorkflowEvent.fail("x"),
        "Retry",
        "Complete",
    ]
    replayed = dn.WorkflowStateMachine("replay", clock=dn.ManualClock(clock.now()))
    prefixes = [diagram(replayed).source.replace("replay", sm.workflow_id)]
    for event in events:
        await clock.advance(timedelta(seconds=5))
        await sm.process_event(event)
        await replayed.process_event(event)
        prefixes.append(diagram(replayed).source.replace("replay", sm.workflow_id))
    player = HistoryPlayer(sm)
    assert player.slider.max == len(events)
    assert player.slider.value == len(events)  # starts at the newest step
    for step, expected in enumerate(prefixes):
        player.slider.value = step
        assert diagram(player.snapshot(step), definition=sm.definition).source == expected
        assert "<svg" in player.diagram.value
    player.slider.value = 3
    assert "Rollback" in player.entry.value
    assert "#3 Rollback of #2: Paused → Running" in player.entry.value
    assert "Step 3 of 6" in player.entry.value
    player.slider.value = 0
    assert "Step 0 of 6: the start, before any event." in player.entry.value


async def test_history_player_follows_new_entries_when_at_the_end(make_workflow):
    sm = make_workflow()
    player = HistoryPlayer(sm)
    assert player.steps == 0
    await sm.process_event("Start")
    await settle()
    assert (player.slider.max, player.slider.value) == (1, 1)
    player.slider.value = 0
    await sm.process_event("Pause")
    await settle()
    assert (player.slider.max, player.slider.value) == (2, 0)  # a user looking back stays
    with pytest.raises(ValueError, match="step must be between 0 and 2"):
        player.snapshot(5)
    player.close()


async def test_dashboard_lists_filters_selects_and_follows(make_workflow):
    orch = dn.WorkflowOrchestrator()
    for _ in range(3):
        await orch.register_workflow(make_workflow())
    board = Dashboard(orch)
    assert board.table.value.count("<tr>") == 4
    await orch.process_event("wf-2", "Start")  # other code changes a workflow
    await settle()
    assert board.state_filter.options == ("all", "Idle", "Running")
    board.state_filter.value = "Running"
    assert board.table.value.count("<tr>") == 2
    assert board.selector.options == ("wf-2",)
    board.select("wf-2")
    assert isinstance(board.panel, EventPanel)
    assert board.panel.sm.workflow_id == "wf-2"
    await orch.register_workflow(make_workflow())  # and the orchestrator
    await settle()
    board.state_filter.value = "all"
    assert board.table.value.count("<tr>") == 5
    board.close()


async def test_dashboard_broadcast_reports_each_workflow(make_workflow):
    orch = dn.WorkflowOrchestrator()
    for _ in range(2):
        await orch.register_workflow(make_workflow())
    await orch.process_event("wf-1", "Start")
    board = Dashboard(orch)
    board.broadcast_event.value = "Start"
    task = board.broadcast()
    assert task is not None
    await task
    assert "Start: accepted by 1 of 2" in message_text(board.message)
    assert "wf-1" in message_text(board.message)
    assert [sm.state for sm in orch] == ["Running", "Running"]
    board.broadcast_event.value = ""
    assert board.broadcast() is None
