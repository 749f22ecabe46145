"""Statecharts in frames: the move columns, and time in every state (hand-computed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook._frames import frame_from_columns
from descartes_nb.notebook._moves import MoveColumns, configuration_before

from ..conftest import START

MIN = pd.Timedelta(minutes=1)

# minutes after the previous event, event
RELEASE_RUN = [
    (10, "compiled"),
    (20, "passed"),  # both regions final: done.state.Checks leaves for Review
    (5, "approve"),
    (15, "hold"),
    (60, "resume"),  # back to SecurityReview through the history state
    (7, "approve"),
]


async def run(sm: dn.WorkflowStateMachine, clock: dn.ManualClock, plan) -> None:
    for minutes, event in plan:
        await clock.advance(timedelta(minutes=minutes))
        if event == "Rollback":
            await sm.rollback()
        else:
            await sm.process_event(event)


def minutes(table: pd.DataFrame) -> dict[Any, dict[str, float]]:
    found: dict[Any, dict[str, float]] = table.apply(lambda c: c / MIN).to_dict("index")
    return found


async def test_history_frame_moves_of_a_statechart_are_its_entries(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition)
    await run(sm, clock, RELEASE_RUN[:2])
    frame = dnb.history_frame(sm)
    assert frame["exited"].tolist() == [
        ("Compiling",),
        ("Testing", "Tested", "Test", "Built", "Build", "Checks"),
    ]
    assert frame["entered"].tolist() == [("Built",), ("Tested", "Review", "CodeReview")]
    assert frame["configuration"].tolist() == [  # document order, outermost first
        ("Checks", "Build", "Built", "Test", "Testing"),
        ("Review", "CodeReview"),
    ]
    assert [set(c) for c in frame["configuration"]] == [e.configuration for e in sm.history]


async def test_history_frame_derives_moves_of_flat_definitions(
    make_workflow, clock, order_definition
):
    sm = make_workflow(order_definition)
    life = make_workflow()
    for event in ["accept", "picked", "boxed"]:
        await sm.process_event(event)
    await life.process_event("Start")
    await life.process_event(dn.WorkflowEvent.custom("note"))  # recorded, moves nothing
    assert all(not e.configuration for e in sm.history)  # flat entries record no move
    frame = dnb.history_frame([sm, life])
    assert frame["exited"].tolist() == [("New",), ("Picking",), ("Boxing",), ("Idle",), ()]
    assert frame["entered"].tolist() == [
        ("Active", "Picking"),
        ("Packing", "Boxing"),
        ("Labelling",),
        ("Running",),
        (),
    ]
    assert frame["configuration"].tolist() == [
        ("Active", "Picking"),
        ("Active", "Packing", "Boxing"),
        ("Active", "Packing", "Labelling"),
        ("Running",),
        ("Running",),
    ]


async def test_history_frame_each_entry_starts_where_the_one_before_ended(
    make_workflow, clock, release_definition
):
    editor = dn.load_scxml(
        """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="Open">
          <state id="Open" initial="Clean">
            <transition event="suspend" target="Suspended"/>
            <state id="Clean"><transition event="type" target="Dirty"/></state>
            <state id="Dirty">
              <transition event="type"/>
              <transition event="save" target="Saving"/>
            </state>
            <state id="Saving">
              <onentry><raise event="saved"/></onentry>
              <transition event="saved" target="Clean"/>
            </state>
            <history id="Back" type="deep"><transition target="Clean"/></history>
          </state>
          <state id="Suspended"><transition event="resume" target="Back"/></state>
        </scxml>"""
    )
    chart = make_workflow(release_definition)
    await run(chart, clock, [*RELEASE_RUN[:4], (1, "Rollback"), (1, "hold"), (1, "resume")])
    text = make_workflow(editor)
    await run(text, clock, [(1, e) for e in ["type", "type", "save", "type", "suspend"]])
    await run(text, clock, [(1, "resume"), (1, "Rollback")])
    frame = dnb.history_frame([chart, text])
    for sm in (chart, text):
        rows = frame[frame["workflow_id"] == sm.workflow_id]
        initial = dn.WorkflowStateMachine("fresh", sm.definition).configuration
        before = [initial, *(set(c) for c in rows["configuration"])]
        found = [
            configuration_before(*row)
            for row in zip(rows["configuration"], rows["exited"], rows["entered"], strict=True)
        ]
        assert found == before[:-1], sm.workflow_id


async def test_time_in_state_counts_every_state_of_a_statechart(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition)
    await run(sm, clock, RELEASE_RUN)
    table = dnb.time_in_state(dnb.history_frame(sm))
    assert table.columns.tolist() == [  # the history pseudo-state is never occupied
        "Checks",
        "Build",
        "Compiling",
        "Built",
        "Test",
        "Testing",
        "Tested",
        "Review",
        "CodeReview",
        "SecurityReview",
        "OnHold",
        "Shipped",
        "Failed",  # the uniform Fail/Timeout rule's
    ]
    assert minutes(table) == {
        sm.workflow_id: {
            "Checks": 30,  # the parallel state, from creation to the join
            "Build": 30,  # each region as long as its parallel state
            "Test": 30,
            "Compiling": 10,
            "Built": 20,  # final in its region, waiting for the other one
            "Testing": 30,
            "Tested": 0,  # entered and left within one step (the join)
            "Review": 20 + 7,  # left for OnHold and entered again
            "CodeReview": 5,
            "SecurityReview": 15 + 7,
            "OnHold": 60,
            "Shipped": 0,  # the time after the last event is not counted
            "Failed": 0,
        }
    }


async def test_time_in_state_counts_a_rolled_back_step_and_kept_history_only(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition, max_history=3)
    plan = [(10, "compiled"), (20, "passed"), (5, "approve"), (4, "Rollback"), (6, "hold")]
    await run(sm, clock, plan)
    table = dnb.time_in_state(dnb.history_frame(sm))
    found = {state: time for state, time in minutes(table)[sm.workflow_id].items() if time}
    # kept: approve (5 min in CodeReview before it), Rollback (4 in SecurityReview), hold (6
    # in CodeReview again); the time before them is not in the frame
    assert found == {"Review": 15, "CodeReview": 5 + 6, "SecurityReview": 4}


async def test_time_in_state_counts_compound_states_of_flat_definitions(
    make_workflow, clock, order_definition
):
    sm = make_workflow(order_definition)
    await run(sm, clock, [(2, "accept"), (3, "picked"), (4, "boxed"), (6, "ship")])
    assert minutes(dnb.time_in_state(dnb.history_frame(sm))) == {
        sm.workflow_id: {
            "New": 2,
            "Active": 3 + 4 + 6,
            "Picking": 3,
            "Packing": 4 + 6,
            "Boxing": 4,
            "Labelling": 6,
            "Shipped": 0,
            "Cancelled": 0,
        }
    }


def test_time_in_state_of_a_frame_without_moves_counts_from_state():
    rows = [("a", "Idle", "Start", "Running"), ("a", "Running", "Pause", "Paused")]
    columns: dict[str, list[Any]] = {
        "workflow_id": [r[0] for r in rows],
        "seq": [1, 2],
        "timestamp": [START + timedelta(minutes=3), START + timedelta(minutes=8)],
        "from_state": [r[1] for r in rows],
        "event": [r[2] for r in rows],
        "to_state": [r[3] for r in rows],
        "event_data": [None, None],
        "duration": [timedelta(minutes=3), timedelta(minutes=5)],
        "context": [{}, {}],
    }
    frame = frame_from_columns(columns)
    assert frame["configuration"].tolist() == [(), ()]
    assert minutes(dnb.time_in_state(frame)) == {"a": {"Idle": 3, "Running": 5, "Paused": 0}}


def test_move_columns_refuse_columns_of_different_lengths():
    with pytest.raises(ValueError, match=r"equal length, got lengths \[2, 1, 1\]"):
        MoveColumns().extend(dn.LIFECYCLE, ["Idle", "Running"], ["Start"], ["Running"])


async def test_conformance_of_a_statechart_follows_its_configurations(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition)
    await run(sm, clock, [*RELEASE_RUN[:5], (1, "Rollback"), (1, "resume")])
    frame = dnb.history_frame(sm)
    assert dnb.conformance(frame, release_definition).empty  # the join, the history state
    planted = frame.copy()
    # approve while both regions are still at work; a configuration with one region only
    planted.loc[0, "event"] = "approve"
    planted.at[2, "configuration"] = ("Checks", "Build", "Compiling")  # type: ignore[assignment]  # a tuple cell
    found = dnb.conformance(planted, release_definition)
    assert found.index.tolist() == [0, 2]
    assert found["reason"].tolist() == [
        "no transition of the active states "
        "['Checks', 'Build', 'Compiling', 'Test', 'Testing'] takes 'approve'",
        "it ended in ['Checks', 'Build', 'Compiling'], which cannot be active: parallel "
        "state 'Checks' has regions ['Build'] active of ['Build', 'Test']",
    ]


async def test_time_in_state_chart_counts_the_states_time_in_state_counts(
    make_workflow, clock, release_definition
):
    sm = make_workflow(release_definition)
    await run(sm, clock, RELEASE_RUN)
    frame = dnb.history_frame(sm)
    table = dnb.time_in_state(frame)
    chart = dnb.time_in_state_chart(frame)
    rows = {row["state"]: row for row in chart.to_dict()["datasets"].popitem()[1]}
    # every state with time recorded, in the table's order: compound, parallel and regions too
    recorded = [state for state in table.columns if table[state].iloc[0] > pd.Timedelta(0)]
    assert list(rows) == recorded
    assert chart.to_dict()["layer"][0]["encoding"]["x"]["title"].endswith("(minutes)")
    for state in ("Checks", "Build", "Review"):
        assert rows[state]["median"] == table[state].iloc[0].total_seconds() / 60
