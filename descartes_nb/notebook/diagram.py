"""diagram(): a workflow drawn as a graphviz.Digraph, from the plain data of graph_model().

Every piece of user text (state and event names, guards, descriptions, workflow ids) reaches
DOT through ``_text()``, which disables backslash escapes and HTML-like labels, so that it
is drawn as the characters it is and cannot change the graph.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Final, Literal, cast

import graphviz

from ..core.definition import WorkflowDefinition
from ..core.machine import WorkflowStateMachine
from ..core.serialization import SerializedWorkflow
from .model import GraphModel, StateCluster, StateNode, TransitionEdge, graph_model

__all__ = ["diagram", "draw"]

_FONT: Final = "Helvetica,Arial,sans-serif"
_INK: Final = "#37474f"
_MUTED: Final = "#b0bec5"
_MUTED_TEXT: Final = "#90a4ae"
_LAST: Final = "#1565c0"
_WRONG: Final = "#c62828"
_UNDO: Final = "#7e57c2"
_ACTIVE_FILL: Final = "#ffe082"
_ACTIVE_CLUSTER_FILL: Final = "#fff8e1"

_GRAPH: Final = {"fontname": _FONT, "fontsize": "12", "labelloc": "t", "compound": "true"}
_NODE: Final = {
    "shape": "box",
    "style": "rounded",
    "fontname": _FONT,
    "fontsize": "11",
    "color": _INK,
    "fontcolor": _INK,
    "penwidth": "1.2",
    "margin": "0.12,0.06",
    "height": "0.4",
}
_EDGE: Final = {
    "fontname": _FONT,
    "fontsize": "10",
    "color": _INK,
    "fontcolor": _INK,
    "arrowsize": "0.8",
}


def diagram(
    obj: WorkflowDefinition | WorkflowStateMachine | SerializedWorkflow,
    *,
    definition: WorkflowDefinition | None = None,
    collapse: bool | Collection[str] = False,
    direction: Literal["LR", "TB"] = "LR",
) -> graphviz.Digraph:
    """Draw a definition, a machine or a serialized workflow.

    ``dnb.diagram(sm)`` shows the states (terminal ones double-ringed, the current one
    filled, compound ones as clusters), transitions labelled with their events and guards,
    how often each was taken (``Pause ×2``, drawn heavier), the last one in blue, and the
    ones that cannot be taken now muted. Hover over a state for its description.

    Example:
        >>> import descartes_nb as dn
        >>> g = diagram(dn.LIFECYCLE)
        >>> "doublecircle" in g.source, "peripheries=2" in g.source
        (False, True)

    Args:
        obj: what to draw.
        definition: the definition a ``SerializedWorkflow`` runs (not needed for the
            lifecycle).
        collapse: True to draw every compound state as one node (for large definitions),
            or the names of the compound states to collapse.
        direction: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).

    Returns:
        A ``graphviz.Digraph``; it shows itself in Jupyter (rendered within a time limit).

    Raises:
        TypeError: ``obj`` is not one of these.
        ValueError: a bad ``definition``, ``collapse`` or ``direction``.
    """
    return draw(graph_model(obj, definition=definition, collapse=collapse), direction=direction)


def draw(model: GraphModel, *, direction: Literal["LR", "TB"] = "LR") -> graphviz.Digraph:
    """Draw a ``GraphModel`` (see ``diagram``).

    Raises:
        ValueError: ``direction`` is not ``"LR"`` or ``"TB"``.
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', got {direction!r}")
    graph = graphviz.Digraph(
        "workflow",
        graph_attr={**_GRAPH, "rankdir": direction, "label": _text(model.title)},
        node_attr=_NODE,
        edge_attr=_EDGE,
    )
    graph.node("start", "", shape="point", width="0.16", color=_INK, tooltip="start")
    start_attrs = {"lhead": model.initial_cluster} if model.initial_cluster else {}
    graph.edge("start", model.initial, **start_attrs)
    _draw_states(graph, model, None)
    for edge in model.edges:
        graph.edge(edge.source, edge.target, _text(edge.label), **_edge_attrs(edge))
    return graph


def _draw_states(graph: graphviz.Digraph, model: GraphModel, cluster: str | None) -> None:
    """Draw the nodes and clusters directly inside ``cluster`` (None: the top level)."""
    for node in model.nodes:
        if node.cluster == cluster:
            graph.node(node.id, _text("\n".join(node.lines)), **_node_attrs(node))
    for inner in model.clusters:
        if inner.parent == cluster:
            with graph.subgraph(name=inner.id) as sub:
                sub.attr(**_cluster_attrs(inner))
                _draw_states(sub, model, inner.id)


def _node_attrs(node: StateNode) -> dict[str, str]:
    styles = ["rounded"]
    attrs = {"tooltip": _text(node.tooltip)}
    if node.terminal:
        attrs["peripheries"] = "2"
    if node.collapsed:
        styles.append("dashed")
    if node.active:
        styles.append("filled")
        attrs.update(fillcolor=_ACTIVE_FILL, penwidth="2")
    if not node.known:
        styles.append("dashed")
        attrs.update(color=_WRONG, fontcolor=_WRONG)
    attrs["style"] = ",".join(dict.fromkeys(styles))
    return attrs


def _cluster_attrs(cluster: StateCluster) -> dict[str, str]:
    attrs = {
        "label": _text(cluster.state),
        "tooltip": _text(cluster.tooltip),
        "style": "rounded",
        "color": _MUTED_TEXT,
        "fontcolor": _INK,
        "labeljust": "l",
    }
    if cluster.active:
        attrs.update(style="rounded,filled", fillcolor=_ACTIVE_CLUSTER_FILL, color=_INK)
    return attrs


def _edge_attrs(edge: TransitionEdge) -> dict[str, str]:
    attrs: dict[str, str] = {"tooltip": _text(edge.tooltip)}
    if edge.ltail:
        attrs["ltail"] = edge.ltail
    if edge.lhead:
        attrs["lhead"] = edge.lhead
    if edge.count:
        attrs["penwidth"] = f"{1.2 + min(3.0, math.log2(1 + edge.count)):.2f}"
    attrs.update(_KIND_STYLE.get(edge.kind, {}))
    if edge.enabled is False and edge.kind == "defined":
        attrs.update(color=_MUTED, fontcolor=_MUTED_TEXT)
    if edge.last:
        width = float(attrs.get("penwidth", "1.2")) + 1
        attrs.update(color=_LAST, fontcolor=_LAST, penwidth=f"{width:.2f}")
    return attrs


_KIND_STYLE: Final[Mapping[str, Mapping[str, str]]] = {
    "undo": {"style": "dashed", "color": _UNDO, "fontcolor": _UNDO},
    "internal": {"style": "dotted"},
    "undefined": {"style": "bold", "color": _WRONG, "fontcolor": _WRONG},
}


def _text(value: str) -> str:
    """User text as a DOT string that means exactly its characters (newlines kept)."""
    lines = [graphviz.escape(line) for line in str(value).split("\n")]
    return cast(str, graphviz.nohtml("\\n".join(lines)))  # a str subclass graphviz knows
