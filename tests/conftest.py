"""Shared fixtures: a manual clock, definitions, a workflow factory; the requires_dot marker."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import settings

import descartes_nb as dn

# The store's fixtures, for layers above it tested on a real store (recovery).
from .store.conftest import db_path, durable, store  # noqa: F401

settings.register_profile("ci", deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a ``requires_dot`` test when there is no Graphviz renderer."""
    if item.get_closest_marker("requires_dot") is None:
        return
    # Imported here: only tests that draw need the notebook layer.
    from descartes_nb.notebook import _render as render

    try:
        render.find_renderer()
    except dn.RenderError as exc:
        pytest.skip(f"no Graphviz renderer: {exc}")


@pytest.fixture
def clock() -> dn.ManualClock:
    return dn.ManualClock(START)


@pytest.fixture
def make_workflow(clock: dn.ManualClock) -> Callable[..., dn.WorkflowStateMachine]:
    counter = iter(range(1, 10_000))

    def make(definition: dn.WorkflowDefinition = dn.LIFECYCLE, **options: Any):
        options.setdefault("clock", clock)
        return dn.WorkflowStateMachine(f"wf-{next(counter)}", definition, **options)

    return make


@pytest.fixture
def review_definition() -> dn.WorkflowDefinition:
    """A small flat definition with a guard: draft -> review -> approved / rejected."""

    def enough_approvals(context, data):
        return context.get("approvals", 0) >= 2

    return dn.WorkflowDefinition(
        "review",
        states=(
            dn.StateDef("draft"),
            dn.StateDef("review"),
            dn.StateDef("approved", terminal=True),
            dn.StateDef("rejected", terminal=True),
        ),
        initial_state="draft",
        transitions=(
            dn.TransitionDef("draft", "submit", "review"),
            dn.TransitionDef(
                "review",
                "approve",
                "approved",
                guard=enough_approvals,
                guard_label="context.approvals >= 2",
            ),
            dn.TransitionDef("review", "reject", "rejected"),
            dn.TransitionDef("review", "revise", "draft"),
        ),
    )


class ExitEnterTrace(dn.StateHandler):
    """Records ("exit", state) and ("enter", state) in the order the hooks ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_exit(self, state, ctx):
        self.calls.append(("exit", state))

    def on_enter(self, state, ctx):
        self.calls.append(("enter", state))
