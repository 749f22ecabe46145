"""time_in_state(): how long each workflow spent in each state, every state of a chart counted.

A state is occupied from the entry that entered it to the entry that exited it, so each
entry's duration goes to every state active before it: compound and parallel states and the
regions of parallel states too, not only ``from_state``.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from ._analytics import _checked
from ._moves import MOVE_COLUMNS, configuration_before


def time_in_state(frame: pd.DataFrame) -> pd.DataFrame:
    """Total time each workflow spent in each state (up to its last recorded event).

    Every state counts, compound and parallel states and the regions of parallel states
    included: a state is occupied from the entry that entered it to the entry that exited
    it. Each entry's ``duration`` goes to every state active before it (its
    ``configuration``, less what it entered, plus what it exited).

    Example:
        ``dnb.time_in_state(frame).mean()`` is the mean time per workflow in each state;
        ``... .plot.barh()`` draws it.

    Returns:
        One row per workflow, one timedelta column per state (every category of
        ``from_state``, then any other state the configurations hold; zero where a
        workflow never was there). The time since a workflow's last event, in its current
        states, is not counted. A frame without the move columns (or a row with an empty
        ``configuration``) counts each row's time in its ``from_state`` alone.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, ["workflow_id", "from_state", "duration"])
    occupied = time_in_each_state(frame)
    by_state = occupied.groupby(["workflow_id", "state"], observed=False, sort=False)
    table = by_state["duration"].sum().unstack("state")  # every pair is there, empty ones 0
    table.columns.name = "state"
    return table


def time_in_each_state(frame: pd.DataFrame) -> pd.DataFrame:
    """``time_in_state`` in long form: one row per workflow and state it spent time in.

    Columns ``workflow_id``, ``state`` (categorical: every state ``time_in_state`` has a
    column for) and ``duration``; a workflow and state appear once per entry group, so
    sum them by (workflow, state). The caller checks ``frame``.
    """
    codes, befores = _occupied_before(frame)
    totals = frame["duration"].groupby([frame["workflow_id"], codes], sort=False).sum()
    workflows: list[object] = []
    states: list[str] = []
    durations: list[pd.Timedelta] = []
    for key, total in totals.items():
        workflow, code = cast(tuple[object, int], key)  # a 2-level group key
        for state in befores[code]:
            workflows.append(workflow)
            states.append(state)
            durations.append(total)
    return pd.DataFrame(
        {
            "workflow_id": pd.Series(workflows, dtype=frame["workflow_id"].dtype),
            "state": pd.Categorical(
                states, categories=_categories_of(frame["from_state"], befores)
            ),
            "duration": pd.Series(durations, dtype=frame["duration"].dtype),
        }
    )


def _occupied_before(frame: pd.DataFrame) -> tuple[np.ndarray[Any, Any], list[tuple[str, ...]]]:
    """A code per row, and per code the states active before that row's entry.

    Rows share their move tuples (``MoveColumns``), so rows are grouped by the identity of
    their (from_state, exited, entered, configuration) objects, in bulk, and the states are
    worked out once per group.
    """
    sources = frame["from_state"].to_numpy(dtype=object)
    has_moves = all(name in frame.columns for name in MOVE_COLUMNS)
    moves = [frame[name].to_numpy() for name in MOVE_COLUMNS] if has_moves else []
    codes = pd.factorize(sources)[0].astype(np.int64)
    for column in moves:
        ids = np.fromiter(map(id, column), np.int64, count=len(column))
        part = pd.factorize(ids)[0]
        codes = pd.factorize(codes * (int(part.max(initial=0)) + 1) + part)[0].astype(np.int64)
    firsts = np.unique(codes, return_index=True)[1]  # codes are 0.. in order of appearance
    befores: list[tuple[str, ...]] = []
    for row in firsts.tolist():
        exited, entered, after = (column[row] for column in moves) if moves else ((), (), ())
        active = configuration_before(after, exited, entered) if after else {sources[row]}
        befores.append(tuple(map(str, active)))
    return codes, befores


def _categories_of(sources: pd.Series, befores: list[tuple[str, ...]]) -> list[str]:
    """The states of ``from_state`` (its categories, if it has them), then the others seen."""
    if isinstance(sources.dtype, pd.CategoricalDtype):
        first = [str(c) for c in sources.cat.categories]
    else:
        first = [str(s) for s in dict.fromkeys(sources)]
    names = dict.fromkeys(first)
    for active in befores:
        names.update(dict.fromkeys(active))
    return list(names)
