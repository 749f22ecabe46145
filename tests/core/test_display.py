"""core.display: the text forms of core objects and the formatter registry."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb.core import _display as display


@pytest.fixture(autouse=True)
def no_other_formatters(monkeypatch):
    """Core tests see only their own formatters, whatever other layers registered."""
    monkeypatch.setattr(display, "_formatters", [])


@pytest.fixture
def formatter():
    """A registered formatter that adds text/html for machines; removed afterwards."""
    calls = []

    def add_html(obj, wanted):
        calls.append(obj)
        if isinstance(obj, dn.WorkflowStateMachine) and wanted("text/html"):
            return {"text/html": f"<b>{obj.workflow_id}</b>"}
        return {}

    display.register_formatter(add_html)
    yield calls
    display.unregister_formatter(add_html)


async def test_machine_text_is_stable_and_shows_state_and_context(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    await sm.set_context("step", {"n": 3})
    text = sm._repr_mimebundle_()["text/plain"]
    assert text == (
        f"<WorkflowStateMachine {sm.workflow_id!r} (lifecycle) state='Running' transitions=1>\n"
        "context: {'step': {'n': 3}}"
    )


def test_definition_text_lists_transitions_with_guards(review_definition):
    text = review_definition._repr_mimebundle_()["text/plain"]
    assert text.splitlines() == [
        "<WorkflowDefinition 'review': 4 states, 4 transitions, initial 'draft', "
        "terminal ['approved', 'rejected']>",
        "  draft --submit--> review",
        "  review --approve [context.approvals >= 2]--> approved",
        "  review --reject--> rejected",
        "  review --revise--> draft",
    ]
    assert "0x" not in text  # the guard function's repr (an address) stays out


def test_definition_text_shortens_long_lists():
    states = tuple(dn.StateDef(f"s{i}") for i in range(30))
    transitions = tuple(dn.TransitionDef(f"s{i}", "next", f"s{i + 1}") for i in range(29))
    text = dn.WorkflowDefinition("chain", states, "s0", transitions)._repr_mimebundle_()
    lines = text["text/plain"].splitlines()
    assert len(lines) == 22
    assert lines[-1] == "  ... and 9 more transitions"


async def test_serialized_text_names_the_workflow_and_version(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    text = sm.serialize()._repr_mimebundle_()["text/plain"]
    assert text == (
        f"<SerializedWorkflow {sm.workflow_id!r} (lifecycle) state='Running' version=1 "
        "transitions=1>\ncontext: {}"
    )


async def test_orchestrator_text_is_a_table_of_workflows(make_workflow):
    orch = dn.WorkflowOrchestrator()
    assert orch._repr_mimebundle_() == {"text/plain": "<WorkflowOrchestrator 0 workflows>"}
    for _ in range(22):
        await orch.register_workflow(make_workflow())
    await orch.process_event("wf-2", "Start")
    lines = orch._repr_mimebundle_()["text/plain"].splitlines()
    assert lines[:5] == [
        "<WorkflowOrchestrator 22 workflows>",
        "  by state: Idle 21, Running 1",
        "  workflow  definition  state    transitions",
        "  wf-1      lifecycle   Idle     0",
        "  wf-2      lifecycle   Running  1",
    ]
    assert len(lines) == 24
    assert lines[12] == "  wf-10     lifecycle   Idle     0"  # ids in number order
    assert lines[-2].startswith("  wf-20 ")
    assert lines[-1] == "  ... and 2 more (the first 20 by id are shown)"


def test_context_repr_is_cut_short():
    text = display.short_repr({"log": "x" * 500, "items": list(range(100))})
    assert len(text) < 200
    assert "..." in text


def test_registered_formatter_adds_mimetypes_and_respects_include_exclude(
    make_workflow, formatter
):
    sm = make_workflow()
    bundle = sm._repr_mimebundle_()
    assert bundle["text/html"] == f"<b>{sm.workflow_id}</b>"
    assert set(bundle) == {"text/plain", "text/html"}
    assert set(sm._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(sm._repr_mimebundle_(exclude=["text/plain"])) == {"text/html"}
    assert set(dn.LIFECYCLE._repr_mimebundle_()) == {"text/plain"}
    assert formatter == [sm, sm, sm, dn.LIFECYCLE]


def test_register_formatter_twice_uses_it_once_and_unregister_stops_it(make_workflow):
    calls = []

    def count(obj, wanted):
        calls.append(obj)
        return {}

    display.register_formatter(count)
    display.register_formatter(count)
    try:
        make_workflow()._repr_mimebundle_()
        assert len(calls) == 1
    finally:
        display.unregister_formatter(count)
    display.unregister_formatter(count)  # a second removal is harmless
    make_workflow()._repr_mimebundle_()
    assert len(calls) == 1
