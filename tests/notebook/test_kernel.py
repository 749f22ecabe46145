"""A real Jupyter kernel, started with a PATH that lacks this environment's bin/ folder."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kernel():
    env = {
        **os.environ,
        "PATH": "/nonexistent",  # as when Jupyter was started outside this environment
        "PYTHONPATH": str(WORKTREE),
    }
    env.pop("DESCARTES_NB_DOT", None)
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run_cell(client, code: str) -> list[dict[str, Any]]:
    """Execute ``code``; return its outputs (streams, displays, results, errors)."""
    msg_id = client.execute(textwrap.dedent(code))
    outputs: list[dict[str, Any]] = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content["execution_state"] == "idle":
            return outputs
        if kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append({"type": kind, **content})


def test_kernel_runs_this_environments_python_without_its_bin_on_path(kernel):
    [out] = run_cell(kernel, "import os, sys; print(os.environ['PATH'], sys.prefix)")
    path, prefix = out["text"].split()
    assert path == "/nonexistent"
    assert Path(prefix) == Path(sys.prefix)


def test_kernel_displays_machines_definitions_and_orchestrators(kernel):
    outputs = run_cell(
        kernel,
        """
        import descartes_nb as dn
        from descartes_nb import notebook as dnb
        orch = dn.WorkflowOrchestrator()
        sm = await orch.register_workflow(dn.WorkflowStateMachine("<img src=x onerror=alert(1)>"))
        await sm.process_event("Start")
        display(sm)
        display(dn.LIFECYCLE)
        display(orch)
        """,
    )
    machine, definition, orchestrator = (out["data"] for out in outputs)
    assert machine["text/plain"].startswith(
        "<WorkflowStateMachine '<img src=x onerror=alert(1)>' (lifecycle) state='Running'"
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in machine["image/svg+xml"]
    assert "<img" not in machine["image/svg+xml"]
    assert definition["image/svg+xml"].count('class="node"') == 6  # 5 states + start
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in orchestrator["text/html"]
    assert "<img" not in orchestrator["text/html"]


def test_kernel_draws_diagrams_with_graphviz_pure_and_leaves_graphviz_alone(kernel):
    outputs = run_cell(
        kernel,
        """
        import os, graphviz
        import descartes_nb as dn
        from descartes_nb import notebook as dnb
        printers = get_ipython().display_formatter.mimebundle_formatter
        print(dnb.find_renderer().origin, os.environ["PATH"], printers.for_type(graphviz.Digraph))
        dnb.diagram(dn.LIFECYCLE)
        """,
    )
    assert outputs[0]["text"] == "graphviz-pure /nonexistent None\n"
    result = outputs[1]
    assert result["type"] == "execute_result"
    assert result["data"]["image/svg+xml"].count('class="node"') == 6  # 5 states + start
    assert result["data"]["text/plain"].startswith("digraph workflow {")


# Last: it changes the kernel's PATH and display for the rest of the module.
def test_kernel_renders_plain_graphviz_graphs_after_use_renderer_for_graphviz(kernel):
    outputs = run_cell(
        kernel,
        """
        import graphviz
        from descartes_nb import notebook as dnb
        print(dnb.use_renderer_for_graphviz().origin)
        g = graphviz.Digraph()
        g.edge("a", "b")
        g
        """,
    )
    assert outputs[0]["text"] == "graphviz-pure\n"
    result = outputs[1]
    assert result["type"] == "execute_result"
    assert result["data"]["image/svg+xml"].count('class="node"') == 2
    assert result["data"]["text/plain"] == "digraph {\n\ta -> b\n}\n"


def test_kernel_shows_readable_frames_only_after_use_readable_frames(kernel):
    code = """
        import pandas as pd
        from descartes_nb import notebook as dnb
        frame = pd.DataFrame({"duration": pd.to_timedelta([863], unit="s"), "data": [{"a": 1}]})
        display(frame)
        dnb.use_readable_frames()
        display(frame)
        display(frame["duration"])
        dnb.use_readable_frames(False)
        display(frame)
        """
    before, readable, series, after = (out["data"] for out in run_cell(kernel, code))
    assert "0 days 00:14:23" in before["text/plain"]
    assert "{'a': 1}" in before["text/plain"]
    assert readable["text/plain"].splitlines()[1].split() == ["0", "14m", "23s", '{"a":', "1}"]
    assert "<td>14m 23s</td>" in readable["text/html"]
    assert series["text/plain"].startswith("0    14m 23s")
    assert after == before
