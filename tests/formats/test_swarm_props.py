"""Swarm.toml properties: any document fails only with DefinitionError; valid ones round-trip."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.formats.swarm._load import check_definitions

FIXTURES = Path(__file__).parent.parent / "fixtures"
SOURCES = [
    *sorted(FIXTURES.glob("*.toml")),
    *sorted((FIXTURES.parent.parent / "notebooks" / "workflows").glob("*.toml")),
]
GUARDS = {
    "is_approved": lambda context, data: True,
    "is_big": lambda context, data: True,
    "approved_by_bot": lambda context, data: True,
}


def toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return (
        '"'
        + "".join(
            escapes.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
            for c in text
        )
        + '"'
    )


def toml_value(value: object) -> str:
    """TOML for a Python value; tables are written inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{ " + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_document(document: dict[str, object]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in document.items())


# -- any document ---------------------------------------------------------------------------

KEYS = [
    "workflow", "initial_state", "description", "states", "terminal", "timeout", "retry",
    "next_on_success", "next_on_failure", "on", "parent", "initial", "uniform_failure",
    "max_attempts", "backoff", "jitter", "max", "target", "guard", "A", "B", "Failed",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(["A", "B", "Failed", "30m", "0s", "@previous", "exponential", "x >= 1"]),
    st.sampled_from(["context.n >= 1", "data.ok", "2 ** 99", "1/0", "context.__class__"]),
    st.text(max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(
    st.sampled_from(KEYS),
    VALUES,
    max_size=3,
) | st.builds(
    lambda workflows: {"workflow": workflows},
    st.dictionaries(st.sampled_from(["a", "b", ""]), VALUES, max_size=2),
)


def load_or_definition_error(text: str) -> None:
    try:
        definitions, problems = check_definitions(text, guards=GUARDS)
    except dn.DefinitionError as exc:
        problems = list(exc.problems)
        definitions = {}
    lines = text.count("\n") + 1
    for p in problems:
        assert p.line is None or 1 <= p.line <= lines
        assert p.message[0].islower()
        assert not p.message.endswith(".")
    for definition in definitions.values():
        assert isinstance(definition, dn.WorkflowDefinition)


@given(DOCUMENTS)
def test_random_documents_fail_only_with_definition_error(document):
    load_or_definition_error(toml_document(document))


@given(st.text(max_size=200))
def test_random_text_fails_only_with_definition_error(text):
    load_or_definition_error(text)


# -- mutations of valid documents -----------------------------------------------------------

JUNK = st.sampled_from(
    ['"', "'", "[", "]", "{", "}", "=", "\n", "#", ".", ",", '"""', "0", "true", "-", "x", "é"]
)


@st.composite
def mutated(draw):
    path = draw(st.sampled_from(SOURCES))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "junk", "retype"]))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "junk":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(JUNK) + lines[i][at:]
        elif "=" in lines[i]:  # give the key another value of any type
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {toml_value(draw(VALUES))}\n"
    return "".join(lines)


@given(mutated())
def test_mutated_valid_documents_fail_only_with_definition_error(text):
    load_or_definition_error(text)


# -- round trip -----------------------------------------------------------------------------

NAMES = st.text(st.characters(codec="utf-8", exclude_characters="@"), min_size=1, max_size=6)
DESCRIPTIONS = st.text(max_size=12)
DURATIONS = st.sampled_from(["1s", "30m", "1h30m", "250ms", "2d", "1.5s", "3us"])
RETRIES = st.fixed_dictionaries(
    {},
    optional={
        "max_attempts": st.integers(1, 10),
        "backoff": st.sampled_from(["exponential", "fixed"]),
        "initial": st.sampled_from(["1s", "2s"]),
        "max": st.sampled_from(["1m", "5m"]),
        "jitter": st.floats(0, 1),
    },
)


def draw_events(draw, names):
    """An ``on`` table whose guarded alternatives exclude each other, ending in a default."""
    on = {}
    for event in draw(st.lists(NAMES, max_size=3, unique=True)):
        if event in ("success", "Rollback"):
            continue
        targets = [draw(st.sampled_from(names)) for _ in range(draw(st.integers(1, 3)))]
        on[event] = [
            {"target": t, "guard": f"context.n == {k}"} for k, t in enumerate(targets[:-1])
        ] + [targets[-1]]
        if draw(st.booleans()):
            on[event][-1] = {"target": targets[-1], "type": draw(st.sampled_from(TYPES))}
    return on


TYPES = ["internal", "external"]


def draw_fork(draw, states, name, after, spare):
    """Make ``name`` a parallel state of two regions (each: a busy state, then a final one),
    done into ``after``; a region may get a history state that ``name`` targets."""
    states[name]["parallel"] = True
    states[name]["on_done"] = states[name].pop("next_on_success", after)
    for region, busy, final, history in (spare[0:4], spare[4:8]):
        states[region] = {"parent": name}
        states[busy] = {"parent": region, "next_on_success": final}
        states[final] = {"parent": region, "final": True}
        if draw(st.booleans()):
            states[history] = {
                "parent": region,
                "history": draw(st.sampled_from(["shallow", "deep"])),
            }
            if draw(st.booleans()):
                states[history]["default"] = final
            states[busy].setdefault("on", {})["back"] = history


@st.composite
def valid_documents(draw):
    """A chain of states (so all are reachable and can finish) with extra transitions."""
    names = draw(st.lists(NAMES, min_size=2, max_size=6, unique=True))
    states = {}
    for i, name in enumerate(names):
        state: dict[str, object] = {}
        if draw(st.booleans()):
            state["description"] = draw(DESCRIPTIONS)
        if i == len(names) - 1:
            state["terminal"] = True
            states[name] = state
            continue
        state["next_on_success"] = names[i + 1]
        if draw(st.booleans()):
            state["timeout"] = draw(DURATIONS)
        if draw(st.booleans()):
            state["retry"] = draw(RETRIES)
        on = draw_events(draw, names)
        if on:
            state["on"] = on
        states[name] = state
    spare = [f"{names[0]}_{k}" for k in range(8)]
    fork = draw(st.integers(-1, len(names) - 2))
    if fork >= 0 and not set(spare) & set(names):
        draw_fork(draw, states, names[fork], names[fork + 1], spare)
    workflow = {"initial_state": names[0], "states": states}
    if draw(st.booleans()):
        workflow["description"] = draw(DESCRIPTIONS)
    if draw(st.booleans()):
        workflow["uniform_failure"] = draw(st.booleans())
    return {"workflow": {draw(NAMES): workflow}}


@given(valid_documents())
def test_valid_definitions_round_trip_through_to_toml(document):
    definitions, problems = check_definitions(toml_document(document), strict=False)
    assume(definitions)
    text = dn.to_toml(definitions)
    again, problems_again = check_definitions(text, strict=False)
    assert again == definitions
    for name, definition in definitions.items():
        for state in definition.states:
            assert again[name].state(state.name) == state
        assert [t.guard_label for t in again[name].transitions] == [
            t.guard_label for t in definition.transitions
        ]
    assert [p.message for p in problems_again] == [p.message for p in problems]


@given(valid_documents())
def test_generated_documents_are_mostly_valid(document):
    definitions, problems = check_definitions(toml_document(document), strict=False)
    assert all(p.severity == "warning" for p in problems) == bool(definitions)
    assert all(
        math.isfinite(s.retry.jitter) for d in definitions.values() for s in d.states if s.retry
    )
