"""Timeouts and automatic retries, driven by a ManualClock (no test sleeps)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.core._timers import backoff_delay, jitter_fraction

from ..conftest import START

SWARM = Path(__file__).parent.parent.parent / "notebooks" / "workflows" / "swarm.toml"
S, M = timedelta(seconds=1), timedelta(minutes=1)


@pytest.fixture(scope="module")
def swarm() -> dict[str, dn.WorkflowDefinition]:
    return dn.load_definitions(SWARM)


def events(sm):
    return [(e.event, e.to_state) for e in sm.history]


def restart(sm, definition, clock):
    """What a crash and a recovery do: the old machine is gone, a new one reads the snapshot."""
    sm.cancel_timers()
    snapshot = dn.SerializedWorkflow.from_json(sm.serialize().to_json())
    return dn.WorkflowStateMachine.deserialize(snapshot, definition=definition, clock=clock)


# -- backoff --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        (dn.RetryPolicy(initial=S, max=M), [1, 2, 4, 8, 16, 32, 60, 60]),
        (dn.RetryPolicy(initial=S * 3, max=S * 10), [3, 6, 10, 10, 10, 10, 10, 10]),
        (dn.RetryPolicy(backoff="fixed", initial=S * 5), [5] * 8),
    ],
)
def test_backoff_delay_is_exponential_with_a_cap_or_fixed(policy, delays):
    assert [backoff_delay(policy, n) for n in range(1, 9)] == [S * d for d in delays]


def test_backoff_delay_survives_huge_attempt_numbers():
    policy = dn.RetryPolicy(initial=timedelta(days=1), max=timedelta(days=3000))
    assert backoff_delay(policy, 1000) == timedelta(days=3000)


def test_jitter_shortens_by_at_most_its_fraction_and_is_reproducible():
    policy = dn.RetryPolicy(initial=S * 10, max=M, jitter=0.5)
    fractions = [jitter_fraction(f"wf-{i}", 1) for i in range(200)]
    assert all(0 <= f < 1 for f in fractions)
    assert len(set(fractions)) == 200  # different workflows spread out
    assert max(fractions) > 0.9
    assert min(fractions) < 0.1
    delays = [backoff_delay(policy, 1, f) for f in fractions]
    assert all(S * 5 < d <= S * 10 for d in delays)
    assert jitter_fraction("wf-1", 1) == jitter_fraction("wf-1", 1)
    assert jitter_fraction("wf-1", 1) != jitter_fraction("wf-1", 2)


# -- timeouts -------------------------------------------------------------------------------


async def test_timeout_is_processed_after_the_time_in_the_state(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await clock.advance(M * 5)
    await sm.process_event("success")
    assert sm.metadata.timeout_at == START + M * 35
    await clock.advance(M * 30 - S)
    assert sm.state == "Coding"
    await clock.advance(S)
    assert sm.state == "Failed"
    entry = sm.history[-1]
    assert (entry.from_state, entry.event, entry.timestamp) == (
        "Coding",
        "Timeout",
        START + M * 35,
    )
    assert entry.event_data == {
        "state": "Coding",
        "timeout": "30m",
        "message": "timed out after 30m in state 'Coding'",
    }
    assert sm.metadata.timeout_at is None


async def test_leaving_the_state_cancels_its_timeout(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await clock.advance(M * 20)
    await sm.process_event("review")  # Review has its own timeout of 2h
    assert clock.pending == [START + M * 20 + timedelta(hours=2)]
    await clock.advance(M * 60)
    assert sm.state == "Review"
    await sm.process_event("request_changes")  # back in Coding: a fresh 30 minutes
    assert sm.metadata.timeout_at == START + M * 110
    await clock.advance(M * 30)
    assert events(sm)[-1] == ("Timeout", "Failed")


async def test_internal_events_do_not_restart_a_timeout(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await clock.advance(M * 20)
    await sm.process_event(dn.WorkflowEvent.custom("progress", {"percent": 60}))
    await sm.set_context("note", "half way")
    await clock.advance(M * 10)
    assert sm.state == "Failed"


async def test_a_timeout_on_the_initial_state_counts_from_creation(make_workflow, clock):
    d = dn.load_definitions(
        """
        [workflow.t]
        initial_state = "Waiting"
        [workflow.t.states.Waiting]
        timeout = "1h"
        next_on_success = "Done"
        [workflow.t.states.Done]
        terminal = true
        """
    )["t"]
    sm = make_workflow(d)
    await clock.advance(timedelta(hours=1))
    assert events(sm) == [("Timeout", "Failed")]


COMPOUND = """
[workflow.nested]
initial_state = "Outer"
[workflow.nested.states.Outer]
timeout = "1h"
[workflow.nested.states.A]
parent = "Outer"
timeout = "10m"
next_on_success = "B"
[workflow.nested.states.B]
parent = "Outer"
next_on_success = "Done"
[workflow.nested.states.Done]
terminal = true
"""


@pytest.mark.parametrize("recover", [False, True], ids=["live", "recovered"])
async def test_compound_state_timeout_keeps_counting_across_its_children(
    make_workflow, clock, recover
):
    d = dn.load_definitions(COMPOUND)["nested"]
    sm = make_workflow(d)
    assert sm.metadata.timeout_at == START + M * 10  # A's, the sooner of A and Outer
    await clock.advance(M * 5)
    await sm.process_event("success")  # A -> B inside Outer: Outer's hour goes on
    await clock.advance(M * 30)
    if recover:
        sm = restart(sm, d, clock)
    assert sm.metadata.timeout_at == START + M * 60
    await clock.advance(M * 25 - S)
    assert sm.state == "B"
    await clock.advance(S)
    assert events(sm)[-1] == ("Timeout", "Failed")
    assert sm.history[-1].event_data["state"] == "Outer"


@pytest.mark.parametrize("elapsed", [M * 10, M * 29, M * 45])
async def test_recovered_workflow_rearms_the_time_left(make_workflow, clock, swarm, elapsed):
    d = swarm["code_implementation"]
    sm = make_workflow(d)
    await sm.process_event("success")
    sm.cancel_timers()  # the process stops here...
    await clock.advance(elapsed)
    sm2 = restart(sm, d, clock)  # ...and recovers the workflow later
    assert sm2.metadata.timeout_at == START + M * 30
    await clock.advance(max(M * 30 - elapsed, timedelta(0)))
    assert events(sm2)[-1] == ("Timeout", "Failed")
    assert sm2.history[-1].timestamp == max(START + M * 30, START + elapsed)
    assert sm.state == "Coding"  # the old machine no longer reacts


async def test_timeout_that_the_state_refuses_is_logged_and_changes_nothing(
    make_workflow, clock, caplog
):
    d = dn.WorkflowDefinition(
        "manual",
        states=(dn.StateDef("A", timeout=M), dn.StateDef("B", terminal=True)),
        initial_state="A",
        transitions=(dn.TransitionDef("A", "go", "B"),),
    )
    sm = make_workflow(d)
    with caplog.at_level(logging.WARNING, logger="descartes_nb.core._machine"):
        await clock.advance(M)
    assert sm.state == "A"
    assert len(sm.history) == 0
    assert "scheduled Timeout refused" in caplog.text


async def test_timeout_with_a_failing_handler_raises_from_advance_and_changes_nothing(
    make_workflow, clock, swarm
):
    class Broken(dn.StateHandler):
        def on_enter(self, state, ctx):
            if state == "Failed":
                raise RuntimeError("disk full")

    sm = make_workflow(swarm["code_implementation"], handler=Broken())
    await sm.process_event("success")
    with pytest.raises(dn.HandlerError, match="disk full"):
        await clock.advance(M * 30)
    assert sm.state == "Coding"


# -- retries --------------------------------------------------------------------------------


async def test_retries_back_off_then_stay_failed_with_the_reason(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    for attempt, delay in enumerate([S, S * 2, S * 4], start=1):
        failed_at = clock.now()
        await sm.process_event(dn.WorkflowEvent.fail(f"tests red #{attempt}"))
        assert sm.metadata.next_retry_at == failed_at + delay
        await clock.advance(delay - timedelta(microseconds=1))
        assert sm.state == "Failed"
        await clock.advance(timedelta(microseconds=1))
        assert sm.state == "Coding"
        entry = sm.history[-1]
        assert entry.event == "Retry"
        assert entry.event_data == {
            "attempt": attempt,
            "max_attempts": 3,
            "delay": f"{delay.seconds}s",
        }
        assert sm.metadata.retry_attempts == attempt
    await sm.process_event(dn.WorkflowEvent.fail("tests red #4"))
    assert sm.metadata.next_retry_at is None
    await clock.advance(timedelta(days=1))
    assert sm.state == "Failed"
    assert sm.history[-1].event_data == {"message": "tests red #4"}
    assert sm.metadata.retry_attempts == 3
    assert [e for e, _ in events(sm)].count("Retry") == 3


async def test_a_timeout_failure_is_retried_too(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await clock.advance(M * 30 + S)
    assert events(sm)[-2:] == [("Timeout", "Failed"), ("Retry", "Coding")]


async def test_success_resets_the_attempts(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await sm.process_event("Fail")
    await clock.advance(S)
    assert sm.metadata.retry_attempts == 1
    await sm.process_event("review")
    assert sm.metadata.retry_attempts == 0
    await sm.process_event("request_changes")
    await sm.process_event("Fail")
    assert sm.metadata.next_retry_at == clock.now() + S  # the first backoff again


async def test_no_automatic_retry_without_a_policy(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await sm.process_event("review")
    await sm.process_event("Fail")  # Review has no retry policy
    assert sm.state == "Failed"
    assert sm.metadata.next_retry_at is None
    await clock.advance(timedelta(days=1))
    assert sm.state == "Failed"
    await sm.process_event("Retry")  # a manual retry still returns to Review
    assert sm.state == "Review"


async def test_manual_retry_cancels_the_automatic_one(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    await sm.process_event("Fail")
    await sm.process_event("Retry")
    assert sm.metadata.next_retry_at is None
    await clock.advance(M)
    assert [e for e, _ in events(sm)].count("Retry") == 1


async def test_jittered_retry_time_survives_recovery(make_workflow, clock, swarm):
    d = swarm["invoice"]  # Approved: fixed 10m with jitter 0.2
    sm = make_workflow(d)
    for event in ["submit", "approve"]:
        await sm.process_event(event, {"amount": 10})
    await sm.process_event(dn.WorkflowEvent.fail("bank offline"))
    due = sm.metadata.next_retry_at
    expected = START + backoff_delay(
        d.state("Approved").retry, 1, jitter_fraction(sm.workflow_id, 1)
    )
    assert due == expected
    assert START + M * 8 <= due <= START + M * 10
    await clock.advance(M * 5)
    sm2 = restart(sm, d, clock)
    assert sm2.metadata.next_retry_at == due
    await clock.advance(due - clock.now())
    assert events(sm2)[-1] == ("Retry", "Approved")


async def test_recovery_in_the_middle_of_a_backoff(make_workflow, clock, swarm):
    d = swarm["code_implementation"]
    sm = make_workflow(d)
    await sm.process_event("success")
    await sm.process_event("Fail")
    await clock.advance(S)  # first retry
    await sm.process_event("Fail")
    assert sm.metadata.next_retry_at == clock.now() + S * 2
    await clock.advance(S)  # half way through the second backoff
    sm2 = restart(sm, d, clock)
    assert sm2.metadata.retry_attempts == 1
    assert sm2.metadata.next_retry_at == clock.now() + S
    await clock.advance(S)
    assert events(sm2)[-1] == ("Retry", "Coding")
    assert sm2.history[-1].event_data["attempt"] == 2
    assert sm.state == "Failed"  # the old machine no longer reacts


async def test_cancel_timers_stops_timeouts_and_retries(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    sm.cancel_timers()
    assert sm.metadata.timeout_at is None
    await clock.advance(timedelta(hours=5))
    assert sm.state == "Coding"


async def test_lifecycle_machines_have_no_timers(make_workflow, clock):
    sm = make_workflow()
    await sm.process_event("Start")
    await sm.process_event(dn.WorkflowEvent.fail("x"))
    assert (sm.metadata.timeout_at, sm.metadata.next_retry_at) == (None, None)
    assert clock.pending == []


# -- a real loop ----------------------------------------------------------------------------


def test_machine_made_outside_a_loop_arms_its_timers_on_its_first_change():
    d = dn.load_definitions(
        """
        [workflow.quick]
        initial_state = "A"
        [workflow.quick.states.A]
        timeout = "1us"
        next_on_success = "B"
        [workflow.quick.states.B]
        on = { done = "C" }
        [workflow.quick.states.C]
        terminal = true
        """
    )["quick"]
    sm = dn.WorkflowStateMachine("outside", d)  # SystemClock, and no loop runs here
    assert sm.metadata.timeout_at is not None

    async def main():
        await sm.set_context("armed", True)  # the first change arms the timeout
        for _ in range(20):  # its deadline has passed: it runs within a few loop turns
            if sm.state != "A":
                break
            await asyncio.sleep(0)
        return sm.state

    assert dn.run_sync(main()) == "Failed"
    assert events(sm)[-1] == ("Timeout", "Failed")


async def test_manual_clock_drops_cancelled_timers_as_they_pile_up(make_workflow, clock, swarm):
    sm = make_workflow(swarm["code_implementation"])
    await sm.process_event("success")
    for _ in range(500):  # each transition cancels one timeout and arms another
        await sm.process_event("review")
        await sm.process_event("request_changes")
    assert len(clock._timers) < 100  # not 1000 cancelled entries kept until they fall due
    assert clock.pending == [sm.metadata.timeout_at]
    await clock.advance(M * 30 + S)
    assert events(sm)[-2:] == [("Timeout", "Failed"), ("Retry", "Coding")]


async def test_recovery_from_a_sqlite_store_in_the_middle_of_a_backoff(tmp_path, clock, swarm):
    """The store case of issue 5: write, crash mid-backoff, recover from the file, retry."""
    d, path = swarm["code_implementation"], tmp_path / "workflows.db"
    async with dn.SqliteWorkflowStore(path) as store:
        sm = dn.WorkflowStateMachine("issue-9", d, clock=clock, store=store)
        await sm.process_event("success")
        await sm.process_event(dn.WorkflowEvent.fail("tests are red"))
        await clock.advance(S)  # the first automatic retry, committed to the file
        await sm.process_event(dn.WorkflowEvent.fail("still red"))
        due = sm.metadata.next_retry_at
        assert due == clock.now() + S * 2
        await clock.advance(S)  # half way through the second backoff: then the crash
        sm.cancel_timers()
        del sm
    async with dn.SqliteWorkflowStore(path) as store:
        report = await dn.WorkflowRecovery(store, [d], clock=clock).recover_all_workflows()
        assert report.ok
        recovered = report.workflows["issue-9"]
        assert str(recovered.state) == "Failed"
        assert recovered.metadata.retry_attempts == 1
        assert recovered.metadata.next_retry_at == due
        await clock.advance(S)  # the rest of the backoff
        assert events(recovered)[-1] == ("Retry", "Coding")
        retry_data = recovered.history[-1].event_data
        assert isinstance(retry_data, dict)
        assert retry_data["attempt"] == 2
        stored = await store.load_workflow("issue-9")
        assert stored.state == "Coding"
        assert stored.history[-1].event == "Retry"
