"""Any event sequence, persisted and recovered after crashes, equals the in-memory machine."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import descartes_nb as dn

from .conftest import START
from .strategies import context_keys, json_values, lifecycle_events

WORKFLOW = "prop-7"


class CrashAndRecover(RuleBasedStateMachine):
    """A durable machine and an in-memory model take the same events; crashes drop the
    durable one (and its store), which is then rebuilt from the file alone."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()  # the only loop these tests start
        self.folder = Path(tempfile.mkdtemp(prefix="descartes-props-"))
        self.clock = dn.ManualClock(START)
        self.model = dn.WorkflowStateMachine(WORKFLOW, clock=self.clock, max_history=5)
        self.config = dn.StateStoreConfig()
        self.store: dn.SqliteWorkflowStore | None = None
        self.durable = self.model  # replaced in open_store
        self.crashes = 0

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def outcome(self, coroutine):
        try:
            return self.run(coroutine)
        except dn.StateMachineError as exc:
            return type(exc)

    @initialize(limit=st.sampled_from([None, 5, 6, 9]))
    def open_store(self, limit):
        # Stores keep at least max_history transitions: enough to rebuild the model. With
        # exactly max_history, the oldest kept row must carry its own context_before.
        self.config = dn.StateStoreConfig(history_limit=limit, busy_timeout=timedelta(0))
        self.store = self.run(self.new_store().open())
        self.durable = dn.WorkflowStateMachine(WORKFLOW, clock=self.clock, max_history=5)
        self.run(self.durable.attach_store(self.store))

    def new_store(self) -> dn.SqliteWorkflowStore:
        return dn.SqliteWorkflowStore(self.folder / "props.db", self.config, clock=self.clock)

    @rule(event=lifecycle_events())
    def process_event(self, event):
        expected = self.outcome(self.model.process_event(event))
        assert self.outcome(self.durable.process_event(event)) == expected

    @rule(data=st.data())
    def process_an_allowed_event(self, data):
        """Keep the workflow moving (random events are mostly refused)."""
        allowed = [e for e in self.model.allowed_events() if e != "Complete"]
        if allowed:
            self.process_event(dn.WorkflowEvent(data.draw(st.sampled_from(allowed))))

    @rule(key=context_keys, value=json_values)
    def set_context(self, key, value):
        expected = self.outcome(self.model.set_context(key, value))
        assert self.outcome(self.durable.set_context(key, value)) == expected

    @rule(seconds=st.integers(0, 7200))
    def wait(self, seconds):
        self.run(self.clock.advance(timedelta(seconds=seconds)))

    @rule(event=lifecycle_events())
    def blocked_write(self, event):
        """Another connection holds the write lock: the change fails and changes nothing."""
        blocker = sqlite3.connect(self.folder / "props.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            failed = self.outcome(self.durable.process_event(event))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert failed is not dn.StateHistoryEntry
        assert issubclass(failed, dn.StoreError | dn.WorkflowError)

    @rule()
    def crash(self):
        """Drop the machine and the store; rebuild both from the file."""
        assert self.store is not None
        self.run(self.store.close())
        self.store, self.durable = None, self.model
        self.store = self.run(self.new_store().open())
        report = self.run(
            dn.WorkflowRecovery(self.store, clock=self.clock).recover_all_workflows()
        )
        assert report.ok, str(report)
        assert list(report.workflows) == [WORKFLOW]
        self.durable = report.workflows[WORKFLOW]
        self.crashes += 1

    @invariant()
    def durable_equals_model(self):
        assert self.durable.serialize() == self.model.serialize()
        assert self.durable.allowed_events() == self.model.allowed_events()

    @invariant()
    def stored_equals_model(self):
        if self.store is not None:
            assert self.run(self.store.load_workflow(WORKFLOW)) == self.model.serialize()

    def teardown(self):
        if self.store is not None:
            self.run(self.store.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def test_persisted_and_recovered_workflows_equal_the_in_memory_machine():
    run_state_machine_as_test(CrashAndRecover, settings=settings(stateful_step_count=60))
