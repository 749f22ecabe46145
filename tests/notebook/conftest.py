"""Notebook-layer fixtures: renderers (the ``requires_dot`` marker is in tests/conftest.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.notebook import _render as render


@pytest.fixture
def pure_dot() -> Path:
    """The graphviz-pure program installed with this environment."""
    found = render.find_renderer()
    if found.origin != "graphviz-pure":
        pytest.skip(f"the renderer in use is {found}, not graphviz-pure")
    return found.path


@pytest.fixture
def system_dot() -> Path:
    """A system Graphviz ``dot`` (Debian's graphviz package), or skip."""
    found = render.system_dot()
    if found is None:
        pytest.skip("no system dot on PATH (apt-get install graphviz)")
    return found


@pytest.fixture
def slow_dot_source() -> str:
    """A graph dot needs minutes to lay out: 200 states, 800 random labelled edges."""
    rnd = random.Random(7)
    edges = [
        f'  s{rnd.randrange(200)} -> s{rnd.randrange(200)} [label="event{i}"]' for i in range(800)
    ]
    return "digraph {\n  rankdir=LR\n" + "\n".join(edges) + "\n}\n"


@pytest.fixture
def render_env(monkeypatch: pytest.MonkeyPatch):
    """Lets a test change DESCARTES_NB_DOT and PATH; both are restored afterwards."""
    monkeypatch.delenv(render.ENV_VAR, raising=False)
    return monkeypatch


RELEASE = """
# build and test at once, joined; a review that comes back where it was after a hold
[workflow.release]
initial_state = "Checks"
[workflow.release.states.Checks]
parallel = true
on_done = "Review"
[workflow.release.states.Build]
parent = "Checks"
[workflow.release.states.Compiling]
parent = "Build"
on = { compiled = "Built" }
[workflow.release.states.Built]
parent = "Build"
final = true
[workflow.release.states.Test]
parent = "Checks"
[workflow.release.states.Testing]
parent = "Test"
on = { passed = "Tested" }
[workflow.release.states.Tested]
parent = "Test"
final = true
[workflow.release.states.Review]
on = { hold = "OnHold" }
[workflow.release.states.CodeReview]
parent = "Review"
on = { approve = "SecurityReview" }
[workflow.release.states.SecurityReview]
parent = "Review"
on = { approve = "Shipped" }
[workflow.release.states.Resume]
parent = "Review"
history = "shallow"
default = "CodeReview"
[workflow.release.states.OnHold]
on = { resume = "Resume" }
[workflow.release.states.Shipped]
terminal = true
"""


@pytest.fixture
def release_definition() -> dn.WorkflowDefinition:
    """Checks{Build{Compiling, Built}, Test{Testing, Tested}} (parallel), then Review with a
    shallow history state, OnHold, Shipped."""
    return dn.load_definitions(RELEASE)["release"]


@pytest.fixture
def order_definition() -> dn.WorkflowDefinition:
    """Nested compound states: Active{Picking, Packing{Boxing, Labelling}}."""
    s, t = dn.StateDef, dn.TransitionDef
    return dn.WorkflowDefinition(
        "order",
        states=(
            s("New", description="just placed"),
            s("Active", description="being worked on"),
            s("Picking", parent="Active"),
            s("Packing", parent="Active", initial="Boxing"),
            s("Boxing", parent="Packing"),
            s("Labelling", parent="Packing"),
            s("Shipped", terminal=True),
            s("Cancelled", terminal=True),
        ),
        initial_state="New",
        transitions=(
            t("New", "accept", "Active"),
            t("Picking", "picked", "Packing"),
            t("Boxing", "boxed", "Labelling"),
            t("Labelling", "ship", "Shipped"),
            t("Active", "cancel", "Cancelled"),
        ),
    )
