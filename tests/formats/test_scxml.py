"""SCXML in and out: each element read, everything refused with its line, round trips."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._validate_chart import chart_problems
from descartes_nb.formats.scxml._load import check_scxml

from ..strategies import statecharts

FIXTURES = Path(__file__).parent.parent / "fixtures" / "scxml"
WORKFLOWS = Path(__file__).parent.parent.parent / "notebooks" / "workflows"
BAD = sorted(FIXTURES.glob("bad_*.scxml"))
_MARK = re.compile(r"<!-- error: (.*?) -->")
HEAD = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">'


def scxml(body: str, head: str = HEAD) -> str:
    return f"{head}\n{body}\n</scxml>\n"


@pytest.fixture(scope="module")
def every() -> dn.WorkflowDefinition:
    return dn.load_scxml(FIXTURES / "valid_every_element.scxml")


def transitions(d, source):
    return [(t.event, t.targets) for t in d.transitions if t.source == source]


# -- reading ----------------------------------------------------------------------------------


def test_scxml_name_and_initial(every):
    assert (every.name, every.initial_state) == ("every", "Idle")


def test_scxml_kinds_of_states(every):
    assert every.state("Work").parallel
    assert every.children("Work") == ("Left", "Right", "WorkHistory")
    assert every.state("LDone").final
    assert not every.is_terminal("LDone")
    assert every.is_terminal("Done")  # a <final> at the top
    assert (every.state("RHistory").history, every.state("RHistory").default) == ("deep", "R2")
    assert (every.state("WorkHistory").history, every.state("WorkHistory").default) == (
        "shallow",
        None,
    )


def test_scxml_initial_attribute_and_element(every):
    assert every.state("Right").initial == "R1"
    assert every.state("Left").initial == "L2"  # <initial><transition target="L2"/>


def test_scxml_event_descriptors_are_one_transition_each_in_document_order(every):
    assert transitions(every, "Idle") == [
        ("start", ("Work",)),
        ("go.now", ("Work",)),
        ("error", ("Done",)),  # error.* reads as error: the same descriptor
    ]


def test_scxml_eventless_targetless_several_targets_internal(every):
    assert transitions(every, "R1") == [("", ("R2",))]
    assert transitions(every, "R2")[0] == ("poke", ())
    assert ("jump", ("L1", "RHistory")) in transitions(every, "Paused")
    internal = [t for t in every.transitions if t.internal]
    assert [(t.source, t.event) for t in internal] == [("L2", "next")]


def test_scxml_raise_in_onentry_onexit_and_transitions(every):
    assert every.state("Work").raise_on_entry == ("began",)
    assert every.state("Work").raise_on_exit == ("ended", "tidy")
    [finish] = [t for t in every.transitions if (t.source, t.event) == ("L2", "finish")]
    assert finish.raises == ("left.done",)


def test_scxml_states_without_id_get_generated_ids(every):
    # counting state elements in document order: Paused's child is the 14th, its child 15th
    assert every.children("Paused") == ("_state14",)
    assert every.children("_state14") == ("_final15",)


def test_scxml_generated_ids_skip_the_ids_in_use():
    d = dn.load_scxml(scxml('<state id="_state2"><state/></state>'))
    assert d.state_names == ("_state2", "__state2")


def test_scxml_other_namespaces_are_ignored(every):
    assert dn.validate(every) == []


def test_scxml_name_from_the_file_when_the_document_has_none(tmp_path):
    path = tmp_path / "door.scxml"
    path.write_text(scxml('<state id="Closed"/>'), encoding="utf-8")
    assert dn.load_scxml(path).name == "door"
    assert dn.load_scxml(str(path)).name == "door"
    assert dn.load_scxml(scxml('<state id="Closed"/>')).name == "scxml"


def test_scxml_without_initial_starts_in_the_first_state():
    assert dn.load_scxml(scxml('<state id="A"/><state id="B"/>')).initial_state == "A"


# -- refusing ---------------------------------------------------------------------------------


def announced(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, m) for n, line in enumerate(lines, 1) for m in _MARK.findall(line)]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_load_scxml_reports_every_problem_at_its_line(path):
    expected = announced(path)
    assert expected
    with pytest.raises(dn.DefinitionError) as info:
        dn.load_scxml(path)
    left = list(info.value.problems)
    for line, text in expected:
        hit = next((p for p in left if p.line == line and text in p.message), None)
        assert hit is not None, f"line {line}: {text!r} not in {[str(p) for p in left]}"
        left.remove(hit)
    assert left == []
    assert info.value.source == str(path)
    assert info.value.line == info.value.problems[0].line


@pytest.mark.parametrize(
    "element",
    [
        "<datamodel/>",
        '<data id="x"/>',
        '<assign location="x" expr="1"/>',
        "<script/>",
        '<send event="x"/>',
        '<cancel sendid="x"/>',
        "<invoke/>",
        '<log label="x"/>',
        '<if cond="true"/>',
        '<foreach array="a" item="i"/>',
    ],
)
def test_load_scxml_refuses_what_needs_a_datamodel_with_line_and_element(element):
    text = scxml(f'<state id="A">\n<onentry>\n{element}\n</onentry>\n</state>')
    with pytest.raises(dn.DefinitionError) as info:
        dn.load_scxml(text)
    tag = element[1:].split()[0].rstrip("/>")
    assert info.value.line == 4
    assert f"<{tag}>: needs a datamodel" in str(info.value)
    assert str(info.value).startswith("1 problem in '<text>':\n<text>:4: ")


@pytest.mark.parametrize("attribute", ['cond="x"', 'expr="1"', 'eventexpr="e"', 'targetexpr="t"'])
def test_load_scxml_refuses_datamodel_attributes(attribute):
    text = scxml(f'<state id="A">\n<transition event="go" {attribute}/>\n</state>')
    with pytest.raises(dn.DefinitionError, match=r"<text>:3: .*needs a datamodel") as info:
        dn.load_scxml(text)
    assert info.value.key == attribute.split("=")[0]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(scxml('<state id="A">\n<state>\n</scxml>'), 4, "mismatched tag", id="tag"),
        pytest.param(HEAD + '\n<state id="A"/>\n', 3, "no element found", id="unclosed"),
        pytest.param("", 1, "no element found", id="empty"),
        pytest.param(scxml('<state id="A" id="B"/>'), 2, "duplicate attribute", id="attr"),
        pytest.param(scxml('<raise event="&nope;"/>'), 2, "undefined entity", id="entity"),
    ],
)
def test_load_scxml_malformed_xml_names_the_line(text, line, words):
    with pytest.raises(dn.DefinitionError, match=f"not well-formed XML: {words}") as info:
        dn.load_scxml(text)
    assert info.value.line == line


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE scxml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="&lol3;"/></scxml>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE scxml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"><state id="&secret;"/></scxml>
"""
PLAIN_DOCTYPE = '<?xml version="1.0"?>\n<!DOCTYPE scxml>\n' + scxml('<state id="A"/>')


@pytest.mark.parametrize("text", [LAUGHS, EXTERNAL, PLAIN_DOCTYPE], ids=["laughs", "xxe", "plain"])
def test_load_scxml_refuses_any_doctype(text):
    with pytest.raises(dn.DefinitionError, match="a DOCTYPE declaration is not allowed") as info:
        dn.load_scxml(text)
    assert info.value.line == 2


def test_load_scxml_refuses_a_root_that_is_not_scxml():
    with pytest.raises(dn.DefinitionError, match="the root element must be <scxml>"):
        dn.load_scxml('<scxml xmlns="urn:other"><state id="A"/></scxml>')


def test_load_scxml_refuses_a_document_without_states():
    with pytest.raises(dn.DefinitionError, match="needs at least one <state>"):
        dn.load_scxml(scxml(""))


def test_load_scxml_refuses_duplicate_ids_and_text():
    with pytest.raises(dn.DefinitionError, match="state 'A' is defined 2 times"):
        dn.load_scxml(scxml('<state id="A"/><state id="A"/>'))
    with pytest.raises(dn.DefinitionError, match="text is not allowed here, got 'hello'"):
        dn.load_scxml(scxml('<state id="A">hello</state>'))


def test_load_scxml_cannot_read_a_missing_file(tmp_path):
    with pytest.raises(dn.DefinitionError, match="cannot read") as info:
        dn.load_scxml(tmp_path / "missing.scxml")
    assert info.value.source == str(tmp_path / "missing.scxml")
    with pytest.raises(TypeError):
        dn.load_scxml(b"<scxml/>")  # type: ignore[arg-type]


def test_check_scxml_adds_validate_problems_with_their_lines():
    text = scxml('<state id="A"/>\n<state id="B"/>\n<final id="C"/>')
    definition, problems = check_scxml(text)
    assert definition is None
    assert [(p.line, p.state) for p in problems] == [(1, None), (2, "A"), (3, "B"), (4, "C")]
    assert problems[0].message == "no terminal state can be reached"
    fine = scxml('<state id="A">\n<transition event="go" target="C"/>\n</state>\n'
                 '<state id="B"/>\n<final id="C"/>')  # fmt: skip
    assert check_scxml(fine)[0] is None
    definition, problems = check_scxml(fine, strict=False)
    assert definition is not None
    assert [(p.line, p.severity) for p in problems] == [(5, "warning")]
    assert dn.load_scxml(fine) == definition  # load_scxml leaves validate() to the caller


# -- writing ----------------------------------------------------------------------------------


def test_to_scxml_refuses_guards_clearly():
    d = dn.load_definitions(WORKFLOWS / "swarm.toml")["invoice"]
    with pytest.raises(dn.DefinitionError) as info:
        dn.to_scxml(d)
    assert "has guard 'data.amount <= 1000': SCXML writes guards as cond" in str(info.value)
    assert (info.value.workflow, info.value.state, info.value.key) == (
        "invoice",
        "Approval",
        "approve",
    )


@pytest.mark.parametrize(
    ("states", "transitions", "words"),
    [
        ((dn.StateDef("a b"),), (), "state name 'a b' is not an SCXML id"),
        ((dn.StateDef("1st"),), (), "state name '1st' is not an SCXML id"),
        ((dn.StateDef("A"),), (dn.TransitionDef("A", "x y", "A"),), "event 'x y' of state"),
        ((dn.StateDef("A"),), (dn.TransitionDef("A", "x.*", "A"),), "event 'x.*' of state"),
        ((dn.StateDef("A", raise_on_entry=("a b",)),), (), "event 'a b' of state 'A'"),
        ((dn.StateDef("A", description="\x00"),), (), "characters XML cannot carry"),
        ((dn.StateDef("A", parallel=True),), (), "a parallel state needs regions"),
    ],
)
def test_to_scxml_refuses_what_scxml_cannot_carry(states, transitions, words):
    d = dn.WorkflowDefinition(
        "w", states=states, initial_state=states[0].name, transitions=transitions
    )
    with pytest.raises(dn.DefinitionError, match=re.escape(words)):
        dn.to_scxml(d)


def test_to_scxml_writes_the_implicit_transitions_and_the_descartes_attributes():
    d = dn.load_definitions(WORKFLOWS / "swarm.toml")["deploy"]
    text = dn.to_scxml(d)
    assert 'xmlns:dn="urn:x-descartes-nb:scxml"' in text
    assert '<transition event="Fail" target="Failed" dn:implicit="true"/>' in text
    assert '<transition event="Retry" dn:target="@previous" dn:implicit="true"/>' in text
    assert '<state id="Canary" dn:timeout="15m">' in text
    assert dn.load_scxml(text) == d


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(dn.load_definitions(WORKFLOWS / "release.toml")["release"], id="release"),
        pytest.param(dn.load_definitions(WORKFLOWS / "swarm.toml")["deploy"], id="deploy"),
        pytest.param(dn.load_scxml(WORKFLOWS / "editor.scxml"), id="editor"),
        pytest.param(dn.load_scxml(FIXTURES / "valid_every_element.scxml"), id="every"),
        pytest.param(dn.LIFECYCLE, id="lifecycle"),
    ],
)
def test_to_scxml_round_trips(definition):
    again = dn.load_scxml(dn.to_scxml(definition))
    assert again == definition
    assert again.states == definition.states  # every field of every state
    assert [(t.implicit, t.internal, t.raises) for t in again.transitions] == [
        (t.implicit, t.internal, t.raises) for t in definition.transitions
    ]


@given(statecharts())
def test_generated_statecharts_are_valid_charts(chart):
    assert list(chart_problems(chart)) == []


@given(statecharts())
def test_any_statechart_round_trips_through_scxml(chart):
    text = dn.to_scxml(chart)
    again = dn.load_scxml(text)
    assert again == chart
    assert again.states == chart.states
    assert dn.to_scxml(again) == text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<state id="A" dn:timeout="soon"/>', "bad duration 'soon'"),
        ('<state id="A" dn:retry="tries=3"/>', "bad retry field 'tries=3'"),
        ('<state id="A" dn:retry="backoff=linear"/>', "unknown backoff 'linear'"),
        ('<state id="A" dn:retry="max_attempts=x"/>', "max_attempts must be a whole number"),
        ('<state id="A" dn:retry="jitter=inf"/>', "jitter must be a number from 0 to 1"),
        ('<state id="A" dn:terminal="yes"/>', "dn:terminal must be 'true' or 'false'"),
        ('<state id="A" dn:colour="red"/>', "unknown attribute dn:colour"),
        ('<state id="A"><transition dn:target="B"/></state>', "dn:target can only be"),
        ('<state id="A"><transition event="e" type="odd"/></state>', "type must be 'external'"),
        ('<state id="A"><onentry><raise/></onentry></state>', "needs one event name, got ''"),
        ('<state id="A"><initial/><state id="B"/></state>', "needs a <transition> with a target"),
        (
            '<state id="A" initial="B"><initial><transition target="B"/></initial><state id="B"/>'
            "</state>",
            "the initial child is given twice",
        ),
        (
            '<state id="A"><state id="B"/><history id="H"><transition target="B"/><transition '
            'target="B"/></history></state>',
            "holds more than one <transition>",
        ),
    ],
)
def test_load_scxml_refuses_bad_descartes_attributes_and_defaults(body, words):
    head = HEAD.replace(">", ' xmlns:dn="urn:x-descartes-nb:scxml">')
    with pytest.raises(dn.DefinitionError, match=re.escape(words)):
        dn.load_scxml(scxml(body, head))


def test_retry_text_round_trips_and_fills_defaults():
    from descartes_nb.formats.scxml._retry import format_retry, parse_retry

    policy = dn.RetryPolicy(4, "fixed", initial=dn.RetryPolicy().max, jitter=0.5)
    assert parse_retry(format_retry(policy)) == policy
    assert parse_retry("") == dn.RetryPolicy()


@settings(max_examples=60, deadline=None)
@given(statecharts(), st.lists(st.sampled_from(["a", "b", "go.left", "note", "Fail"]), max_size=8))
def test_a_statechart_exported_and_imported_behaves_identically(chart, events):
    again = dn.load_scxml(dn.to_scxml(chart))
    assert asyncio.run(_configurations(chart, events)) == asyncio.run(
        _configurations(again, events)
    )


async def _configurations(chart: dn.WorkflowDefinition, events: list[str]) -> list[object]:
    """The configuration after each event (or the refusal's class), from a fresh machine."""
    try:
        sm = dn.WorkflowStateMachine("x", chart, clock=dn.ManualClock())
    except dn.DefinitionError:
        return ["never settles"]
    seen: list[object] = [sm.configuration]
    for name in events:
        try:
            await sm.process_event(name)
            seen.append(sm.configuration)
        except dn.WorkflowError as exc:
            seen.append(type(exc).__name__)
    return seen
