"""graph_model() (pure) -> diagram(): a workflow drawn as a graphviz.Digraph.

Every piece of user text (state and event names, guards, descriptions, workflow ids) reaches
DOT through ``_text()``, which disables backslash escapes and HTML-like labels, so that it
is drawn as the characters it is and cannot change the graph.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Final, Literal, cast

import graphviz

from ..core import _engine as engine
from ..core._definition import TransitionDef, WorkflowDefinition
from ..core._handlers import call_guard
from ..core._jsonvalue import JSONValue
from ..core._lifecycle import LIFECYCLE
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ..errors import HandlerError
from ._definitions import Definitions, definition_named, the_definition
from ._digraph import Diagram
from ._model import (
    GraphModel,
    Move,
    Observation,
    StateCluster,
    StateNode,
    TransitionEdge,
    build_model,
)

Drawable = (
    WorkflowDefinition
    | WorkflowStateMachine
    | SerializedWorkflow
    | Mapping[str, WorkflowDefinition]
)
"""What ``diagram`` draws: a definition (or a mapping holding one), a machine or a snapshot."""

_FONT: Final = "Helvetica"  # graphviz-pure has metrics for it; SVG falls back to sans-serif
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
    obj: Drawable,
    *,
    definition: Definitions | None = None,
    collapse: bool | Collection[str] = False,
    direction: Literal["LR", "TB"] = "LR",
) -> Diagram:
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
        obj: what to draw; a mapping of definitions (as ``load_definitions`` returns)
            draws its only one.
        definition: the definition a ``SerializedWorkflow`` runs (not needed for the
            lifecycle), or a mapping of them from which it is taken by name.
        collapse: True to draw every compound state as one node (for large definitions),
            or the names of the compound states to collapse.
        direction: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).

    Returns:
        A ``Diagram``: a ``graphviz.Digraph`` that shows itself in Jupyter and renders
        with ``pipe()``, ``render()`` and ``view()`` through the renderer
        ``find_renderer()`` picks, within the time limit (no system ``dot`` needed).

    Raises:
        TypeError: ``obj`` is not one of these.
        ValueError: a bad ``definition``, ``collapse`` or ``direction``, or a mapping that
            does not tell which definition to draw (the message lists the names).
    """
    return draw(graph_model(obj, definition=definition, collapse=collapse), direction=direction)


def graph_model(
    obj: Drawable,
    *,
    definition: Definitions | None = None,
    collapse: bool | Collection[str] = False,
) -> GraphModel:
    """Extract the diagram of a definition, a machine or a serialized workflow as plain data.

    Example:
        >>> model = graph_model(LIFECYCLE)
        >>> [n.state for n in model.nodes if n.terminal]
        ['Completed', 'Failed']

    Args:
        obj: what to draw. A machine or snapshot adds its current state, the transitions
            that would be taken now, and how often each was taken (in retained history).
            A mapping of definitions (as ``load_definitions`` returns) draws its only one.
        definition: the definition a ``SerializedWorkflow`` runs (not needed for the
            lifecycle), or a mapping of them from which it is taken by name.
        collapse: True to draw every compound state as one node, or the names of those to
            collapse.

    Raises:
        TypeError: ``obj`` is none of these.
        ValueError: the definition of a snapshot is missing or different, a mapping holds
            several definitions (the message lists them), or ``collapse`` names a state
            that is not compound.
    """
    if isinstance(obj, Mapping):
        obj = the_definition(obj, (), call="diagram(definitions)")
    if isinstance(obj, WorkflowDefinition):
        return build_model(obj, Observation(title=obj.name), collapse)
    if isinstance(obj, WorkflowStateMachine):
        columns = obj.history.columns()
        recorded = zip(columns["from_state"], columns["event"], columns["to_state"], strict=True)
        return build_model(
            obj.definition,
            _observe(obj.workflow_id, obj.definition, obj.state, obj.context, list(recorded)),
            collapse,
        )
    if isinstance(obj, SerializedWorkflow):
        defn = _snapshot_definition(obj, definition)
        moves = [(e.from_state, e.event, e.to_state) for e in obj.history]
        return build_model(
            defn, _observe(obj.workflow_id, defn, obj.state, obj.context, moves), collapse
        )
    raise TypeError(
        "graph_model() draws a WorkflowDefinition (or a mapping holding one), a "
        f"WorkflowStateMachine or a SerializedWorkflow, got {type(obj).__name__} {obj!r:.80}"
    )


def _snapshot_definition(
    sw: SerializedWorkflow, definition: Definitions | None
) -> WorkflowDefinition:
    if definition is None and sw.definition == LIFECYCLE.name:
        return LIFECYCLE
    if definition is not None:
        definition = definition_named(
            definition, sw.definition, who=f"workflow {sw.workflow_id!r}"
        )
    if definition is None or definition.name != sw.definition:
        given = "no definition" if definition is None else f"definition {definition.name!r}"
        raise ValueError(
            f"workflow {sw.workflow_id!r} runs definition {sw.definition!r}, but {given} "
            "was passed; pass definition= with the one it runs"
        )
    return definition


def _observe(
    workflow_id: str,
    definition: WorkflowDefinition,
    state: str,
    context: Mapping[str, JSONValue],
    moves: list[Move],
) -> Observation:
    return Observation(
        title=f"{workflow_id} ({definition.name}): {state}",
        active=engine.configuration_of(definition, state),
        enabled=enabled_transitions(workflow_id, definition, state, context),
        counts=Counter(moves),
        last=moves[-1] if moves else None,
    )


def enabled_transitions(
    workflow_id: str, definition: WorkflowDefinition, state: str, context: Mapping[str, JSONValue]
) -> frozenset[int]:
    """Indexes of the transitions each event would take now (guards see no event data).

    A guard that raises counts as false here: a diagram shows, it does not fail.
    """
    index = {id(t): i for i, t in enumerate(definition.transitions)}
    enabled: set[int] = set()
    for event in definition.events:
        for t, _ in engine.candidates(definition, state, event):
            if t.guard is None or _guard_allows(t, context, workflow_id, state):
                enabled.add(index[id(t)])
                break
    return frozenset(enabled)


def _guard_allows(
    t: TransitionDef, context: Mapping[str, JSONValue], workflow_id: str, state: str
) -> bool:
    assert t.guard is not None
    try:
        return call_guard(
            t.guard,
            context,
            None,
            label=t.guard_text or "",
            workflow_id=workflow_id,
            state=state,
            event=t.event,
        )
    except HandlerError:
        return False


def draw(model: GraphModel, *, direction: Literal["LR", "TB"] = "LR") -> Diagram:
    """Draw a ``GraphModel`` (see ``diagram``).

    Raises:
        ValueError: ``direction`` is not ``"LR"`` or ``"TB"``.
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', got {direction!r}")
    graph = Diagram(
        "workflow",
        format="svg",  # what every renderer writes (graphviz-pure has no pdf)
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
