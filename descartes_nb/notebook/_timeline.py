"""timeline(): one lane per workflow, a bar per state it was in, failures and rollbacks marked.

Everything is aggregated in pandas first: a chart holds at most ``max_lanes`` lanes, at most
``MAX_BARS`` bars (a lane with more visits than its share is sampled at even times, as a
screen would show it) and at most ``MAX_MARKS`` marks, whatever the size of the frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import altair as alt
import numpy as np
import pandas as pd

from ..core._events import FAILURE_EVENTS, ROLLBACK
from ._analytics import _checked
from ._palette import state_kind
from ._timefmt import format_durations
from ._vega import HistoryChart, clock_times, color_scale, iso_times, layered, time_axis, zoom

LaneChoice = Literal["first", "last", "longest", "failing"]
LANE_CHOICES: Final[dict[str, str]] = {
    "first": "earliest started",
    "last": "latest started",
    "longest": "longest running",
    "failing": "most failures and rollbacks",
}
MAX_BARS: Final = 2000
MAX_MARKS: Final = 1000
_NEEDED: Final = ("workflow_id", "seq", "timestamp", "from_state", "to_state", "event", "duration")
_LANE_HEIGHT: Final = 18
STILL_THERE: Final = "(still there at the last event shown)"


def timeline(
    frame: pd.DataFrame,
    *,
    workflows: LaneChoice | Iterable[str] = "first",
    max_lanes: int = 50,
) -> HistoryChart:
    """One lane per workflow: a bar per state it was in, coloured by state.

    The states are those the entries name: for a statechart, the innermost state of each
    step (its regions and ancestors are in ``time_in_state``).

    Failures (``Fail``, ``Timeout``, or a move into a state named like a failure) are marked
    with a cross, rollbacks with a triangle; hover for details, drag or scroll to zoom time.

    Example:
        ``dnb.timeline(frame)`` (the 50 earliest started), ``dnb.timeline(frame,
        workflows="failing", max_lanes=10)``, ``dnb.timeline(frame, workflows=["build-007"])``.

    Args:
        frame: a history frame (``history_frame``, ``load_history_frame``).
        workflows: which workflows get a lane: ``"first"`` (earliest started), ``"last"``
            (latest started), ``"longest"`` (longest running), ``"failing"`` (most failures
            and rollbacks), or the workflow ids themselves, drawn in the order given.
        max_lanes: at most this many lanes; the other workflows are summed up in the
            subtitle (how many, and their final states).

    Returns:
        A ``HistoryChart`` (an ``altair.LayerChart``), from the first lane's creation to the
        last event of any lane; each workflow's last state is drawn (paler) up to there.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame; ``workflows`` names an
            unknown choice or workflow, or more than ``max_lanes`` workflows;
            ``max_lanes`` is not a positive int.
    """
    _checked(frame, _NEEDED)
    max_lanes = _checked_lanes(max_lanes)
    is_mark = _mark_kinds(frame).notna()
    stats = _workflow_stats(frame, is_mark)
    chosen, how = _choose(stats, workflows, max_lanes)
    rows = frame[frame["workflow_id"].isin(chosen)].sort_values(
        ["workflow_id", "seq"], kind="stable"
    )
    begin, end = stats.loc[chosen, "started"].min(), rows["timestamp"].max()
    bars, sampled = _bars(_visits(rows, end), len(chosen))
    marks = _marks(rows, len(chosen), (begin, end))
    lanes = alt.Y("workflow_id:N", sort=chosen, title=None, axis=alt.Axis(labelLimit=160))
    subtitle = _subtitle(stats, chosen, sampled)
    title = f"Timeline of {len(chosen)} workflows" if not how else f"Timeline: {how}"
    span = end - begin
    chart = layered(
        _bar_layer(bars, lanes, span, frame),
        _mark_layer(marks, lanes, span),
        title=title,
        subtitle=subtitle,
    )
    return chart.properties(width=640, height=max(60, _LANE_HEIGHT * len(chosen)))


def _checked_lanes(max_lanes: object) -> int:
    if isinstance(max_lanes, bool) or not isinstance(max_lanes, int) or max_lanes < 1:
        raise ValueError(f"max_lanes must be a positive int, got {max_lanes!r}")
    return max_lanes


def _mark_kinds(frame: pd.DataFrame) -> pd.Series:
    """``failure``, ``rollback`` or missing, per entry."""
    events = frame["event"].astype(object)
    moved = frame["from_state"].astype(object) != frame["to_state"].astype(object)
    failing_states = [s for s in pd.unique(frame["to_state"].astype(object)) if _fails(s)]
    failed = events.isin(FAILURE_EVENTS) | (moved & frame["to_state"].isin(failing_states))
    kinds = pd.Series(pd.NA, index=frame.index, dtype="str")
    kinds[failed] = "failure"
    kinds[events == ROLLBACK] = "rollback"
    return kinds


def _fails(state: object) -> bool:
    return state_kind(str(state)) == "failure"


def _workflow_stats(frame: pd.DataFrame, is_mark: pd.Series) -> pd.DataFrame:
    """Per workflow: started, ended, marks (failures and rollbacks) and final state."""
    groups = frame.groupby("workflow_id", sort=False)
    last = frame.loc[groups["seq"].idxmax(), ["workflow_id", "to_state"]]
    stats = pd.DataFrame(
        {
            "started": (frame["timestamp"] - frame["duration"])
            .groupby(frame["workflow_id"])
            .min(),
            "ended": groups["timestamp"].max(),
            "marks": is_mark.groupby(frame["workflow_id"]).sum(),
        }
    )
    stats["final_state"] = last.set_index("workflow_id")["to_state"].astype(str)
    return stats


def _choose(
    stats: pd.DataFrame, workflows: LaneChoice | Iterable[str], max_lanes: int
) -> tuple[list[str], str]:
    """The lanes' workflow ids in drawing order, and how they were picked (for the title)."""
    total = len(stats)
    if isinstance(workflows, str):
        if workflows not in LANE_CHOICES:
            raise ValueError(
                f"workflows must be one of {list(LANE_CHOICES)} or workflow ids, got {workflows!r}"
            )
        by_start = stats.assign(id=stats.index).sort_values(["started", "id"], kind="stable")
        order = {
            "first": by_start,
            "last": by_start.iloc[::-1],
            "longest": by_start.assign(run=by_start["ended"] - by_start["started"]).sort_values(
                "run", ascending=False, kind="stable"
            ),
            "failing": by_start.sort_values("marks", ascending=False, kind="stable"),
        }[workflows]
        picked = set(order.index[:max_lanes])
        chosen = [w for w in by_start.index if w in picked]
        how = "" if total <= max_lanes else f"{len(chosen)} of {total:,} workflows"
        return chosen, how and f"{how} ({LANE_CHOICES[workflows]})"
    return _given(stats, workflows, max_lanes)


def _given(stats: pd.DataFrame, workflows: Iterable[str], max_lanes: int) -> tuple[list[str], str]:
    chosen = list(dict.fromkeys(workflows))
    unknown = [w for w in chosen if w not in stats.index]
    if unknown:
        raise ValueError(f"no workflow {unknown[0]!r} in the frame (it has {len(stats):,})")
    if not chosen or len(chosen) > max_lanes:
        raise ValueError(
            f"workflows must name 1 to max_lanes={max_lanes} workflows, got {len(chosen)}"
        )
    return chosen, "" if len(chosen) == len(
        stats
    ) else f"{len(chosen)} of {len(stats):,} workflows"


def _visits(rows: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """One row per stay in a state (internal events do not split it), the last one open."""
    workflow = rows["workflow_id"]
    moved = rows["from_state"].astype(object) != rows["to_state"].astype(object)
    starts_visit = (workflow != workflow.shift()) | moved.shift(fill_value=True)
    groups = rows.assign(start=rows["timestamp"] - rows["duration"]).groupby(
        starts_visit.cumsum().to_numpy(), sort=False
    )
    closed = pd.DataFrame(
        {
            "workflow_id": groups["workflow_id"].first(),
            "state": groups["from_state"].first().astype(str),
            "start": groups["start"].first(),
            "end": groups["timestamp"].last(),
            "left_by": groups["event"].last().astype(str),
        }
    )
    last = rows.groupby("workflow_id", sort=False).tail(1)
    still = pd.DataFrame(
        {
            "workflow_id": last["workflow_id"],
            "state": last["to_state"].astype(str),
            "start": last["timestamp"],
            "end": end,
            "left_by": STILL_THERE,
        }
    )
    visits = pd.concat([closed, still[still["end"] > still["start"]]], ignore_index=True)
    return visits.sort_values(["workflow_id", "start"], kind="stable", ignore_index=True)


def _bars(visits: pd.DataFrame, lanes: int) -> tuple[pd.DataFrame, bool]:
    """The visits, with lanes over their share of ``MAX_BARS`` sampled; whether any was."""
    budget = max(1, MAX_BARS // max(lanes, 1))
    counts = visits.groupby("workflow_id", sort=False).size()
    crowded = set(counts.index[counts > budget])
    if not crowded:
        return visits.assign(visits=1), False
    kept = visits[~visits["workflow_id"].isin(crowded)].assign(visits=1)
    sampled = [
        _sampled(part, budget)
        for workflow, part in visits.groupby("workflow_id", sort=False)
        if workflow in crowded
    ]
    bars = pd.concat([kept, *sampled], ignore_index=True)
    return bars.sort_values(["workflow_id", "start"], kind="stable", ignore_index=True), True


def _sampled(visits: pd.DataFrame, budget: int) -> pd.DataFrame:
    """One lane's visits as at most ``budget`` bars, as a screen that narrow would show them.

    The state at ``budget`` even times; runs of the same state are joined.
    """
    starts = visits["start"].to_numpy(dtype="datetime64[ns]").astype("int64")
    lo = int(starts[0])
    hi = max(pd.Timestamp(visits["end"].iloc[-1]).value, lo + 1)
    edges = np.linspace(lo, hi, budget + 1).astype("int64")
    at = np.clip(np.searchsorted(starts, (edges[:-1] + edges[1:]) // 2, side="right") - 1, 0, None)
    states = visits["state"].to_numpy()[at]
    run_starts = np.flatnonzero(np.r_[True, states[1:] != states[:-1]])
    run_ends = np.r_[run_starts[1:], budget]
    first_visit = np.searchsorted(starts, edges[run_starts], side="left")
    last_visit = np.searchsorted(starts, edges[run_ends], side="left")
    return pd.DataFrame(
        {
            "workflow_id": visits["workflow_id"].iloc[0],
            "state": states[run_starts],
            "start": pd.to_datetime(edges[run_starts], utc=True).as_unit("us"),
            "end": pd.to_datetime(edges[run_ends], utc=True).as_unit("us"),
            "left_by": "(several visits, sampled)",
            "visits": np.maximum(last_visit - first_visit, 1),
        }
    )


def _marks(
    rows: pd.DataFrame, lanes: int, span: tuple[pd.Timestamp, pd.Timestamp]
) -> pd.DataFrame:
    """Failures and rollbacks; past ``MAX_MARKS``, one mark per lane, kind and time slot."""
    kinds = _mark_kinds(rows)
    marked = rows[kinds.notna()].assign(kind=kinds[kinds.notna()])
    marks = pd.DataFrame(
        {
            "workflow_id": marked["workflow_id"],
            "kind": marked["kind"].astype(str),
            "at": marked["timestamp"],
            "event": marked["event"].astype(str),
            "move": marked["from_state"].astype(str) + " → " + marked["to_state"].astype(str),
            "count": 1,
        }
    )
    if len(marks) <= MAX_MARKS:
        return marks.reset_index(drop=True)
    slots = max(1, MAX_MARKS // (2 * max(lanes, 1)))
    width = max((span[1] - span[0]) / slots, pd.Timedelta(1, "us"))
    slot = (marks["at"] - span[0]) // width
    groups = marks.groupby([marks["workflow_id"], marks["kind"], slot], sort=False)
    first = groups.head(1).reset_index(drop=True)
    return first.assign(count=groups.size().to_numpy())


def _bar_layer(
    bars: pd.DataFrame, lanes: alt.Y, span: pd.Timedelta, frame: pd.DataFrame
) -> alt.Chart:
    data = pd.DataFrame(
        {
            "workflow_id": bars["workflow_id"].astype(str),
            "state": bars["state"].astype(str),
            "start": iso_times(bars["start"]),
            "end": iso_times(bars["end"]),
            "from": clock_times(bars["start"]),
            "until": clock_times(bars["end"]),
            "time": format_durations(bars["end"] - bars["start"]),
            "left_by": bars["left_by"].astype(str),
            "visits": bars["visits"].astype("int64"),
        }
    )
    colors = color_scale(frame, data["state"].unique())
    layer: alt.Chart = (
        alt.Chart(data, name="timeline_bars")
        .mark_bar(height={"band": 0.72})
        .encode(
            x=time_axis("start", span),
            x2="end",
            y=lanes,
            color=alt.Color("state:N", scale=colors, title="state"),
            opacity=alt.condition(
                alt.datum.left_by == STILL_THERE, alt.value(0.35), alt.value(1.0)
            ),
            tooltip=[
                alt.Tooltip("workflow_id:N", title="workflow"),
                "state:N",
                "from:N",
                "until:N",
                "time:N",
                alt.Tooltip("left_by:N", title="left by"),
                alt.Tooltip("visits:Q", title="visits in this bar"),
            ],
        )
        .add_params(zoom())
    )
    return layer


def _mark_layer(marks: pd.DataFrame, lanes: alt.Y, span: pd.Timedelta) -> alt.Chart:
    data = pd.DataFrame(
        {
            "workflow_id": marks["workflow_id"].astype(str),
            "kind": marks["kind"].astype(str),
            "at": iso_times(marks["at"]),
            "when": clock_times(marks["at"]),
            "event": marks["event"].astype(str),
            "move": marks["move"].astype(str),
            "count": marks["count"].astype("int64"),
        }
    )
    shapes = alt.Scale(domain=["failure", "rollback"], range=["cross", "triangle-left"])
    layer: alt.Chart = (
        alt.Chart(data, name="timeline_marks")
        # dark with a light outline: seen on a light and on a dark theme alike
        .mark_point(filled=True, size=70, fill="#212121", stroke="#ffffff", strokeWidth=0.8)
        .encode(
            x=time_axis("at", span),
            y=lanes,
            shape=alt.Shape("kind:N", scale=shapes, title="marked"),
            tooltip=[
                alt.Tooltip("workflow_id:N", title="workflow"),
                "kind:N",
                "event:N",
                "move:N",
                alt.Tooltip("when:N", title="at"),
                alt.Tooltip("count:Q", title="marks here"),
            ],
        )
    )
    return layer


def _subtitle(stats: pd.DataFrame, chosen: list[str], sampled: bool) -> list[str]:
    lines = []
    rest = stats[~stats.index.isin(chosen)]
    if len(rest):
        finals = rest["final_state"].value_counts()
        ordered = sorted(finals.items(), key=lambda item: (-item[1], item[0]))
        states = ", ".join(f"{state} {count:,}" for state, count in ordered)
        lines.append(f"not shown: {len(rest):,} workflows (last states: {states})")
    if sampled:
        lines.append("lanes with many short visits are sampled at even times")
    return lines
