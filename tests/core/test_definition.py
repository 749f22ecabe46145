"""WorkflowDefinition: structural errors at construction, validate(), the lifecycle."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb import StateDef as St
from descartes_nb import TransitionDef as T


def make(states, transitions, initial="a", name="w"):
    return dn.WorkflowDefinition(
        name, states=states, initial_state=initial, transitions=transitions
    )


@pytest.mark.parametrize(
    ("states", "transitions", "initial", "expected"),
    [
        pytest.param((St("a"),), (), "zz", "initial state 'zz' is not a state", id="initial"),
        pytest.param((St("a"),), (T("a", "go", "nowhere"),), "a", "unknown target", id="target"),
        pytest.param((St("a"),), (T("ghost", "go", "a"),), "a", "unknown source", id="source"),
        pytest.param((St("a"), St("a")), (), "a", "'a' is defined 2 times", id="duplicate"),
        pytest.param((St("a", parent="p"),), (), "a", "unknown parent 'p'", id="parent"),
        pytest.param((St("a"),), (T("a", "Rollback", "a"),), "a", "reserved", id="rollback"),
        pytest.param(
            (St("a"),),
            (T("a", 3, "a"),),  # type: ignore[arg-type]
            "a",
            "needs a str name",
            id="event-type",
        ),
        pytest.param(
            (St("a"), St("b")),
            (T("a", "go", "b", more_targets=("ghost",)),),
            "a",
            "unknown target state 'ghost'",
            id="more-targets",
        ),
        pytest.param(
            (St("p"), St("a", parent="p"), St("h", parent="p", history="deep", default="zz")),
            (),
            "p",
            "history state 'h' has unknown default 'zz'",
            id="history-default",
        ),
        pytest.param((St(""),), (), "", "non-empty str name", id="empty-state"),
        pytest.param((), (), "a", "at least one state", id="no-states"),
        pytest.param(
            (St("a", parent="b"), St("b", parent="a")), (), "a", "its own ancestor", id="cycle"
        ),
        pytest.param(
            (St("p", initial="x"), St("a", parent="p"), St("x")),
            (),
            "p",
            "initial child 'x' of state 'p' is not one of its children",
            id="initial-child",
        ),
    ],
)
def test_definition_refuses_structural_errors(states, transitions, initial, expected):
    with pytest.raises(dn.DefinitionError, match=expected) as info:
        make(states, transitions, initial)
    assert info.value.problems
    assert info.value.workflow == "w"


def test_transition_statechart_forms():
    eventless = T("a", dn.EVENTLESS, "b", guard=lambda c, d: True, guard_label="ready")
    assert eventless.is_eventless
    assert eventless.label == "[ready]"
    assert T("a", "go", None).targets == ()
    listed = T("a", "go", "b", more_targets=["c"])  # type: ignore[arg-type]
    assert listed.targets == ("b", "c")
    d = make((St("a"), St("b")), (eventless,))
    assert d.events == frozenset()
    assert d.is_statechart
    assert not dn.LIFECYCLE.is_statechart


def test_final_state_at_the_top_is_terminal():
    d = make((St("p"), St("f", parent="p", final=True), St("end", final=True)), (), "p")
    assert d.terminal_states == {"end"}
    assert not d.is_terminal("f")


def test_definition_lists_every_problem_at_once():
    with pytest.raises(dn.DefinitionError) as info:
        make((St("a"),), (T("a", "x", "b"), T("c", "y", "a")), initial="q")
    assert len(info.value.problems) == 3
    assert {p.key for p in info.value.problems} == {"initial_state", "x", "source"}


def test_validate_finds_unreachable_dead_ends_and_ambiguity():
    d = make(
        (St("a"), St("b"), St("island"), St("stuck"), St("done", terminal=True)),
        (
            T("a", "go", "b"),
            T("a", "go", "stuck"),
            T("b", "finish", "done"),
            T("island", "x", "b"),
        ),
    )
    messages = [p.message for p in dn.validate(d)]
    assert "state 'island' cannot be reached from initial state 'a'" in messages
    assert "state 'stuck' is not terminal and has no way out" in messages
    assert "state 'a' has two unguarded transitions on event 'go'" in messages
    assert len(messages) == 3


def test_validate_reports_no_reachable_terminal_state():
    d = make(
        (St("a"), St("b"), St("end", terminal=True)), (T("a", "go", "b"), T("b", "back", "a"))
    )
    problems = dn.validate(d)
    assert [p.message for p in problems] == [
        "state 'end' cannot be reached from initial state 'a'",
        "no terminal state can be reached",
    ]


def test_lifecycle_is_valid_and_matches_design():
    assert dn.validate(dn.LIFECYCLE) == []
    assert dn.LIFECYCLE.terminal_states == {"Completed", "Failed"}
    assert dn.LIFECYCLE.events == {
        "Start",
        "Pause",
        "Resume",
        "Complete",
        "Fail",
        "Timeout",
        "Retry",
    }
    assert dn.WorkflowState.FAILED.is_terminal
    assert not dn.WorkflowState.PAUSED.is_terminal


def test_definition_accessors():
    d = make(
        (St("p"), St("a", parent="p"), St("b", parent="p"), St("c")),
        (T("a", "go", "c"), T("p", "leave", "c")),
        initial="p",
    )
    assert d.children("p") == ("a", "b")
    assert d.ancestors("b") == ("p",)
    assert d.has_state("c")
    assert not d.has_state("nope")
    assert d.transitions_from("p") == (T("p", "leave", "c"),)
    assert d.state("a").parent == "p"


def test_transition_label_shows_the_guard():
    def ready(context, data):
        return True

    assert T("a", "go", "b").label == "go"
    assert T("a", "go", "b", guard=ready).label == "go [ready]"
    assert (
        T("a", "go", "b", guard=ready, guard_label="context.n > 1").label == "go [context.n > 1]"
    )


def test_problem_text_names_file_and_line():
    problem = dn.DefinitionProblem("bad key", source="swarm.toml", line=4)
    assert str(problem) == "swarm.toml:4: bad key"
    assert str(dn.DefinitionProblem("bad key", source="swarm.toml")) == "swarm.toml: bad key"
    assert str(dn.DefinitionProblem("bad key")) == "bad key"
