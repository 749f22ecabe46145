"""Rich display of core objects; and, on request only, of graphviz's own graphs.

Importing the notebook layer registers a formatter with the core's display hook, so that
machines, definitions and serialized workflows show SVG diagrams and the orchestrator an HTML
table; it changes nothing outside this library. ``use_renderer_for_graphviz()`` is the one
call that does: it makes plain ``graphviz`` graphs render with the renderer found here.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any, Final

import graphviz

from ..core import _display as display
from ..core._definition import WorkflowDefinition
from ..core._lifecycle import LIFECYCLE
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ..orchestrator import WorkflowOrchestrator, count_by_state, first_by_id
from ._diagram import diagram
from ._render import Renderer, expose_as_dot, find_renderer, svg_bundle

_SHOWN_ROWS: Final = 20
_GRAPH_TYPES: Final = (graphviz.Graph, graphviz.Digraph, graphviz.Source)


def install() -> None:
    """Let core objects display diagrams and tables (safe to call again)."""
    display.register_formatter(_format)


def use_renderer_for_graphviz() -> Renderer:
    """Make plain ``graphviz`` graphs render with ``find_renderer()``'s program too.

    Diagrams of this library need no such call. This one is for ``graphviz.Graph``,
    ``Digraph`` and ``Source`` objects made elsewhere, where no system Graphviz is
    installed. It changes this process's state (safe to call again):

    - ``PATH`` gets, first, a private temporary folder holding a ``dot`` that runs the
      renderer (removed when Python exits), so that their ``pipe()``, ``render()`` and
      ``view()`` find it; nothing changes when ``dot`` on ``PATH`` already is the renderer.
    - In IPython, they display through the renderer within the time limit (past it, a
      message and the DOT source), with their DOT source as text.

    Example:
        ``dnb.use_renderer_for_graphviz()``, then ``graphviz.Digraph(body=["a -> b"])``
        shows itself in Jupyter and ``.pipe(format="svg")`` works without Graphviz.

    Returns:
        The renderer now used.

    Raises:
        RenderError: there is no renderer (the message says how to get one); nothing was
            changed.
    """
    renderer = find_renderer()
    expose_as_dot(renderer)
    _register_ipython_printers()
    return renderer


def _register_ipython_printers() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing displays rich output
        return
    shell = get_ipython()
    if shell is None:
        return
    printers = shell.display_formatter.mimebundle_formatter
    for graph_type in _GRAPH_TYPES:
        printers.for_type(graph_type, graph_bundle)


def graph_bundle(graph: graphviz.Graph | graphviz.Digraph | graphviz.Source) -> dict[str, str]:
    """How a graphviz graph displays: its DOT source as text, and the SVG (or why not)."""
    return {"text/plain": graph.source, **svg_bundle(graph)}


def _format(obj: object, wanted: Callable[[str], bool]) -> Mapping[str, Any]:
    """The core display formatter: diagrams for workflows, a table for the orchestrator."""
    if isinstance(obj, WorkflowOrchestrator):
        return {"text/html": orchestrator_html(obj)} if wanted("text/html") else {}
    drawable = isinstance(obj, WorkflowDefinition | WorkflowStateMachine) or (
        isinstance(obj, SerializedWorkflow) and obj.definition == LIFECYCLE.name
    )
    if not drawable or not (wanted("image/svg+xml") or wanted("text/html")):
        return {}
    assert isinstance(obj, WorkflowDefinition | WorkflowStateMachine | SerializedWorkflow)
    return {k: v for k, v in diagram(obj).display_bundle().items() if wanted(k)}


def orchestrator_html(orchestrator: WorkflowOrchestrator) -> str:
    """An HTML table of the orchestrator's workflows: id, definition, state, transitions."""
    machines = list(orchestrator)
    rows = "".join(_row(sm) for sm in first_by_id(machines, _SHOWN_ROWS))
    more = len(machines) - _SHOWN_ROWS
    noun = "workflow" if len(machines) == 1 else "workflows"
    caption = f"{len(machines):,} {noun}" + (f": {count_by_state(machines)}" if machines else "")
    return (
        '<table class="descartes-nb-workflows">'
        f"<caption>{html.escape(caption)}</caption>"
        "<thead><tr><th>workflow</th><th>definition</th><th>state</th>"
        "<th>transitions</th><th>updated</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        + (f"<p>... and {more:,} more (the first {_SHOWN_ROWS} by id are shown)</p>" * (more > 0))
    )


def _row(sm: WorkflowStateMachine) -> str:
    meta = sm.metadata
    state = html.escape(str(meta.state))
    if sm.is_terminal:
        state = f"<strong>{state}</strong>"
    cells = [
        html.escape(meta.workflow_id),
        html.escape(meta.definition),
        state,
        str(meta.transition_count),
        html.escape(meta.updated_at.isoformat(sep=" ", timespec="seconds")),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
