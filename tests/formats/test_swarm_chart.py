"""Swarm.toml statecharts: each statechart key, uniform failure around parallel states, to_toml."""

from __future__ import annotations

from pathlib import Path

import pytest

import descartes_nb as dn

FIXTURES = Path(__file__).parent.parent / "fixtures"
WORKFLOWS = Path(__file__).parent.parent.parent / "notebooks" / "workflows"


@pytest.fixture(scope="module")
def chart() -> dn.WorkflowDefinition:
    return dn.load_definitions(FIXTURES / "valid_statechart.toml")["chart"]


def written(d, source):
    return [t for t in d.transitions if t.source == source and not t.implicit]


def test_parallel_and_final_states(chart):
    assert chart.state("Work").parallel
    assert chart.children("Work") == ("Left", "Right")
    assert chart.state("LDone").final
    assert not chart.is_terminal("LDone")
    assert chart.state("End").final
    assert chart.is_terminal("End")  # final at the top
    assert chart.is_statechart


def test_on_done_is_the_transition_on_the_done_event_of_its_state(chart):
    [done] = written(chart, "Work")
    assert (done.event, done.target) == ("done.state.Work", "Wrap")
    [guarded] = written(chart, "Right")  # written as on."done.state.Right", with a guard
    assert (guarded.event, guarded.target, guarded.guard_label) == (
        "done.state.Right",
        "RMore",
        "context.more == true",
    )


def test_history_states_with_and_without_default(chart):
    assert (chart.state("Back").history, chart.state("Back").default) == ("deep", None)
    assert (chart.state("Again").history, chart.state("Again").default) == ("shallow", "R2")


def test_type_internal_on_a_table_target(chart):
    [again] = written(chart, "Left")
    assert (again.event, again.target, again.internal) == ("again", "L1", True)
    restart = next(t for t in written(chart, "RMore") if t.event == "restart")
    assert not restart.internal  # type = "external" is the default


def test_uniform_failure_leaves_a_parallel_state_as_a_whole(chart):
    implicit = {(t.source, t.event) for t in chart.transitions if t.implicit}
    assert {("Work", "Fail"), ("Work", "Timeout"), ("Wrap", "Fail")} <= implicit
    inside = {"Left", "L1", "LDone", "Right", "R1", "R2", "RDone", "RMore", "Back", "Again"}
    assert not {source for source, _ in implicit} & inside
    assert ("End", "Fail") not in implicit  # final at the top: terminal


def test_a_state_inside_a_parallel_state_with_next_on_failure_keeps_it():
    d = dn.load_definitions("""
[workflow.w]
initial_state = "P"
[workflow.w.states.P]
parallel = true
on = { stop = "End" }
[workflow.w.states.R]
parent = "P"
[workflow.w.states.A]
parent = "R"
next_on_failure = "B"
[workflow.w.states.B]
parent = "R"
final = true
[workflow.w.states.End]
terminal = true
""")["w"]
    fail = [(t.source, t.target) for t in d.transitions if t.event == "Fail"]
    assert fail == [("P", "Failed"), ("A", "B")]


@pytest.mark.parametrize(
    "path",
    [FIXTURES / "valid_statechart.toml", WORKFLOWS / "release.toml"],
    ids=lambda p: p.name,
)
def test_statecharts_round_trip_through_to_toml(path):
    definitions = dn.load_definitions(path)
    again = dn.load_definitions(dn.to_toml(definitions))
    assert again == definitions
    for name, d in definitions.items():
        assert again[name].states == d.states
        assert [t.internal for t in again[name].transitions] == [t.internal for t in d.transitions]


def test_to_toml_writes_the_statechart_keys(chart):
    text = dn.to_toml(chart)
    for line in (
        "parallel = true",
        "final = true",
        'history = "deep"',
        'default = "R2"',
        'on_done = "Wrap"',
        'again = { target = "L1", type = "internal" }',
        'on_done = { target = "RMore", guard = "context.more == true" }',
    ):
        assert line in text.splitlines()


@pytest.mark.parametrize(
    ("transition", "state"),
    [
        pytest.param(dn.TransitionDef("A", "go", None), None, id="targetless"),
        pytest.param(dn.TransitionDef("A", "", "B"), None, id="eventless"),
        pytest.param(dn.TransitionDef("A", "go", "B", raises=("x",)), None, id="raises"),
        pytest.param(
            dn.TransitionDef("A", "go", "B"), dn.StateDef("B", raise_on_entry=("x",)), id="entry"
        ),
    ],
)
def test_to_toml_refuses_what_swarm_toml_cannot_write(transition, state):
    d = dn.WorkflowDefinition(
        "w",
        states=(dn.StateDef("A"), state or dn.StateDef("B")),
        initial_state="A",
        transitions=(transition,),
    )
    with pytest.raises(dn.DefinitionError, match="to_scxml"):
        dn.to_toml(d)
