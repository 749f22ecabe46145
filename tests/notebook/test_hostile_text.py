"""Hostile text stays text: names, ids, guards, descriptions and context in DOT, SVG and HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook import _display as display
from descartes_nb.notebook import _render as render

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = "<img src=x onerror=alert(1)>"
BREAKOUT = '"]; a -> b ['
NAMES = [SCRIPT, BREAKOUT, "C:\\temp\\", "x\\N \\G \\l", "<b>bold</b>", "two\nlines"]


@pytest.fixture
def hostile_definition() -> dn.WorkflowDefinition:
    states = tuple(
        dn.StateDef(name, description=f"<script>alert({i})</script>")
        for i, name in enumerate(NAMES)
    )
    transitions = tuple(
        dn.TransitionDef(
            NAMES[i],
            f"{NAMES[i]} -> evil",
            NAMES[i + 1],
            guard=lambda context, data: True,
            guard_label=BREAKOUT,
        )
        for i in range(len(NAMES) - 1)
    )
    return dn.WorkflowDefinition(SCRIPT, states, NAMES[0], transitions)


@pytest.fixture
async def hostile_machine(make_workflow, hostile_definition):
    sm = dn.WorkflowStateMachine(SCRIPT, hostile_definition, clock=make_workflow().clock)
    await sm.set_context(BREAKOUT, SCRIPT)
    await sm.process_event(f"{NAMES[0]} -> evil")
    return sm


def svg_tree(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def node_texts(root: ET.Element) -> list[list[str]]:
    """The text lines of each node group, in document order."""
    return [
        [t.text or "" for t in group.iter(f"{SVG}text")]
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "node"
    ]


def test_dot_source_quotes_every_hostile_string(hostile_definition):
    source = dnb.diagram(hostile_definition).source
    assert 'label="\\"]; a -> b ["' in source  # the quote is escaped inside a quoted string
    assert 'label="<img src=x onerror=alert(1)>"' in source  # quoted: not an HTML label
    assert 'label="C:\\\\temp\\\\"' in source  # backslashes doubled: no escape sequences
    assert 'label="two\\nlines"' in source  # the real newline becomes a line break
    assert " a -> b" not in source.replace('"]; a -> b [', "")


@pytest.mark.requires_dot
async def test_svg_draws_hostile_names_as_their_characters(hostile_machine):
    root = svg_tree(dnb.render_svg(dnb.diagram(hostile_machine)))
    texts = node_texts(root)
    assert texts[1:] == [[SCRIPT], [BREAKOUT], ["C:\\temp\\"], ["x\\N \\G \\l"], ["<b>bold</b>"],
                         ["two", "lines"]]  # fmt: skip
    assert len(texts) == len(NAMES) + 1  # the states and the start point, no node a or b
    assert not [el for el in root.iter() if el.tag.split("}")[-1] in ("img", "script", "b")]
    edge_labels = [
        t.text
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "edge"
        for t in group.iter(f"{SVG}text")
    ]
    assert f"{NAMES[0]} -> evil [{BREAKOUT}] ×1" in edge_labels
    title = next(t.text for t in root.iter(f"{SVG}text"))
    assert title == f"{SCRIPT} ({SCRIPT}): {NAMES[1]}"


@pytest.mark.requires_dot
async def test_svg_with_system_dot_draws_hostile_names_too(
    hostile_machine, render_env, system_dot
):
    render_env.setenv(render.ENV_VAR, str(system_dot))
    root = svg_tree(dnb.render_svg(dnb.diagram(hostile_machine)))
    assert [SCRIPT] in node_texts(root)
    assert [BREAKOUT] in node_texts(root)
    assert len(node_texts(root)) == len(NAMES) + 1


@pytest.mark.requires_dot
async def test_tooltips_keep_descriptions_as_text(hostile_machine):
    svg = dnb.render_svg(dnb.diagram(hostile_machine))
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in svg
    assert "<script" not in svg


async def test_orchestrator_html_escapes_ids_states_and_definitions(hostile_machine):
    orch = dn.WorkflowOrchestrator()
    await orch.register_workflow(hostile_machine)
    page = display.orchestrator_html(orch)
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in page
    assert "<td>&quot;]; a -&gt; b [</td>" in page
    assert page.count("<img") == 0


async def test_history_frame_html_escapes_context_and_event_names(hostile_machine):
    page = dnb.history_frame(hostile_machine).to_html()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page


async def test_render_failure_html_escapes_the_source(render_env, tmp_path, hostile_machine):
    render_env.setenv(render.ENV_VAR, str(tmp_path / "no-dot"))
    page = render.svg_bundle(dnb.diagram(hostile_machine))["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page
