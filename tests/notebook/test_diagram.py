"""diagram() and graph_model(): every feature checked in the DOT source (no renderer needed)."""

from __future__ import annotations

import re
from datetime import timedelta

import graphviz
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb
from descartes_nb.notebook import _layout as layout

MUTED = ' color="#b0bec5"'
LAST = ' color="#1565c0"'  # the space: not fontcolor
FILLED = 'fillcolor="#ffe082"'


def statement(graph: graphviz.Digraph, pattern: str) -> str:
    """The one DOT statement (line) that matches ``pattern``."""
    source: str = graph.source
    found = [line.strip() for line in source.splitlines() if re.search(pattern, line)]
    assert len(found) == 1, (pattern, found)
    return found[0]


def node(graph: graphviz.Digraph, node_id: str) -> str:
    return statement(graph, rf"^\s*{node_id} \[")


def edge(graph: graphviz.Digraph, label: str) -> str:
    # graphviz writes attributes sorted: label first, xlabel (beside the arrow) last
    return statement(graph, rf'-> \S+ \[(.* )?x?label="?{re.escape(label)}[" \]]')


async def drive(sm, events):
    for event in events:
        await sm.process_event(event)


def test_definition_draws_every_state_and_transition_with_its_event():
    g = dnb.diagram(dn.LIFECYCLE)
    for i, state in enumerate(dn.LIFECYCLE.state_names):
        assert node(g, f"s{i}").startswith(f"s{i} [label={state} ")
    arrows = [line for line in g.source.splitlines() if " -> s" in line and "start" not in line]
    assert len(arrows) == len(dn.LIFECYCLE.transitions) - 2  # Fail and Timeout share arrows
    for source in ("s1", "s2"):  # Running and Paused: one arrow, a line per event
        fail = statement(g, rf"^\s*{source} -> s4 ")
        assert 'label="Fail\\nTimeout"' in fail
        assert f"--Fail--> Failed\\n{dn.LIFECYCLE.state_names[int(source[1])]} --Timeout" in fail
    assert edge(g, "Start").startswith("s0 -> s1 ")
    assert edge(g, "Retry").startswith("s4 -> s1 ")
    assert "×" not in g.source  # nothing taken yet
    assert MUTED not in g.source  # a definition has no current state: nothing is muted


def test_initial_state_is_marked_by_an_arrow_from_a_point():
    g = dnb.diagram(dn.LIFECYCLE)
    assert 'start [label="" color="#37474f" shape=point tooltip=start width=0.16]' in g.source
    assert statement(g, r"^\s*start ->") == "start -> s0"


def test_terminal_states_are_double_ringed_and_only_they():
    g = dnb.diagram(dn.LIFECYCLE)
    ringed = [line for line in g.source.splitlines() if "peripheries=2" in line]
    assert [line.strip().split()[0] for line in ringed] == ["s3", "s4"]  # Completed, Failed


def test_guards_appear_in_the_transition_label(review_definition):
    g = dnb.diagram(review_definition)
    assert edge(g, "approve [context.approvals >= 2]").startswith("s1 -> s2 ")


def test_descriptions_become_tooltips():
    g = dnb.diagram(dn.LIFECYCLE)
    assert 'tooltip="created, waiting for Start"' in node(g, "s0")
    assert 'tooltip="Running --Pause--> Paused"' in edge(g, "Pause")


async def test_machine_fills_its_current_state_only(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.PAUSE])
    g = dnb.diagram(sm)
    assert FILLED in node(g, "s2")  # Paused
    assert g.source.count(FILLED) == 1
    assert f'label="{sm.workflow_id} (lifecycle): Paused"' in g.source


async def test_visited_transitions_are_heavier_and_counted(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.PAUSE, E.RESUME, E.PAUSE, E.RESUME, E.PAUSE])
    g = dnb.diagram(sm)
    assert "penwidth=5.20" in edge(g, "Pause ×3")  # the busiest (1.2 + 3), and last (+1)
    assert "penwidth=3.20" in edge(g, "Resume ×2")  # 1.2 + 3 * 2 / 3
    assert "penwidth=2.20" in edge(g, "Start ×1")  # 1.2 + 3 * 1 / 3
    assert 'tooltip="Running --Pause--> Paused (taken 3 times)"' in edge(g, "Pause ×3")
    assert "penwidth" not in edge(g, "Complete")


async def test_last_transition_is_highlighted_and_only_it(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.PAUSE, E.RESUME])
    g = dnb.diagram(sm)
    assert LAST in edge(g, "Resume ×1")
    assert g.source.count(LAST) == 1


async def test_events_not_allowed_now_are_muted(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START])
    g = dnb.diagram(sm)
    for allowed in ["Pause", "Complete", '"Fail']:
        assert MUTED not in statement(g, rf"^\s*s1 -> \S+ \[label={allowed}\b")
    for muted in ["Resume", "Retry"]:
        assert MUTED in edge(g, muted)
    assert MUTED in statement(g, r"^\s*s2 -> s4 \[label=\"Fail")  # Paused --Fail-->


async def test_a_false_guard_mutes_its_transition_and_a_true_one_does_not(
    make_workflow, review_definition
):
    sm = make_workflow(review_definition)
    await sm.process_event("submit")
    label = "approve [context.approvals >= 2]"
    assert MUTED in edge(dnb.diagram(sm), label)
    await sm.set_context("approvals", 2)
    assert MUTED not in edge(dnb.diagram(sm), label)


async def test_a_raising_guard_is_drawn_muted_instead_of_failing(make_workflow):
    def broken(context, data):
        raise RuntimeError("boom")

    definition = dn.WorkflowDefinition(
        "fragile",
        states=(dn.StateDef("a"), dn.StateDef("b", terminal=True)),
        initial_state="a",
        transitions=(dn.TransitionDef("a", "go", "b", guard=broken, guard_label="ok?"),),
    )
    g = dnb.diagram(make_workflow(definition))
    assert MUTED in edge(g, "go [ok?]")


async def test_rollback_and_internal_events_are_drawn_with_their_own_style(make_workflow):
    sm = make_workflow()
    await drive(sm, [E.START, E.custom("note"), E.PAUSE])
    await sm.rollback()
    g = dnb.diagram(sm)
    assert "style=dotted" in statement(g, r"s1 -> s1 \[label=\"note ×1\"")
    rollback = statement(g, r"s2 -> s1 \[label=\"Rollback ×1\"")
    assert "style=dashed" in rollback
    assert LAST in rollback


def test_compound_states_are_nested_clusters(order_definition):
    g = dnb.diagram(order_definition)
    source = g.source
    outer = source.index("subgraph cluster_s1 {")
    inner = source.index("subgraph cluster_s3 {")
    assert outer < source.index("s2 [label=Picking") < inner
    assert inner < source.index("s4 [label=Boxing") < source.index("s5 [label=Labelling")
    assert "label=Active" in statement(g, r"tooltip=\"being worked on\"$")
    # arrows into and out of a compound state attach to its edge
    assert edge(g, "accept").startswith("s0 -> s2 ")
    assert "lhead=cluster_s1" in edge(g, "accept")
    assert "lhead=cluster_s3" in edge(g, "picked")  # Packing enters Boxing, its initial child
    assert edge(g, "picked").startswith("s2 -> s4 ")
    assert "ltail=cluster_s1" in edge(g, "cancel")
    # the label of an arrow leaving a box goes beside the part drawn, outside the box
    assert " xlabel=cancel" in edge(g, "cancel")
    assert "[label=accept" in edge(g, "accept")


async def test_active_compound_states_are_tinted(make_workflow, order_definition):
    sm = make_workflow(order_definition)
    await drive(sm, ["accept", "picked"])
    g = dnb.diagram(sm)
    assert FILLED in node(g, "s4")  # Boxing
    tinted = [line for line in g.source.splitlines() if 'fillcolor="#fff8e1"' in line]
    assert len(tinted) == 2  # Active and Packing
    assert MUTED not in edge(g, "cancel")  # Active's transition is allowed from Boxing


async def test_collapse_true_draws_compound_states_as_single_nodes(
    make_workflow, order_definition
):
    sm = make_workflow(order_definition)
    await drive(sm, ["accept", "picked", "boxed"])
    g = dnb.diagram(sm, collapse=True)
    assert "subgraph" not in g.source
    active = node(g, "s1")
    assert 'label="Active\\n(+4 inside)"' in active
    assert 'style="rounded,dashed,filled"' in active
    assert all(f"s{i} [" not in g.source for i in (2, 3, 4, 5))
    assert "picked" not in g.source
    assert "boxed" not in g.source
    assert edge(g, "ship").startswith("s1 -> s6 ")
    assert edge(g, "accept ×1").startswith("s0 -> s1 ")


def test_collapse_by_name_keeps_the_others_as_clusters(order_definition):
    g = dnb.diagram(order_definition, collapse=["Packing"])
    assert "subgraph cluster_s1 {" in g.source
    assert "cluster_s3" not in g.source
    assert 'label="Packing\\n(+2 inside)"' in node(g, "s3")
    assert edge(g, "picked").startswith("s2 -> s3 ")


@pytest.mark.parametrize(
    ("collapse", "message"),
    [
        pytest.param(["Nope"], "cannot collapse 'Nope': it is not a compound state", id="unknown"),
        pytest.param("Picking", "cannot collapse 'Picking'", id="atomic"),
    ],
)
def test_collapse_refuses_states_that_are_not_compound(order_definition, collapse, message):
    with pytest.raises(ValueError, match=message) as info:
        dnb.diagram(order_definition, collapse=collapse)
    assert "(compound states: ['Active', 'Packing'])" in str(info.value)


async def test_serialized_workflow_draws_like_its_machine(make_workflow, order_definition):
    sm = make_workflow(order_definition)
    await drive(sm, ["accept", "picked"])
    assert dnb.diagram(sm.serialize(), definition=order_definition).source == (
        dnb.diagram(sm).source
    )
    life = make_workflow()
    await drive(life, [E.START, E.PAUSE])
    assert dnb.diagram(life.serialize()).source == dnb.diagram(life).source


async def test_serialized_workflow_needs_the_definition_it_runs(make_workflow, order_definition):
    sw = make_workflow(order_definition).serialize()
    with pytest.raises(ValueError, match="runs definition 'order', but no definition was passed"):
        dnb.diagram(sw)
    with pytest.raises(ValueError, match="but definition 'lifecycle' was passed"):
        dnb.diagram(sw, definition=dn.LIFECYCLE)


@pytest.mark.parametrize("bad", ["lifecycle", 42, None])
def test_diagram_refuses_other_objects(bad):
    with pytest.raises(TypeError, match="draws a WorkflowDefinition") as info:
        dnb.diagram(bad)
    assert repr(bad) in str(info.value)


def test_diagram_direction_is_checked():
    assert "rankdir=TB" in dnb.diagram(dn.LIFECYCLE, direction="TB").source
    with pytest.raises(ValueError, match="direction must be 'auto', 'LR' or 'TB', got 'up'"):
        dnb.diagram(dn.LIFECYCLE, direction="up")  # type: ignore[arg-type]


def test_graph_model_is_plain_data():
    model = dnb.graph_model(dn.LIFECYCLE)
    assert [n.state for n in model.nodes] == ["Idle", "Running", "Paused", "Completed", "Failed"]
    assert all(type(n.state) is str for n in model.nodes)
    assert model.initial == "s0"
    assert model.clusters == ()
    assert {(e.source, e.label, e.target) for e in model.edges} == {
        ("s0", "Start", "s1"),
        ("s1", "Pause", "s2"),
        ("s1", "Complete", "s3"),
        ("s1", "Fail\nTimeout", "s4"),
        ("s2", "Resume", "s1"),
        ("s2", "Fail\nTimeout", "s4"),
        ("s4", "Retry", "s1"),
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.85, "850ms"),
        (7.5, "7.5s"),
        (252, "4m 12s"),
        (3900, "1h 05m"),
        (2 * 86400 + 3 * 3600 + 59, "2d 3h"),
    ],
)
def test_mean_times_read_like_people_write_them(seconds, text):
    assert layout._short_time(timedelta(seconds=seconds)) == text
