"""Rich display after importing the notebook layer: SVG for workflows, HTML for orchestrators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, cast

import graphviz
import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook import _display as display
from descartes_nb.notebook import _render as render

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.mark.requires_dot
async def test_machine_displays_its_diagram_and_its_text(make_workflow):
    sm = make_workflow()
    await sm.process_event("Start")
    bundle = sm._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/svg+xml", "text/html"}
    assert "<title>doing its work</title>" in bundle["text/html"] or (
        'xlink:title="doing its work"' in bundle["text/html"]
    )  # hovering over Running shows its description
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
    assert "<caption>3 workflows: Idle 1, Running 1, Completed 1</caption>" in page
    assert page.count("<tr>") == 4  # header and three rows
    assert "<td>wf-2</td><td>lifecycle</td><td>Running</td><td>1</td>" in page
    assert "<td><strong>Completed</strong></td><td>2</td>" in page
    assert "<td>2026-03-01 09:00:00+00:00</td>" in page


async def test_orchestrator_table_stops_at_20_rows_sorted_with_counts(make_workflow):
    orch = dn.WorkflowOrchestrator()
    machines = [make_workflow() for _ in range(103)]
    for sm in reversed(machines):
        await orch.register_workflow(sm)
    await orch.process_event("wf-7", "Start")
    page = display.orchestrator_html(orch)
    assert page.count("<tr>") == 21
    assert "<caption>103 workflows: Idle 102, Running 1</caption>" in page
    ids = [sm.workflow_id for sm in machines[:20]]
    assert [page.index(f"<td>{i}</td>") for i in ids] == sorted(
        page.index(f"<td>{i}</td>") for i in ids
    )
    assert "<td>wf-21</td>" not in page
    assert page.endswith("<p>... and 83 more (the first 20 by id are shown)</p>")


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


SNAPSHOT = """
import json, os, sys, tempfile
import graphviz
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
GRAPHS = (graphviz.Graph, graphviz.Digraph, graphviz.Source)

def printers():
    formatters = dict(shell.display_formatter.formatters)
    formatters["mimebundle"] = shell.display_formatter.mimebundle_formatter
    return sorted(
        f"{name} {cls.__name__} {f.for_type(cls)!r}"
        for name, f in formatters.items() for cls in GRAPHS
    ) + [repr(cls._repr_mimebundle_) for cls in GRAPHS]

def snapshot():
    return {
        "environ": dict(os.environ),
        "tmp": sorted(os.listdir(tempfile.gettempdir())),
        "printers": printers(),
    }
"""


def run_snapshot_script(code: str, tmp_path) -> dict[str, Any]:
    """Run SNAPSHOT + ``code`` with no dot on PATH and a private TMPDIR; return its JSON."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        "PATH": "/nonexistent",
        "TMPDIR": str(tmp),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYTHONUSERBASE": str(tmp_path / "user"),
        "PYTHONPATH": str(WORKTREE),
    }
    done = subprocess.run(
        [sys.executable, "-c", SNAPSHOT + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return cast(dict[str, Any], json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_notebook_layer_changes_nothing_around_it(tmp_path):
    found = run_snapshot_script(
        """
        before = snapshot()
        import descartes_nb as dn
        from descartes_nb import notebook as dnb
        imported = snapshot()
        data, _ = shell.display_formatter.format(dnb.diagram(dn.LIFECYCLE))
        rendered = snapshot()
        print(json.dumps({
            "before": before, "imported": imported, "rendered": rendered,
            "origin": dnb.find_renderer().origin, "svg": data.get("image/svg+xml", ""),
        }))
        """,
        tmp_path,
    )
    before = found["before"]
    assert before["environ"]["PATH"] == "/nonexistent"
    assert before["tmp"] == []
    assert found["imported"] == before
    assert found["rendered"] == before
    assert found["origin"] == "graphviz-pure"  # no dot anywhere: it drew with graphviz-pure
    assert found["svg"].count('class="node"') == 6  # 5 states + start


def test_use_renderer_for_graphviz_renders_plain_graphs_and_cleans_up_at_exit(tmp_path):
    found = run_snapshot_script(
        """
        from descartes_nb import notebook as dnb
        before = snapshot()
        renderer = dnb.use_renderer_for_graphviz()
        again = dnb.use_renderer_for_graphviz()
        after = snapshot()
        graph = graphviz.Digraph()
        graph.edge("a", "b")
        data, _ = shell.display_formatter.format(graph)
        print(json.dumps({
            "before": before, "after": after, "origin": renderer.origin,
            "same": renderer == again, "svg": data.get("image/svg+xml", ""),
            "text": data["text/plain"], "pipe": graph.pipe(format="svg", encoding="utf-8"),
        }))
        """,
        tmp_path,
    )
    assert found["origin"] == "graphviz-pure"
    assert found["same"]
    before, after = found["before"], found["after"]
    [folder] = after["tmp"]  # one private folder, made once
    path = after["environ"].pop("PATH")
    assert path == f"{tmp_path / 'tmp' / folder}{os.pathsep}/nonexistent"
    before["environ"].pop("PATH")
    assert after["environ"] == before["environ"]
    assert after["printers"] != before["printers"]
    assert found["svg"].count('class="node"') == 2
    assert found["text"] == "digraph {\n\ta -> b\n}\n"
    assert found["pipe"].count('class="node"') == 2
    assert list((tmp_path / "tmp").iterdir()) == []  # removed when Python exited


def test_use_renderer_for_graphviz_without_a_renderer_raises_and_changes_nothing(
    render_env, tmp_path
):
    render_env.setenv(render.ENV_VAR, str(tmp_path / "no-dot"))
    path = os.environ["PATH"]
    with pytest.raises(dn.RenderError, match="DESCARTES_NB_DOT="):
        dnb.use_renderer_for_graphviz()
    assert os.environ["PATH"] == path


def test_use_renderer_for_graphviz_outside_ipython_changes_path_only(render_env, pure_dot):
    render_env.setenv("PATH", "/nonexistent")  # restored after the test
    assert dnb.use_renderer_for_graphviz() == render.Renderer(pure_dot, "graphviz-pure")
    assert os.environ["PATH"].endswith(f"{os.pathsep}/nonexistent")
    svg = graphviz.Digraph(body=["a -> b\n"]).pipe(format="svg", encoding="utf-8")
    assert svg.count('class="node"') == 2
