"""The engine on compound states: bubbling, exit and entry through the common ancestor."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb import StateDef as St
from descartes_nb import TransitionDef as T
from descartes_nb.core import _engine as engine

from ..conftest import ExitEnterTrace


@pytest.fixture
def editor() -> dn.WorkflowDefinition:
    """Editing (Typing, Saving) is compound; 'close' on Editing bubbles from both children."""
    return dn.WorkflowDefinition(
        "editor",
        states=(
            St("Editing", initial="Typing"),
            St("Typing", parent="Editing"),
            St("Saving", parent="Editing"),
            St("Closed", terminal=True),
        ),
        initial_state="Editing",
        transitions=(
            T("Typing", "save", "Saving"),
            T("Saving", "saved", "Typing"),
            T("Editing", "close", "Closed"),
            T("Closed", "reopen", "Editing"),
            T("Typing", "close", "Typing"),  # the child's own 'close' wins over the parent's
        ),
    )


def test_initial_configuration_descends_to_the_initial_child(editor):
    assert engine.initial_state(editor) == "Typing"
    assert engine.configuration_of(editor, "Typing") == {"Typing", "Editing"}


def test_sibling_transition_exits_and_enters_only_the_children(editor):
    step = engine.candidates(editor, "Typing", "save")[0][1]
    assert step.exited == ("Typing",)
    assert step.entered == ("Saving",)
    assert step.configuration == {"Saving", "Editing"}


async def test_events_bubble_to_ancestors_and_inner_transitions_win(editor):
    trace = ExitEnterTrace()
    sm = dn.WorkflowStateMachine("doc", editor, handler=trace)
    assert sm.state == "Typing"
    assert sm.configuration == {"Editing", "Typing"}
    await sm.start()
    assert trace.calls == [("enter", "Editing"), ("enter", "Typing")]
    trace.calls.clear()
    entry = await sm.process_event("close")  # Typing's own self-transition
    assert entry.to_state == "Typing"
    assert trace.calls == [("exit", "Typing"), ("enter", "Typing")]
    await sm.process_event("save")
    trace.calls.clear()
    entry = await sm.process_event("close")  # Saving has none: Editing's applies
    assert (entry.from_state, entry.to_state) == ("Saving", "Closed")
    assert trace.calls == [("exit", "Saving"), ("exit", "Editing"), ("enter", "Closed")]
    assert sm.configuration == {"Closed"}
    await sm.process_event("reopen")
    assert sm.configuration == {"Editing", "Typing"}


async def test_allowed_events_include_ancestors_events(editor):
    sm = dn.WorkflowStateMachine("doc", editor)
    await sm.process_event("save")
    assert sm.allowed_events() == ["saved", "close", "Rollback"]


def test_candidates_are_in_priority_order(editor):
    found = engine.candidates(editor, "Typing", "close")
    assert [t.source for t, _ in found] == ["Typing", "Editing"]
    assert engine.candidates(editor, "Typing", "nothing") == ()
