"""Checkpoints: create, list, restore as a recorded transition; and history retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S
from descartes_nb.core._events import RESTORE

from ..conftest import START


@pytest.fixture
def store(any_store):
    """Every test here runs on each backend (the store contract, tests/store/conftest.py)."""
    return any_store


async def test_create_checkpoint_records_state_context_and_version(durable, store, clock):
    sm = durable(context={"step": 1})
    await sm.process_event("Start")
    await clock.advance(timedelta(minutes=1))
    first = await store.create_checkpoint(sm.workflow_id, label="started")
    await sm.set_context("step", 2)
    second = await store.create_checkpoint(sm.workflow_id)
    assert (first.workflow_id, first.label, first.state) == (sm.workflow_id, "started", S.RUNNING)
    assert (first.version, first.seq, first.created_at) == (1, 1, START + timedelta(minutes=1))
    assert (second.label, second.version, second.seq) == (None, 2, 1)
    assert second.checkpoint_id > first.checkpoint_id
    assert await store.list_checkpoints(sm.workflow_id) == [first, second]


async def test_restore_checkpoint_goes_back_and_records_it(durable, store, clock):
    sm = durable(context={"step": 1})
    await sm.process_event("Start")
    saved = await store.create_checkpoint(sm.workflow_id, label="before pause")
    await sm.set_context("step", 2)
    await clock.advance(timedelta(seconds=30))
    await sm.process_event("Pause")
    await clock.advance(timedelta(seconds=10))
    restored = await store.restore_checkpoint(sm.workflow_id, "before pause")
    assert (restored.state, restored.context) == (S.RUNNING, {"step": 1})
    assert restored.transition_count == 3  # seq keeps counting
    last = restored.history[-1]
    assert (last.seq, last.from_state, last.to_state) == (3, "Paused", "Running")
    assert last.event == RESTORE
    assert last.event_data == {
        "checkpoint": saved.checkpoint_id,
        "label": "before pause",
        "seq": 1,
    }
    assert (last.duration, last.context_before) == (timedelta(seconds=10), {"step": 2})
    # The machine that held the old version is now stale.
    with pytest.raises(dn.ConcurrentModificationError):
        await sm.process_event("Resume")
    recovered = await dn.WorkflowRecovery(store).recover_workflow(sm.workflow_id)
    assert recovered.serialize() == restored
    await recovered.rollback()  # a restore is undone like any transition
    assert (recovered.state, dict(recovered.context)) == (S.PAUSED, {"step": 2})
    assert await store.load_workflow(sm.workflow_id) == recovered.serialize()


async def test_restore_by_id_picks_that_checkpoint_and_by_label_the_newest(durable, store):
    sm = durable()
    await sm.process_event("Start")
    running = await store.create_checkpoint(sm.workflow_id, label="mark")
    await sm.process_event("Pause")
    await store.create_checkpoint(sm.workflow_id, label="mark")
    await sm.process_event("Resume")
    await sm.process_event("Complete")
    restored = await store.restore_checkpoint(sm.workflow_id, "mark")
    assert restored.state == S.PAUSED  # the newest "mark"
    restored = await store.restore_checkpoint(sm.workflow_id, running.checkpoint_id)
    assert restored.state == S.RUNNING
    assert [e.event for e in restored.history][-2:] == [RESTORE, RESTORE]


async def test_restore_of_an_unknown_checkpoint_lists_the_known_ones(durable, store):
    sm = durable()
    await sm.process_event("Start")
    known = await store.create_checkpoint(sm.workflow_id, label="ok")
    before = await store.load_workflow(sm.workflow_id)
    for missing in ("nope", 999):
        with pytest.raises(dn.StoreError, match=f"no checkpoint {missing!r}") as info:
            await store.restore_checkpoint(sm.workflow_id, missing)
        assert f"[({known.checkpoint_id}, 'ok')]" in str(info.value)
    with pytest.raises(TypeError, match="id \\(int\\) or a label"):
        await store.restore_checkpoint(sm.workflow_id, 1.5)
    with pytest.raises(TypeError, match="label must be str"):
        await store.create_checkpoint(sm.workflow_id, label=3)
    with pytest.raises(dn.WorkflowNotFoundError):
        await store.create_checkpoint("ghost")
    with pytest.raises(dn.WorkflowNotFoundError):
        await store.list_checkpoints("ghost")
    assert await store.load_workflow(sm.workflow_id) == before


async def test_restore_of_a_workflow_without_transitions_times_from_its_creation(
    durable, store, clock
):
    sm = durable()
    await sm.set_context("draft", True)
    await store.create_checkpoint(sm.workflow_id, label="empty")
    await sm.set_context("draft", False)
    await clock.advance(timedelta(seconds=5))
    restored = await store.restore_checkpoint(sm.workflow_id, "empty")
    entry = restored.history[0]
    assert (entry.seq, entry.from_state, entry.to_state) == (1, "Idle", "Idle")
    assert entry.duration == timedelta(seconds=5)
    assert restored.context == {"draft": True}
    await dn.WorkflowRecovery(store).recover_workflow(sm.workflow_id)


# -- retention ---------------------------------------------------------------------------------


async def drive_with_context(sm: dn.WorkflowStateMachine, rounds: int) -> None:
    await sm.process_event("Start")
    for i in range(rounds):
        await sm.set_context("round", i)
        await sm.process_event("Pause")
        await sm.process_event("Resume")


async def test_history_limit_keeps_the_newest_and_rollback_still_works(backend, clock):
    config = dn.StateStoreConfig(history_limit=3)
    async with backend.open(config, clock=clock) as store:
        sm = dn.WorkflowStateMachine("kept", store=store, clock=clock)
        await drive_with_context(sm, 4)
        kept = await backend.query("SELECT seq FROM transitions ORDER BY seq")
        assert kept == [(7,), (8,), (9,)]
        # Seq 7 (a Resume) pointed at seq 6 for its context_before; seq 6 is gone, so the
        # context was written out into it.
        rows = await backend.query("SELECT event, context_before FROM transitions ORDER BY seq")
        assert rows[0] == ("Resume", '{"round":2}')
        stored = await store.load_workflow("kept")
        assert stored.history == tuple(sm.history)[-3:]
        in_memory = dn.WorkflowStateMachine.deserialize(sm.serialize(), clock=clock)
        recovered = await dn.WorkflowRecovery(store).recover_workflow("kept")
        for _ in range(3):  # the third undoes seq 7, with the written-out context
            await recovered.rollback()
            await in_memory.rollback()
        assert (recovered.state, dict(recovered.context)) == (S.PAUSED, {"round": 2})
        assert (in_memory.state, in_memory.context) == (recovered.state, recovered.context)
        assert (await store.load_workflow("kept")).history[-1] == recovered.history[-1]


async def test_history_limit_applies_to_whole_saved_workflows(backend, clock, make_workflow):
    async with backend.open(dn.StateStoreConfig(history_limit=2)) as store:
        sm = make_workflow()
        await drive_with_context(sm, 3)
        await sm.attach_store(store)
        history = await store.get_workflow_history(sm.workflow_id)
        assert history == list(sm.history)[-2:]


async def test_history_max_age_drops_old_transitions_but_keeps_the_newest(backend, clock):
    config = dn.StateStoreConfig(history_max_age=timedelta(minutes=10))
    async with backend.open(config, clock=clock) as store:
        sm = dn.WorkflowStateMachine("aged", store=store, clock=clock)
        await drive_with_context(sm, 2)  # seq 1-5 at 09:00
        await clock.advance(timedelta(minutes=6))
        await sm.process_event("Pause")  # seq 6 at 09:06: nothing is 10 minutes old yet
        assert len(await store.get_workflow_history("aged")) == 6
        await clock.advance(timedelta(minutes=6))
        await sm.process_event("Resume")  # seq 7 at 09:12: seq 1-5 are older than 10 min
        kept = await store.get_workflow_history("aged")
        assert [e.seq for e in kept] == [6, 7]
        await clock.advance(timedelta(hours=1))
        await sm.set_context("late", True)
        await sm.process_event("Pause")  # seq 8: everything before it is old
        kept = await store.get_workflow_history("aged")
        assert [e.seq for e in kept] == [8]
        assert kept[0].context_before == {"round": 1, "late": True}
        recovered = await dn.WorkflowRecovery(store).recover_workflow("aged")
        await recovered.rollback()
        assert (recovered.state, dict(recovered.context)) == (S.RUNNING, kept[0].context_before)
