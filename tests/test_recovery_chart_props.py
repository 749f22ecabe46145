"""Property (b) of issue 12: a stored statechart workflow recovered after a crash equals the
in-memory one: random statecharts driven by random events, persisted, crashed, recovered."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import descartes_nb as dn

from .conftest import START
from .strategies import json_values, statecharts

WORKFLOW = "chart-7"


class Run:
    """A durable machine and an in-memory model taking the same changes on one loop."""

    def __init__(self, definition: dn.WorkflowDefinition, folder: Path, limit: int | None):
        self.loop = asyncio.new_event_loop()  # the only loop these tests start
        self.definition = definition
        self.clock = dn.ManualClock(START)
        self.config = dn.StateStoreConfig(history_limit=limit)
        self.path = folder / "props.db"
        self.model = dn.WorkflowStateMachine(WORKFLOW, definition, clock=self.clock, max_history=4)
        self.store = self.run(self.open())
        self.durable = dn.WorkflowStateMachine(
            WORKFLOW, definition, clock=self.clock, max_history=4
        )
        self.run(self.durable.attach_store(self.store))

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def open(self):
        return dn.SqliteWorkflowStore(self.path, self.config, clock=self.clock).open()

    def outcome(self, coroutine):
        try:
            entry = self.run(coroutine)
        except dn.StateMachineError as exc:
            return type(exc)
        return None if entry is None else entry._replace(context_before=None)

    def both(self, change):
        expected = self.outcome(change(self.model))
        assert self.outcome(change(self.durable)) == expected

    def crash(self):
        """Drop the machine and the store; rebuild both from the file alone."""
        # The crashed process is gone with its timers: on the shared clock they would still
        # fire, and write through the closed store.
        self.durable.cancel_timers()
        self.run(self.store.close())
        self.store = self.run(self.open())
        recovery = dn.WorkflowRecovery(self.store, [self.definition], clock=self.clock)
        report = self.run(recovery.recover_all_workflows())
        assert report.ok, str(report)
        self.durable = report.workflows[WORKFLOW]

    def check(self):
        assert self.durable.serialize() == self.model.serialize()
        assert self.durable.configuration == self.model.configuration
        assert self.durable.allowed_events() == self.model.allowed_events()
        assert self.run(self.store.load_workflow(WORKFLOW)) == self.model.serialize()

    def close(self):
        self.run(self.store.close())
        self.loop.close()


@settings(max_examples=60)
@given(statecharts(), st.sampled_from([None, 4, 7]), st.data())
def test_stored_statechart_workflows_recovered_after_crashes_equal_the_live_ones(
    definition, limit, data
):
    try:
        dn.WorkflowStateMachine(WORKFLOW, definition)
    except dn.DefinitionError as exc:  # an initial macrostep that never settles
        assume("did not settle" not in str(exc))
        raise
    named = sorted({t.event for t in definition.transitions if t.event})
    with tempfile.TemporaryDirectory(prefix="descartes-chart-props-") as folder:
        run = Run(definition, Path(folder), limit)
        try:
            for _ in range(data.draw(st.integers(1, 25), label="steps")):
                kind = data.draw(st.sampled_from(["allowed"] * 5 + ["any", "undo", "edit"]))
                names = run.model.allowed_events() if kind == "allowed" else named
                if kind == "undo":
                    run.both(lambda sm: sm.rollback())
                elif kind == "edit":
                    value = data.draw(json_values, label="value")
                    run.both(lambda sm, value=value: sm.set_context("note", value))
                elif names:
                    event = data.draw(st.sampled_from(names), label="event")
                    run.both(lambda sm, event=event: sm.process_event(event))
                run.run(run.clock.advance(timedelta(seconds=1)))
                if data.draw(st.integers(0, 3), label="crash") == 0:
                    run.crash()
                run.check()
            run.crash()
            run.check()
        finally:
            run.close()
