"""WorkflowStateMachine: the lifecycle table, refusals, context, rollback, metadata."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import WorkflowState as S

from ..conftest import START

LIFECYCLE_TABLE = [
    (S.IDLE, [], E.START, S.RUNNING),
    (S.RUNNING, [E.START], E.PAUSE, S.PAUSED),
    (S.RUNNING, [E.START], E.COMPLETE, S.COMPLETED),
    (S.RUNNING, [E.START], E.fail("disk full"), S.FAILED),
    (S.RUNNING, [E.START], E.TIMEOUT, S.FAILED),
    (S.PAUSED, [E.START, E.PAUSE], E.RESUME, S.RUNNING),
    (S.PAUSED, [E.START, E.PAUSE], E.fail("operator gave up"), S.FAILED),
    (S.PAUSED, [E.START, E.PAUSE], E.TIMEOUT, S.FAILED),
    (S.FAILED, [E.START, E.fail("x")], E.RETRY, S.RUNNING),
]


def snapshot(sm: dn.WorkflowStateMachine, *, with_allowed: bool = True):
    """Everything a refusal must leave unchanged."""
    state = (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version)
    return (*state, sm.allowed_events()) if with_allowed else state


async def drive(sm, events):
    for event in events:
        await sm.process_event(event)


@pytest.mark.parametrize(
    ("source", "path", "event", "target"),
    [pytest.param(*row, id=f"{row[0]}-{row[2].name}") for row in LIFECYCLE_TABLE],
)
async def test_process_event_follows_every_lifecycle_row(
    make_workflow, source, path, event, target
):
    sm = make_workflow()
    await drive(sm, path)
    assert sm.state == source
    entry = await sm.process_event(event)
    assert (entry.from_state, entry.to_state, entry.event) == (source, target, event.name)
    assert entry.event_data == event.data
    assert type(sm.state) is str  # a plain str, equal to the WorkflowState member
    assert (type(entry.from_state), type(entry.to_state)) == (str, str)
    assert sm.configuration == {target}


@pytest.mark.parametrize("state", list(S))
async def test_process_event_refuses_every_event_the_table_does_not_list(make_workflow, state):
    paths = {
        S.IDLE: [],
        S.RUNNING: [E.START],
        S.PAUSED: [E.START, E.PAUSE],
        S.COMPLETED: [E.START, E.COMPLETE],
        S.FAILED: [E.START, E.fail("x")],
    }
    sm = make_workflow()
    await drive(sm, paths[state])
    allowed = {row[2].name for row in LIFECYCLE_TABLE if row[0] == state}
    for name in ["Start", "Pause", "Resume", "Complete", "Fail", "Timeout", "Retry"]:
        if name in allowed:
            continue
        before = snapshot(sm)
        with pytest.raises(dn.InvalidTransitionError) as info:
            await sm.process_event(name)
        assert repr(name) in str(info.value)
        assert info.value.workflow_id == sm.workflow_id
        assert info.value.state == state
        assert snapshot(sm) == before


async def test_allowed_events_lists_the_table_and_rollback(make_workflow):
    sm = make_workflow()
    assert sm.allowed_events() == ["Start"]
    await sm.process_event("Start")
    assert sm.allowed_events() == ["Pause", "Complete", "Fail", "Timeout", "Rollback"]
    await sm.process_event(E.fail("boom"))
    assert sm.allowed_events() == ["Retry"]
    await sm.process_event("Retry")
    await sm.process_event("Complete")
    assert sm.allowed_events() == []


async def test_process_event_unknown_event_raises_and_names_what_is_allowed(make_workflow):
    sm = make_workflow()
    before = snapshot(sm)
    with pytest.raises(dn.UnknownEventError) as info:
        await sm.process_event("Strat")
    message = str(info.value)
    assert "'Strat'" in message
    assert "enabled: ['Start']" in message
    assert info.value.event == "Strat"
    assert snapshot(sm) == before


async def test_terminal_state_refuses_everything_with_a_clear_reason(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.COMPLETE])
    before = snapshot(sm)
    for event in ["Start", "Rollback", E.custom("note"), "Resume"]:
        with pytest.raises(dn.InvalidTransitionError, match="terminal"):
            await sm.process_event(event)
    assert snapshot(sm) == before
    assert sm.is_terminal


async def test_history_entries_carry_seq_timestamps_and_durations(make_workflow, clock):
    sm = make_workflow()
    await clock.advance(timedelta(seconds=5))
    first = await sm.process_event("Start")
    await clock.advance(timedelta(minutes=2))
    second = await sm.process_event("Pause")
    assert [e.seq for e in sm.history] == [1, 2]
    assert first.timestamp == START + timedelta(seconds=5)
    assert first.duration == timedelta(seconds=5)  # time spent in Idle
    assert second.duration == timedelta(minutes=2)  # time spent in Running
    assert second.timestamp.tzinfo is not None
    assert list(sm.history) == [first, second]
    assert sm.history_tail(1) == [second]
    assert sm.history[-1] == second
    assert sm.history[0:1] == [first]


async def test_metadata_tracks_times_counts_and_retries(make_workflow, clock):
    sm = make_workflow()
    await drive(sm, [E.START, E.fail("a"), E.RETRY, E.fail("b"), E.RETRY])
    await clock.advance(timedelta(seconds=30))
    meta = sm.metadata
    assert meta.workflow_id == sm.workflow_id
    assert meta.definition == "lifecycle"
    assert meta.state == S.RUNNING
    assert meta.transition_count == 5
    assert meta.retry_attempts == 2
    assert meta.time_in_state == timedelta(seconds=30)
    assert meta.created_at == START
    await sm.process_event("Pause")
    assert sm.metadata.retry_attempts == 0  # leaving the failure behind resets the count


async def test_set_context_stores_a_copy_and_refuses_non_json(make_workflow):
    sm = make_workflow()
    steps = [1, 2]
    await sm.set_context("steps", steps)
    steps.append(3)
    assert sm.context == {"steps": [1, 2]}
    before = snapshot(sm)
    for bad in [{1, 2}, float("nan"), object(), {"k": b"bytes"}, {3: "int key"}]:
        with pytest.raises(dn.SerializationError) as info:
            await sm.set_context("bad", bad)
        assert "allowed" in str(info.value) or "must be str" in str(info.value)
    assert snapshot(sm) == before
    with pytest.raises(TypeError):
        sm.context["x"] = 1  # read-only mapping


async def test_set_context_refuses_non_str_key(make_workflow):
    sm = make_workflow()
    with pytest.raises(dn.SerializationError, match="keys must be str"):
        await sm.set_context(3, "x")


async def test_event_data_must_be_json_and_is_recorded(make_workflow):
    sm = make_workflow()
    before = snapshot(sm)
    with pytest.raises(dn.SerializationError, match="data of event 'Start'"):
        await sm.process_event("Start", {"when": object()})
    assert snapshot(sm) == before
    entry = await sm.process_event("Start", {"by": "ana"})
    assert entry.event_data == {"by": "ana"}


async def test_process_event_refuses_data_given_twice_and_odd_types(make_workflow):
    sm = make_workflow()
    with pytest.raises(TypeError, match="not both"):
        await sm.process_event(E.fail("x"), {"y": 1})
    with pytest.raises(dn.SerializationError, match="event name"):
        await sm.process_event(42)


async def test_rollback_restores_state_and_context_and_is_recorded(make_workflow):
    sm = make_workflow()
    await sm.set_context("n", 1)
    await sm.process_event("Start")
    await sm.set_context("n", 2)
    await sm.process_event("Pause")
    await sm.set_context("n", 3)
    entry = await sm.rollback()
    assert (entry.from_state, entry.to_state, entry.event) == (S.PAUSED, S.RUNNING, "Rollback")
    assert entry.event_data == {"undone_seq": 2}
    assert sm.state == S.RUNNING
    assert sm.context == {"n": 2}  # as it was just before Pause
    entry = await sm.process_event("Rollback")  # the event works like the method
    assert entry.event_data == {"undone_seq": 1}
    assert sm.state == S.IDLE
    assert sm.context == {"n": 1}
    assert [e.event for e in sm.history] == ["Start", "Pause", "Rollback", "Rollback"]
    with pytest.raises(dn.InvalidTransitionError, match="nothing to roll back"):
        await sm.rollback()


async def test_rollback_after_new_transitions_undoes_the_newest(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.PAUSE, E.ROLLBACK, E.COMPLETE])
    assert sm.state == S.COMPLETED
    sm2 = make_workflow()
    await drive(sm2, [E.START, E.PAUSE, E.ROLLBACK, E.PAUSE])
    entry = await sm2.rollback()
    assert entry.event_data == {"undone_seq": 4}
    assert sm2.state == S.RUNNING
    entry = await sm2.rollback()
    assert entry.event_data == {"undone_seq": 1}
    assert sm2.state == S.IDLE


async def test_rollback_of_retry_gives_back_the_attempt(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.fail("x"), E.RETRY])
    assert sm.metadata.retry_attempts == 1
    await sm.rollback()
    assert sm.state == S.FAILED
    assert sm.metadata.retry_attempts == 0


async def test_rollback_beyond_evicted_history_is_refused(make_workflow):
    sm = make_workflow(max_history=2)
    await drive(sm, [E.START, E.PAUSE, E.RESUME])
    await sm.rollback()  # undoes Resume (seq 3); seq 2 was evicted... and seq 3 is kept
    assert sm.state == S.PAUSED
    with pytest.raises(dn.InvalidTransitionError, match="nothing to roll back"):
        await sm.rollback()


async def test_history_is_bounded_and_seq_keeps_counting(make_workflow, clock):
    sm = make_workflow(max_history=3)
    await sm.process_event("Start")
    for _ in range(5):
        await clock.advance(timedelta(seconds=1))
        await sm.process_event("Pause")
        await clock.advance(timedelta(seconds=2))
        await sm.process_event("Resume")
    assert len(sm.history) == 3
    assert [e.seq for e in sm.history] == [9, 10, 11]
    assert [e.event for e in sm.history] == ["Resume", "Pause", "Resume"]
    assert [e.duration for e in sm.history] == [timedelta(seconds=s) for s in (2, 1, 2)]
    assert sm.metadata.transition_count == 11
    assert sm.history.first_seq == 9


async def test_custom_event_moves_when_mapped_else_is_internal(make_workflow):
    sm = make_workflow()
    internal = await sm.process_event(E.custom("note", {"text": "hello"}))
    assert (internal.from_state, internal.to_state) == (S.IDLE, S.IDLE)
    assert internal.is_internal
    assert internal.event == "note"
    assert internal.event_data == {"text": "hello"}
    moved = await sm.process_event(E.custom("Start"))
    assert moved.to_state == S.RUNNING
    refused_as_plain = "note"
    with pytest.raises(dn.UnknownEventError):
        await sm.process_event(refused_as_plain)


async def test_guard_decides_and_refusal_names_it(make_workflow, review_definition):
    sm = make_workflow(review_definition)
    await sm.process_event("submit")
    before = snapshot(sm)
    with pytest.raises(dn.InvalidTransitionError, match=r"context.approvals >= 2"):
        await sm.process_event("approve")
    assert snapshot(sm) == before
    assert "approve" not in sm.allowed_events()
    await sm.set_context("approvals", 2)
    assert "approve" in sm.allowed_events()
    entry = await sm.process_event("approve")
    assert entry.to_state == "approved"


async def test_guard_that_raises_becomes_handler_error(make_workflow):
    def broken(context, data):
        raise ZeroDivisionError("oops")

    d = dn.WorkflowDefinition(
        "g",
        states=(dn.StateDef("a"), dn.StateDef("b", terminal=True)),
        initial_state="a",
        transitions=(dn.TransitionDef("a", "go", "b", guard=broken),),
    )
    sm = make_workflow(d)
    before = snapshot(sm, with_allowed=False)
    with pytest.raises(dn.HandlerError, match="guard 'broken' raised") as info:
        await sm.process_event("go")
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert snapshot(sm, with_allowed=False) == before


async def test_concurrent_events_are_processed_one_at_a_time(make_workflow):
    class Slow(dn.StateHandler):
        async def on_enter(self, state, ctx):
            await asyncio.sleep(0)  # yield to the other tasks mid-transition
            ctx["entered"] = ctx.get("entered", 0) + 1

    sm = make_workflow(handler=Slow())
    await sm.process_event("Start")
    results = await asyncio.gather(
        *(sm.process_event(name) for name in ["Pause", "Resume"] * 50), return_exceptions=True
    )
    accepted = [r for r in results if isinstance(r, dn.StateHistoryEntry)]
    assert len(accepted) == 100  # alternating Pause/Resume in submission order all fit
    history = list(sm.history)
    for previous, entry in itertools.pairwise(history):
        assert entry.from_state == previous.to_state
        assert entry.seq == previous.seq + 1
    assert sm.context["entered"] == 102  # and once on entering Idle (start)


def test_constructor_refuses_bad_arguments():
    with pytest.raises(ValueError, match="workflow_id"):
        dn.WorkflowStateMachine("")
    with pytest.raises(TypeError, match="WorkflowDefinition"):
        dn.WorkflowStateMachine("x", "lifecycle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_history"):
        dn.WorkflowStateMachine("x", max_history=0)
    with pytest.raises(dn.SerializationError):
        dn.WorkflowStateMachine("x", context={"bad": {1, 2}})


def test_repr_is_stable_and_has_no_address(make_workflow):
    sm = make_workflow()
    assert (
        repr(sm)
        == f"<WorkflowStateMachine '{sm.workflow_id}' (lifecycle) state='Idle' transitions=0>"
    )


async def test_initial_context_is_copied(make_workflow):
    source = {"items": [1]}
    sm = make_workflow(context=source)
    source["items"].append(2)
    assert sm.context == {"items": [1]}


async def test_entry_repr_is_plain_and_readable(make_workflow):
    sm = make_workflow(context={"n": 1})
    entry = await sm.process_event("Start")
    assert repr(entry) == (
        "StateHistoryEntry(seq=1, from_state='Idle', to_state='Running', event='Start', "
        "event_data=None, timestamp=2026-03-01T09:00:00+00:00, duration=0:00:00, "
        "context={'n': 1})"
    )


async def test_subscribers_hear_every_change_after_it_is_applied(make_workflow):
    sm = make_workflow()
    heard: list[tuple[str, object]] = []

    def listener(machine, entry):
        heard.append((str(machine.state), entry and entry.event))

    def broken(machine, entry):
        raise RuntimeError("a broken listener changes nothing")

    unsubscribe = sm.subscribe(listener)
    sm.subscribe(broken)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    await sm.process_event("Start")
    await sm.set_context("n", 1)
    await asyncio.sleep(0)
    assert heard == [("Running", "Start"), ("Running", None)]
    assert sm.state == S.RUNNING
    assert len(errors) == 2
    unsubscribe()
    unsubscribe()  # harmless twice
    await sm.process_event("Pause")
    await asyncio.sleep(0)
    assert len(heard) == 2
