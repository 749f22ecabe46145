"""Notebook benchmark: history frames from machines and from a store file against plain
pandas, and diagram render times, in one process.

1. ``history_frame`` over N transitions (default 1,000,000: 1,000 machines with 1,000
   history entries each) against the same DataFrame (same columns, dtypes and values, checked)
   built with plain pandas from columnar lists already in memory. The ratio is the cost of
   reading the machines. Target: within 1.5x. Rounds are interleaved; medians are reported.
2. Diagrams of definitions with 10, 50 and 200 states (and 200 states in 20 compound states,
   drawn as clusters and collapsed): building the DOT source, and rendering it to SVG with the
   default renderer (graphviz-pure) and, when there is one, a system dot. Target: 50 states in
   under 150 ms with the default renderer. Then busy workflows (4 transitions per state: next,
   skip ahead, back, fail) of 100, 200 and 2,000 states displayed as a notebook does
   (``display_bundle()``, the size-bounded layout): targets 100 states under 5 s, 200 under
   10 s with graphviz-pure, and 2,000 states (refused: past the size limit) under 500 MB,
   the peak resident memory of this process and of the renderer's processes.

3. ``await load_history_frame(store)`` over a store file (default 1,000 workflows x 100
   transitions, contexts changing every few transitions, some events with data) against
   ``pandas.read_sql`` of the ``history`` view with ``parse_dates``, followed by the
   conversions that give the same frame (categories, timedeltas, JSON decoded; checked
   equal). Target: no slower. ``read_sql`` alone, which leaves durations as integers and
   JSON as text, is printed too.

Run: .venv/bin/python bench/bench_notebook.py [--rounds N] [--machines N] [--entries N]
     [--workflows N] [--transitions N] [--only machines|store|diagrams|busy ...]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import itertools
import json
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.core._snapshot import flat_move
from descartes_nb.notebook import _render as render

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
    """The history of every machine as columnar lists (what the baseline starts from).

    Lifecycle entries record no move (their states say it): their ``exited``, ``entered``
    and ``configuration`` are worked out here, outside the timing, once per distinct move.
    """
    out: dict[str, list[Any]] = {name: [] for name in dnb.HISTORY_COLUMNS}
    moves: dict[tuple[str, str, str], tuple[tuple[str, ...], ...]] = {}
    for sm in machines:
        history = sm.history.columns()
        out["workflow_id"].extend([sm.workflow_id] * len(history["seq"]))
        for name in dnb.HISTORY_COLUMNS[1:-3]:
            out[name].extend(history[name])
        for key in zip(history["from_state"], history["event"], history["to_state"], strict=True):
            if key not in moves:
                step = flat_move(sm.definition, *key)
                moves[key] = (step.exited, step.entered, tuple(sorted(step.configuration)))
            exited, entered, configuration = moves[key]
            out["exited"].append(exited)
            out["entered"].append(entered)
            out["configuration"].append(configuration)
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
            "exited": pd.Series(columns["exited"], dtype=object),
            "entered": pd.Series(columns["entered"], dtype=object),
            "configuration": pd.Series(columns["configuration"], dtype=object),
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


async def write_store(path: Path, workflows: int, transitions: int) -> None:
    """A store file of lifecycle workflows: Pause/Resume, some Fail/Retry, context changes."""
    clock = dn.ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    cycle = ["Pause", "Resume", "Pause", "Resume", "Fail", "Retry"]
    async with dn.SqliteWorkflowStore(path) as store:
        for n in range(workflows):
            sm = dn.WorkflowStateMachine(f"job-{n:06d}", clock=clock, max_history=transitions)
            await sm.set_context("owner", f"team-{n % 7}")
            await sm.process_event("Start", {"by": f"user-{n % 13}"})
            for i in range(transitions - 1):
                await clock.advance(timedelta(seconds=1 + (n * 7 + i * 3) % 37))
                if i % 5 == 4:
                    await sm.set_context("progress", {"done": i, "of": transitions})
                event = cycle[i % len(cycle)]
                if event == "Fail":
                    await sm.process_event(dn.WorkflowEvent.fail(f"step {i} timed out"))
                else:
                    await sm.process_event(event)
            await store.save_workflow(sm)


HISTORY_SQL = "SELECT * FROM history ORDER BY workflow_id, seq"


def read_sql_raw(conn: sqlite3.Connection) -> pd.DataFrame:
    """``pandas.read_sql`` of the history view, timestamps parsed as UTC."""
    return pd.read_sql(
        HISTORY_SQL, conn, parse_dates={"timestamp": {"utc": True, "format": "ISO8601"}}
    )


def read_sql_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """``read_sql``, then what a pandas user adds to get the history frame's types."""
    frame = read_sql_raw(conn)
    data = frame["event_data"].map(json.loads, na_action="ignore").astype(object)
    return pd.DataFrame(
        {
            "workflow_id": frame["workflow_id"].astype("str"),
            "seq": frame["seq"].astype("int64"),
            "timestamp": frame["timestamp"].dt.as_unit("us"),
            "from_state": pd.Categorical(frame["from_state"], categories=STATES),
            "to_state": pd.Categorical(frame["to_state"], categories=STATES),
            "event": pd.Categorical(frame["event"], categories=EVENTS),
            "event_data": data.where(data.notna(), None),  # NULL is read as NaN
            "duration": pd.to_timedelta(frame["duration_us"], unit="us").dt.as_unit("us"),
            "context": frame["context"].map(json.loads),
        }
    )


async def atimed(function: Callable[[], Awaitable[object]]) -> float:
    """Seconds one awaited call takes (garbage collected before, not during)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        await function()
        return time.perf_counter() - start
    finally:
        gc.enable()


async def compare_store_frames(path: Path, rounds: int) -> tuple[float, float, float, int]:
    """Median seconds of load_history_frame, read_sql + conversions, read_sql alone."""
    conn = sqlite3.connect(path)
    try:
        async with dn.SqliteWorkflowStore(path) as store:
            ours_frame = await dnb.load_history_frame(store)
            pd.testing.assert_frame_equal(ours_frame, read_sql_frame(conn))
            ours, full, raw = [], [], []
            for _ in range(rounds):
                ours.append(await atimed(lambda: dnb.load_history_frame(store)))
                full.append(timed(lambda: read_sql_frame(conn)))
                raw.append(timed(lambda: read_sql_raw(conn)))
    finally:
        conn.close()
    medians = (statistics.median(ours), statistics.median(full), statistics.median(raw))
    return (*medians, len(ours_frame))


def bench_store_frames(rounds: int, workflows: int, transitions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        asyncio.run(write_store(path, workflows, transitions))
        megabytes = path.stat().st_size / 1e6  # closed: the WAL is checkpointed into the file
        seconds = time.perf_counter() - started
        print(
            f"\n{workflows * transitions:,} transitions of {workflows:,} workflows in a store "
            f"file ({megabytes:.0f} MB), written in {seconds:.1f} s"
        )
        ours, full, raw, rows = asyncio.run(compare_store_frames(path, rounds))
    assert rows == workflows * transitions
    print(f"await load_history_frame(store)   {ours:7.3f} s")
    print(f"read_sql + conversions            {full:7.3f} s")
    print(f"read_sql alone (text columns)     {raw:7.3f} s")
    print(f"ratio to read_sql + conversions   {ours / full:7.2f}x (target <= 1x)")
    print(f"ratio to read_sql alone           {ours / raw:7.2f}x")


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


def busy_definition(states: int) -> dn.WorkflowDefinition:
    """``states`` states with 4 transitions each: next, skip 2-4 ahead, back 1-3, fail."""
    rng = random.Random(7)
    names = [f"step_{i:04d}" for i in range(states - 2)]
    defs = [dn.StateDef(n) for n in names]
    defs += [dn.StateDef("Done", terminal=True), dn.StateDef("Failed", terminal=True)]
    last = len(names) - 1
    transitions = []
    for i, name in enumerate(names):
        transitions += [
            dn.TransitionDef(name, "next", names[i + 1] if i < last else "Done"),
            dn.TransitionDef(name, "skip", names[min(i + rng.randint(2, 4), last)]),
            dn.TransitionDef(name, "back", names[max(i - rng.randint(1, 3), 0)]),
            dn.TransitionDef(name, "fail", "Failed"),
        ]
    return dn.WorkflowDefinition(f"busy-{states}", tuple(defs), names[0], tuple(transitions))


def bench_busy_diagrams() -> None:
    """Busy workflows displayed as in a notebook, once each (they take seconds)."""
    print(f"\n{'busy definition (display)':<30}{'seconds':>9}  {'shown':<10}target")
    for states, target in ((100, 5.0), (200, 10.0), (2000, None)):
        definition = busy_definition(states)
        started = time.perf_counter()
        bundle = dnb.diagram(definition).display_bundle()
        seconds = time.perf_counter() - started
        shown = "picture" if "image/svg+xml" in bundle else "refusal"
        goal = f"< {target:g} s" if target else "a refusal, < 500 MB"
        label = f"{states} states, {len(definition.transitions)} transitions"
        print(f"{label:<30}{seconds:9.2f}  {shown:<10}{goal}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MB, the renderer {children:.0f} MB (< 500 MB)")


def render_ms(to_svg: Callable[[], object], rounds: int) -> float:
    """Median milliseconds of ``rounds`` renders; one only when it takes seconds."""
    first = timed(to_svg)
    if first > 2:
        return first * 1000
    return statistics.median([first, *(timed(to_svg) for _ in range(rounds - 1))]) * 1000


SECTIONS = ("machines", "store", "diagrams", "busy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--transitions", type=int, default=100)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these")
    args = parser.parse_args()
    sections = args.only or SECTIONS
    if "machines" in sections:
        bench_frames(args.rounds, args.machines, args.entries)
    if "store" in sections:
        bench_store_frames(args.rounds, args.workflows, args.transitions)
    if "diagrams" in sections:
        bench_diagrams(args.rounds)
    if "busy" in sections:
        bench_busy_diagrams()


if __name__ == "__main__":
    main()
