"""Rich display after importing the notebook layer: SVG for workflows, HTML for orchestrators."""

from __future__ import annotations

import graphviz
import pytest

import descartes_nb as dn
from descartes_nb.notebook import _display as display
from descartes_nb.notebook import _render as render


@pytest.mark.requires_dot
async def test_machine_displays_its_diagram_and_its_text(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    bundle = sm._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/svg+xml"}
    assert bundle["text/plain"].startswith(f"<WorkflowStateMachine {sm.workflow_id!r}")
    svg = bundle["image/svg+xml"]
    assert svg.count('class="node"') == 6
    assert "(lifecycle): Running</text>" in svg


@pytest.mark.requires_dot
def test_definition_displays_its_diagram(order_definition):
    bundle = order_definition._repr_mimebundle_()
    assert bundle["image/svg+xml"].count('class="cluster"') == 2
    assert bundle["text/plain"].startswith("<WorkflowDefinition 'order'")


@pytest.mark.requires_dot
async def test_lifecycle_snapshot_displays_its_diagram(make_workflow, order_definition):
    sm = make_workflow()
    await sm.process_event("Start")
    assert "image/svg+xml" in sm.serialize()._repr_mimebundle_()
    other = make_workflow(order_definition).serialize()
    assert set(other._repr_mimebundle_()) == {"text/plain"}  # its definition is unknown here


def test_excluding_images_skips_the_render(make_workflow, render_env, tmp_path):
    render_env.setenv(render.ENV_VAR, str(tmp_path / "no-dot"))  # a render would fail
    bundle = make_workflow()._repr_mimebundle_(exclude=["image/svg+xml", "text/html"])
    assert set(bundle) == {"text/plain"}
    assert "text/html" in make_workflow()._repr_mimebundle_()  # here it did try


async def test_orchestrator_displays_a_table_of_its_workflows(make_workflow):
    orch = dn.WorkflowOrchestrator()
    for _ in range(3):
        await orch.register_workflow(make_workflow())
    await orch.process_event("wf-2", "Start")
    await orch.process_event("wf-3", "Start")
    await orch.process_event("wf-3", "Complete")
    page = orch._repr_mimebundle_()["text/html"]
    assert "<caption>3 workflows: 1 Idle, 1 Running, 1 Completed</caption>" in page
    assert page.count("<tr>") == 4  # header and three rows
    assert "<td>wf-2</td><td>lifecycle</td><td>Running</td><td>1</td>" in page
    assert "<td><strong>Completed</strong></td><td>2</td>" in page
    assert "<td>2026-03-01 09:00:00+00:00</td>" in page


async def test_orchestrator_table_stops_at_100_rows(make_workflow):
    orch = dn.WorkflowOrchestrator()
    for _ in range(103):
        await orch.register_workflow(make_workflow())
    page = display.orchestrator_html(orch)
    assert page.count("<tr>") == 101
    assert page.endswith("<p>... and 3 more workflows</p>")


@pytest.mark.requires_dot
def test_graph_bundle_gives_dot_source_as_text_and_the_svg():
    graph = graphviz.Digraph()
    graph.edge("a", "b")
    bundle = display.graph_bundle(graph)
    assert bundle["text/plain"] == "digraph {\n\ta -> b\n}\n"
    assert bundle["image/svg+xml"].count('class="node"') == 2


def test_importing_the_notebook_layer_registers_its_formatter_once():
    from descartes_nb.core import _display as core_display

    dnb_formatters = [f for f in core_display._formatters if f is display._format]
    assert len(dnb_formatters) == 1
    display.install()
    assert [f for f in core_display._formatters if f is display._format] == dnb_formatters
