"""Conformance of a statechart's history entries, checked against the chart.

A statechart entry's ``from_state`` and ``to_state`` are ``sm.state`` (a parallel state, say)
and one event may take several transitions, so its move cannot be looked up as a flat one's
is: the configuration it ended in must be one the chart can be in, the one it started in
too, and some transition of an active state must take its event.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

from ..core._chart import Chart
from ..core._definition import WorkflowDefinition
from ..core._events import ROLLBACK
from ..core._interpreter import interpreter_of
from ..core._step import matches
from ._moves import configuration_before


def statechart_problems(
    definition: WorkflowDefinition, frame: pd.DataFrame
) -> list[tuple[Hashable, str]]:
    """Each row of ``frame`` (a statechart's entries) the chart does not allow, with why.

    Rows without a recorded configuration (read from a store that keeps none) are not
    checked here.
    """
    chart = interpreter_of(definition).chart
    known: dict[tuple[str, int, int, int], str | None] = {}
    found: list[tuple[Hashable, str]] = []
    rows = zip(
        frame.index,
        frame["event"].astype(object),
        frame["exited"],
        frame["entered"],
        frame["configuration"],
        strict=True,
    )
    for row, event, exited, entered, after in rows:
        key = (str(event), id(exited), id(entered), id(after))
        if key not in known:
            known[key] = _why_not(definition, chart, str(event), exited, entered, after)
        why = known[key]
        if why is not None:
            found.append((row, why))
    return found


def _why_not(
    definition: WorkflowDefinition,
    chart: Chart,
    event: str,
    exited: Sequence[str],
    entered: Sequence[str],
    after: Sequence[str],
) -> str | None:
    if not after:
        return None
    unknown = [s for s in (*after, *exited, *entered) if not definition.has_state(s)]
    if unknown:
        return f"{unknown[0]!r} is not a state of {definition.name!r}"
    before = configuration_before(after, exited, entered)
    for when, states in (("ended", frozenset(after)), ("started", before)):
        problem = chart.configuration_problem(states)
        if problem is not None:
            return f"it {when} in {chart.in_order(states)}, which cannot be active: {problem}"
    if event == ROLLBACK or not (exited or entered):
        return None  # a rollback's jump; an event that moved nothing (recorded as internal)
    for t in definition.transitions:
        if t.event and t.source in before and matches(t.event, event):
            return None
    return f"no transition of the active states {chart.in_order(before)} takes {event!r}"
