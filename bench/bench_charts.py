"""Charts benchmark: each chart function on a 1,000,000-row history frame, in one process.

Two frames of 1,000,000 rows each, both from real machines through ``history_frame``:

- "many": 100,000 workflows with 10 history entries each (a lifecycle path with a pause, a
  failure and its retry, a rollback; every 7th times out);
- "long": 1,000 workflows with 1,000 entries each (Start, then Pause/Resume), so the
  timeline's 50 lanes hold 50,000 visits and are sampled down to its bar budget.

For each function: the median time of the call and of ``to_dict()`` (the spec JupyterLab
receives), the rows of chart data and the size of the spec in JSON; then the PNG export
(vl-convert) of each chart. Rounds are interleaved; medians are reported.

Run: .venv/bin/python bench/bench_charts.py [--rounds N] [--only many|long ...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd

import descartes_nb as dn
from descartes_nb import notebook as dnb

START = datetime(2026, 3, 1, tzinfo=UTC)
PATH = ("Start", "Pause", "Resume", "Fail", "Retry", "Pause", "Rollback", "Pause", "Resume")
FUNCTIONS: dict[str, Callable[[pd.DataFrame], alt.TopLevelMixin]] = {
    "timeline": dnb.timeline,
    "occupancy": dnb.occupancy,
    "time_in_state_chart": dnb.time_in_state_chart,
    "variants_chart": dnb.variants_chart,
}


async def many(workflows: int) -> list[dn.WorkflowStateMachine]:
    """``workflows`` machines of 10 entries; created over a week, waits of 1 s to 10 min."""
    machines = []
    for n in range(workflows):
        clock = dn.ManualClock(START + timedelta(seconds=(n * 6007) % (7 * 86400)))
        sm = dn.WorkflowStateMachine(f"wf-{n:07d}", clock=clock)
        for i, event in enumerate((*PATH, "Timeout" if n % 7 == 6 else "Complete")):
            await clock.advance(timedelta(seconds=1 + (n * 31 + i * 97) % 600))
            await sm.process_event(dn.WorkflowEvent.fail("x") if event == "Fail" else event)
        machines.append(sm)
    return machines


async def long(workflows: int, entries: int) -> list[dn.WorkflowStateMachine]:
    """``workflows`` machines of ``entries`` entries: Start, then Pause/Resume a minute apart."""
    machines = []
    for n in range(workflows):
        clock = dn.ManualClock(START + timedelta(minutes=n))
        sm = dn.WorkflowStateMachine(f"job-{n:05d}", clock=clock, max_history=entries)
        await clock.advance(timedelta(seconds=30))
        await sm.process_event("Start")
        for i in range(entries - 1):
            await clock.advance(timedelta(seconds=60 + (n + i) % 50))
            await sm.process_event("Pause" if i % 2 == 0 else "Resume")
        machines.append(sm)
    return machines


def timed(function: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def bench(name: str, frame: pd.DataFrame, rounds: int) -> None:
    print(f"\n{name}: {len(frame):,} rows, {frame['workflow_id'].nunique():,} workflows")
    print(f"{'function':<22}{'call s':>8}{'to_dict s':>11}{'rows':>7}{'spec KB':>9}{'png s':>8}")
    times: dict[str, list[float]] = {f: [] for f in FUNCTIONS}
    specs: dict[str, list[float]] = {f: [] for f in FUNCTIONS}
    for _ in range(rounds):
        for function, draw in FUNCTIONS.items():
            times[function].append(timed(lambda draw=draw: draw(frame)))  # type: ignore[misc]
            chart = draw(frame)
            specs[function].append(timed(chart.to_dict))
    variants_s = statistics.median(timed(lambda: dnb.variants(frame)) for _ in range(rounds))
    for function, draw in FUNCTIONS.items():
        chart = draw(frame)
        spec = chart.to_dict()
        rows = max(len(values) for values in spec["datasets"].values())
        png_s = timed(lambda chart=chart: dnb.to_png(chart, scale=1))  # type: ignore[misc]
        print(
            f"{function:<22}{statistics.median(times[function]):8.3f}"
            f"{statistics.median(specs[function]):11.3f}{rows:7,}"
            f"{len(json.dumps(spec)) / 1024:9.0f}{png_s:8.2f}"
        )
    print(f"{'variants (DataFrame)':<22}{variants_s:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("many", "long"), action="append")
    args = parser.parse_args()
    for shape in args.only or ("many", "long"):
        started = time.perf_counter()
        machines = asyncio.run(many(100_000) if shape == "many" else long(1000, 1000))
        frame = dnb.history_frame(machines)
        del machines
        print(f"[{shape}] frame made in {time.perf_counter() - started:.1f} s")
        bench(shape, frame, args.rounds)


if __name__ == "__main__":
    main()
