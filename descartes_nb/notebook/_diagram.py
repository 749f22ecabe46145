"""graph_model() (pure) -> diagram(): a workflow drawn as a graphviz.Digraph.

What a machine or snapshot adds to its definition's picture (its configuration, the
transitions it could take now, what it took) is gathered here; ``_layout`` lays it out and
``_draw`` writes the DOT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

from ..core._definition import TransitionDef, WorkflowDefinition
from ..core._handlers import call_guard
from ..core._jsonvalue import JSONValue
from ..core._lifecycle import LIFECYCLE
from ..core._machine import WorkflowStateMachine
from ..core._serialization import SerializedWorkflow
from ..errors import HandlerError
from ._definitions import Definitions, definition_named, the_definition
from ._digraph import Diagram
from ._draw import Direction, draw
from ._layout import build_model
from ._model import GraphModel, Move, Observation

Drawable = (
    WorkflowDefinition
    | WorkflowStateMachine
    | SerializedWorkflow
    | Mapping[str, WorkflowDefinition]
)
"""What ``diagram`` draws: a definition (or a mapping holding one), a machine or a snapshot."""


def diagram(
    obj: Drawable,
    *,
    definition: Definitions | None = None,
    collapse: bool | Collection[str] = False,
    direction: Direction = "auto",
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
        direction: ``"LR"`` (left to right), ``"TB"`` (top to bottom), or ``"auto"``:
            left to right, unless that is wider than a notebook's output area and top to
            bottom is much narrower (decided when it is first displayed).

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
            _observe(obj.workflow_id, obj.definition, obj.configuration, obj, list(recorded)),
            collapse,
        )
    if isinstance(obj, SerializedWorkflow):
        defn = _snapshot_definition(obj, definition)
        moves = [(e.from_state, e.event, e.to_state) for e in obj.history]
        active = _snapshot_configuration(obj, defn)
        return build_model(defn, _observe(obj.workflow_id, defn, active, obj, moves), collapse)
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


def _snapshot_configuration(
    sw: SerializedWorkflow, definition: WorkflowDefinition
) -> frozenset[str]:
    """A snapshot's configuration: as stored, or entered from its state by default."""
    stored = getattr(sw, "configuration", None)  # snapshots of statecharts carry it
    if stored:
        return frozenset(map(str, stored))
    d = definition
    active = {sw.state, *d.ancestors(sw.state)}
    todo = [sw.state]
    while todo:  # a compound state enters its initial child, a parallel one every region
        parent = d.state(todo.pop())
        children = [c for c in d.children(parent.name) if not d.state(c).is_pseudo]
        if children:
            entered = children if parent.parallel else [parent.initial or children[0]]
            active.update(entered)
            todo.extend(entered)
    return frozenset(active)


def _observe(
    workflow_id: str,
    definition: WorkflowDefinition,
    active: frozenset[str],
    workflow: WorkflowStateMachine | SerializedWorkflow,
    moves: list[Move],
) -> Observation:
    return Observation(
        title=f"{workflow_id} ({definition.name}): {workflow.state}",
        active=active,
        enabled=enabled_transitions(workflow_id, definition, active, workflow.context),
        counts=Counter(moves),
        last=moves[-1] if moves else None,
    )


def enabled_transitions(
    workflow_id: str,
    definition: WorkflowDefinition,
    active: frozenset[str],
    context: Mapping[str, JSONValue],
) -> frozenset[int]:
    """Indexes of the transitions each event would take now (guards see no event data).

    In each active atomic state (one per region of a parallel state), an event takes the
    first transition, from the state outwards through its ancestors, whose guard allows.
    A guard that raises counts as false here: a diagram shows, it does not fail.
    """
    index = {id(t): i for i, t in enumerate(definition.transitions)}
    atomic = [s for s in definition.state_names if s in active and not definition.children(s)]
    enabled: set[int] = set()
    for state in atomic:
        taken: set[str] = set()
        for name in (state, *definition.ancestors(state)):
            for t in definition.transitions_from(name):
                if t.event in taken:
                    continue
                if t.guard is None or _guard_allows(t, context, workflow_id, state):
                    taken.add(t.event)
                    enabled.add(index[id(t)])
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
