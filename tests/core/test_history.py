"""History: the column store behind sm.history."""

from __future__ import annotations

from datetime import timedelta

import pytest

import descartes_nb as dn

from ..conftest import START


def test_columns_of_an_empty_history_are_empty():
    history = dn.History(5, START)
    columns = history.columns()
    assert set(columns) == {
        "seq",
        "from_state",
        "to_state",
        "event",
        "event_data",
        "timestamp",
        "duration",
        "context",
        "context_before",
        "exited",
        "entered",
        "configuration",
        "memory",
    }
    assert all(values == [] for values in columns.values())
    assert history.first_seq == 1
    assert list(history) == []
    assert history.tail(3) == []


async def test_columns_follow_the_ring_buffer_in_order(make_workflow, clock):
    sm = make_workflow(max_history=3)
    for event in ["Start", "Pause", "Resume", "Pause", "Resume"]:
        await clock.advance(timedelta(seconds=1))
        await sm.process_event(event)
    columns = sm.history.columns()
    assert columns["seq"] == [3, 4, 5]
    assert columns["event"] == ["Resume", "Pause", "Resume"]
    assert columns["duration"] == [timedelta(seconds=1)] * 3
    assert columns["timestamp"] == [START + timedelta(seconds=s) for s in (3, 4, 5)]
    assert [list(e) for e in sm.history] == [
        [columns[name][i] for name in dn.StateHistoryEntry._fields] for i in range(3)
    ]


def test_history_indexing_errors_and_repr():
    history = dn.History(2, START)
    with pytest.raises(IndexError, match="out of range"):
        history[0]
    assert repr(history) == "<History 0 of max 2, last seq 0>"
    with pytest.raises(ValueError, match="max_history"):
        dn.History(0, START)


async def test_columns_can_be_limited_to_some_names(make_workflow, clock):
    sm = make_workflow(max_history=2)
    for event in ["Start", "Pause", "Resume"]:
        await clock.advance(timedelta(seconds=10))
        await sm.process_event(event)
    full = sm.history.columns()
    assert sm.history.columns(["event", "duration"]) == {
        "event": full["event"],
        "duration": full["duration"],
    }
    assert full["duration"] == [timedelta(seconds=10)] * 2  # after eviction, in order
    assert sm.history.columns([]) == {}


def test_columns_refuses_unknown_names(make_workflow):
    with pytest.raises(ValueError, match=r"unknown history columns \['state'\]") as info:
        make_workflow().history.columns(["event", "state"])
    assert "'duration'" in str(info.value)
