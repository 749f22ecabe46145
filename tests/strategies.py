"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._jsonvalue import MAX_INT_DIGITS, MAX_NESTING

LIFECYCLE_EVENTS = ["Start", "Pause", "Resume", "Complete", "Fail", "Timeout", "Retry"]

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
context_keys = st.sampled_from(["step", "owner", "items", "ünï"])


@st.composite
def lifecycle_events(draw) -> dn.WorkflowEvent:
    """Any event a user might send a lifecycle workflow, valid now or not."""
    kind = draw(st.sampled_from(["plain", "fail", "custom", "rollback", "unknown"]))
    if kind == "fail":
        return dn.WorkflowEvent.fail(draw(st.text(max_size=10)))
    if kind == "custom":
        name = draw(st.sampled_from(["note", "Start", "Complete"]))
        return dn.WorkflowEvent.custom(name, draw(json_values))
    if kind == "rollback":
        return dn.WorkflowEvent.ROLLBACK
    if kind == "unknown":
        return dn.WorkflowEvent(draw(st.sampled_from(["Strat", "stop", ""])))
    return dn.WorkflowEvent(draw(st.sampled_from(LIFECYCLE_EVENTS)))


def nested(levels: int) -> list[object]:
    """A list nested ``levels`` deep: [[[...]]]."""
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def holding_itself() -> list[object]:
    """A list that contains itself."""
    value: list[object] = []
    value.append(value)
    return value


# Any value a user might try to put in a context: JSON or not, deep, long or odd.
any_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(MAX_INT_DIGITS - 2, 5000).map(lambda digits: -(10**digits))
    | st.floats()
    | st.text(max_size=4)
    | st.binary(max_size=2)
    | st.sets(st.integers(), max_size=2)
    | st.integers(MAX_NESTING - 3, 3000).map(nested)
    | st.builds(holding_itself)
    | st.builds(object),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)


# -- statecharts ------------------------------------------------------------------------------

CHART_EVENTS = ["a", "b", "go.left", "Fail", "Timeout", "*", "done.state.S0", ""]
RAISED_EVENTS = ["a", "b", "go.left", "note"]
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_DURATIONS = st.builds(
    lambda s, ms: timedelta(seconds=s, milliseconds=ms), st.integers(0, 7200), st.integers(1, 999)
)


def _tree(draw, size: int) -> list[int | None]:
    """Parent indexes of ``size`` nodes, numbered in document (pre-)order."""
    parents: list[int | None] = [None]
    for i in range(1, size):
        # the parent of node i is one of the nodes on the path from the root to node i - 1
        path = [i - 1]
        while (up := parents[path[-1]]) is not None:
            path.append(up)
        parents.append(draw(st.sampled_from([None, *path])))
    return parents


@st.composite
def statecharts(draw, max_states: int = 9) -> dn.WorkflowDefinition:
    """Valid statecharts without guards: compound, parallel, final and history states, and
    every transition form (eventless, targetless, several targets, internal, raising).

    States come in document order (each after its parent), as SCXML and Swarm.toml read them.
    """
    size = draw(st.integers(1, max_states))
    parents = _tree(draw, size)
    prefix = draw(st.sampled_from(["S", "état", "_s"]))
    names = [f"{prefix}{i}" for i in range(size)]
    children = {i: [j for j in range(size) if parents[j] == i] for i in range(size)}
    kinds = _kinds(draw, parents, children)
    states = [_chart_state(draw, i, names, parents, children, kinds) for i in range(size)]
    active = [i for i in range(size) if kinds[i] not in ("final", "history")]
    sources = sorted(draw(st.lists(st.sampled_from(active), max_size=2 * size)) if active else [])
    transitions = [_chart_transition(draw, names[i], names, parents, kinds) for i in sources]
    initial = draw(st.sampled_from([i for i in range(size) if kinds[i] != "history"]))
    return dn.WorkflowDefinition(
        draw(st.sampled_from(["chart", "c-1", "ünï"])),
        states=tuple(states),
        initial_state=names[initial],
        transitions=tuple(transitions),
        description=draw(_TEXT),
    )


def _kinds(draw, parents, children) -> list[str]:
    kinds = []
    for i, parent in enumerate(parents):
        if children[i]:
            kinds.append(draw(st.sampled_from(["state", "parallel"])))
        elif parent is not None and draw(st.integers(0, 4)) == 0:
            kinds.append("history")
        elif parent is not None and kinds[parent] == "parallel":
            kinds.append("state")  # a region is never final
        else:
            kinds.append(draw(st.sampled_from(["state", "state", "final"])))
    for i in range(len(parents)):  # a state with only history children has nothing to remember
        if children[i] and all(kinds[c] == "history" for c in children[i]):
            kinds[children[i][0]] = "state"
    return kinds


def _descendants(i: int, parents) -> list[int]:
    found = []
    for j in range(i + 1, len(parents)):
        k = parents[j]
        while k is not None and k != i:
            k = parents[k]
        if k == i:
            found.append(j)
    return found


def _chart_state(draw, i, names, parents, children, kinds) -> dn.StateDef:
    kind, parent = kinds[i], parents[i]
    common = {
        "description": draw(_TEXT),
        "parent": None if parent is None else names[parent],
    }
    if kind == "history":
        below = [j for j in _descendants(parent, parents) if j != i]
        default = draw(st.sampled_from([None, *below]))
        return dn.StateDef(
            names[i],
            history=draw(st.sampled_from(["shallow", "deep"])),
            default=None if default is None else names[default],
            **common,
        )
    real = [c for c in children[i] if kinds[c] != "history"]
    initial = draw(st.sampled_from([None, *children[i]])) if kind == "state" else None
    return dn.StateDef(
        names[i],
        terminal=kind == "state" and not real and draw(st.booleans()),
        initial=None if initial is None else names[initial],
        timeout=draw(st.none() | _DURATIONS.filter(bool)),
        retry=draw(st.none() | st.builds(dn.RetryPolicy, st.integers(1, 5))),
        parallel=kind == "parallel",
        final=kind == "final",
        raise_on_entry=tuple(draw(st.lists(st.sampled_from(RAISED_EVENTS), max_size=2))),
        raise_on_exit=tuple(draw(st.lists(st.sampled_from(RAISED_EVENTS), max_size=1))),
        **common,
    )


def _chart_transition(draw, source, names, parents, kinds) -> dn.TransitionDef:
    shape = draw(st.sampled_from(["one", "one", "none", "previous", "regions"]))
    targets: list[str] = []
    if shape == "one":
        targets = [names[draw(st.integers(0, len(names) - 1))]]
    elif shape == "previous":
        targets = [dn.PREVIOUS_STATE]
    elif shape == "regions":
        targets = _region_targets(draw, names, parents, kinds)
    return dn.TransitionDef(
        source,
        draw(st.sampled_from(CHART_EVENTS)),
        targets[0] if targets else None,
        implicit=draw(st.booleans()),
        internal=draw(st.booleans()),
        more_targets=tuple(targets[1:]),
        raises=tuple(draw(st.lists(st.sampled_from(RAISED_EVENTS), max_size=2))),
    )


def _region_targets(draw, names, parents, kinds) -> list[str]:
    """One state in each of two regions of a parallel state, if the chart has one."""
    regions_of = {
        i: [c for c in range(len(parents)) if parents[c] == i and kinds[c] != "history"]
        for i, kind in enumerate(kinds)
        if kind == "parallel"
    }
    choices = [i for i, regions in regions_of.items() if len(regions) >= 2]
    if not choices:
        return []
    first, second = draw(st.permutations(regions_of[draw(st.sampled_from(choices))]))[:2]
    picked = []
    for region in (first, second):
        inside = [region, *_descendants(region, parents)]
        picked.append(names[draw(st.sampled_from([j for j in inside if kinds[j] != "history"]))])
    return picked
