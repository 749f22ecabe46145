"""Properties: the machine agrees with a model, round-trips, and serializes concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import descartes_nb as dn

from ..conftest import START
from ..strategies import context_keys, json_values, lifecycle_events

TABLE = {(row.source, row.event): row.target for row in dn.LIFECYCLE.transitions}


class LifecycleModel:
    """The lifecycle written the simplest way: a dict lookup and an undo stack."""

    def __init__(self, max_history: int) -> None:
        self.state = "Idle"
        self.context: dict[str, object] = {}
        self.accepted = 0
        # (seq, state before, context before) of each entry a rollback may undo
        self.undo: list[tuple[int, str, dict[str, object]]] = []
        self.max_history = max_history

    def process(self, event: dn.WorkflowEvent) -> bool:
        """Apply the event; return whether it was accepted."""
        terminal = self.state in ("Completed", "Failed")
        if event.name == "Rollback":
            first_kept = max(1, self.accepted - self.max_history + 1)
            if terminal or not self.undo or self.undo[-1][0] < first_kept:
                return False
            _, self.state, self.context = self.undo.pop()
            self.accepted += 1
            return True
        target = TABLE.get((self.state, event.name))
        if target is None and (not event.is_custom or terminal):
            return False
        self.accepted += 1
        self.undo.append((self.accepted, self.state, dict(self.context)))
        self.state = target or self.state
        return True


class MachineAgreesWithModel(RuleBasedStateMachine):
    """Random events, context edits and clock moves; the machine must match the model."""

    @initialize(max_history=st.sampled_from([3, 10, 1000]))
    def start(self, max_history):
        self.loop = asyncio.new_event_loop()
        self.clock = dn.ManualClock(START)
        self.sm = dn.WorkflowStateMachine("prop", clock=self.clock, max_history=max_history)
        self.model = LifecycleModel(max_history)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    @rule(event=lifecycle_events())
    def process(self, event):
        before = (self.sm.state, dict(self.sm.context), list(self.sm.history), self.sm.version)
        accepted = self.model.process(event)
        try:
            entry = self.run(self.sm.process_event(event))
        except (dn.InvalidTransitionError, dn.UnknownEventError):
            assert not accepted, f"machine refused {event} the model accepted"
            after = (self.sm.state, dict(self.sm.context), list(self.sm.history), self.sm.version)
            assert after == before
        else:
            assert accepted, f"machine accepted {event} the model refused"
            assert entry == self.sm.history[-1]

    @rule(key=context_keys, value=json_values)
    def set_context(self, key, value):
        self.run(self.sm.set_context(key, value))
        self.model.context[key] = value

    @rule(seconds=st.integers(0, 3600))
    def advance(self, seconds):
        self.run(self.clock.advance(timedelta(seconds=seconds)))

    @invariant()
    def agrees(self):
        assert self.sm.state == self.model.state
        assert dict(self.sm.context) == self.model.context
        assert self.sm.metadata.transition_count == self.model.accepted
        assert len(self.sm.history) == min(self.model.accepted, self.model.max_history)
        assert self.sm.state in dn.LIFECYCLE.state_names

    @invariant()
    def history_is_one_chain(self):
        entries = list(self.sm.history)
        for previous, entry in itertools.pairwise(entries):
            assert entry.seq == previous.seq + 1
            assert entry.from_state == previous.to_state
        if entries:
            assert entries[-1].to_state == self.sm.state

    def teardown(self):
        self.loop.close()


TestMachineAgreesWithModel = MachineAgreesWithModel.TestCase


@given(events=st.lists(lifecycle_events(), max_size=25), edits=st.lists(json_values, max_size=3))
def test_serialize_round_trips_any_reachable_workflow(events, edits):
    async def build():
        clock = dn.ManualClock(START)
        sm = dn.WorkflowStateMachine("rt", clock=clock, max_history=8)
        for i, event in enumerate(events):
            await clock.advance(timedelta(milliseconds=1 + i))
            if i < len(edits):
                await sm.set_context(f"k{i}", edits[i])
            with contextlib.suppress(dn.StateMachineError):
                await sm.process_event(event)
        return sm

    sm = asyncio.run(build())
    text = sm.serialize().to_json()
    restored = dn.WorkflowStateMachine.deserialize(dn.SerializedWorkflow.from_json(text))
    assert restored.serialize() == sm.serialize()
    assert restored.serialize().to_json() == text


async def test_thousand_concurrent_events_leave_one_unbroken_chain():
    class Yielding(dn.StateHandler):
        async def on_transition(self, from_state, to_state, event):
            await asyncio.sleep(0)  # let other tasks try to interleave

    for handler in (None, Yielding()):
        sm = dn.WorkflowStateMachine("busy", max_history=2000, handler=handler)
        await sm.process_event("Start")
        names = ["Pause", "Resume", "Pause", "Resume", "Complete"] * 200
        results = await asyncio.gather(
            *(asyncio.create_task(sm.process_event(n)) for n in names), return_exceptions=True
        )
        accepted = [r for r in results if isinstance(r, dn.StateHistoryEntry)]
        refused = [r for r in results if isinstance(r, dn.StateMachineError)]
        assert len(accepted) + len(refused) == 1000
        entries = list(sm.history)
        assert len(entries) == len(accepted) + 1
        for previous, entry in itertools.pairwise(entries):
            assert entry.from_state == previous.to_state
            assert entry.seq == previous.seq + 1
        assert sorted(e.seq for e in accepted) == [e.seq for e in entries[1:]]
