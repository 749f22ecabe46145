"""Analytics over history frames: counts, durations, overlay, conformance (time in state apart).

Every function takes a frame shaped like ``history_frame()``'s and leaves it unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import Final, cast

import pandas as pd

from ..core._definition import WorkflowDefinition
from ..core._events import ROLLBACK
from ._chartcheck import statechart_problems
from ._definitions import Definitions, checked_definitions, definition_named, the_definition
from ._digraph import Diagram
from ._draw import Direction, draw
from ._frames import HISTORY_COLUMNS, definition_names
from ._layout import build_model
from ._model import Move, Observation, classify
from ._moves import MOVE_COLUMNS

_MOVE: Final = ["from_state", "event", "to_state"]
PM4PY_CASE: Final = "case:concept:name"
PM4PY_ACTIVITY: Final = "concept:name"
PM4PY_TIME: Final = "time:timestamp"


def _checked(frame: pd.DataFrame, needed: Collection[str] = HISTORY_COLUMNS) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a history frame (a DataFrame), got {type(frame).__name__}")
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise ValueError(
            f"not a history frame: columns {missing} are missing "
            f"(has {list(frame.columns)}; see history_frame())"
        )
    return frame


def transition_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """How often each move (``from_state``, ``event``, ``to_state``) was recorded.

    Returns:
        Columns ``from_state event to_state count``, most frequent first.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, _MOVE)
    counts = frame.groupby(_MOVE, observed=True, sort=False).size().rename("count")
    return counts.reset_index().sort_values(
        "count", ascending=False, kind="stable", ignore_index=True
    )


def workflow_durations(frame: pd.DataFrame) -> pd.DataFrame:
    """When each workflow started and last moved, and how long that took.

    Returns:
        One row per workflow (index ``workflow_id``): ``started`` (its first recorded
        timestamp minus that entry's duration: its creation, when its whole history is
        there), ``ended`` (last timestamp), ``duration``, ``transitions`` and
        ``final_state``.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, ["workflow_id", "seq", "timestamp", "duration", "to_state"])
    ordered = frame.sort_values(["workflow_id", "seq"], kind="stable")
    groups = ordered.groupby("workflow_id", sort=False)
    first = groups.head(1).set_index("workflow_id")
    last = groups.tail(1).set_index("workflow_id")
    out = pd.DataFrame(
        {"started": first["timestamp"] - first["duration"], "ended": last["timestamp"]}
    )
    out["duration"] = out["ended"] - out["started"]
    out["transitions"] = groups.size()
    out["final_state"] = last["to_state"]
    return out


def overlay(
    definition: Definitions,
    frame: pd.DataFrame,
    *,
    collapse: bool | Collection[str] = False,
    direction: Direction = "auto",
) -> Diagram:
    """The definition's diagram painted with what ``frame`` recorded.

    Transitions carry how often they were taken (drawn heavier), never-taken ones are
    muted, recorded moves the definition does not allow are drawn in red, and each state
    shows its mean time per visit.

    Example:
        ``dnb.overlay(dn.LIFECYCLE, frame)``, or ``dnb.overlay(defs, frame)`` with the
        mapping ``load_definitions`` returns: the frame's workflows say which they run.

    Args:
        definition: the definition to draw, or a mapping of them (as ``load_definitions``
            returns), from which the one the frame's workflows run is taken.
        frame: a history frame (``history_frame``, ``load_history_frame``).
        collapse: as for ``diagram``.
        direction: as for ``diagram``.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame; ``definition`` is not a
            definition or a mapping of them, or the mapping does not tell which one to
            draw (the message lists the names).
    """
    _checked(frame, [*_MOVE, "workflow_id", "duration"])
    definition = the_definition(
        definition, _running(frame), call="overlay(definitions, frame)", who="the frame"
    )
    counts = {move: len(rows) for move, rows in _move_groups(frame)}
    index = {id(t): i for i, t in enumerate(definition.transitions)}
    taken = set()
    for move in counts:
        _, t = classify(definition, move)
        if t is not None:
            taken.add(index[id(t)])
    workflows = frame["workflow_id"].nunique()
    observation = Observation(
        title=f"{definition.name}: {workflows} workflows, {len(frame)} history entries",
        enabled=frozenset(taken),
        counts=counts,
        mean_time=_mean_time_per_visit(frame),
    )
    return draw(build_model(definition, observation, collapse), direction=direction)


def _mean_time_per_visit(frame: pd.DataFrame) -> dict[str, pd.Timedelta]:
    """Time in each state divided by the visits that ended (internal events split none)."""
    total = frame.groupby("from_state", observed=True)["duration"].sum()
    left = frame[frame["from_state"].astype(object) != frame["to_state"].astype(object)]
    visits = dict(left.groupby("from_state", observed=True).size().items())
    return {str(state): time / visits[state] for state, time in total.items() if visits.get(state)}


def conformance(frame: pd.DataFrame, definition: Definitions) -> pd.DataFrame:
    """The recorded history entries ``definition`` does not allow, one row each, with why.

    Checks each move against the transitions (as the engine would take them; for a
    statechart, that its configurations are legal and an active state takes its event), that
    each entry starts where the previous one of its workflow ended, and that a ``Rollback``
    returns to where the entry it undid started.

    Example:
        ``dnb.conformance(frame, dn.LIFECYCLE)`` checks every workflow against the
        lifecycle; ``dnb.conformance(frame, defs)``, with the mapping ``load_definitions``
        returns, checks each workflow against the definition it runs.

    Args:
        frame: a history frame (``history_frame``, ``load_history_frame``).
        definition: the definition every workflow is checked against; or a mapping of them,
            from which each workflow's own is taken (frames from ``history_frame`` and
            ``load_history_frame`` say which each runs; the lifecycle is always known).

    Returns:
        The offending rows of ``frame`` (same index and columns) plus a ``reason`` column;
        empty when everything conforms.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame; ``definition`` is not a
            definition or a mapping of them, or the mapping lacks a workflow's definition
            or the frame does not say which one a workflow runs (the message lists them).
    """
    _checked(frame)
    reasons: dict[Hashable, list[str]] = {}
    for defn, part in _parts_by_definition(frame, definition):
        if defn.is_statechart and all(name in part.columns for name in MOVE_COLUMNS):
            for row, why in statechart_problems(defn, part):
                reasons.setdefault(row, []).append(why)
            continue
        for move, rows in _move_groups(part):
            if classify(defn, move)[0] == "undefined":
                why = _why_not(defn, move)
                for row in rows:
                    reasons.setdefault(row, []).append(why)
    for row, why in [*_broken_links(frame), *_wrong_rollbacks(frame)]:
        reasons.setdefault(row, []).append(why)
    bad = frame[frame.index.isin(list(reasons))]
    why_column = pd.Series(["; ".join(reasons[row]) for row in bad.index], index=bad.index)
    return bad.assign(reason=why_column.astype("str"))


def _running(frame: pd.DataFrame) -> set[str]:
    """The names of the definitions the frame's workflows run, as far as the frame says."""
    names = definition_names(frame)
    return {names[w] for w in frame["workflow_id"].unique() if w in names}


def _parts_by_definition(
    frame: pd.DataFrame, definitions: Definitions
) -> list[tuple[WorkflowDefinition, pd.DataFrame]]:
    """The frame's rows grouped by the definition their workflow runs."""
    found = checked_definitions(definitions)
    if isinstance(found, WorkflowDefinition):
        return [(found, frame)]
    names = definition_names(frame)
    workflows = [str(w) for w in frame["workflow_id"].unique()]
    unknown = [w for w in workflows if w not in names]
    given = sorted({d.name for d in found.values()})
    if unknown and len(given) != 1:
        raise ValueError(
            f"the frame does not say which definition workflow {unknown[0]!r} runs (frames "
            "from history_frame and load_history_frame do), and there is no single one to "
            f"check it against: definitions holds {given}; pass one, such as "
            f"conformance(frame, defs[{(given or ['name'])[0]!r}])"
        )
    by_definition: dict[int, tuple[WorkflowDefinition, list[str]]] = {}
    for workflow in workflows:
        if workflow in names:
            defn = definition_named(found, names[workflow], who=f"workflow {workflow!r}")
        else:  # the frame does not say: the one definition given
            defn = next(iter(found.values()))
        by_definition.setdefault(id(defn), (defn, []))[1].append(workflow)
    if len(by_definition) == 1:
        [(defn, _)] = by_definition.values()
        return [(defn, frame)]
    return [(defn, frame[frame["workflow_id"].isin(ids)]) for defn, ids in by_definition.values()]


def _move_groups(frame: pd.DataFrame) -> list[tuple[Move, pd.Index]]:
    """Each distinct recorded move, with the labels of the rows that recorded it."""
    groups = frame.groupby(_MOVE, observed=True, sort=False).groups
    return [(_move(key), rows) for key, rows in groups.items()]


def _move(key: Hashable) -> Move:
    source, event, target = cast(tuple[object, object, object], key)  # a 3-column group key
    return str(source), str(event), str(target)


def _why_not(definition: WorkflowDefinition, move: Move) -> str:
    source, event, target = move
    for state in (source, target):
        if not definition.has_state(state) or definition.children(state):
            return f"{state!r} is not an atomic state of {definition.name!r}"
    sources = (source, *definition.ancestors(source))
    targets = {
        str(t.target) for t in definition.transitions if t.event == event and t.source in sources
    }
    if targets:
        return f"{event!r} from {source!r} goes to {sorted(targets)}, not {target!r}"
    if definition.is_terminal(source):
        return f"{source!r} is terminal: no {event!r} leaves it"
    return f"no transition {event!r} from {source!r} in {definition.name!r}"


def _broken_links(frame: pd.DataFrame) -> list[tuple[Hashable, str]]:
    """Entries that start somewhere other than where the previous entry ended."""
    ordered = frame.sort_values(["workflow_id", "seq"], kind="stable")
    by_workflow = ordered.groupby("workflow_id", sort=False)
    previous_to = by_workflow["to_state"].shift().astype(object)
    adjacent = by_workflow["seq"].shift() == ordered["seq"] - 1
    broken = ordered[adjacent & (ordered["from_state"].astype(object) != previous_to)]
    return [
        (row, f"starts in {str(source)!r}, but seq {seq - 1} ended in {str(previous)!r}")
        for row, source, seq, previous in zip(
            broken.index,
            broken["from_state"],
            broken["seq"],
            previous_to[broken.index],
            strict=True,
        )
    ]


def _wrong_rollbacks(frame: pd.DataFrame) -> list[tuple[Hashable, str]]:
    """Rollbacks that do not return to where the entry they undid started."""
    rollbacks = frame[frame["event"] == ROLLBACK]
    involved = frame[frame["workflow_id"].isin(set(rollbacks["workflow_id"]))]
    started = {
        (wid, seq): str(source)
        for wid, seq, source in zip(
            involved["workflow_id"], involved["seq"], involved["from_state"], strict=True
        )
    }
    found: list[tuple[Hashable, str]] = []
    for row, wid, data, target in zip(
        rollbacks.index,
        rollbacks["workflow_id"],
        rollbacks["event_data"],
        rollbacks["to_state"],
        strict=True,
    ):
        undone = data.get("undone_seq") if isinstance(data, Mapping) else None
        expected = started.get((wid, undone))
        if expected is not None and expected != str(target):
            found.append(
                (row, f"Rollback of seq {undone} returns to {str(target)!r}, not {expected!r}")
            )
    return found


def to_pm4py(frame: pd.DataFrame) -> pd.DataFrame:
    """The history in pm4py's event-log layout (pm4py itself is not needed or imported).

    Returns:
        ``case:concept:name`` (the workflow id, str), ``concept:name`` (the event, str),
        ``time:timestamp`` (tz-aware UTC), then ``from_state``, ``to_state`` and ``seq``;
        sorted by case, timestamp and seq.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, ["workflow_id", "event", "timestamp", "from_state", "to_state", "seq"])
    log = pd.DataFrame(
        {
            PM4PY_CASE: frame["workflow_id"].astype("str"),
            PM4PY_ACTIVITY: frame["event"].astype("str"),
            PM4PY_TIME: frame["timestamp"],
            "from_state": frame["from_state"].astype("str"),
            "to_state": frame["to_state"].astype("str"),
            "seq": frame["seq"],
        }
    )
    return log.sort_values([PM4PY_CASE, PM4PY_TIME, "seq"], kind="stable", ignore_index=True)
