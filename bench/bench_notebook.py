"""Notebook benchmark: history_frame() against a DataFrame built straight from columns, and
diagram render times, in one process.

1. ``history_frame`` over N transitions (default 1,000,000: 1,000 machines with 1,000
   history entries each) against the same DataFrame (same columns, dtypes and values, checked)
   built with plain pandas from columnar lists already in memory. The ratio is the cost of
   reading the machines. Target: within 1.5x. Rounds are interleaved; medians are reported.
2. Diagrams of definitions with 10, 50 and 200 states (and 200 states in 20 compound states,
   drawn as clusters and collapsed): building the DOT source, and rendering it to SVG with the
   default renderer (graphviz-pure) and, when there is one, a system dot. Target: 50 states in
   under 150 ms with the default renderer.

The store-backed comparison (``history_frame`` from a store file against ``pandas.read_sql``)
waits for the store (see bench/README.md).

Run: .venv/bin/python bench/bench_notebook.py [--rounds N] [--machines N] [--entries N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import itertools
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook import render

STATES = ["Idle", "Running", "Paused", "Completed", "Failed"]
EVENTS = ["Start", "Pause", "Complete", "Fail", "Timeout", "Resume", "Retry"]


async def make_machines(machines: int, entries: int) -> list[dn.WorkflowStateMachine]:
    """Machines with ``entries`` history entries each: Start, then Pause/Resume."""
    out = []
    for n in range(machines):
        sm = dn.WorkflowStateMachine(f"job-{n:06d}", max_history=entries)
        await sm.set_context("owner", f"team-{n % 7}")
        await sm.process_event("Start")
        for i in range(entries - 1):
            await sm.process_event("Pause" if i % 2 == 0 else "Resume")
        out.append(sm)
    return out


def columns_of(machines: list[dn.WorkflowStateMachine]) -> dict[str, list[Any]]:
    """The history of every machine as columnar lists (what the baseline starts from)."""
    out: dict[str, list[Any]] = {name: [] for name in dnb.HISTORY_COLUMNS}
    for sm in machines:
        history = sm.history.columns()
        out["workflow_id"].extend([sm.workflow_id] * len(history["seq"]))
        for name in dnb.HISTORY_COLUMNS[1:]:
            out[name].extend(history[name])
    return out


def direct_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The same frame from lists in memory, with pandas' fastest constructors for each type."""
    return pd.DataFrame(
        {
            "workflow_id": pd.Series(columns["workflow_id"], dtype="str"),
            "seq": pd.Series(columns["seq"], dtype="int64"),
            "timestamp": pd.Series(pd.DatetimeIndex(columns["timestamp"])),
            "from_state": pd.Categorical(columns["from_state"], categories=STATES),
            "to_state": pd.Categorical(columns["to_state"], categories=STATES),
            "event": pd.Categorical(columns["event"], categories=EVENTS),
            "event_data": pd.Series(columns["event_data"], dtype=object),
            "duration": pd.Series(pd.TimedeltaIndex(columns["duration"])),
            "context": pd.Series(columns["context"], dtype=object),
        }
    )


def timed(function: Callable[[], object]) -> float:
    """Seconds one call takes (garbage collected before, not during)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        function()
        return time.perf_counter() - start
    finally:
        gc.enable()


def bench_frames(rounds: int, machines: int, entries: int) -> None:
    started = time.perf_counter()
    fleet = asyncio.run(make_machines(machines, entries))
    print(f"{machines * entries:,} transitions in {machines:,} machines, made in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    columns = columns_of(fleet)
    pd.testing.assert_frame_equal(dnb.history_frame(fleet), direct_frame(columns))
    ours, direct = [], []
    for _ in range(rounds):
        ours.append(timed(lambda: dnb.history_frame(fleet)))
        direct.append(timed(lambda: direct_frame(columns)))
    ours_s, direct_s = statistics.median(ours), statistics.median(direct)
    print(f"history_frame(machines)           {ours_s:7.3f} s")
    print(f"pandas from columnar lists        {direct_s:7.3f} s")
    print(f"ratio                             {ours_s / direct_s:7.2f}x (target <= 1.5x)")


def staged_definition(states: int, group: int = 0) -> dn.WorkflowDefinition:
    """A pipeline of ``states`` stages: next, some back, some fail; in compound groups."""
    names = [f"stage_{i:03d}" for i in range(states - 2)]
    parents = [f"group_{i // group:02d}" for i in range(len(names))] if group else []
    defs = [dn.StateDef(p) for p in dict.fromkeys(parents)]
    defs += [
        dn.StateDef(name, parent=parents[i] if group else None) for i, name in enumerate(names)
    ]
    defs += [dn.StateDef("Done", terminal=True), dn.StateDef("Failed", terminal=True)]
    transitions = [dn.TransitionDef(a, "next", b) for a, b in itertools.pairwise(names)]
    transitions += [dn.TransitionDef(names[-1], "finish", "Done")]
    transitions += [
        dn.TransitionDef(n, "back", names[i - 1]) for i, n in enumerate(names) if i % 3 == 2
    ]
    transitions += [
        dn.TransitionDef(n, "fail", "Failed") for i, n in enumerate(names) if i % 4 == 3
    ]
    transitions += [dn.TransitionDef("Failed", "retry", names[0])]
    return dn.WorkflowDefinition(f"pipeline-{states}", tuple(defs), names[0], tuple(transitions))


def bench_diagrams(rounds: int) -> None:
    cases = [
        ("10 states", staged_definition(10), False),
        ("50 states", staged_definition(50), False),
        ("200 states", staged_definition(200), False),
        ("200 states, 20 clusters", staged_definition(200, group=10), False),
        ("200 states, collapsed", staged_definition(200, group=10), True),
    ]
    renderers = {"graphviz-pure": str(render.find_renderer().path)}
    system = render.system_dot()
    if system is not None:
        renderers["system dot"] = str(system)
    print(f"\n{'definition':<26}{'DOT source':>12}" + "".join(f"{r:>16}" for r in renderers))
    for label, definition, collapse in cases:
        draw = functools.partial(dnb.diagram, definition, collapse=collapse)
        build = [timed(draw) for _ in range(rounds)]
        to_svg = functools.partial(render.render_svg, draw(), timeout=60)
        row = f"{label:<26}{statistics.median(build) * 1000:9.1f} ms"
        for path in renderers.values():
            os.environ[render.ENV_VAR] = path
            try:
                row += f"{render_ms(to_svg, rounds):13.0f} ms"
            except dn.RenderTimeoutError:
                row += f"{'> 60 s':>16}"
            finally:
                del os.environ[render.ENV_VAR]
        print(row)


def render_ms(to_svg: Callable[[], object], rounds: int) -> float:
    """Median milliseconds of ``rounds`` renders; one only when it takes seconds."""
    first = timed(to_svg)
    if first > 2:
        return first * 1000
    return statistics.median([first, *(timed(to_svg) for _ in range(rounds - 1))]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    bench_frames(args.rounds, args.machines, args.entries)
    bench_diagrams(args.rounds)


if __name__ == "__main__":
    main()
