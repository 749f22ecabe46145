"""What the panels say and how they look: button styles, sentences, times, static fallbacks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import descartes_nb as dn
from descartes_nb.notebook import Dashboard, EventPanel, HistoryPlayer
from descartes_nb.notebook._tasks import message_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


async def settle() -> None:
    """Let listeners and coalesced redraws (call_soon) run."""
    for _ in range(3):
        await asyncio.sleep(0)


def styles(panel: EventPanel) -> dict[str, tuple[bool, str]]:
    return {name: (b.disabled, b.button_style) for name, b in panel.buttons.items()}


async def test_event_panel_allowed_buttons_are_primary_the_rest_disabled(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    await sm.process_event("Pause")
    panel = EventPanel(sm)
    allowed = {"Fail", "Timeout", "Resume", "Rollback"}
    assert styles(panel) == {
        name: (False, "primary") if name in allowed else (True, "")
        for name in ("Start", "Pause", "Complete", "Fail", "Timeout", "Resume", "Retry")
    } | {"Rollback": (False, "primary")}
    assert panel.buttons["Start"].tooltip == "not allowed in state 'Paused'"
    assert panel.buttons["Resume"].tooltip == "process 'Resume'"
    assert not panel.failure_message.disabled
    await sm.process_event("Resume")
    await sm.process_event("Complete")
    await settle()
    assert panel.failure_message.disabled  # Fail is no longer allowed
    panel.close()


async def test_event_panel_custom_follows_the_workflow_to_its_end(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    assert not panel.custom_button.disabled
    assert panel.custom_button.button_style == "primary"
    await sm.process_event("Start")
    await sm.process_event("Complete")
    await settle()
    assert panel.custom_button.disabled
    assert panel.custom_name.disabled
    assert panel.custom_data.disabled
    assert "'Completed' is terminal" in panel.custom_button.tooltip
    assert all(off and style == "" for off, style in styles(panel).values())
    panel.close()


async def test_event_panel_context_is_a_labelled_pretty_json_panel(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    assert "Context" in panel.context.value
    assert "(empty)" in panel.context.value
    await sm.set_context("owner", {"name": "Ana", "tags": ["a", "b"]})
    await settle()
    value = panel.context.value
    assert ">Context<" in value
    assert "(empty)" not in value
    assert "&quot;owner&quot;: {\n    &quot;name&quot;: &quot;Ana&quot;," in value
    panel.close()


async def test_event_panel_one_time_format_and_plurals(make_workflow, clock):
    sm = make_workflow()
    panel = EventPanel(sm)
    assert "0 transitions" in panel.title.value
    await clock.advance(timedelta(seconds=5))
    await sm.process_event("Start", {"by": "ana"})
    await clock.advance(timedelta(minutes=14, seconds=23))
    await sm.process_event("Pause")
    await settle()
    when = sm.history[-1].timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert "2 transitions" in panel.title.value
    for text in ("#2", "14m 23s", "5s", when, "{&quot;by&quot;: &quot;ana&quot;}"):
        assert text in panel.history.value, text
    assert "0:14:23" not in panel.history.value
    player = HistoryPlayer(sm)
    assert player.entry.value == (
        f"<div>Step 2 of 2: #2 Pause: Running → Paused, at {when}, after 14m 23s in Running.</div>"
    )
    panel.close()
    player.close()
    one = make_workflow()
    await one.process_event("Start")
    assert "1 transition" in EventPanel(one).title.value
    assert "1 transitions" not in EventPanel(one).title.value


async def test_event_panel_messages_are_sentences(make_workflow):
    sm = make_workflow()
    panel = EventPanel(sm)
    panel.custom_name.value = "note"
    panel.custom_button.click()
    await panel.wait()
    assert message_text(panel.message) == "Processed note: stayed in Idle.\n"
    await sm.process_event("Start")
    await sm.process_event("Pause")
    await panel.process("Rollback")
    assert message_text(panel.message) == "Processed Rollback of #3: Paused → Running.\n"
    await asyncio.gather(panel.process("Start"), return_exceptions=True)
    await settle()
    assert message_text(panel.message).startswith("Refused: event 'Start' is not allowed")
    panel.custom_name.value = ""
    panel.process_custom()
    assert message_text(panel.message) == "Type a custom event name first.\n"
    panel.close()


async def test_empty_history_says_so(make_workflow):
    sm = make_workflow()
    panel, player = EventPanel(sm), HistoryPlayer(sm)
    assert "No events processed yet." in panel.history.value
    assert "<table" not in panel.history.value
    assert player.entry.value == (
        "<div>Nothing to replay yet: the workflow has processed no event.</div>"
    )
    assert player.slider.disabled
    assert player.play.disabled
    await sm.process_event("Start")
    await settle()
    assert not player.slider.disabled
    assert player.sentence(0) == "Step 0 of 1: the start, before any event."
    panel.close()
    player.close()


async def test_history_player_says_when_older_entries_are_gone(clock):
    sm = dn.WorkflowStateMachine("short", clock=clock, max_history=2)
    for event in ("Start", "Pause", "Resume", "Pause"):
        await sm.process_event(event)
    player = HistoryPlayer(sm)
    assert player.sentence(0) == "Step 0 of 2: before #3 (the 2 older entries are no longer kept)."
    assert "kept entry" not in player.static_html()
    player.close()


async def test_event_panel_static_fallback_shows_state_events_and_entries(make_workflow, clock):
    sm = make_workflow()
    await sm.process_event("Start")
    await clock.advance(timedelta(minutes=2))
    await sm.process_event("Pause")
    await sm.set_context("step", 3)
    panel = EventPanel(sm, rows=1)
    bundle = panel._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == panel.model_id  # live where widgets run
    when = sm.history[-1].timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert bundle["text/plain"] == "\n".join(
        [
            f"EventPanel of {sm.workflow_id} (lifecycle): state Paused, 2 transitions",
            "Allowed now: Resume, Fail, Timeout, Rollback",
            "Not allowed now: Start, Pause, Complete, Retry",
            "History (last 1 of 2):",
            f"  #2 Pause: Running → Paused, at {when}, after 2m 00s",
            'Context: {"step": 3}',
        ]
    )
    static = bundle["text/html"]
    assert "<script" not in static
    assert "<svg" not in static
    for text in (
        "<b>Paused</b>",
        "<b>Resume</b>",
        "#2",
        "2m 00s",
        ">Context<",
        "run the notebook",
    ):
        assert text in static, text
    panel.close()


async def test_history_player_static_fallback_lists_the_newest_steps(make_workflow):
    sm = make_workflow()
    for event in ("Start", "Pause", "Resume"):
        await sm.process_event(event)
    player = HistoryPlayer(sm, rows=2)
    bundle = player._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert bundle["text/plain"].splitlines()[:2] == [
        f"HistoryPlayer of {sm.workflow_id} (lifecycle): 3 steps, now in Running",
        "History (last 2 of 3):",
    ]
    assert not bundle["text/plain"].startswith("HistoryPlayer(children")
    static = bundle["text/html"]
    assert static.count("<li>") == 2
    assert "Step 3 of 3: #3 Resume: Paused → Running" in static
    player.close()


async def test_dashboard_shows_time_in_state_in_the_one_format(make_workflow, clock):
    orch = dn.WorkflowOrchestrator()
    await orch.register_workflow(make_workflow())
    await clock.advance(timedelta(minutes=14, seconds=23))
    board = Dashboard(orch)
    assert "14m 23s" in board.table.value
    board.close()
