"""Large definitions: dot's effort bounded by size, a refusal past the limit, the right advice."""

from __future__ import annotations

import random

import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook import _effort as effort
from descartes_nb.notebook import _render as render


def busy(states: int, group: int = 0) -> dn.WorkflowDefinition:
    """``states`` states, 4 transitions each (next, skip ahead, back, fail); in groups."""
    rng = random.Random(7)
    names = [f"step_{i:04d}" for i in range(states - 2)]
    parents = [f"group_{i // group:03d}" if group else None for i in range(len(names))]
    defs = [dn.StateDef(p) for p in dict.fromkeys(p for p in parents if p)]
    defs += [dn.StateDef(n, parent=p) for n, p in zip(names, parents, strict=True)]
    defs += [dn.StateDef("Done", terminal=True), dn.StateDef("Failed", terminal=True)]
    last = len(names) - 1
    transitions = []
    for i, name in enumerate(names):
        transitions += [
            dn.TransitionDef(name, "next", names[i + 1] if i < last else "Done"),
            dn.TransitionDef(name, "skip", names[min(i + rng.randint(2, 4), last)]),
            dn.TransitionDef(name, "back", names[max(i - rng.randint(1, 3), 0)]),
            dn.TransitionDef(name, "fail", "Failed"),
        ]
    return dn.WorkflowDefinition(f"busy-{states}", tuple(defs), names[0], tuple(transitions))


@pytest.fixture
def timeout_restored():
    yield
    render.set_render_timeout(render.DEFAULT_TIMEOUT)


def test_diagram_small_keeps_full_effort_and_labels_on_edges():
    source = dnb.diagram(busy(10)).source
    assert "nslimit" not in source
    assert "splines" not in source
    assert "[label=next" in source
    assert "xlabel" not in source


def test_diagram_medium_bounds_effort_and_puts_labels_beside_edges():
    g = dnb.diagram(busy(50))
    # the last but one stage's next and skip both go to the last: one edge, two lines
    assert g.size == effort.Size(states=50, edges=len(busy(50).transitions) - 1, compound=0)
    assert 'xlabel="next\\nskip"' in g.source
    source = g.source
    bounds = ("nslimit=0.2", "nslimit1=0.2", "mclimit=0.2", "searchsize=5", "remincross=false")
    assert all(bound in source for bound in bounds)
    assert "splines" not in source
    assert "xlabel=next]" in source
    assert " label=next" not in source


def test_diagram_large_draws_straight_lines():
    source = dnb.diagram(busy(100)).source
    assert "splines=false" in source
    assert "mclimit=0.1" in source


@pytest.mark.requires_dot
def test_diagram_of_100_states_with_4_transitions_each_draws():
    bundle = dnb.diagram(busy(100)).display_bundle()
    assert set(bundle) == {"image/svg+xml", "text/html"}
    assert bundle["image/svg+xml"].count('class="node"') == 100 + 1  # and the start point


def test_diagram_past_the_limit_is_refused_without_running_the_renderer(render_env):
    render_env.setenv(render.ENV_VAR, "/nonexistent/dot")  # running it would say so
    g = dnb.diagram(busy(effort.MAX_STATES + 1))
    bundle = g.display_bundle()
    assert list(bundle) == ["text/html"]
    page = bundle["text/html"]
    assert f"{effort.MAX_STATES + 1} states" in page
    assert f"at most {effort.MAX_STATES} states" in page
    assert "no compound states to collapse" in page
    assert "collapse=True (" not in page
    assert "/nonexistent" not in page


def test_diagram_past_the_limit_with_compound_states_advises_collapse(render_env):
    render_env.setenv(render.ENV_VAR, "/nonexistent/dot")
    definition = busy(effort.MAX_STATES + 20, group=10)
    page = dnb.diagram(definition).display_bundle()["text/html"]
    assert "too large to draw" in page
    assert "collapse=True (32 compound states" in page
    collapsed = dnb.diagram(definition, collapse=True)
    assert collapsed.size is not None
    assert not collapsed.size.too_large


@pytest.mark.requires_dot
@pytest.mark.parametrize(
    ("group", "advice"),
    [
        pytest.param(0, "no compound states to collapse", id="flat"),
        pytest.param(10, "collapse=True (5 compound states", id="grouped"),
    ],
)
def test_diagram_past_the_time_limit_advises_collapse_only_with_compound_states(
    group, advice, timeout_restored
):
    render.set_render_timeout(0.001)  # no renderer starts that fast
    page = dnb.diagram(busy(50, group=group)).display_bundle()["text/html"]
    assert "time limit of 0.001 s" in page
    assert advice in page
    assert "set_render_timeout" in page
