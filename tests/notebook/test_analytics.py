"""Analytics on small hand-made histories, against hand-computed results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb
from descartes_nb.notebook._frames import frame_from_columns

from ..conftest import START

S = pd.Timedelta(seconds=1)


@pytest.fixture
async def two_runs() -> pd.DataFrame:
    """wf-1: 10 s Idle, 60 s Running, 30 s Paused, 20 s Running, Completed.
    wf-2: 5 s Idle, 40 s Running, 15 s Failed, 25 s Running, Completed."""
    plans = {
        "wf-1": [(10, E.START), (60, E.PAUSE), (30, E.RESUME), (20, E.COMPLETE)],
        "wf-2": [(5, E.START), (40, E.fail("x")), (15, E.RETRY), (25, E.COMPLETE)],
    }
    machines = []
    for workflow_id, plan in plans.items():
        clock = dn.ManualClock(START)
        sm = dn.WorkflowStateMachine(workflow_id, clock=clock)
        for seconds, event in plan:
            await clock.advance(timedelta(seconds=seconds))
            await sm.process_event(event)
        machines.append(sm)
    return dnb.history_frame(machines)


def planted(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A history frame from ``(workflow_id, seq, from_state, event, to_state, data)`` rows,
    one second apart, as a tampered store or a buggy exporter might hold."""
    columns = {
        "workflow_id": [r[0] for r in rows],
        "seq": [r[1] for r in rows],
        "from_state": [r[2] for r in rows],
        "event": [r[3] for r in rows],
        "to_state": [r[4] for r in rows],
        "event_data": [r[5] for r in rows],
        "timestamp": [START + timedelta(seconds=i + 1) for i in range(len(rows))],
        "duration": [timedelta(seconds=1)] * len(rows),
        "context": [{}] * len(rows),
    }
    return frame_from_columns(columns, states=dn.LIFECYCLE.state_names)


def test_time_in_state_sums_durations_per_workflow_and_state(two_runs):
    table = dnb.time_in_state(two_runs)
    assert table.index.tolist() == ["wf-1", "wf-2"]
    assert table.columns.tolist() == ["Idle", "Running", "Paused", "Completed", "Failed"]
    assert table.columns.name == "state"
    assert table.apply(lambda column: column / S).to_dict("index") == {
        "wf-1": {"Idle": 10, "Running": 80, "Paused": 30, "Completed": 0, "Failed": 0},
        "wf-2": {"Idle": 5, "Running": 65, "Paused": 0, "Completed": 0, "Failed": 15},
    }
    assert str(table.dtypes.iloc[0]) == "timedelta64[us]"


def test_transition_counts_most_frequent_first(two_runs):
    counts = dnb.transition_counts(two_runs)
    assert list(counts.columns) == ["from_state", "event", "to_state", "count"]
    assert counts.values.tolist() == [
        ["Idle", "Start", "Running", 2],
        ["Running", "Complete", "Completed", 2],
        ["Running", "Pause", "Paused", 1],
        ["Paused", "Resume", "Running", 1],
        ["Running", "Fail", "Failed", 1],
        ["Failed", "Retry", "Running", 1],
    ]


def test_workflow_durations_from_creation_to_last_event(two_runs):
    table = dnb.workflow_durations(two_runs)
    assert table.to_dict("index") == {
        "wf-1": {
            "started": pd.Timestamp(START),
            "ended": pd.Timestamp(START + timedelta(seconds=120)),
            "duration": 120 * S,
            "transitions": 4,
            "final_state": "Completed",
        },
        "wf-2": {
            "started": pd.Timestamp(START),
            "ended": pd.Timestamp(START + timedelta(seconds=85)),
            "duration": 85 * S,
            "transitions": 4,
            "final_state": "Completed",
        },
    }


def test_workflow_durations_of_rows_out_of_order(two_runs):
    shuffled = two_runs.iloc[::-1]
    pd.testing.assert_frame_equal(
        dnb.workflow_durations(shuffled).sort_index(), dnb.workflow_durations(two_runs)
    )


def test_overlay_paints_counts_mean_times_and_muted_untaken_transitions(two_runs):
    g = dnb.overlay(dn.LIFECYCLE, two_runs)
    source = g.source
    assert 'label="lifecycle: 2 workflows, 8 history entries"' in source
    assert 's1 [label="Running\\nmean 36.2s"' in source  # 145 s over 4 visits
    assert 's0 [label="Idle\\nmean 7.5s"' in source
    assert 's4 [label="Failed\\nmean 15.0s"' in source
    assert "s3 [label=Completed " in source  # never left: no mean
    # the busiest edge is drawn heaviest (1.2 + 3), the others relative to it
    assert 'label="Start ×2" penwidth=4.20' in source
    assert 'label="Fail ×1\\nTimeout" penwidth=2.70' in source  # Fail taken once of two
    [untaken] = [line for line in source.splitlines() if 'label="Fail\\nTimeout"' in line]
    assert untaken.strip().startswith("s2 -> s4 ")  # Paused --Fail, Timeout--> Failed
    assert 'color="#b0bec5"' in untaken
    assert "#c62828" not in source  # everything recorded is allowed


def test_overlay_draws_moves_the_definition_does_not_allow_in_red(two_runs):
    bad = planted([("wf-9", 1, "Completed", "Resume", "Running", None)])
    g = dnb.overlay(dn.LIFECYCLE, pd.concat([two_runs, bad], ignore_index=True))
    [red] = [line for line in g.source.splitlines() if 'color="#c62828"' in line]
    assert red.strip().startswith('s3 -> s1 [label="Resume ×1"')
    assert "style=bold" in red


def test_overlay_draws_unknown_states_as_red_nodes():
    g = dnb.overlay(dn.LIFECYCLE, planted([("w", 1, "Idle", "Start", "Sleeping", None)]))
    assert 'u0 [label=Sleeping color="#c62828"' in g.source
    assert 's0 -> u0 [label="Start ×1"' in g.source


def test_conformance_of_a_clean_history_is_empty(two_runs):
    found = dnb.conformance(two_runs, dn.LIFECYCLE)
    assert len(found) == 0
    assert list(found.columns) == [*dnb.HISTORY_COLUMNS, "reason"]


def test_conformance_catches_planted_records():
    frame = planted(
        [
            ("a", 1, "Idle", "Start", "Running", None),
            ("a", 2, "Running", "Complete", "Completed", None),
            ("a", 3, "Completed", "Resume", "Running", None),  # leaves a terminal state
            ("b", 1, "Idle", "Complete", "Completed", None),  # skips Running
            ("b", 2, "Paused", "Resume", "Running", None),  # starts where b was not
            ("c", 1, "Idle", "Start", "Sleeping", None),  # no such state
            ("d", 1, "Idle", "Start", "Running", None),
            ("d", 2, "Running", "Pause", "Failed", None),  # wrong target
            ("e", 1, "Idle", "Start", "Running", None),
            ("e", 2, "Running", "Pause", "Paused", None),
            ("e", 3, "Paused", "Rollback", "Idle", {"undone_seq": 2}),  # undoes to the wrong place
            ("e", 4, "Idle", "Rollback", "Idle", {"undone_seq": 1}),  # right: seq 1 began in Idle
        ]
    )
    found = dnb.conformance(frame, dn.LIFECYCLE)
    assert found.index.tolist() == [2, 3, 4, 5, 7, 10]
    assert found["reason"].tolist() == [
        "'Completed' is terminal: no 'Resume' leaves it",
        "no transition 'Complete' from 'Idle' in 'lifecycle'",
        "starts in 'Paused', but seq 1 ended in 'Completed'",
        "'Sleeping' is not an atomic state of 'lifecycle'",
        "'Pause' from 'Running' goes to ['Paused'], not 'Failed'",
        "Rollback of seq 2 returns to 'Idle', not 'Running'",
    ]
    assert str(found["reason"].dtype) == "str"
    pd.testing.assert_frame_equal(found.drop(columns="reason"), frame.loc[found.index])


def test_conformance_joins_several_reasons_for_one_row():
    frame = planted(
        [
            ("a", 1, "Idle", "Start", "Running", None),
            ("a", 2, "Idle", "Complete", "Completed", None),
        ]
    )
    [reason] = dnb.conformance(frame, dn.LIFECYCLE)["reason"]
    assert reason == (
        "no transition 'Complete' from 'Idle' in 'lifecycle'; "
        "starts in 'Idle', but seq 1 ended in 'Running'"
    )


def test_conformance_follows_compound_states(order_definition):
    frame = planted(
        [
            ("o", 1, "New", "accept", "Picking", None),
            ("o", 2, "Picking", "cancel", "Cancelled", None),  # Active's transition
            ("p", 1, "New", "accept", "Active", None),  # a compound state is never current
        ]
    )
    found = dnb.conformance(frame, order_definition)
    assert found["reason"].tolist() == ["'Active' is not an atomic state of 'order'"]


def test_to_pm4py_uses_pm4pys_names_and_types(two_runs):
    log = dnb.to_pm4py(two_runs.iloc[::-1])
    assert list(log.columns) == [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "from_state",
        "to_state",
        "seq",
    ]
    assert {name: str(dtype) for name, dtype in log.dtypes.items()} == {
        "case:concept:name": "str",
        "concept:name": "str",
        "time:timestamp": "datetime64[us, UTC]",
        "from_state": "str",
        "to_state": "str",
        "seq": "int64",
    }
    assert log["case:concept:name"].tolist() == ["wf-1"] * 4 + ["wf-2"] * 4
    assert log["concept:name"].tolist()[:4] == ["Start", "Pause", "Resume", "Complete"]
    assert log["time:timestamp"].is_monotonic_increasing is False  # per case, not overall
    assert log["time:timestamp"][:4].is_monotonic_increasing


def test_analytics_leave_the_frame_unchanged(two_runs):
    before = two_runs.copy(deep=True)
    dnb.time_in_state(two_runs)
    dnb.transition_counts(two_runs)
    dnb.workflow_durations(two_runs)
    dnb.overlay(dn.LIFECYCLE, two_runs)
    dnb.conformance(two_runs, dn.LIFECYCLE)
    dnb.to_pm4py(two_runs)
    pd.testing.assert_frame_equal(two_runs, before)


@pytest.mark.parametrize(
    "function",
    [
        dnb.time_in_state,
        dnb.transition_counts,
        dnb.workflow_durations,
        dnb.to_pm4py,
        lambda frame: dnb.conformance(frame, dn.LIFECYCLE),
        lambda frame: dnb.overlay(dn.LIFECYCLE, frame),
    ],
)
def test_analytics_refuse_what_is_not_a_history_frame(function):
    with pytest.raises(ValueError, match=r"not a history frame: columns \[.*\] are missing"):
        function(pd.DataFrame({"workflow": ["a"]}))
    with pytest.raises(TypeError, match="expected a history frame"):
        function({"workflow_id": ["a"]})
