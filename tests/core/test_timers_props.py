"""Timer properties: at any moment, a workflow rebuilt from its snapshot has the same timers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn

ROOT = Path(__file__).parent.parent.parent
DEFINITIONS = {
    **dn.load_definitions(ROOT / "notebooks" / "workflows" / "swarm.toml"),
    **dn.load_definitions(
        ROOT / "tests" / "fixtures" / "valid_all_keys.toml",
        guards={"approved_by_bot": lambda context, data: data == "bot"},
    ),
}
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("event"), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.integers(0, 7200)),
        st.tuples(st.just("fail"), st.just(0)),
        st.tuples(st.just("check"), st.just(0)),
    ),
    max_size=25,
)


def timers(sm):
    m = sm.metadata
    return (sm.state, m.retry_attempts, m.timeout_at, m.next_retry_at)


async def scenario(name, steps):
    definition = DEFINITIONS[name]
    clock = dn.ManualClock()
    sm = dn.WorkflowStateMachine("wf", definition, clock=clock, context={"drafts": 0})
    for kind, n in steps:
        if kind == "advance":
            await clock.advance(timedelta(seconds=n))
        elif kind == "fail" and "Fail" in sm.allowed_events():
            await sm.process_event(dn.WorkflowEvent.fail("boom"))
        elif kind == "event" and (allowed := [e for e in sm.allowed_events() if e != "Rollback"]):
            await sm.process_event(allowed[n % len(allowed)], {"amount": n * 100, "ci": "green"})
        snapshot = dn.SerializedWorkflow.from_json(sm.serialize().to_json())
        again = dn.WorkflowStateMachine.deserialize(snapshot, definition=definition, clock=clock)
        assert timers(again) == timers(sm)
        again.cancel_timers()
    return sm


@given(st.sampled_from(sorted(DEFINITIONS)), STEPS)
def test_a_rebuilt_workflow_has_the_same_timers_at_any_moment(name, steps):
    sm = dn.run_sync(scenario(name, steps))
    for previous, entry in zip(sm.history, sm.history[1:], strict=False):
        assert entry.from_state == previous.to_state
    automatic = [e for e in sm.history if e.event == "Retry" and "attempt" in e.event_data]
    assert all(1 <= e.event_data["attempt"] <= e.event_data["max_attempts"] for e in automatic)
