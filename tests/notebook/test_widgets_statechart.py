"""EventPanel and HistoryPlayer on a statechart: regions, a join, a history state."""

from __future__ import annotations

from datetime import timedelta

import descartes_nb as dn
from descartes_nb.notebook import diagram
from descartes_nb.notebook._player import HistoryPlayer
from descartes_nb.notebook._tasks import message_text
from descartes_nb.notebook._widgets import EventPanel

from .test_widgets import enabled, settle


async def test_event_panel_has_a_button_per_event_of_every_region(
    make_workflow, release_definition
):
    sm = make_workflow(release_definition)
    panel = EventPanel(sm)
    assert list(panel.buttons) == [  # no button for done.state.Checks: the chart raises it
        "Fail",
        "Timeout",
        "compiled",
        "passed",
        "hold",
        "approve",
        "resume",
        "Retry",
        "Rollback",
    ]
    assert enabled(panel) == ["Fail", "Timeout", "compiled", "passed"]  # both regions
    assert "<b>Checks</b>" in panel.title.value
    panel.buttons["compiled"].click()
    await panel.wait()
    await settle()
    assert sm.configuration == {"Checks", "Build", "Built", "Test", "Testing"}
    assert enabled(panel) == ["Fail", "Timeout", "passed", "Rollback"]
    panel.buttons["passed"].click()  # the join: done.state.Checks leaves for Review
    await panel.wait()
    await settle()
    assert message_text(panel.message) == "Processed passed: Checks → CodeReview.\n"
    assert enabled(panel) == ["Fail", "Timeout", "hold", "approve", "Rollback"]
    assert "<b>CodeReview</b>" in panel.title.value
    panel.close()


async def test_history_player_redraws_each_steps_configuration(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition)
    events = ["compiled", "passed", "approve", "hold", "resume", "Rollback", "resume"]
    replayed = dn.WorkflowStateMachine("replay", release_definition, clock=clock)
    prefixes = [diagram(replayed).source.replace("replay", sm.workflow_id)]
    configurations = [replayed.configuration]
    for event in events:
        await clock.advance(timedelta(minutes=5))
        await sm.process_event(event)
        await replayed.process_event(event)
        prefixes.append(diagram(replayed).source.replace("replay", sm.workflow_id))
        configurations.append(replayed.configuration)
    player = HistoryPlayer(sm)
    assert player.slider.max == len(events)
    for step, expected in enumerate(prefixes):
        player.slider.value = step
        snapshot = player.snapshot(step)
        assert set(snapshot.configuration) == configurations[step]
        assert diagram(snapshot, definition=sm.definition).source == expected
    player.slider.value = 1
    assert "compiled" in player.entry.value
    player.slider.value = 5  # resume: back to SecurityReview through the history state
    assert "resume: OnHold → SecurityReview" in player.entry.value
    player.close()


async def test_history_player_step_zero_of_a_statechart_with_evicted_entries(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition, max_history=2)
    for event in ["compiled", "passed", "approve"]:
        await sm.process_event(event)
    player = HistoryPlayer(sm)  # kept: passed, approve
    assert set(player.snapshot(0).configuration) == {"Checks", "Build", "Built", "Test", "Testing"}
    assert set(player.snapshot(1).configuration) == {"Review", "CodeReview"}
    assert set(player.snapshot(2).configuration) == {"Review", "SecurityReview"}
    before_compiled = make_workflow(release_definition, max_history=1)
    await before_compiled.process_event("compiled")
    first = HistoryPlayer(before_compiled).snapshot(0)
    assert set(first.configuration) == {"Checks", "Build", "Compiling", "Test", "Testing"}
    assert first.state == "Checks"


async def test_history_player_says_what_a_step_inside_a_parallel_state_did(
    make_workflow, release_definition
):
    sm = make_workflow(release_definition)
    await sm.process_event("compiled")
    await sm.process_event(dn.WorkflowEvent.custom("note"))  # moves nothing
    player = HistoryPlayer(sm)
    assert player.sentence(1).startswith("Step 1 of 2: #1 compiled: in Checks, Compiling → Built")
    assert "#2 note: stayed in Checks" in player.sentence(2)
