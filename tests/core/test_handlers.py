"""Handlers: order, sync and async hooks, failures that change nothing, context drafts."""

from __future__ import annotations

import enum

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S


class Recorder(dn.StateHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def on_event(self, state, event):
        self.calls.append(("on_event", state, event.name))

    async def on_exit(self, state, ctx):
        self.calls.append(("on_exit", state))

    def on_transition(self, from_state, to_state, event):
        self.calls.append(("on_transition", from_state, to_state, event.name))

    async def on_enter(self, state, ctx):
        self.calls.append(("on_enter", state))


async def test_hooks_run_in_design_order_sync_and_async(make_workflow):
    handler = Recorder()
    sm = make_workflow(handler=handler)
    await sm.process_event("Start")
    assert handler.calls == [
        ("on_enter", S.IDLE),  # entering the initial configuration (start) comes first
        ("on_event", S.IDLE, "Start"),
        ("on_exit", S.IDLE),
        ("on_transition", S.IDLE, S.RUNNING, "Start"),
        ("on_enter", S.RUNNING),
    ]


async def test_internal_custom_event_runs_on_event_and_on_transition_only(make_workflow):
    handler = Recorder()
    sm = make_workflow(handler=handler)
    await sm.start()
    handler.calls.clear()
    await sm.process_event(dn.WorkflowEvent.custom("note"))
    assert handler.calls == [
        ("on_event", S.IDLE, "note"),
        ("on_transition", S.IDLE, S.IDLE, "note"),
    ]


async def test_handlers_see_the_event_data_checked_and_copied(make_workflow):
    seen = []

    class Watch(dn.StateHandler):
        def on_event(self, state, event):
            seen.append(event)

    sm = make_workflow(handler=Watch())
    data = {"by": ["ana"]}
    await sm.process_event("Start", data)
    data["by"].append("bob")
    assert seen[0].data == {"by": ["ana"]}
    assert sm.history[-1].event_data == {"by": ["ana"]}


@pytest.mark.parametrize("hook", ["on_event", "on_exit", "on_transition", "on_enter"])
async def test_failing_hook_raises_handler_error_and_changes_nothing(make_workflow, hook):
    class Failing(dn.StateHandler):
        pass

    armed: list[bool] = []

    def boom(self, *args):
        if not armed:
            return  # (entering the initial configuration: see the test below)
        if isinstance(args[-1], dict):
            args[-1]["written"] = True  # a draft change that must be dropped
        raise RuntimeError(f"{hook} broke")

    setattr(Failing, hook, boom)
    sm = make_workflow(handler=Failing(), context={"n": 1})
    await sm.start()
    armed.append(True)
    before = (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version)
    with pytest.raises(dn.HandlerError) as info:
        await sm.process_event("Start")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert f"{hook} broke" in str(info.value)
    assert "nothing was changed" in str(info.value)
    assert info.value.workflow_id == sm.workflow_id
    assert info.value.event == "Start"
    assert (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version) == before


async def test_start_runs_on_enter_of_the_initial_states_once(make_workflow):
    handler = Recorder()
    sm = make_workflow(handler=handler)
    assert not sm.is_started
    await sm.start()
    await sm.start()
    assert handler.calls == [("on_enter", S.IDLE)]
    assert sm.is_started
    assert sm.version == 0  # the handler changed no context: nothing to commit


async def test_a_failing_start_changes_nothing_and_is_tried_again(make_workflow):
    class Once(dn.StateHandler):
        failures = 1

        def on_enter(self, state, ctx):
            ctx["entered"] = str(state)
            if self.failures:
                self.failures -= 1
                raise RuntimeError("not yet")

    sm = make_workflow(handler=Once())
    with pytest.raises(dn.HandlerError, match="not yet") as info:
        await sm.process_event("Start")
    assert info.value.event == "(start: entering the initial states)"
    assert (sm.state, dict(sm.context), len(sm.history), sm.is_started) == (
        S.IDLE,
        {},
        0,
        False,
    )
    entry = await sm.process_event("Start")
    assert entry.context_before == {"entered": "Idle"}  # start committed it (version 1)
    assert (sm.context["entered"], sm.version) == ("Running", 2)


async def test_context_changes_made_by_handlers_are_kept_in_history(make_workflow):
    class Count(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx.setdefault("entered", []).append(str(state))

    sm = make_workflow(handler=Count())
    first = await sm.process_event("Start")
    second = await sm.process_event("Pause")
    assert first.context == {"entered": ["Idle", "Running"]}
    assert first.context_before == {"entered": ["Idle"]}  # from start, before the first event
    assert second.context == {"entered": ["Idle", "Running", "Paused"]}
    await sm.rollback()
    # Rollback restores the context from before Pause; handlers then run on the way back in.
    assert sm.context == {"entered": ["Idle", "Running", "Running"]}


async def test_handler_writing_non_json_context_is_refused(make_workflow):
    class Bad(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx["when"] = object()

    sm = make_workflow(handler=Bad())
    with pytest.raises(dn.SerializationError, match="context after handlers"):
        await sm.process_event("Start")
    assert sm.state == S.IDLE
    assert len(sm.history) == 0


async def test_unchanged_context_is_shared_not_copied(make_workflow):
    class Quiet(dn.StateHandler):
        def on_enter(self, state, ctx):
            pass

    sm = make_workflow(handler=Quiet(), context={"big": list(range(100))})
    before = sm.context
    entry = await sm.process_event("Start")
    assert entry.context is before
    assert sm.context is before


async def test_plain_object_with_some_hooks_is_a_handler(make_workflow):
    class Duck:
        def __init__(self):
            self.entered = []

        def on_enter(self, state, ctx):
            self.entered.append(state)

    duck = Duck()
    sm = make_workflow(handler=duck)
    await sm.process_event("Start")
    assert duck.entered == [S.IDLE, S.RUNNING]


class Door(enum.StrEnum):
    CLOSED = "Closed"
    OPEN = "Open"


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(dn.LIFECYCLE, id="lifecycle"),
        pytest.param(
            dn.WorkflowDefinition(
                "door",
                states=(dn.StateDef(Door.CLOSED), dn.StateDef(Door.OPEN)),
                initial_state=Door.CLOSED,
                transitions=(dn.TransitionDef(Door.CLOSED, "Start", Door.OPEN),),
            ),
            id="user-strenum",
        ),
    ],
)
async def test_handlers_history_and_context_get_plain_str_state_names(make_workflow, definition):
    seen: list[object] = []

    class Noter(dn.StateHandler):
        def on_event(self, state, event):
            seen.append(state)

        def on_exit(self, state, ctx):
            seen.append(state)

        def on_transition(self, from_state, to_state, event):
            seen.extend([from_state, to_state])

        def on_enter(self, state, ctx):
            seen.append(state)
            ctx["entered"] = state

    sm = make_workflow(definition, handler=Noter())
    assert type(sm.state) is str
    entry = await sm.process_event("Start")
    names = [*seen, sm.state, entry.from_state, entry.to_state, sm.metadata.state]
    assert {type(name) for name in names} == {str}
    assert repr(dict(sm.context)) == f"{{'entered': {str(sm.state)!r}}}"
    assert "<" not in repr(sm.history[-1])
    assert (entry.to_state == S.RUNNING) == (definition is dn.LIFECYCLE)  # enum == plain str
