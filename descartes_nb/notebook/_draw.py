"""draw(): a GraphModel as a graphviz.Digraph (DOT attributes: shapes, colours, weights).

Every piece of user text (state and event names, guards, descriptions, workflow ids) reaches
DOT through ``_text()``, which disables backslash escapes and HTML-like labels, so that it
is drawn as the characters it is and cannot change the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, cast

import graphviz

from ._digraph import Diagram
from ._effort import Size, graph_attrs
from ._legend import legend_items
from ._model import GraphModel, StateCluster, StateNode, TransitionEdge
from ._style import (
    ACTIVE_CLUSTER_FILL,
    ACTIVE_FILL,
    FONT,
    IMPLICIT,
    INK,
    LAST,
    MUTED,
    MUTED_TEXT,
    UNDO,
    WRONG,
)

BASE_WIDTH: Final = 1.2
MAX_EXTRA_WIDTH: Final = 3.0  # the busiest edge: BASE_WIDTH + this

_GRAPH: Final = {"fontname": FONT, "fontsize": "12", "labelloc": "t", "compound": "true"}
_NODE: Final = {
    "shape": "box",
    "style": "rounded",
    "fontname": FONT,
    "fontsize": "11",
    "color": INK,
    "fontcolor": INK,
    "penwidth": f"{BASE_WIDTH}",
    "margin": "0.12,0.06",
    "height": "0.4",
}
_EDGE: Final = {
    "fontname": FONT,
    "fontsize": "10",
    "color": INK,
    "fontcolor": INK,
    "arrowsize": "0.8",
}
_PSEUDO: Final = {  # history states and the return to the previous state: small circles
    "shape": "circle",
    "style": "solid",
    "fixedsize": "true",
    "width": "0.3",
    "height": "0.3",
    "margin": "0",
    "fontsize": "9",
}


Direction = Literal["auto", "LR", "TB"]


def draw(model: GraphModel, *, direction: Direction = "auto") -> Diagram:
    """Draw a ``GraphModel`` (see ``diagram``).

    Raises:
        ValueError: ``direction`` is not ``"auto"``, ``"LR"`` or ``"TB"``.
    """
    if direction not in ("auto", "LR", "TB"):
        raise ValueError(f"direction must be 'auto', 'LR' or 'TB', got {direction!r}")
    compound = sum(1 for cluster in model.clusters if not cluster.region)
    size = Size(len(model.nodes), len(model.edges), compound)
    graph = Diagram(
        "workflow",
        format="svg",  # what every renderer writes (graphviz-pure has no pdf)
        graph_attr={
            **_GRAPH,
            "rankdir": "LR" if direction == "auto" else direction,
            "label": _text(model.title),
            **graph_attrs(size),
        },
        node_attr=_NODE,
        edge_attr=_EDGE,
    )
    graph.node("start", "", shape="point", width="0.16", color=INK, tooltip="start")
    start_attrs = {"lhead": model.initial_cluster} if model.initial_cluster else {}
    graph.edge("start", model.initial, **start_attrs)
    _draw_states(graph, model, None)
    busiest = max((edge.count for edge in model.edges), default=0)
    label = "label" if size.effort == "full" else "xlabel"  # beside the edge: half the ranks
    for edge in model.edges:
        # An arrow leaving a box is drawn from a state inside it and clipped at the box: its
        # label, placed on the whole arrow, would sit inside the box beside other arrows;
        # beside the part drawn it says which arrow it names.
        leaves_box = edge.ltail is not None and edge.lhead is None
        attrs = {
            "xlabel" if leaves_box else label: _text(edge.label),
            **_edge_attrs(edge, busiest),
        }
        graph.edge(edge.source, edge.target, **attrs)
    graph.legend = legend_items(model)
    graph.size = size
    graph.auto_direction = direction == "auto"
    return graph


def _draw_states(graph: Diagram, model: GraphModel, cluster: str | None) -> None:
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
    attrs = {"tooltip": _text(node.tooltip)}
    if node.kind != "state":
        return attrs | _PSEUDO
    styles = ["rounded"]
    if node.terminal:
        attrs["peripheries"] = "2"
    if node.collapsed:
        styles.append("dashed")
    if node.active:
        styles.append("filled")
        attrs.update(fillcolor=ACTIVE_FILL, penwidth="2")
    if not node.known:
        styles.append("dashed")
        attrs.update(color=WRONG, fontcolor=WRONG)
    attrs["style"] = ",".join(dict.fromkeys(styles))
    return attrs


def _cluster_attrs(cluster: StateCluster) -> dict[str, str]:
    styles = ["rounded"]
    attrs = {
        "label": _text(cluster.state),
        "tooltip": _text(cluster.tooltip),
        "color": MUTED_TEXT,
        "fontcolor": INK,
        "labeljust": "l",
    }
    if cluster.parallel:  # the outline of its regions
        attrs.update(color=INK, penwidth="1.4")
    if cluster.region:  # UML's dashed separators between regions
        styles.append("dashed")
        attrs.update(fontsize="10", fontcolor=IMPLICIT)
    if cluster.active:
        styles.append("filled")
        attrs.update(fillcolor=ACTIVE_CLUSTER_FILL, color=INK)
    attrs["style"] = ",".join(styles)
    return attrs


def _edge_attrs(edge: TransitionEdge, busiest: int) -> dict[str, str]:
    """Style by kind; weight by count, relative to the busiest edge; muted, last, implicit."""
    attrs: dict[str, str] = {"tooltip": _text(edge.tooltip)}
    if edge.ltail:
        attrs["ltail"] = edge.ltail
    if edge.lhead:
        attrs["lhead"] = edge.lhead
    width = BASE_WIDTH
    if edge.count:
        width += MAX_EXTRA_WIDTH * edge.count / busiest
        attrs["penwidth"] = f"{width:.2f}"
    attrs.update(_KIND_STYLE.get(edge.kind, {}))
    if edge.kind == "defined" and edge.implicit:
        attrs.update(style="dashed", color=IMPLICIT, fontcolor=IMPLICIT, fontsize="9")
        if not edge.count:
            attrs["penwidth"] = "0.9"
    if edge.enabled is False and edge.kind == "defined":
        attrs.update(color=MUTED, fontcolor=MUTED_TEXT)
    if edge.kind == "undefined":
        attrs["constraint"] = "false"  # a tampered record keeps the defined layout
    if edge.last:
        attrs.update(color=LAST, fontcolor=LAST, penwidth=f"{width + 1:.2f}")
    return attrs


_KIND_STYLE: Final[Mapping[str, Mapping[str, str]]] = {
    "undo": {"style": "dashed", "color": UNDO, "fontcolor": UNDO},
    "internal": {"style": "dotted"},
    "undefined": {"style": "bold", "color": WRONG, "fontcolor": WRONG},
    "default": {"color": IMPLICIT, "penwidth": "0.9", "arrowsize": "0.6"},
}


def _text(value: str) -> str:
    """User text as a DOT string that means exactly its characters (newlines kept)."""
    lines = [graphviz.escape(line) for line in str(value).split("\n")]
    return cast(str, graphviz.nohtml("\\n".join(lines)))  # a str subclass graphviz knows
