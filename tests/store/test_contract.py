"""The store contract: every test here runs on SQLite and on PostgreSQL, and must hold on both.

The ``store`` of this module is ``any_store`` (tests/store/conftest.py): SQLite committing on
the event loop's thread, SQLite committing on its connection's thread, and PostgreSQL (a fresh
database of the throwaway test server); ``backend`` opens more stores on the same database
and queries its tables.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import WorkflowState as S
from descartes_nb.store._codec import read_time

from ..conftest import START


@pytest.fixture
def store(any_store):
    return any_store


def snapshot(sm: dn.WorkflowStateMachine):
    """Everything a failed change must leave unchanged."""
    return (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version)


async def test_process_event_is_committed_before_it_returns(durable, store, backend):
    sm = durable(context={"owner": "ana"})
    entry = await sm.process_event("Start")
    # Another connection sees it at once: it was committed, not just queued.
    rows = await backend.query("SELECT state, version, transition_count FROM workflows")
    assert rows == [("Running", 1, 1)]
    assert await backend.query("SELECT seq, from_state, to_state, event FROM transitions") == [
        (1, "Idle", "Running", "Start")
    ]
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    assert (await store.get_workflow_history(sm.workflow_id)) == [entry]


async def test_context_edits_and_rollbacks_are_durable(durable, store, clock):
    sm = durable()
    await sm.set_context("n", 1)
    await sm.process_event("Start")
    await clock.advance(timedelta(seconds=3))
    await sm.set_context("n", 2)
    await sm.process_event(E.fail("disk full"))
    await sm.process_event("Retry")
    await sm.rollback()
    assert (await store.load_workflow(sm.workflow_id)).retry_attempts == 0
    await sm.process_event("Retry")
    await sm.process_event(E.custom("note", {"text": "ünï"}))
    stored = await store.load_workflow(sm.workflow_id)
    assert stored == sm.serialize()
    assert (stored.retry_attempts, stored.version, stored.context) == (1, 8, {"n": 2})
    events = ["Start", "Fail", "Retry", "Rollback", "Retry", "note"]
    assert [e.event for e in stored.history] == events


async def test_unchanged_context_is_stored_once_per_transition(durable, backend):
    context = {"payload": "p" * 200}
    sm = durable(context=context)
    await sm.process_event("Start")
    for _ in range(5):
        await sm.process_event("Pause")
        await sm.process_event("Resume")
    await sm.set_context("payload", "q" * 200)
    await sm.process_event("Pause")
    rows = await backend.query("SELECT seq, context_before IS NULL FROM transitions ORDER BY seq")
    # The first row and the one after a context edit carry context_before; the rest point
    # at the row before them.
    assert [seq for seq, is_null in rows if not is_null] == [1, 12]


async def test_save_change_of_a_new_workflow_refuses_an_existing_id(durable, store):
    first = durable()
    await first.process_event("Start")
    twin = dn.WorkflowStateMachine(first.workflow_id, store=store, clock=first.clock)
    with pytest.raises(dn.ConcurrentModificationError) as info:
        await twin.process_event("Start")
    assert str(info.value) == (
        f"workflow {first.workflow_id!r} is already stored at version 1 (state 'Running'), and "
        "this machine is a new one with the same id (version 0); nothing was written: to "
        "continue it use `await WorkflowStateMachine.get_or_create(...)` or WorkflowRecovery; "
        "to replace it use `await sm.attach_store(store, overwrite=True)`"
    )
    assert twin.state == S.IDLE
    assert (await store.load_workflow(first.workflow_id)) == first.serialize()


async def test_concurrent_workflows_share_one_transaction(durable, store, backend):
    machines = [durable() for _ in range(100)]
    before = store.stats
    await asyncio.gather(*(sm.process_event("Start") for sm in machines))
    after = store.stats
    assert after.changes - before.changes == 100
    # Committing on the loop, the first change of a burst is written at once, before the
    # others show up, and the other 99 share one transaction; from then on whole bursts do.
    assert after.transactions - before.transactions == (2 if backend.loop_commits else 1)
    await asyncio.gather(*(sm.process_event("Pause") for sm in machines))
    await asyncio.gather(*(sm.set_context("k", sm.workflow_id) for sm in machines))
    assert store.stats.transactions - after.transactions == 2
    for sm in machines[::17]:
        assert await store.load_workflow(sm.workflow_id) == sm.serialize()


async def test_grouped_changes_respect_history_limits(backend, clock):
    config = dn.StateStoreConfig(history_limit=2)
    async with backend.open(config, clock=clock) as store:
        machines = [dn.WorkflowStateMachine(f"g{i}", store=store, clock=clock) for i in range(5)]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        for event in ("Pause", "Resume", "Pause"):
            await asyncio.gather(*(sm.process_event(event) for sm in machines))
        # Start: one alone on the loop, then four together; elsewhere all five together.
        assert store.stats.transactions == (5 if backend.loop_commits else 4)
        assert await backend.query("SELECT count(*), min(seq) FROM transitions") == [(10, 3)]
        for sm in machines:
            assert await store.get_workflow_history(sm.workflow_id) == list(sm.history)[-2:]


async def test_a_conflict_in_a_group_fails_only_its_own_change(durable, store, clock):
    machines = [durable() for _ in range(10)]
    await asyncio.gather(*(sm.process_event("Start") for sm in machines))
    # A second, stale copy of machines[3], as another process would hold it.
    stale = dn.WorkflowStateMachine.deserialize(
        await store.load_workflow(machines[3].workflow_id), store=store, clock=clock
    )
    await machines[3].process_event("Pause")
    before = snapshot(stale)
    results = await asyncio.gather(
        *(sm.process_event("Complete") for sm in machines if sm is not machines[3]),
        stale.process_event("Complete"),
        return_exceptions=True,
    )
    assert all(isinstance(r, dn.StateHistoryEntry) for r in results[:-1])
    assert isinstance(results[-1], dn.ConcurrentModificationError)
    assert (
        f"workflow {machines[3].workflow_id!r} is stored at version 2 (state 'Paused'), but "
        "this change continues version 1: another writer changed it since this machine last "
        "wrote it; nothing was written"
    ) in str(results[-1])
    assert snapshot(stale) == before
    assert store.stats.conflicts == 1
    for sm in machines:
        assert await store.load_workflow(sm.workflow_id) == sm.serialize()


async def test_two_stores_on_one_database_refuse_stale_writes(backend, clock):
    async with backend.open(clock=clock) as first, backend.open(clock=clock) as second:
        mine = dn.WorkflowStateMachine("shared", store=first, clock=clock)
        await mine.process_event("Start")
        theirs = await dn.WorkflowRecovery(second).recover_workflow("shared")
        await theirs.process_event("Pause")
        with pytest.raises(dn.ConcurrentModificationError, match="'shared'"):
            await mine.process_event("Complete")
        assert mine.state == S.RUNNING
        stored = await first.load_workflow("shared")
        assert stored == theirs.serialize()
        again = await dn.WorkflowRecovery(first).recover_workflow("shared")
        await again.process_event("Resume")
        assert (await second.load_workflow("shared")).state == S.RUNNING


async def test_orchestrator_attaches_its_machines_to_the_store(store, clock):
    orchestrator = dn.WorkflowOrchestrator(store=store)
    sm = await orchestrator.register_workflow(dn.WorkflowStateMachine("o-1", clock=clock))
    assert await store.list_workflows() == ["o-1"]
    results = await orchestrator.broadcast("Start")
    assert isinstance(results["o-1"], dn.StateHistoryEntry)
    stored = await store.load_workflow("o-1")
    assert (stored.state, stored.version) == (S.RUNNING, 1)
    assert stored == sm.serialize()


async def test_save_workflow_writes_and_replaces_a_whole_workflow(store, make_workflow):
    sm = make_workflow(context={"a": 1})
    await sm.process_event("Start")
    await sm.process_event("Pause")
    await sm.attach_store(store)
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    await sm.process_event("Resume")  # attached: durable from now on
    assert (await store.load_workflow(sm.workflow_id)).version == 3
    fresh = make_workflow()
    await fresh.attach_store(store)  # stored at version 0
    await fresh.process_event("Start")
    assert await store.load_workflow(fresh.workflow_id) == fresh.serialize()
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    replacement = dn.WorkflowStateMachine(sm.workflow_id, clock=sm.clock)
    await replacement.process_event(E.custom("note"))
    with pytest.raises(dn.ConcurrentModificationError, match="already stored at version 3"):
        await store.save_workflow(replacement)  # never silently
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    await store.save_workflow(replacement, overwrite=True)
    assert await store.load_workflow(sm.workflow_id) == replacement.serialize()


async def test_save_transition_appends_entries_that_continue_the_history(store, make_workflow):
    model = make_workflow(context={"k": 0})
    await model.process_event("Start")
    await store.save_workflow(model)
    entry = await model.process_event("Pause")
    await store.save_transition(model.workflow_id, entry)
    stored = await store.load_workflow(model.workflow_id)
    assert stored.history == model.serialize().history
    assert (stored.state, stored.version, stored.transition_count) == (S.PAUSED, 2, 2)
    with pytest.raises(dn.ConcurrentModificationError, match="does not continue"):
        await store.save_transition(model.workflow_id, entry)  # seq 2 again
    with pytest.raises(dn.WorkflowNotFoundError, match="'nobody'"):
        await store.save_transition("nobody", entry)
    with pytest.raises(TypeError, match="StateHistoryEntry"):
        await store.save_transition(model.workflow_id, ("not", "an", "entry"))
    assert await store.load_workflow(model.workflow_id) == stored


async def test_get_workflow_history_pages_with_since_seq_and_limit(durable, store):
    sm = durable()
    await sm.process_event("Start")
    for _ in range(4):
        await sm.process_event("Pause")
        await sm.process_event("Resume")
    every = list(sm.history)
    assert await store.get_workflow_history(sm.workflow_id) == every
    assert await store.get_workflow_history(sm.workflow_id, since_seq=6) == every[6:]
    assert await store.get_workflow_history(sm.workflow_id, since_seq=2, limit=3) == every[2:5]
    assert await store.get_workflow_history(sm.workflow_id, since_seq=9) == []
    assert await store.get_workflow_history(sm.workflow_id, limit=0) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [({"since_seq": -1}, "since_seq"), ({"limit": -3}, "limit"), ({"since_seq": "2"}, "since")],
)
async def test_get_workflow_history_refuses_bad_arguments(durable, store, options, message):
    sm = durable()
    await sm.process_event("Start")
    with pytest.raises(ValueError, match=message):
        await store.get_workflow_history(sm.workflow_id, **options)


async def test_load_history_columns_gives_stored_values_in_id_and_seq_order(
    durable, store, clock, backend
):
    later, earlier = durable(), durable()  # wf-1, wf-2; wf-2 is written first
    await earlier.process_event("Start", {"by": "ana"})
    await clock.advance(timedelta(seconds=2))
    await later.process_event("Start")
    await later.set_context("step", 1)
    await later.process_event("Pause")
    columns = await store.load_history_columns()
    assert columns.definitions == {"wf-1": "lifecycle", "wf-2": "lifecycle"}
    assert list(zip(columns.workflow_id, columns.seq, strict=True)) == [
        ("wf-1", 1),
        ("wf-1", 2),
        ("wf-2", 1),
    ]
    stored = await backend.query(
        "SELECT timestamp, event_data, duration_us, context FROM history "
        "ORDER BY workflow_id, seq",
    )
    raw = (columns.timestamp, columns.event_data, columns.duration_us, columns.context)
    assert list(zip(*raw, strict=True)) == stored
    # As stored: ISO text in SQLite, timestamptz (an aware datetime) in PostgreSQL.
    assert read_time(columns.timestamp[0], "t") == START + timedelta(seconds=2)
    assert columns.event_data[2] == '{"by":"ana"}'
    assert columns.context[1] == '{"step":1}'
    assert columns.event == ("Start", "Pause", "Start")
    only = await store.load_history_columns(["wf-2"], since=START)
    assert (only.definitions, only.seq) == ({"wf-2": "lifecycle"}, (1,))
    none = await store.load_history_columns(since=START + timedelta(seconds=3))
    assert (none.definitions, none.seq, none.context) == (columns.definitions, (), ())


async def test_reading_a_missing_workflow_raises_not_found(store):
    for read in (store.load_workflow("ghost"), store.get_workflow_history("ghost")):
        with pytest.raises(dn.WorkflowNotFoundError, match="no workflow 'ghost' is stored"):
            await read


async def test_list_workflows_filters_by_state_and_definition(durable, store, review_definition):
    running, paused, idle_edit = durable(), durable(), durable()
    review = durable(review_definition)
    await running.process_event("Start")
    await paused.process_event("Start")
    await paused.process_event("Pause")
    await idle_edit.set_context("k", 1)
    await review.process_event("submit")
    everyone = sorted(sm.workflow_id for sm in (running, paused, idle_edit, review))
    assert await store.list_workflows() == everyone
    assert await store.list_workflows(state=S.PAUSED) == [paused.workflow_id]
    assert await store.list_workflows(state="Idle") == [idle_edit.workflow_id]
    assert await store.list_workflows(definition="review") == [review.workflow_id]
    assert await store.list_workflows(state="Running", definition="review") == []


async def test_delete_workflow_removes_its_history_and_checkpoints(durable, store, backend):
    keep, drop = durable(), durable()
    for sm in (keep, drop):
        await sm.process_event("Start")
        await store.create_checkpoint(sm.workflow_id, label="started")
    await store.delete_workflow(drop.workflow_id)
    assert await store.list_workflows() == [keep.workflow_id]
    assert await backend.query("SELECT count(*) FROM transitions") == [(1,)]
    assert await backend.query("SELECT count(*) FROM checkpoints") == [(1,)]
    with pytest.raises(dn.WorkflowNotFoundError):
        await store.delete_workflow(drop.workflow_id)
    assert await store.load_workflow(keep.workflow_id) == keep.serialize()


@pytest.mark.parametrize(
    "workflow_id",
    [
        "it's",
        'say "hi"',
        "x; DROP TABLE workflows; --",
        "Robert'); DELETE FROM transitions; --",
        "ünï-çødé-工作流-🚀",
        "tab\tand\nnewline",
        "%_* wildcards",
    ],
)
async def test_any_workflow_id_round_trips(store, clock, backend, workflow_id):
    sm = dn.WorkflowStateMachine(workflow_id, store=store, clock=clock)
    await sm.process_event("Start")
    await store.create_checkpoint(workflow_id, label=workflow_id)
    assert await store.list_workflows() == [workflow_id]
    assert await store.load_workflow(workflow_id) == sm.serialize()
    recovered = await dn.WorkflowRecovery(store).recover_workflow(workflow_id)
    assert recovered.serialize() == sm.serialize()
    await store.delete_workflow(workflow_id)
    assert await store.list_workflows() == []
    for table in ("workflows", "transitions", "checkpoints"):
        assert await backend.query(f"SELECT count(*) FROM {table}") == [(0,)]
    assert await store.check_integrity() == []


async def test_lone_surrogates_persist_in_json_and_are_refused_in_names(store, clock):
    sm = dn.WorkflowStateMachine("s", store=store, clock=clock, context={"k": "\ud83d"})
    await sm.process_event(E.custom("note", {"text": "half \udc00 a pair"}))
    assert await store.load_workflow("s") == sm.serialize()
    odd = dn.WorkflowStateMachine("bad-\ud800", store=store, clock=clock)
    with pytest.raises(dn.SerializationError, match="lone surrogate"):
        await odd.process_event("Start")
    assert odd.state == S.IDLE
    with pytest.raises(dn.SerializationError, match="not valid UTF-8"):
        await store.load_workflow("bad-\ud800")
    assert await store.list_workflows() == ["s"]


async def test_a_row_in_the_way_fails_only_its_own_change_in_a_group(durable, store, backend):
    machines = [durable() for _ in range(4)]
    await asyncio.gather(*(sm.process_event("Start") for sm in machines))
    blocked = machines[2]
    [(key,)] = await backend.query("SELECT key FROM workflows WHERE id = ?", blocked.workflow_id)
    # Someone else wrote seq 2 of this workflow without moving its header.
    await backend.query(
        "INSERT INTO transitions (workflow, seq, from_state, to_state, event, event_data, "
        "timestamp, duration_us, context) SELECT workflow, 2, to_state, to_state, 'x', NULL, "
        "timestamp, 0, context FROM transitions WHERE workflow = ? AND seq = 1",
        key,
    )
    before = snapshot(blocked)
    results = await asyncio.gather(
        *(sm.process_event("Pause") for sm in machines), return_exceptions=True
    )
    failed = results[2]
    assert isinstance(failed, dn.StoreError)
    assert f"workflow {blocked.workflow_id!r} could not be written: " in str(failed)
    assert snapshot(blocked) == before
    for sm, result in zip(machines, results, strict=True):
        if sm is not blocked:
            assert isinstance(result, dn.StateHistoryEntry)
            assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    with pytest.raises(dn.StoreError, match="could not be written"):
        await blocked.process_event("Pause")  # alone, the same row is still in the way


async def test_load_history_frame_reads_what_history_frame_shows(durable, store, clock):
    from descartes_nb import notebook as dnb

    first, second = durable(context={"n": 1}), durable()
    await first.process_event("Start", {"by": "ana"})
    await clock.advance(timedelta(seconds=3))
    await second.process_event("Start")
    await second.set_context("items", [1, {"a": None}])
    await second.process_event("Pause")
    frame = await dnb.load_history_frame(store)
    expected = dnb.history_frame([first, second])
    assert frame.to_dict("list") == expected.to_dict("list")
    assert list(frame.dtypes) == list(expected.dtypes)
    since = await dnb.load_history_frame(store, since=START + timedelta(seconds=1))
    assert list(since["workflow_id"]) == [second.workflow_id] * 2
