"""occupancy() and time_in_state_chart(): how many workflows were where, and for how long.

Both aggregate in pandas and numpy first; the chart holds a few thousand numbers at most,
whatever the size of the frame.
"""

from __future__ import annotations

from typing import Final

import altair as alt
import numpy as np
import pandas as pd

from ._analytics import _checked
from ._timefmt import format_duration, format_durations
from ._timeinstate import time_in_each_state
from ._vega import (
    MAX_ROWS,
    WIDTH,
    HistoryChart,
    clock_times,
    color_scale,
    iso_times,
    layered,
    state_order,
    time_axis,
    zoom,
)

NICE_FREQS: Final = tuple(
    pd.Timedelta(f)
    for f in (
        *("1s", "5s", "10s", "30s", "1min", "5min", "10min", "15min", "30min"),
        *("1h", "2h", "3h", "6h", "12h", "1D", "2D", "7D", "14D", "28D", "91D", "364D"),
    )
)
AUTO_POINTS: Final = 200
_OCCUPANCY_NEEDED: Final = (
    "workflow_id",
    "seq",
    "timestamp",
    "from_state",
    "to_state",
    "duration",
)


def occupancy(frame: pd.DataFrame, *, freq: str | pd.Timedelta | None = None) -> HistoryChart:
    """How many workflows were in each state over time, as stacked areas.

    Example:
        ``dnb.occupancy(frame)`` (a step picked for about 200 points) or
        ``dnb.occupancy(frame, freq="5min")``; ``occupancy_frame(frame, freq="5min")`` gives
        the numbers.

    Args:
        frame: a history frame (``history_frame``, ``load_history_frame``).
        freq: the time between points, as pandas reads it (``"30s"``, ``"5min"``, ``"1h"``)
            or a ``Timedelta``; by default the nicest step giving at most 200 points.

    Returns:
        A ``HistoryChart``: at each point, the workflows in each state at that instant (a
        workflow counts from its creation, or its first retained entry, and stays counted in
        its last state). Hover for the numbers; drag or scroll to zoom time. A workflow
        counts once, in the state its entries name (a statechart's innermost state, so the
        areas still add up to the workflows); ``time_in_state`` counts every active state.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame; ``freq`` is not a positive
            fixed duration, or gives more points than a chart holds (the message names the
            finest step that fits).
    """
    counts = occupancy_frame(frame, freq=freq)
    long = counts.melt(ignore_index=False, var_name="state", value_name="workflows")
    long = long[long.groupby("state", sort=False)["workflows"].transform("max") > 0]
    order = {state: i for i, state in enumerate(counts.columns)}
    times = long.index.to_series()
    span = counts.index[-1] - counts.index[0] if len(counts) else pd.Timedelta(0)
    data = pd.DataFrame(
        {
            "time": iso_times(times).to_numpy(),
            "state": long["state"].astype(str).to_numpy(),
            "workflows": long["workflows"].to_numpy(),
            "order": long["state"].map(order).to_numpy(),
        }
    )
    areas = (
        alt.Chart(data, name="occupancy_areas")
        .mark_area()
        .encode(
            x=time_axis("time", span),
            y=alt.Y("workflows:Q", stack="zero", title="workflows"),
            color=alt.Color("state:N", scale=color_scale(frame, data["state"]), title="state"),
            order=alt.Order("order:Q"),
        )
        .add_params(zoom())
    )
    step = pd.Timedelta(counts.index[1] - counts.index[0]) if len(counts) > 1 else None
    total = int(counts.iloc[-1].sum()) if len(counts) else 0
    chart = layered(
        areas,
        _hover_layer(counts, span),
        title=f"Workflows in each state ({total:,} workflows)",
        subtitle=[f"one point every {format_duration(step)}"] if step is not None else [],
    )
    return chart.properties(width=WIDTH, height=260)


def occupancy_frame(
    frame: pd.DataFrame, *, freq: str | pd.Timedelta | None = None
) -> pd.DataFrame:
    """The numbers ``occupancy`` draws: workflows per state (columns) at each time (index).

    Args:
        frame: a history frame.
        freq: as for ``occupancy``.

    Returns:
        One row per point in time (a tz-aware UTC index from the first creation to the last
        timestamp and one step past it), one int column per state of the frame, in
        definition order; each value is the number of workflows in that state at that time.

    Raises:
        TypeError, ValueError: as for ``occupancy``.
    """
    _checked(frame, _OCCUPANCY_NEEDED)
    states = state_order(frame)
    ordered = frame.sort_values(["workflow_id", "seq"], kind="stable")
    first = ordered.groupby("workflow_id", sort=False).head(1)
    times = pd.concat(
        [first["timestamp"] - first["duration"], ordered["timestamp"], ordered["timestamp"]]
    ).to_numpy(dtype="datetime64[us]")
    codes = np.concatenate(
        [_codes(first["from_state"], states), *(_codes(ordered[c], states) for c in _MOVE_COLUMNS)]
    )
    deltas = np.concatenate([np.ones(len(first)), -np.ones(len(ordered)), np.ones(len(ordered))])
    if not len(times):
        return pd.DataFrame(columns=states, index=pd.DatetimeIndex([], tz="UTC"), dtype="int64")
    start, end = pd.Timestamp(times.min(), tz="UTC"), pd.Timestamp(times.max(), tz="UTC")
    step = _step(freq, end - start, len(states))
    origin = start.floor(step)
    points = int((end - origin) // step) + 2  # the last point is at or past the last event
    at = np.ceil((times - origin.tz_localize(None).to_datetime64()) / step.to_timedelta64())
    cells = np.bincount(
        at.astype("int64") * len(states) + codes, weights=deltas, minlength=points * len(states)
    )
    counts = np.cumsum(cells.reshape(points, len(states)), axis=0).round().astype("int64")
    index = pd.date_range(origin, periods=points, freq=step, name="time").as_unit("us")
    return pd.DataFrame(counts, index=index, columns=pd.Index(states, name="state"))


_MOVE_COLUMNS: Final = ("from_state", "to_state")


def _codes(values: pd.Series, states: list[str]) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    return pd.Categorical(values.astype(str), categories=states).codes.astype("int64")


def _step(freq: str | pd.Timedelta | None, span: pd.Timedelta, states: int) -> pd.Timedelta:
    """The step between points: ``freq``, or the finest nice one giving ``AUTO_POINTS``."""
    most = max(2, MAX_ROWS // max(states, 1))
    if freq is None:
        wanted = min(AUTO_POINTS, most)
        return next((f for f in NICE_FREQS if span / f <= wanted - 2), NICE_FREQS[-1])
    try:
        step = pd.Timedelta(freq)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"freq must be a fixed duration such as '30s', '5min' or '1h', got {freq!r}"
        ) from exc
    if not step > pd.Timedelta(0):
        raise ValueError(f"freq must be a positive duration, got {freq!r}")
    if span / step > most - 2:
        finest = next((f for f in NICE_FREQS if span / f <= most - 2), NICE_FREQS[-1])
        raise ValueError(
            f"freq={freq!r} gives {int(span / step) + 2:,} points over {format_duration(span)}; "
            f"a chart holds at most {most:,} for {states} states: try freq={_name(finest)!r}"
        )
    return step


def _name(step: pd.Timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _hover_layer(counts: pd.DataFrame, span: pd.Timedelta) -> alt.Chart:
    """An invisible rule per point whose tooltip lists the workflows in each state."""
    shown = counts.loc[:, (counts > 0).any()]
    times = counts.index.to_series()
    summary = [
        ", ".join(f"{state} {n:,}" for state, n in row.items() if n) or "none"
        for _, row in shown.iterrows()
    ]
    data = pd.DataFrame(
        {"time": iso_times(times).to_numpy(), "at": clock_times(times).to_numpy()}
    ).assign(workflows=summary)
    hover = alt.selection_point(
        name="hover_time", on="pointerover", nearest=True, encodings=["x"], empty=False
    )
    layer: alt.Chart = (
        alt.Chart(data, name="occupancy_hover")
        .mark_rule(color="#424242")
        .encode(
            x=time_axis("time", span),
            opacity=alt.condition(hover, alt.value(0.7), alt.value(0.0)),
            tooltip=["at", "workflows"],
        )
        .add_params(hover)
    )
    return layer


TIME_UNITS: Final = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400))


def time_in_state_chart(frame: pd.DataFrame) -> HistoryChart:
    """How long workflows spent in each state: one box per state, over the workflows.

    Example:
        ``dnb.time_in_state_chart(frame)``; the numbers are ``dnb.time_in_state(frame)``.

    Args:
        frame: a history frame (``history_frame``, ``load_history_frame``).

    Returns:
        A ``HistoryChart``: per state, over the workflows that left it at least once, the
        time each spent there in total (the box spans the middle half, the tick is the
        median, the whiskers reach the least and the most); hover for the figures.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, ["workflow_id", "from_state", "duration"])
    stats = time_in_state_stats(frame)
    longest = stats["median"].max() if len(stats) else pd.Timedelta(0)
    unit, size = next(
        ((u, s) for u, s in reversed(TIME_UNITS) if longest >= pd.Timedelta(2 * s, "s")),
        TIME_UNITS[0],
    )
    data = pd.DataFrame({"state": stats.index.astype(str), "workflows": stats["workflows"]})
    for column in ("min", "q1", "median", "q3", "max", "mean"):
        data[column] = stats[column].dt.total_seconds() / size
        data[f"{column}_text"] = format_durations(stats[column])
    data = data.reset_index(drop=True)
    y = alt.Y("state:N", sort=list(data["state"]), title=None)
    x = alt.X("min:Q", title=f"time in state per workflow ({unit})")
    tooltip = ["state", "workflows", *(f"{c}_text" for c in ("min", "q1", "median", "q3", "max"))]
    tooltip.append("mean_text")
    base = alt.Chart(data).encode(y=y, tooltip=tooltip)
    colors = color_scale(frame, data["state"])
    chart = layered(
        base.mark_rule(color="#616161").encode(x=x, x2="max").properties(name="tis_whiskers"),
        base.mark_bar(height={"band": 0.6})
        .encode(x=alt.X("q1:Q"), x2="q3", color=alt.Color("state:N", scale=colors, legend=None))
        .properties(name="tis_boxes"),
        base.mark_tick(color="white", thickness=2, size=16)
        .encode(x="median:Q")
        .properties(name="tis_medians"),
        title="Time in each state, per workflow",
        subtitle=["box: middle half, tick: median, whiskers: least to most"],
    )
    return chart.properties(width=WIDTH, height=max(60, 32 * len(data)))


def time_in_state_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per state, over the workflows with time recorded there: count and spread of it.

    The time is ``time_in_state``'s: compound and parallel states and regions count the
    time spent in any of their descendants. Columns ``workflows min q1 median q3 max mean``
    (timedeltas but the first), one row per state in definition order.
    """
    _checked(frame, ["workflow_id", "from_state", "duration"])
    occupied = time_in_each_state(frame)
    totals = occupied.groupby(["state", "workflow_id"], observed=True, sort=False)[
        "duration"
    ].sum()
    per_state = totals.groupby(level=0, observed=True, sort=False)
    stats = pd.DataFrame(
        {
            "workflows": per_state.size(),
            "min": per_state.min(),
            "q1": per_state.quantile(0.25),
            "median": per_state.median(),
            "q3": per_state.quantile(0.75),
            "max": per_state.max(),
            "mean": per_state.mean(),
        }
    )
    stats.index = stats.index.astype(str)
    order = [str(s) for s in occupied["state"].cat.categories if str(s) in stats.index]
    return stats.loc[order].rename_axis("state")
