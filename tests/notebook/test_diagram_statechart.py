"""Statecharts drawn as UML draws them: regions, final and history states, done transitions.

The DOT source is checked for every feature; the SVG that Debian's ``dot`` and graphviz-pure
make of it is checked for the shapes (dashed region borders, circles, double rings) and for
done transitions leaving their state's border.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.core._definition import DONE_PREFIX
from descartes_nb.notebook._draw import draw
from descartes_nb.notebook._layout import build_model
from descartes_nb.notebook._model import Observation, classify

WORKFLOWS = Path(__file__).parents[2] / "notebooks" / "workflows"
S, T = dn.StateDef, dn.TransitionDef
FILLED = 'fillcolor="#ffe082"'
SVG = "{http://www.w3.org/2000/svg}"
IDS = {  # node ids are s<index> in definition order
    "Planned": "s0",
    "Checks": "s1",
    "Build": "s2",
    "Compiling": "s3",
    "Built": "s4",
    "Test": "s5",
    "Testing": "s6",
    "Passed": "s7",
    "Review": "s8",
    "Resume": "s9",
    "Reading": "s10",
    "Commenting": "s11",
    "Away": "s12",
    "Deployed": "s13",
}


def green(context, data):
    return True


@pytest.fixture
def release() -> dn.WorkflowDefinition:
    """Checks forks into Build and Test and joins on done; Review resumes through H*."""
    return dn.WorkflowDefinition(
        "release",
        states=(
            S("Planned"),
            S("Checks", parallel=True, description="build and test at once"),
            S("Build", parent="Checks", initial="Compiling"),
            S("Compiling", parent="Build"),
            S("Built", parent="Build", final=True),
            S("Test", parent="Checks"),
            S("Testing", parent="Test"),
            S("Passed", parent="Test", final=True),
            S("Review", initial="Reading"),
            S("Resume", parent="Review", history="deep", default="Reading"),
            S("Reading", parent="Review"),
            S("Commenting", parent="Review"),
            S("Away", description="interrupted"),
            S("Deployed", terminal=True),
        ),
        initial_state="Planned",
        transitions=(
            T("Planned", "go", "Compiling", more_targets=("Testing",)),
            T("Compiling", "compiled", "Built"),
            T("Testing", dn.EVENTLESS, "Passed", guard=green, guard_label="context.green"),
            T("Checks", DONE_PREFIX + "Checks", "Review"),
            T("Reading", dn.EVENTLESS, "Commenting"),
            T("Review", "interrupt", "Away"),
            T("Away", "back", "Resume"),
            T("Commenting", "approve", "Deployed"),
            T("Commenting", "note", None),
        ),
    )


def lines(source: str, pattern: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if re.search(pattern, line)]


def one(source: str, pattern: str) -> str:
    found = lines(source, pattern)
    assert len(found) == 1, (pattern, found)
    return found[0]


def arrow(source: str, a: str, b: str) -> str:
    return one(source, rf"^\s*{IDS[a]} -> {IDS[b]} ")


def test_parallel_state_is_a_cluster_split_into_dashed_regions(release):
    source = dnb.diagram(release).source
    checks = source.index("subgraph cluster_s1 {")
    build, test = source.index("subgraph cluster_s2 {"), source.index("subgraph cluster_s5 {")
    assert checks < build < test < source.index("subgraph cluster_s8 {")
    parallel = one(source, r"label=Checks ")
    assert "penwidth=1.4" in parallel
    assert "dashed" not in parallel
    for region in ("Build", "Test"):
        assert 'style="rounded,dashed"' in one(source, rf"label={region} ")
    assert 'style="rounded,dashed"' not in one(source, r"label=Review ")  # not a region
    assert source.index("s3 [label=Compiling") > build  # the regions hold their states


def test_final_states_are_double_ringed(release):
    source = dnb.diagram(release).source
    ringed = [line.split()[0] for line in lines(source, "peripheries=2")]
    assert sorted(ringed) == ["s13", "s4", "s7"]  # Deployed (terminal), Built, Passed (final)


def test_history_states_are_small_circles_with_h_or_h_star(release):
    shallow = dataclasses.replace(release.state("Resume"), history="shallow")
    states = tuple(shallow if s.name == "Resume" else s for s in release.states)
    for definition, label in [
        (release, '"H*"'),
        (dataclasses.replace(release, states=states), "H"),
    ]:
        node = one(dnb.diagram(definition).source, r"^\s*s9 \[")
        assert node.startswith(f"s9 [label={label} ")
        assert "shape=circle" in node
        assert "fixedsize=true" in node
        assert "history of Review (default: Reading)" in node
    default = arrow(dnb.diagram(release).source, "Resume", "Reading")
    assert default.startswith('s9 -> s10 [label="" arrowsize=0.6 color="#78909c"')


def test_a_compound_state_with_history_enters_its_initial_child(release):
    source = dnb.diagram(release).source
    # the H* child comes first, yet an arrow into Review points at Reading, clipped at Review
    assert "lhead=cluster_s8" in arrow(source, "Compiling", "Reading")


def test_done_transition_leaves_the_border_of_its_state(release):
    done = arrow(dnb.diagram(release).source, "Compiling", "Reading")
    assert done.startswith("s3 -> s10 [label=done ")
    assert "ltail=cluster_s1" in done
    assert 'tooltip="Checks --done--> Review"' in done


def test_a_transition_with_several_targets_draws_an_arrow_per_target(release):
    source = dnb.diagram(release).source
    assert "label=go" in arrow(source, "Planned", "Compiling")
    assert "label=go" in arrow(source, "Planned", "Testing")


def test_eventless_transitions_show_their_guard_or_nothing(release):
    source = dnb.diagram(release).source
    assert 'label="[context.green]"' in arrow(source, "Testing", "Passed")
    assert 'label=""' in arrow(source, "Reading", "Commenting")
    assert 'tooltip="Reading --> Commenting"' in arrow(source, "Reading", "Commenting")


def test_a_targetless_transition_is_a_loop_on_its_source(release):
    assert "label=note" in arrow(dnb.diagram(release).source, "Commenting", "Commenting")


def test_every_active_atomic_state_is_filled(release):
    active = frozenset({"Checks", "Build", "Compiling", "Test", "Passed"})
    source = draw(build_model(release, Observation(active=active, enabled=frozenset()))).source
    filled = [line.split()[0] for line in lines(source, FILLED)]
    assert filled == ["s3", "s7"]  # Compiling in Build, Passed in Test
    tinted = lines(source, 'fillcolor="#fff8e1"')
    names = [re.findall(r"label=(\w+)", line) for line in tinted]
    assert names == [["Checks"], ["Build"], ["Test"]]


async def test_a_snapshot_in_a_parallel_state_fills_each_region(make_workflow, release):
    """A snapshot that does not carry its configuration enters every region by default."""
    snapshot = dataclasses.replace(
        make_workflow(release).serialize(), state="Checks", configuration=frozenset()
    )
    source = dnb.diagram(snapshot, definition=release).source
    assert [line.split()[0] for line in lines(source, FILLED)] == ["s3", "s6"]
    assert 'label="' + snapshot.workflow_id + ' (release): Checks"' in source
    # what each region's state can do now is drawn in full, the rest is muted
    assert "#b0bec5" not in arrow(source, "Compiling", "Built")
    assert "#b0bec5" not in arrow(source, "Testing", "Passed")
    assert "#b0bec5" in arrow(source, "Planned", "Compiling")


# ---- rendered by real programs ---------------------------------------------------------


@pytest.fixture(params=["system_dot", "pure_dot"])
def renderer(request: pytest.FixtureRequest) -> Path:
    """Debian's dot, then graphviz-pure (tests/notebook/conftest.py; each skips if absent)."""
    path: Path = request.getfixturevalue(request.param)
    return path


def svg_of(renderer: Path, source: str) -> ET.Element:
    done = subprocess.run(
        [str(renderer), "-Tsvg"], input=source.encode(), capture_output=True, check=True
    )
    return ET.fromstring(done.stdout)


def groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    """The SVG's groups of one class (node, edge, cluster) by their title."""
    return {
        g.findtext(f"{SVG}title", ""): g for g in svg.iter(f"{SVG}g") if g.get("class") == kind
    }


def shapes(group: ET.Element) -> list[ET.Element]:
    return [
        e for e in group.iter() if e.tag in {f"{SVG}{t}" for t in ("path", "polygon", "ellipse")}
    ]


def numbers(path: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]


def test_rendered_statechart_has_regions_circles_rings_and_a_border_done(renderer, release):
    active = frozenset({"Checks", "Build", "Compiling", "Test", "Testing"})
    dot = draw(build_model(release, Observation(active=active))).source
    svg = svg_of(renderer, dot)
    clusters, nodes, edges = groups(svg, "cluster"), groups(svg, "node"), groups(svg, "edge")
    assert {"cluster_s1", "cluster_s2", "cluster_s5", "cluster_s8"} <= set(clusters)
    for region in ("cluster_s2", "cluster_s5"):
        assert shapes(clusters[region])[0].get("stroke-dasharray")
    assert not shapes(clusters["cluster_s1"])[0].get("stroke-dasharray")
    history = nodes["s9"]
    assert [e.tag for e in shapes(history)] == [f"{SVG}ellipse"]
    assert "".join(history.itertext()).split() == ["s9", "H*"]
    assert len(shapes(nodes["s4"])) == 2  # Built: a double ring
    assert len(shapes(nodes["s3"])) == 1
    filled = [n for n, g in nodes.items() if any(e.get("fill") == "#ffe082" for e in shapes(g))]
    assert sorted(filled) == ["s3", "s6"]
    # the done arrow starts on the border of Checks, not at a state inside it
    border = numbers(shapes(clusters["cluster_s1"])[0].get("d", ""))
    xs, ys = border[0::2], border[1::2]
    x, y = numbers(shapes(edges["s3->s10"])[0].get("d", ""))[:2]
    on_border = min(abs(x - min(xs)), abs(x - max(xs)), abs(y - min(ys)), abs(y - max(ys)))
    assert on_border < 1.5, (x, y, min(xs), max(xs), min(ys), max(ys))
    assert min(xs) - 1 <= x <= max(xs) + 1
    assert min(ys) - 1 <= y <= max(ys) + 1


async def test_a_join_through_a_done_event_is_drawn_as_the_definitions_own_move():
    """'passed' in Testing completes Checks, whose done transition goes to Review: one
    macrostep, recorded Checks --passed--> CodeReview; the diagram must not call it wrong."""
    release = dn.load_definitions(WORKFLOWS / "release.toml")["release"]
    sm = dn.WorkflowStateMachine("r-1", release)
    await sm.process_event("compiled")
    entry = await sm.process_event("passed")
    assert (entry.from_state, entry.to_state) == ("Checks", "CodeReview")
    kind, taken = classify(release, ("Checks", "passed", "CodeReview"))
    assert kind == "defined"
    assert taken is not None
    assert (taken.source, taken.target) == ("Testing", "Tested")
    assert "#c62828" not in dnb.diagram(sm).source
