"""variants() and variants_chart(): the distinct paths workflows took, as pm4py counts them.

A variant is the sequence of events of one workflow's history, oldest first (Rollbacks and
internal events included: they are part of what happened).
"""

from __future__ import annotations

import itertools
from typing import Final

import altair as alt
import numpy as np
import pandas as pd

from ._analytics import _checked
from ._vega import WIDTH, HistoryChart, layered

ARROW: Final = " → "
_NEEDED: Final = ("workflow_id", "seq", "event")
_LABEL_CHARS: Final = 70


def variants(frame: pd.DataFrame) -> pd.DataFrame:
    """The distinct event sequences of the frame's workflows, most frequent first.

    Example:
        >>> import asyncio, descartes_nb as dn
        >>> from descartes_nb import notebook as dnb
        >>> a, b = dn.WorkflowStateMachine("a"), dn.WorkflowStateMachine("b")
        >>> for sm, events in ((a, ["Start", "Complete"]), (b, ["Start"])):
        ...     for event in events:
        ...         _ = asyncio.run(sm.process_event(event))
        >>> dnb.variants(dnb.history_frame([a, b]))[["variant", "count", "share"]]
                    variant  count  share
        0             Start      1    0.5
        1  Start → Complete      1    0.5

    Returns:
        One row per variant: ``variant`` (the events joined by ``" → "``), ``events`` (a
        tuple of event names), ``length`` (events), ``count`` (workflows that took it),
        ``share`` (of all workflows, 0 to 1) and ``example`` (the first such workflow id);
        sorted by count, then by variant. Only retained history is seen (``max_history``).

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame.
    """
    _checked(frame, _NEEDED)
    ordered = _in_seq_order(frame)
    events = ordered["event"].astype("category")
    codes = events.cat.codes.to_numpy()
    names = np.asarray(events.cat.categories.astype(str), dtype=object)
    workflow = ordered["workflow_id"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, workflow[1:] != workflow[:-1], True])
    keys = [codes[lo:hi].tobytes() for lo, hi in itertools.pairwise(bounds)]
    per_workflow = pd.DataFrame({"key": keys, "workflow_id": workflow[bounds[:-1]]})
    groups = per_workflow.groupby("key", sort=False)
    table = pd.DataFrame({"count": groups.size(), "example": groups["workflow_id"].first()})
    dtype = codes.dtype
    table["events"] = [tuple(names[np.frombuffer(key, dtype=dtype)]) for key in table.index]
    table["variant"] = [ARROW.join(e) for e in table["events"]]
    table["length"] = [len(e) for e in table["events"]]
    table["share"] = table["count"] / max(len(per_workflow), 1)
    table = table.sort_values(["count", "variant"], ascending=[False, True], kind="stable")
    columns = ["variant", "events", "length", "count", "share", "example"]
    out = table[columns].reset_index(drop=True)
    out["variant"] = out["variant"].astype("str")
    out["example"] = out["example"].astype("str")
    return out


def _in_seq_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each workflow's rows together, by seq (sorted only when needed)."""
    workflow = frame["workflow_id"]
    same = workflow.to_numpy()[1:] == workflow.to_numpy()[:-1]
    rising = np.diff(frame["seq"].to_numpy()) > 0
    grouped = workflow.nunique() == int((~same).sum()) + min(len(frame), 1)
    if grouped and bool(np.all(rising | ~same)):
        return frame
    return frame.sort_values(["workflow_id", "seq"], kind="stable")


def variants_chart(frame: pd.DataFrame, *, top: int = 10) -> HistoryChart:
    """The ``top`` most frequent variants as bars (the others summed up in one more bar).

    Example:
        ``dnb.variants_chart(frame, top=5)``; the numbers are ``dnb.variants(frame)``.

    Args:
        frame: a history frame.
        top: how many variants get a bar of their own.

    Returns:
        A ``HistoryChart``: one bar per variant, labelled with its share; hover for the full
        sequence and an example workflow.

    Raises:
        TypeError, ValueError: ``frame`` is not a history frame; ``top`` is not a positive int.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    table = variants(frame)
    shown = table.head(top)
    data = pd.DataFrame(
        {
            "label": [_short(v) for v in shown["variant"]],
            "variant": shown["variant"],
            "count": shown["count"],
            "share": shown["share"],
            "example": shown["example"],
        }
    )
    rest = table.iloc[top:]
    if len(rest):
        other = {
            "label": f"{len(rest):,} other variants",
            "variant": f"{len(rest):,} other variants",
            "count": int(rest["count"].sum()),
            "share": float(rest["share"].sum()),
            "example": "",
        }
        data = pd.concat([data, pd.DataFrame([other])], ignore_index=True)
    data["percent"] = [f"{s:.1%}" for s in data["share"]]
    return _bars(data, table)


def _short(variant: str) -> str:
    return variant if len(variant) <= _LABEL_CHARS else variant[: _LABEL_CHARS - 1] + "…"


def _bars(data: pd.DataFrame, table: pd.DataFrame) -> HistoryChart:
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=420))
    base = alt.Chart(data).encode(y=y, tooltip=["variant", "count", "percent", "example"])
    bars = (
        base.mark_bar(color="#5c6bc0")
        .encode(x=alt.X("count:Q", title="workflows"))
        .properties(name="variant_bars")
    )
    labels = (
        base.mark_text(align="left", dx=3, color="#37474f")
        .encode(x="count:Q", text="percent:N")
        .properties(name="variant_shares")
    )
    workflows = int(table["count"].sum())
    chart = layered(
        bars,
        labels,
        title=f"Variants: {len(table):,} distinct paths of {workflows:,} workflows",
        subtitle=["each bar is one sequence of events, oldest first"],
    )
    return chart.properties(width=WIDTH - 300, height=max(60, 22 * len(data)))
