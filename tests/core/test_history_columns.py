"""History.columns(): the columnar view the notebook layer builds DataFrames from."""

from __future__ import annotations

from datetime import timedelta

from ..conftest import START


def test_columns_of_an_empty_history_are_empty_lists(make_workflow):
    columns = make_workflow().history.columns()
    assert set(columns) == {
        "seq",
        "from_state",
        "to_state",
        "event",
        "event_data",
        "timestamp",
        "context",
        "context_before",
        "duration",
    }
    assert all(values == [] for values in columns.values())


async def test_columns_follow_eviction_in_order(make_workflow, clock):
    sm = make_workflow(max_history=2)
    for event in ["Start", "Pause", "Resume"]:
        await clock.advance(timedelta(seconds=10))
        await sm.process_event(event)
    columns = sm.history.columns()
    assert columns["seq"] == [2, 3]
    assert columns["event"] == ["Pause", "Resume"]
    assert columns["timestamp"] == [START + timedelta(seconds=20), START + timedelta(seconds=30)]
    assert columns["duration"] == [timedelta(seconds=10)] * 2
    assert columns == {name: [getattr(e, name) for e in sm.history] for name in columns}
