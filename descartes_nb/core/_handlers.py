"""Handlers: the StateHandler base class, and calling sync or async handlers and guards."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, NamedTuple

from ..errors import HandlerError
from ._chart import ROOT
from ._definition import EVENTLESS, Guard
from ._events import WorkflowEvent
from ._jsonvalue import JSONValue, is_same, thaw, to_context
from ._step import Microstep, Step

HOOKS: Final = ("on_event", "on_exit", "on_transition", "on_enter")

HandlerResult = Awaitable[None] | None


class StateHandler:
    """Override any of the four hooks, as plain or ``async def`` methods.

    For one transition they run in this order: ``on_event``, ``on_exit`` (each state left,
    innermost first), ``on_transition``, ``on_enter`` (each state entered, outermost first).
    ``ctx`` is the workflow's context as a draft dict: changes made to it are kept when the
    transition succeeds and dropped when any handler raises.

    Example:
        >>> class Counter(StateHandler):
        ...     def on_enter(self, state, ctx):
        ...         ctx["entered"] = ctx.get("entered", 0) + 1
    """

    def on_event(self, state: str, event: WorkflowEvent) -> HandlerResult:
        """Called first, with the state the event arrives in."""

    def on_exit(self, state: str, ctx: dict[str, JSONValue]) -> HandlerResult:
        """Called for each state the transition leaves."""

    def on_transition(self, from_state: str, to_state: str, event: WorkflowEvent) -> HandlerResult:
        """Called once the states are left, before the new ones are entered."""

    def on_enter(self, state: str, ctx: dict[str, JSONValue]) -> HandlerResult:
        """Called for each state the transition enters."""


class Hooks(NamedTuple):
    """The hooks a handler really implements (None where it keeps the no-op default)."""

    on_event: Callable[..., HandlerResult] | None
    on_exit: Callable[..., HandlerResult] | None
    on_transition: Callable[..., HandlerResult] | None
    on_enter: Callable[..., HandlerResult] | None

    @property
    def needs_context(self) -> bool:
        """Whether a hook receives the context draft (so one must be made)."""
        return self.on_exit is not None or self.on_enter is not None


NO_HOOKS: Final = Hooks(None, None, None, None)


def hooks_of(handler: object | None) -> Hooks:
    """Return the hooks ``handler`` implements, skipping StateHandler's no-op defaults."""
    if handler is None:
        return NO_HOOKS
    found = []
    for name in HOOKS:
        method = getattr(handler, name, None)
        default = getattr(StateHandler, name)
        is_default = getattr(method, "__func__", None) is default
        found.append(method if callable(method) and not is_default else None)
    return Hooks(*found)


async def call_handler(
    hook: Callable[..., HandlerResult],
    *args: object,
    workflow_id: str,
    state: str,
    event: str,
) -> None:
    """Call a sync or async handler; any exception becomes a HandlerError chained to it.

    Raises:
        HandlerError: the handler raised.
    """
    try:
        result = hook(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        name = getattr(hook, "__name__", repr(hook))
        raise HandlerError(
            f"handler {name} raised {exc!r} while processing event {event!r} "
            f"in state {str(state)!r} of workflow {workflow_id!r}; nothing was changed",
            workflow_id=workflow_id,
            state=state,
            event=event,
        ) from exc


def call_guard(
    guard: Guard,
    context: Mapping[str, JSONValue],
    data: JSONValue,
    *,
    label: str,
    workflow_id: str,
    state: str,
    event: str,
) -> bool:
    """Evaluate a guard; an exception becomes a HandlerError chained to it.

    Raises:
        HandlerError: the guard raised.
    """
    try:
        return bool(guard(context, data))
    except Exception as exc:
        raise HandlerError(
            f"guard {label!r} raised {exc!r} while processing event {event!r} "
            f"in state {str(state)!r} of workflow {workflow_id!r}; nothing was changed",
            workflow_id=workflow_id,
            state=state,
            event=event,
        ) from exc


_ENTERING: Final = WorkflowEvent(EVENTLESS)
"""The event eventless transitions get when taken while entering the initial configuration."""


async def run_hooks(
    hooks: Hooks,
    step: Step,
    event: WorkflowEvent | None,
    context: Mapping[str, JSONValue],
    workflow_id: str,
) -> Mapping[str, JSONValue]:
    """Run the hooks of one step in order on a draft of ``context``; return the new context.

    Order: ``on_event`` once (not when entering the initial configuration, ``event`` None);
    then per microstep ``on_exit`` of each state exited, ``on_transition`` of each
    transition taken, ``on_enter`` of each state entered. ``on_transition`` gets the states
    the workflow was in before and after the microstep when it took one transition, and the
    transition's source and first target when several were taken together (one per
    region); an event no transition takes gets it once, from and to the current state.

    The hooks that take the context get a plain, changeable copy of it (a draft); when they
    return it is checked and frozen (``to_context``). The context comes back unchanged (the
    same object) when no hook changed it.

    Raises:
        HandlerError: a hook raised (nothing of the draft is kept).
        SerializationError: the hooks left something in the context that is not JSON, or
            that JSON cannot read back as it is (see ``jsonvalue.to_json_value``).
    """
    draft = thaw(context) if hooks.needs_context else None
    assert draft is None or isinstance(draft, dict)
    name = "(start: entering the initial states)" if event is None else event.name
    where = {"workflow_id": workflow_id, "event": name}
    if hooks.on_event and event is not None:
        await call_handler(hooks.on_event, step.source, event, state=step.source, **where)
    if not step.microsteps and hooks.on_transition:  # an event no transition takes
        await call_handler(
            hooks.on_transition, step.source, step.target, event, state=step.source, **where
        )
    for micro in step.microsteps:
        await _run_microstep(hooks, micro, event or _ENTERING, draft, where)
    if draft is None or is_same(draft, context):  # (is_same never calls == on non-JSON)
        return context
    return to_context(draft, f"context after handlers for event {name!r}")


async def _run_microstep(
    hooks: Hooks,
    micro: Microstep,
    event: WorkflowEvent,
    draft: object,
    where: dict[str, str],
) -> None:
    if hooks.on_exit:
        for state in micro.exited:
            await call_handler(hooks.on_exit, state, draft, state=state, **where)
    if hooks.on_transition:
        if not micro.transitions:  # entering the initial configuration, or a rollback
            pairs = [] if micro.source == ROOT else [(micro.source, micro.target)]
        elif len(micro.transitions) == 1:
            pairs = [(micro.source, micro.target)]
        else:
            pairs = [(t.source, t.target or t.source) for t in micro.transitions]
        for source, target in pairs:
            await call_handler(hooks.on_transition, source, target, event, state=source, **where)
    if hooks.on_enter:
        for state in micro.entered:
            await call_handler(hooks.on_enter, state, draft, state=state, **where)
