"""validate() on statecharts: one small test per rule, and the shapes that are fine."""

from __future__ import annotations

from datetime import timedelta

import pytest

import descartes_nb as dn

T, St = dn.TransitionDef, dn.StateDef


def chart(states, transitions, initial="A"):
    return dn.WorkflowDefinition(
        "c", states=states, initial_state=initial, transitions=transitions
    )


def found(d):
    return [(p.state, p.key, p.severity) for p in dn.validate(d)]


def release(*extra_states, extra=()):
    """A fork/join chart: Checks runs Build and Test at once, then Deploy."""
    return chart(
        (
            St("A"),
            St("Checks", parallel=True),
            St("Build", parent="Checks"),
            St("Compiling", parent="Build"),
            St("Built", parent="Build", final=True),
            St("Test", parent="Checks"),
            St("Testing", parent="Test"),
            St("Tested", parent="Test", final=True),
            St("Deploy", terminal=True),
            *extra_states,
        ),
        (
            T("A", "go", "Checks"),
            T("Compiling", "ok", "Built"),
            T("Testing", "ok", "Tested"),
            T("Checks", "done.state.Checks", "Deploy"),
            *extra,
        ),
    )


def test_validate_accepts_a_fork_and_join():
    assert dn.validate(release()) == []


def test_validate_a_region_never_done_cannot_lead_to_a_terminal_state():
    d = release(extra=(T("Testing", "loop", "Testing"),))
    assert found(d) == []  # the loop is a way out of nothing, Testing still reaches Tested
    no_join = chart(
        (St("A", parallel=True), St("R", parent="A"), St("R1", parent="R", final=True),
         St("End", terminal=True)),
        (T("A", "stop", "End"),),
    )  # fmt: skip
    assert found(no_join) == []  # stop leaves the parallel state from any region


def test_validate_done_transition_is_a_way_out_of_final_states_only():
    d = chart(
        (St("A"), St("Loop"), St("Fin", parent="A", final=True), St("End", terminal=True)),
        (T("A", "done.state.A", "End"), T("A", "spin", "Loop"), T("Loop", "back", "Loop")),
    )
    # Loop reaches nothing; Fin (final, below A) finishes through the done transition
    assert ("Loop", None, "error") in found(d)
    assert all(state != "Fin" for state, _, _ in found(d))


def test_validate_parallel_state_without_regions():
    d = chart((St("A", parallel=True),), ())
    assert found(d) == [("A", "parallel", "error")]


def test_validate_parallel_state_with_an_initial_child():
    d = release(extra=())
    bad = chart(
        tuple(
            St("Checks", parallel=True, initial="Build") if s.name == "Checks" else s
            for s in d.states
        ),
        d.transitions,
    )
    [problem] = dn.validate(bad)
    assert (problem.state, problem.key) == ("Checks", "initial")
    assert "enters all its regions" in problem.message


def test_validate_a_state_of_two_kinds():
    d = chart((St("A"), St("F", parent="A", final=True, parallel=True)), ())
    assert ("F", "final", "error") in found(d)


def test_validate_final_state_with_transitions_out():
    d = release(extra=(T("Built", "again", "Compiling"),))
    [problem] = dn.validate(d)
    assert (problem.state, problem.key, problem.event) == ("Built", "again", "again")
    assert "final state 'Built' cannot have transitions" in problem.message


def test_validate_final_state_with_children():
    d = chart(
        (St("A"), St("F", parent="A", final=True), St("G", parent="F")),
        (T("A", "done.state.A", "A"),),
    )
    assert ("F", "final", "error") in found(d)


def editor(*history_states, initial="Editing"):
    """Editing (Typing, Saving) with a history state; Paused comes back through H."""
    return chart(
        (
            St("Editing", initial="Typing"),
            St("Typing", parent="Editing"),
            St("Saving", parent="Editing"),
            *history_states,
            St("Paused"),
            St("Closed", terminal=True),
        ),
        (
            T("Typing", "save", "Saving"),
            T("Saving", "saved", "Typing"),
            T("Editing", "pause", "Paused"),
            T("Paused", "resume", "H"),
            T("Paused", "close", "Closed"),
        ),
        initial=initial,
    )


def test_validate_accepts_shallow_and_deep_history_with_a_default():
    assert dn.validate(editor(St("H", parent="Editing", history="shallow"))) == []
    deep = St("H", parent="Editing", history="deep", default="Saving")
    assert dn.validate(editor(deep)) == []


def test_validate_history_state_at_the_top():
    d = editor(St("H", history="deep"))
    [problem] = dn.validate(d)
    assert (problem.state, problem.key) == ("H", "history")
    assert "not at the top" in problem.message


def test_validate_history_state_in_a_state_without_other_children():
    d = editor(St("H", parent="Paused", history="shallow"))
    assert ("H", "history", "error") in found(d)


def test_validate_history_state_in_a_parallel_state_is_allowed():
    d = release(
        St("H", parent="Checks", history="deep"),
        St("Hold"),
        extra=(T("Checks", "hold", "Hold"), T("Hold", "resume", "H")),
    )
    assert dn.validate(d) == []


def test_validate_history_default_outside_its_parent():
    d = editor(St("H", parent="Editing", history="shallow", default="Paused"))
    [problem] = dn.validate(d)
    assert (problem.state, problem.key) == ("H", "default")
    assert "'Paused' is not a descendant of 'Editing'" in problem.message


def test_validate_history_state_with_children_or_transitions_out():
    d = editor(St("H", parent="Editing", history="shallow"), St("X", parent="H"))
    assert ("H", "history", "error") in found(d)
    plain = editor(St("H", parent="Editing", history="shallow"))
    with_way_out = chart(
        plain.states, (*plain.transitions, T("H", "go", "Typing")), initial="Editing"
    )
    assert ("H", "go", "error") in found(with_way_out)


def test_validate_default_on_a_state_that_is_not_history():
    d = editor(St("H", parent="Editing", history="shallow"))
    d = chart(
        tuple(St("Paused", default="Typing") if s.name == "Paused" else s for s in d.states),
        d.transitions,
        initial="Editing",
    )
    assert found(d) == [("Paused", "default", "error")]


def test_validate_history_state_nothing_targets_is_unreachable():
    d = editor(St("H", parent="Editing", history="shallow"), St("H2", parent="Editing",
                                                               history="deep"))  # fmt: skip
    assert found(d) == [("H2", None, "error")]


def test_validate_several_targets_in_different_regions_are_fine():
    d = release(extra=(T("A", "skip", "Built", more_targets=("Testing",)),))
    assert dn.validate(d) == []


def test_validate_several_targets_in_one_region():
    d = release(St("Linking", parent="Build"), extra=(
        T("A", "both", "Compiling", more_targets=("Linking",)),
        T("Linking", "ok", "Built"),
    ))  # fmt: skip
    [problem] = dn.validate(d)
    assert (problem.state, problem.key, problem.event) == ("A", "both", "both")
    assert "'Compiling' and 'Linking' cannot be active together ('Build' is not parallel" in (
        problem.message
    )


def test_validate_several_targets_one_inside_the_other():
    d = release(extra=(T("A", "both", "Build", more_targets=("Compiling",)),))
    [problem] = dn.validate(d)
    assert "one inside the other" in problem.message


def test_validate_several_targets_outside_any_parallel_state():
    d = release(St("B", terminal=True), extra=(T("A", "both", "Deploy", more_targets=("B",)),))
    [problem] = dn.validate(d)
    assert "no parallel state holds both" in problem.message


def test_validate_unreachable_child_of_a_compound_state():
    d = editor(St("H", parent="Editing", history="shallow"), St("Spare", parent="Editing"))
    assert ("Spare", None, "error") in found(d)


def test_validate_reaches_states_through_regions_history_defaults_and_eventless():
    d = chart(
        (
            St("A"),
            St("P", parallel=True),
            St("R1", parent="P"),
            St("R2", parent="P", initial="Y"),
            St("X", parent="R2"),
            St("Y", parent="R2"),
            St("H", parent="R2", history="shallow", default="X"),
            St("Fin", parent="R1", final=True),
            St("Z"),
            St("End", terminal=True),
        ),
        (
            T("A", "go", "P"),
            T("Y", "", "H"),  # eventless: back to R2's history, whose default is X
            T("X", "done.state.P", "Z"),
            T("P", "done.state.P", "Z"),
            T("Z", "end", "End"),
        ),
    )
    # Fin (R1's first child) and Y (R2's initial) by the regions; X by the default of H
    assert [p for p in dn.validate(d) if "cannot be reached" in p.message] == []


def test_validate_final_state_as_a_region_of_a_parallel_state():
    d = chart((St("A", parallel=True), St("R", parent="A"), St("F", parent="A", final=True)), ())
    [problem] = [p for p in dn.validate(d) if p.key == "final"]
    assert (problem.state, problem.key) == ("F", "final")
    assert "a region of parallel state 'A' cannot be final" in problem.message


@pytest.mark.parametrize(
    ("history", "key", "words"),
    [
        (St("H", parent="Editing", history="wide"), "history", "must be 'shallow' or 'deep'"),  # type: ignore[arg-type]
        (St("H", parent="Editing", history="deep", timeout=timedelta(1)), "timeout", "pseudo"),
        (St("H", parent="Editing", history="deep", terminal=True), "terminal", "pseudo"),
        (St("H", parent="Editing", history="deep", raise_on_entry=("x",)), "raise", "never"),
        (St("Paused", raise_on_exit=("",)), "raise", "a raised event needs a name, got ''"),
    ],
)
def test_validate_what_a_history_state_or_a_raise_cannot_have(history, key, words):
    base = editor(St("H", parent="Editing", history="shallow"))
    states = [history if s.name == history.name else s for s in base.states]
    d = chart(states, base.transitions, initial="Editing")
    problems = [p for p in dn.validate(d) if p.state == history.name and p.key == key]
    assert any(words in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("targets", "words"),
    [
        (("Built", dn.PREVIOUS_STATE), "'@previous' must be the only target"),
        (("Built", "Built"), "a state is named twice"),
    ],
)
def test_validate_several_targets_named_badly(targets, words):
    d = release(extra=(T("A", "x", targets[0], more_targets=targets[1:]),))
    [problem] = dn.validate(d)
    assert words in problem.message
