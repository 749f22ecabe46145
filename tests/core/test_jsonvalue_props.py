"""Properties of JSON values: any value round-trips exactly or is refused, and stays read-only."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._jsonvalue import is_same, to_json_value

from ..strategies import any_values, json_values
from .test_machine_values import containers


@given(value=any_values)
def test_any_value_round_trips_exactly_or_is_refused(value):
    try:
        sm = dn.WorkflowStateMachine("prop", context={"v": value})
    except dn.SerializationError:
        return
    text = sm.serialize().to_json()
    back = dn.SerializedWorkflow.from_json(text).context
    assert is_same(back, sm.context)
    assert json.loads(text)["context"] == sm.context


@given(value=json_values)
def test_event_data_is_kept_exactly_and_read_only(value):
    event = dn.WorkflowEvent.custom("note", value)
    assert event.data == value
    for target in containers(event.data):
        with pytest.raises(TypeError, match="read-only"):
            target.clear()
    assert event.data == value


@given(value=st.floats() | st.integers())
def test_number_limits_match_what_json_reads_back(value):
    try:
        checked = to_json_value(value, "v")
    except dn.SerializationError:
        assert not math.isfinite(value) if isinstance(value, float) else len(str(abs(value))) > 640
        return
    assert is_same(json.loads(json.dumps(checked)), checked)
