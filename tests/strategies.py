"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

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
