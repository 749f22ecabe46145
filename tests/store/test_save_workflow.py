"""Whole workflows: never replaced silently; get_or_create goes on with a stored one."""

from __future__ import annotations

import asyncio
import re
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S

from ..conftest import START

README = Path(__file__).resolve().parents[2] / "README.md"
M = timedelta(minutes=1)


@pytest.fixture
def store(any_store):
    """Every test here runs on each backend (the store contract, tests/store/conftest.py)."""
    return any_store


async def stored_four_transitions(store, clock) -> dn.WorkflowStateMachine:
    """build-42, committed through ``store``: Start, Pause, Resume, Pause (version 4)."""
    sm = dn.WorkflowStateMachine("build-42", store=store, clock=clock)
    for event in ("Start", "Pause", "Resume", "Pause"):
        await clock.advance(M)
        await sm.process_event(event)
    return sm


async def transition_count(backend, workflow_id="build-42") -> int:
    [(count,)] = await backend.query(
        "SELECT count(*) FROM transitions JOIN workflows ON workflow = key WHERE id = ?",
        workflow_id,
    )
    assert isinstance(count, int)
    return count


def refusal(version: int, state: str, why: str) -> str:
    return re.escape(
        f"workflow 'build-42' is already stored at version {version} (state {state!r}), {why}; "
        "nothing was written: to continue it use `await WorkflowStateMachine.get_or_create(...)` "
        "or WorkflowRecovery; to replace it pass overwrite=True"
    )


# -- a new machine over a stored workflow --------------------------------------------------------

WRITERS = {
    "register_workflow": lambda store, sm: dn.WorkflowOrchestrator(store).register_workflow(sm),
    "attach_store": lambda store, sm: sm.attach_store(store),
    "save_workflow": lambda store, sm: store.save_workflow(sm),
}


@pytest.mark.parametrize("writer", list(WRITERS))
async def test_a_new_machine_never_replaces_a_stored_workflow_silently(backend, clock, writer):
    """The issue's reproduction: a second store on the same file, a new machine, same id."""
    async with (
        backend.open(clock=clock) as first,
        backend.open(clock=clock) as second,
    ):
        sm = await stored_four_transitions(first, clock)
        stored = await first.load_workflow("build-42")
        await clock.advance(M)
        newcomer = dn.WorkflowStateMachine("build-42", clock=clock)
        created = "2026-03-01T09:05:00.000000Z"
        why = f"and this machine is another workflow with the same id (created at {created})"
        with pytest.raises(dn.ConcurrentModificationError, match=refusal(4, "Paused", why)):
            await WRITERS[writer](second, newcomer)
        assert newcomer.store is None
        assert await second.load_workflow("build-42") == stored
        assert await transition_count(backend) == 4
        await sm.process_event("Resume")  # the first writer never notices anything
        assert (await second.load_workflow("build-42")).version == 5


async def test_overwrite_replaces_a_stored_workflow_when_asked_by_name(store, clock, backend):
    await stored_four_transitions(store, clock)
    replacement = dn.WorkflowStateMachine("build-42", clock=clock)
    await replacement.attach_store(store, overwrite=True)
    assert await store.load_workflow("build-42") == replacement.serialize()
    assert await transition_count(backend) == 0
    again = dn.WorkflowStateMachine("build-42", clock=clock, context={"again": True})
    await dn.WorkflowOrchestrator(store).register_workflow(again, overwrite=True)
    assert await store.load_workflow("build-42") == again.serialize()
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'yes'"):
        await store.save_workflow(again, overwrite="yes")


async def test_a_machine_made_new_with_store_is_refused_at_its_first_change(store, clock, backend):
    await stored_four_transitions(store, clock)
    newcomer = dn.WorkflowStateMachine("build-42", store=store, clock=clock)
    with pytest.raises(dn.ConcurrentModificationError, match="get_or_create") as info:
        await newcomer.process_event("Start")
    assert "changed by another writer" not in str(info.value)  # there is no other writer
    assert "already stored at version 4 (state 'Paused')" in str(info.value)
    assert newcomer.version == 0
    assert await transition_count(backend) == 4


# -- writing a workflow that is stored: only a continuation --------------------------------------


async def test_save_workflow_continues_a_stored_workflow_and_keeps_its_history(
    store, clock, backend
):
    sm = dn.WorkflowStateMachine("build-42", clock=clock, max_history=3)  # no store
    for event in ("Start", "Pause"):
        await sm.process_event(event)
    await store.save_workflow(sm)
    for event in ("Resume", "Pause"):
        await sm.process_event(event)
    await store.save_workflow(sm)  # memory holds seq 2 to 4; the store keeps seq 1 too
    assert [e.seq for e in await store.get_workflow_history("build-42")] == [1, 2, 3, 4]
    stored = await store.load_workflow("build-42")
    assert (stored.state, stored.version, stored.history) == (S.PAUSED, 4, sm.serialize().history)
    await sm.set_context("only", "the context")
    await store.save_workflow(sm)  # no new entry: the header alone moves on
    await store.save_workflow(sm)  # the same again: nothing to add
    assert (await store.load_workflow("build-42")).context == {"only": "the context"}
    assert await transition_count(backend) == 4


async def test_save_workflow_refuses_a_machine_behind_the_stored_one(store, clock):
    sm = await stored_four_transitions(store, clock)
    stale = dn.WorkflowStateMachine.deserialize(sm.serialize(), clock=clock)
    await sm.process_event("Resume")
    with pytest.raises(dn.ConcurrentModificationError) as info:
        await store.save_workflow(stale)
    assert str(info.value).startswith(
        "workflow 'build-42' is already stored at version 5 (state 'Running'), ahead of this "
        "machine (version 4); nothing was written"
    )
    assert await store.load_workflow("build-42") == sm.serialize()


async def test_save_workflow_refuses_copies_that_went_their_own_ways(store, clock):
    sm = dn.WorkflowStateMachine("build-42", clock=clock)
    await sm.process_event("Start")
    await store.save_workflow(sm)
    mine, theirs, twin = (
        dn.WorkflowStateMachine.deserialize(sm.serialize(), clock=clock) for _ in range(3)
    )
    await mine.process_event("Pause")
    await store.save_workflow(mine)  # stored: version 2, Paused
    await theirs.process_event("Complete")  # the same version, another state
    with pytest.raises(dn.ConcurrentModificationError, match="holds another state or context"):
        await store.save_workflow(theirs)
    await theirs.set_context("by", "theirs")  # ahead now, but its entry 2 is another one
    with pytest.raises(dn.ConcurrentModificationError, match="entry 2 is not the stored one"):
        await store.save_workflow(theirs)
    await twin.set_context("by", "twin")  # ahead of version 1, behind the stored entry 2
    await twin.set_context("then", "more")
    with pytest.raises(
        dn.ConcurrentModificationError, match="ends at entry 1, before the stored 2"
    ):
        await store.save_workflow(twin)
    assert await store.load_workflow("build-42") == mine.serialize()


async def test_save_workflow_refuses_a_machine_that_lost_the_entry_to_go_on_from(store, clock):
    sm = dn.WorkflowStateMachine("build-42", clock=clock, max_history=1)
    await sm.process_event("Start")
    await store.save_workflow(sm)
    await sm.process_event("Pause")
    await sm.process_event("Resume")  # memory now holds seq 3 only
    with pytest.raises(dn.ConcurrentModificationError, match="no longer holds its entry 1"):
        await store.save_workflow(sm)
    await store.save_workflow(sm, overwrite=True)
    assert [e.seq for e in await store.get_workflow_history("build-42")] == [3]


async def test_a_change_says_when_its_workflow_was_deleted_or_replaced(store, clock):
    sm = dn.WorkflowStateMachine("build-42", store=store, clock=clock)
    await sm.process_event("Start")
    await store.save_workflow(dn.WorkflowStateMachine("build-42", clock=clock), overwrite=True)
    with pytest.raises(dn.ConcurrentModificationError, match="replaced or restored since"):
        await sm.process_event("Pause")
    await store.delete_workflow("build-42")
    with pytest.raises(dn.ConcurrentModificationError, match="is not stored"):
        await sm.process_event("Pause")
    assert sm.state == S.RUNNING


# -- get_or_create -------------------------------------------------------------------------------


class Counting(dn.StateHandler):
    def __init__(self) -> None:
        self.calls = 0

    def on_enter(self, state, ctx):
        self.calls += 1


TIMED = dn.WorkflowDefinition(
    "timed",
    states=(dn.StateDef("A", timeout=M * 30), dn.StateDef("B", terminal=True)),
    initial_state="A",
    transitions=(dn.TransitionDef("A", "Timeout", "B"), dn.TransitionDef("A", "note", "A")),
)


async def test_get_or_create_makes_and_stores_a_new_workflow(store, clock):
    sm = await dn.WorkflowStateMachine.get_or_create(
        "build-42", store=store, clock=clock, context={"owner": "ada"}, max_history=7
    )
    assert (sm.state, sm.version, dict(sm.context), sm.store) == (
        S.IDLE,
        0,
        {"owner": "ada"},
        store,
    )
    assert sm.history.max_history == 7
    assert await store.load_workflow("build-42") == sm.serialize()
    await sm.process_event("Start")
    assert (await store.load_workflow("build-42")).state == S.RUNNING


async def test_get_or_create_rebuilds_a_stored_workflow_without_running_handlers(backend, clock):
    handler = Counting()
    async with backend.open(clock=clock) as store:
        sm = await dn.WorkflowStateMachine.get_or_create("t", TIMED, store=store, clock=clock)
        await clock.advance(M * 10)
        await sm.process_event("note")
        sm.cancel_timers()  # the process stops here
    async with backend.open(clock=clock) as store:
        again = await dn.WorkflowStateMachine.get_or_create(
            "t", TIMED, store=store, clock=clock, handler=handler, context={"ignored": 1}
        )
        assert again.serialize() == sm.serialize()
        assert (again.store, handler.calls) == (store, 0)
        # "note" re-entered A at 09:10: re-armed with the time left
        assert again.metadata.timeout_at == START + M * 40
        await clock.advance(M * 30)
        assert again.state == "B"
        assert (await store.load_workflow("t")).state == "B"
        with pytest.raises(dn.SerializationError, match="timed"):
            await dn.WorkflowStateMachine.get_or_create("t", store=store)  # the lifecycle


class RacingStore:
    """A real store, but another process creates (and may delete) the workflow just after
    this one found it missing."""

    def __init__(self, store: dn.SqliteWorkflowStore, other, delete: bool) -> None:
        self.store, self.other, self.delete = store, other, delete
        self.loads = 0

    async def load_workflow(self, workflow_id):
        self.loads += 1
        if self.loads == 1:
            try:
                return await self.store.load_workflow(workflow_id)  # not stored yet
            finally:
                await dn.WorkflowStateMachine.get_or_create(workflow_id, store=self.other)
        if self.delete:
            await self.other.delete_workflow(workflow_id)
        return await self.store.load_workflow(workflow_id)

    async def save_workflow(self, sm, *, overwrite=False):
        await self.store.save_workflow(sm, overwrite=overwrite)

    async def save_change(self, change):
        await self.store.save_change(change)

    async def delete_workflow(self, workflow_id):
        await self.store.delete_workflow(workflow_id)


async def test_get_or_create_racing_another_process_gets_its_workflow(backend, clock):
    async with (
        backend.open() as mine,
        backend.open() as theirs,
    ):
        racing = RacingStore(mine, theirs, delete=False)
        sm = await dn.WorkflowStateMachine.get_or_create("build-42", store=racing, clock=clock)
        assert racing.loads == 2
        assert sm.serialize() == await theirs.load_workflow("build-42")
        await sm.process_event("Start")  # it goes on with the stored one


async def test_get_or_create_racing_a_create_and_delete_says_so(backend, clock):
    async with (
        backend.open() as mine,
        backend.open() as theirs,
    ):
        racing = RacingStore(mine, theirs, delete=True)
        with pytest.raises(dn.ConcurrentModificationError, match="already stored"):
            await dn.WorkflowStateMachine.get_or_create("build-42", store=racing, clock=clock)
        assert await mine.list_workflows() == []


# -- the orchestrator ----------------------------------------------------------------------------


async def test_orchestrator_get_or_create_registers_the_stored_or_a_new_workflow(store, clock):
    await stored_four_transitions(store, clock)
    orch = dn.WorkflowOrchestrator(store)
    stored, new = await asyncio.gather(
        orch.get_or_create("build-42", clock=clock), orch.get_or_create("build-43", clock=clock)
    )
    assert (stored.state, stored.version, new.state) == (S.PAUSED, 4, S.IDLE)
    assert orch.list_workflows() == ["build-42", "build-43"]
    assert await store.list_workflows() == ["build-42", "build-43"]
    assert await orch.get_or_create("build-42") is stored
    both = await asyncio.gather(*(orch.get_or_create("build-44") for _ in range(2)))
    assert both[0] is both[1] is orch.get_workflow("build-44")
    with pytest.raises(dn.DuplicateWorkflowError, match="running definition 'lifecycle', not 't"):
        await orch.get_or_create("build-42", TIMED)
    without_store = dn.WorkflowOrchestrator()
    sm = await without_store.get_or_create("t", TIMED, clock=clock, max_history=3)
    assert (sm.definition, sm.store, sm.history.max_history) == (TIMED, None, 3)
    assert await without_store.get_or_create("t", TIMED) is sm


# -- the README ----------------------------------------------------------------------------------


def persistence_snippet() -> str:
    """The first Python block of the README's persistence section."""
    section = README.read_text(encoding="utf-8").split("## Persistence: SQLite", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_readme_persistence_snippet_runs_again_and_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the snippet opens workflows.db where it runs
    scope: dict[str, object] = {"dn": dn}
    exec("async def snippet():\n" + textwrap.indent(persistence_snippet(), "    "), scope)
    for run in (1, 2, 3):
        await scope["snippet"]()  # type: ignore[operator]
        async with dn.SqliteWorkflowStore("workflows.db") as store:
            stored = await store.load_workflow("build-42")
        assert (stored.state, dict(stored.context)) == (S.RUNNING, {"runs": run})
