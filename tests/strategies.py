"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

import descartes_nb as dn

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
