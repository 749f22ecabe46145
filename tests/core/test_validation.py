"""validate() on definitions built in Python: each rule, strictness, implicit transitions."""

from __future__ import annotations

from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb.core._definition import ComparableGuard
from descartes_nb.formats.swarm.guards._parser import parse_guard

T, St = dn.TransitionDef, dn.StateDef


def definition(states, transitions, initial="a"):
    return dn.WorkflowDefinition(
        "d", states=states, initial_state=initial, transitions=transitions
    )


def keys(problems):
    return [(p.state, p.key, p.severity) for p in problems]


def test_validate_finds_nothing_wrong_with_the_lifecycle(review_definition):
    assert dn.validate(dn.LIFECYCLE) == []
    assert dn.validate(review_definition) == []


def test_validate_shape_rules_and_strictness():
    d = definition(
        (St("a"), St("b"), St("loop1"), St("loop2"), St("island"), St("end", terminal=True)),
        (
            T("a", "go", "b"),
            T("a", "spin", "loop1"),
            T("a", "done", "end"),
            T("loop1", "next", "loop2"),
            T("loop2", "next", "loop1"),
            T("island", "go", "end"),
        ),
    )
    strict = dn.validate(d)
    assert [p.message for p in strict] == [
        "state 'island' cannot be reached from initial state 'a'",
        "state 'b' is not terminal and has no way out",
        "state 'loop1' cannot lead to a terminal state "
        "(from it the workflow reaches only ['loop1', 'loop2'])",
        "state 'loop2' cannot lead to a terminal state "
        "(from it the workflow reaches only ['loop1', 'loop2'])",
    ]
    assert {p.severity for p in strict} == {"error"}
    assert {p.severity for p in dn.validate(d, strict=False)} == {"warning"}


def test_validate_without_terminal_states_skips_the_terminal_rules():
    d = definition((St("a"), St("b")), (T("a", "go", "b"), T("b", "go", "a")))
    assert dn.validate(d) == []


def test_implicit_transitions_are_no_way_out():
    d = definition(
        (St("a"), St("stuck"), St("end", terminal=True), St("Failed", terminal=True)),
        (
            T("a", "go", "stuck"),
            T("a", "done", "end"),
            T("stuck", "Fail", "Failed", implicit=True),
        ),
    )
    assert keys(dn.validate(d)) == [("stuck", None, "error")]
    only_failure = definition(
        (St("a"), St("Failed", terminal=True)), (T("a", "Fail", "Failed", implicit=True),)
    )
    dead_end, no_terminal = dn.validate(only_failure)
    assert dead_end.message.startswith("state 'a' is not terminal and has no way out")
    assert no_terminal.message == "no terminal state can be reached"


def test_a_return_to_the_previous_state_counts_as_a_way_back():
    d = definition(
        (St("a"), St("aside"), St("end", terminal=True)),
        (T("a", "look", "aside"), T("aside", "back", dn.PREVIOUS_STATE), T("a", "done", "end")),
    )
    assert dn.validate(d) == []


def test_python_guards_overlap_when_they_are_the_same():
    def busy(context, data):
        return True

    def idle(context, data):
        return False

    d = definition(
        (St("a"), St("b", terminal=True), St("c", terminal=True)),
        (
            T("a", "go", "b", guard=busy),
            T("a", "go", "c", guard=busy),
            T("a", "try", "b", guard=busy),
            T("a", "try", "c", guard=idle),
            T("a", "x", "b", guard=parse_guard("data.n > 1")),
            T("a", "x", "c", guard=busy),
        ),
    )
    [problem] = dn.validate(d)
    assert (problem.state, problem.event) == ("a", "go")
    assert "'busy' (to 'b') and 'busy' (to 'c') can both be true" in problem.message


class Band:
    """A guard ``low <= context.n < high`` that tells whether it overlaps another band."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, context, data, /) -> bool:
        return bool(self.low <= context.get("n", 0) < self.high)

    def may_overlap(self, other: object) -> bool | None:
        if not isinstance(other, Band):
            return None
        return self.low < other.high and other.low < self.high


def test_validate_asks_a_comparable_guard_whether_it_overlaps_another():
    assert isinstance(Band(0, 1), ComparableGuard)
    d = definition(
        (St("a"), St("b", terminal=True), St("c", terminal=True)),
        (
            T("a", "go", "b", guard=Band(0, 5), guard_label="low"),
            T("a", "go", "c", guard=Band(3, 9), guard_label="high"),
            T("a", "stop", "b", guard=Band(0, 5), guard_label="low"),
            T("a", "stop", "c", guard=Band(5, 9), guard_label="high"),
        ),
    )
    [problem] = dn.validate(d)
    assert (problem.state, problem.event) == ("a", "go")
    assert "'low' (to 'b') and 'high' (to 'c') can both be true" in problem.message


@pytest.mark.parametrize(
    ("retry", "key", "text"),
    [
        (dn.RetryPolicy(max_attempts=0), "retry.max_attempts", "must be >= 1, got 0"),
        (dn.RetryPolicy(max_attempts=True), "retry.max_attempts", "must be an int, got True"),
        (dn.RetryPolicy(backoff="linear"), "retry.backoff", "got 'linear'"),  # type: ignore[arg-type]
        (dn.RetryPolicy(initial=timedelta(0)), "retry.initial", "must be a positive duration"),
        (dn.RetryPolicy(max=timedelta(-1)), "retry.max", "must be a positive duration"),
        (
            dn.RetryPolicy(initial=timedelta(minutes=2), max=timedelta(minutes=1)),
            "retry.max",
            "0:01:00 is shorter than initial 0:02:00",
        ),
        (dn.RetryPolicy(jitter=1.5), "retry.jitter", "must be a number from 0 to 1, got 1.5"),
        (dn.RetryPolicy(jitter=False), "retry.jitter", "must be a number from 0 to 1"),
    ],
)
def test_validate_checks_retry_policy_values(retry, key, text):
    d = definition(
        (St("a", retry=retry), St("end", terminal=True), St("Failed", terminal=True)),
        (T("a", "done", "end"), T("a", "Fail", "Failed"), T("Failed", "Retry", "a")),
    )
    [problem] = dn.validate(d)
    assert (problem.state, problem.key) == ("a", key)
    assert text in problem.message


@pytest.mark.parametrize("timeout", [timedelta(0), timedelta(seconds=-1)])
def test_validate_checks_timeouts_are_positive(timeout):
    d = definition(
        (St("a", timeout=timeout), St("end", terminal=True)),
        (T("a", "done", "end"), T("a", "Timeout", "end")),
    )
    [problem] = dn.validate(d)
    assert (problem.state, problem.key) == ("a", "timeout")
    assert "must be a positive duration" in problem.message
