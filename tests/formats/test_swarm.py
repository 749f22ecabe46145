"""Swarm.toml: every fixture loads or fails with exactly the problems its comments announce.

A malformed fixture marks each expected problem on the line it must be reported at, with a
comment ``# error: <part of the message>`` (several joined by `` | ``), or
``error@none: ...`` for a problem that belongs to no line.
"""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.core._definition import PREVIOUS_STATE
from descartes_nb.formats.swarm._load import check_definitions

FIXTURES = Path(__file__).parent.parent / "fixtures"
WORKFLOWS = Path(__file__).parent.parent.parent / "notebooks" / "workflows"
BAD = sorted(FIXTURES.glob("bad_*.toml"))
VALID = sorted(FIXTURES.glob("valid_*.toml"))
GUARDS = {
    "is_approved": lambda context, data: bool(context.get("approved")),
    "is_big": lambda context, data: True,
    "approved_by_bot": lambda context, data: data == "bot",
}
_MARK = re.compile(r"\s*#?\s*(error|warning)(@none)?: (.*)")


def expected_problems(path: Path) -> list[tuple[int | None, str, str]]:
    """(line, severity, text) for each problem a fixture's comments announce."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if "#" not in line:
            continue
        comment = line[line.index("#") :]
        for part in comment.split(" | "):
            mark = _MARK.match(part)
            if mark:
                found.append((None if mark.group(2) else number, mark.group(1), mark.group(3)))
    return found


def match(problems, expected):
    """Pair each expected problem with a reported one; return what is left on either side."""
    left = list(problems)
    missing = []
    for line, severity, text in expected:
        hit = next(
            (p for p in left if p.line == line and p.severity == severity and text in p.message),
            None,
        )
        if hit is None:
            missing.append((line, text))
        else:
            left.remove(hit)
    return missing, left


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_load_definitions_reports_every_problem_at_its_line(path):
    expected = expected_problems(path)
    assert expected, f"{path.name} announces no problem"
    with pytest.raises(dn.DefinitionError) as info:
        dn.load_definitions(path, guards=GUARDS)
    error = info.value
    missing, extra = match(error.problems, expected)
    assert not missing, f"not reported: {missing}\nreported: {[str(p) for p in error.problems]}"
    assert not extra, f"not announced: {[str(p) for p in extra]}"
    assert error.source == str(path)
    assert all(p.source == str(path) for p in error.problems)
    first = error.problems[0]
    assert (error.line, error.workflow, error.state, error.key) == (
        first.line,
        first.workflow,
        first.state,
        first.key,
    )
    for problem in error.problems:  # the message lists every problem as file:line: message
        assert str(problem) in str(error)
        if problem.line is not None:
            assert str(problem).startswith(f"{path}:{problem.line}: ")


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_load_definitions_reads_valid_fixtures(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        definitions = dn.load_definitions(path, guards=GUARDS)
    assert definitions
    for definition in definitions.values():
        assert dn.validate(definition) == []


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.toml")), ids=lambda p: p.name)
def test_notebook_workflows_load_and_validate(path):
    definitions = dn.load_definitions(path)
    assert definitions
    for definition in definitions.values():
        assert dn.validate(definition) == []


def test_swarm_toml_has_the_design_example_completed():
    d = dn.load_definitions(WORKFLOWS / "swarm.toml")["code_implementation"]
    assert set(d.state_names) >= {"Planning", "Coding", "Review", "Blocked", "Abandoned"}
    assert d.state("Coding").timeout == timedelta(minutes=30)
    assert d.state("Coding").retry == dn.RetryPolicy(3, "exponential", timedelta(seconds=1))


# -- every key, one by one ----------------------------------------------------------------


@pytest.fixture(scope="module")
def everything() -> dn.WorkflowDefinition:
    return dn.load_definitions(FIXTURES / "valid_all_keys.toml", guards=GUARDS)["everything"]


def explicit(d, source, event):
    return [t for t in d.transitions if (t.source, t.event) == (source, event)]


def test_workflow_keys_initial_state_and_description(everything):
    assert everything.initial_state == "Plan"
    assert everything.description == "uses every key"


def test_state_keys_description_terminal_parent_initial(everything):
    assert everything.state("Plan").description == "a plain state"
    assert everything.state("Done") == dn.StateDef("Done", terminal=True, description="shipped")
    assert everything.state("Draft").parent == "Work"
    assert everything.state("Work").initial == "Draft"
    assert everything.children("Work") == ("Draft", "Polish")


def test_state_key_timeout_reads_durations(everything):
    assert everything.state("Work").timeout == timedelta(hours=1, minutes=30)
    assert everything.state("Draft").timeout == timedelta(minutes=10)
    assert everything.state("Plan").timeout is None


def test_state_key_retry_reads_every_field_and_defaults(everything):
    assert everything.state("Work").retry == dn.RetryPolicy(
        max_attempts=4,
        backoff="exponential",
        initial=timedelta(milliseconds=500),
        max=timedelta(minutes=2),
        jitter=0.5,
    )
    assert everything.state("Draft").retry == dn.RetryPolicy(
        backoff="fixed", initial=timedelta(seconds=5)
    )


def test_next_on_success_and_failure_are_events_success_and_failure(everything):
    [success] = explicit(everything, "Plan", "success")
    assert success.target == "Work"
    [failure] = explicit(everything, "Plan", "failure")
    assert (failure.target, failure.guard_label) == ("Blocked", "data.recoverable == true")
    assert failure.guard({}, {"recoverable": True}) is True


def test_target_arrays_keep_their_order_and_guards(everything):
    ship = explicit(everything, "Polish", "ship")
    assert [(t.target, t.guard_label) for t in ship] == [
        ("Done", "context.approvals >= 2 and data.ci == 'green'"),
        ("Review", "approved_by_bot"),
        ("Review", None),
    ]
    assert ship[1].guard is GUARDS["approved_by_bot"]
    failure = explicit(everything, "Polish", "failure")
    assert [t.target for t in failure] == ["Draft", "Blocked"]


def test_on_table_forms_and_previous_state(everything):
    [reject] = explicit(everything, "Review", "reject")
    assert reject == dn.TransitionDef("Review", "reject", "Draft")
    [back] = explicit(everything, "Polish", "back")
    assert back.target == PREVIOUS_STATE


def test_uniform_failure_adds_implicit_fail_timeout_and_failed(everything):
    assert everything.state("Failed") == dn.StateDef(
        "Failed",
        terminal=True,
        description="failed; Retry returns to the state the failure happened in",
    )
    implicit = [(t.source, t.event, t.target) for t in everything.transitions if t.implicit]
    assert implicit == [
        # Plan's next_on_failure is guarded, so Failed is the fallback
        ("Plan", "Fail", "Blocked"),
        ("Plan", "Fail", "Failed"),
        ("Plan", "Timeout", "Blocked"),
        ("Plan", "Timeout", "Failed"),
        ("Work", "Fail", "Failed"),  # the compound state; Draft's failures bubble to it
        ("Work", "Timeout", "Failed"),
        ("Polish", "Fail", "Draft"),  # a child with next_on_failure handles its own
        ("Polish", "Fail", "Blocked"),
        ("Polish", "Timeout", "Draft"),
        ("Polish", "Timeout", "Blocked"),
        ("Review", "Fail", "Failed"),
        ("Review", "Timeout", "Failed"),
        ("Blocked", "Fail", "Failed"),
        ("Blocked", "Timeout", "Failed"),
        ("Failed", "Retry", PREVIOUS_STATE),
    ]


def test_uniform_failure_false_adds_nothing():
    d = dn.load_definitions(FIXTURES / "valid_all_keys.toml", guards=GUARDS)["explicit"]
    assert not any(t.implicit for t in d.transitions)
    assert explicit(d, "Failed", "Retry") == [dn.TransitionDef("Failed", "Retry", "A")]
    assert explicit(d, "B", "Fail") == []


def test_workflow_with_its_own_failed_state_keeps_it_and_gets_retry():
    d = dn.load_definitions(
        """
        [workflow.own]
        initial_state = "A"
        [workflow.own.states.A]
        next_on_success = "Failed"
        [workflow.own.states.Failed]
        terminal = true
        description = "mine"
        """
    )["own"]
    assert d.state_names == ("A", "Failed")
    assert d.state("Failed").description == "mine"
    assert explicit(d, "Failed", "Retry") == [
        dn.TransitionDef("Failed", "Retry", PREVIOUS_STATE, implicit=True)
    ]


async def test_loaded_workflow_runs_guards_and_uniform_failure(make_workflow):
    d = dn.load_definitions(WORKFLOWS / "swarm.toml")["code_implementation"]
    sm = make_workflow(d)
    await sm.process_event("success")
    assert sm.state == "Coding"
    with pytest.raises(dn.InvalidTransitionError, match=r"context.approvals >= 2"):
        await sm.process_event("merge")
    await sm.process_event(dn.WorkflowEvent.fail("tests are red"))
    assert sm.state == "Failed"
    entry = await sm.process_event("Retry")
    assert (entry.from_state, entry.to_state) == ("Failed", "Coding")
    await sm.set_context("approvals", 2)
    await sm.process_event("merge")
    assert sm.state == "Done"
    assert sm.is_terminal


# -- strictness, sources, named guards ----------------------------------------------------


@pytest.mark.parametrize("name", ["bad_unreachable", "bad_dead_end", "bad_trap"])
def test_strict_false_turns_shape_problems_into_warnings(name):
    path = FIXTURES / f"{name}.toml"
    expected = expected_problems(path)
    with pytest.warns(dn.DefinitionWarning) as record:
        definitions = dn.load_definitions(path, strict=False)
    assert len(definitions) == 1
    messages = [str(w.message) for w in record]
    assert len(messages) == len(expected)
    for line, _, text in expected:
        assert any(m.startswith(f"{path}:{line}: ") and text in m for m in messages)
    assert all(w.filename == __file__ for w in record)  # stacklevel=2: the caller's line
    [definition] = definitions.values()
    problems = dn.validate(definition, strict=False)
    assert {p.severity for p in problems} == {"warning"}


def test_strict_false_keeps_other_errors():
    with pytest.raises(dn.DefinitionError, match="no terminal state"):
        dn.load_definitions(FIXTURES / "bad_no_terminal.toml", strict=False)


def test_check_definitions_returns_problems_and_the_good_workflows():
    text = (FIXTURES / "bad_timeout.toml").read_text() + (
        FIXTURES / "valid_minimal.toml"
    ).read_text()
    definitions, problems = check_definitions(text)
    assert list(definitions) == ["minimal"]
    assert [p.workflow for p in problems] == ["timeouts", "manual"]
    assert all(p.source == "<text>" for p in problems)


def test_load_definitions_takes_text_a_str_path_or_a_path(tmp_path, monkeypatch):
    text = (FIXTURES / "valid_minimal.toml").read_text()
    (tmp_path / "flow.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert list(dn.load_definitions("flow.toml")) == ["minimal"]
    assert list(dn.load_definitions(tmp_path / "flow.toml")) == ["minimal"]
    assert list(dn.load_definitions(text)) == ["minimal"]


def test_load_definitions_names_the_text_source_and_unreadable_files(tmp_path):
    with pytest.raises(dn.DefinitionError) as info:
        dn.load_definitions("[workflow.x]\ninitial_state = 3\n[workflow.x.states.A]\n")
    assert str(info.value.problems[0]).startswith("<text>:2: workflow 'x', key 'initial_state'")
    with pytest.raises(dn.DefinitionError, match="cannot read") as info:
        dn.load_definitions(tmp_path / "missing.toml")
    assert info.value.source == str(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(dn.DefinitionError, match="cannot read"):
        dn.load_definitions(tmp_path / "latin1.toml")
    with pytest.raises(TypeError, match="a path or TOML text"):
        dn.load_definitions(42)  # type: ignore[arg-type]


def test_named_guards_are_called_with_context_and_data():
    text = (FIXTURES / "bad_guard_name.toml").read_text().replace("is_aproved", "is_approved")
    d = dn.load_definitions(text, guards=GUARDS)["named"]
    [go] = explicit(d, "A", "go")
    assert go.guard is GUARDS["is_approved"]
    assert go.guard_label == "is_approved"


def test_guard_names_that_are_literals_or_paths_are_expressions():
    d = dn.load_definitions(
        """
        [workflow.w]
        initial_state = "A"
        [workflow.w.states.A.on]
        a = [{ target = "End", guard = "context" }, { target = "End", guard = "false" }]
        [workflow.w.states.End]
        terminal = true
        """
    )["w"]
    guards = [t.guard for t in explicit(d, "A", "a")]
    assert [g({"x": 1}, None) for g in guards] == [True, False]
