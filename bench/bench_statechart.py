"""Statechart benchmark: a two-region parallel chart against sismic and python-statemachine 3.

The chart: a parallel state Checks with regions Build (B1 <-> B2 on ``b``) and Test (T1 <-> T2
on ``t``); ``both`` moves both regions at once. The same events (``b``, ``t``, ``both``,
repeated) drive one long-lived machine per contender, interleaved round after round; the median
round is reported in microseconds per event.

- descartes_nb: ``await sm.process_event(name)`` (history on, as always);
- sismic: ``interpreter.queue(name)`` then ``interpreter.execute_once()`` (its macrostep);
- python-statemachine 3: ``sm.send(name)`` on a ``StateChart``.

Each contender's configuration is checked after the run (the same active leaves), so all do
the same work.

Run: .venv/bin/python bench/bench_statechart.py [--rounds N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from sismic.interpreter import Interpreter
from sismic.io import import_from_yaml
from statemachine import State, StateChart

import descartes_nb as dn

EVENTS = ("b", "t", "both")


def definition() -> dn.WorkflowDefinition:
    st, tr = dn.StateDef, dn.TransitionDef
    return dn.WorkflowDefinition(
        "two-regions",
        states=(
            st("Checks", parallel=True),
            st("Build", parent="Checks"),
            st("B1", parent="Build"),
            st("B2", parent="Build"),
            st("Test", parent="Checks"),
            st("T1", parent="Test"),
            st("T2", parent="Test"),
        ),
        initial_state="Checks",
        transitions=(
            tr("B1", "b", "B2"),
            tr("B2", "b", "B1"),
            tr("B1", "both", "B2"),
            tr("B2", "both", "B1"),
            tr("T1", "t", "T2"),
            tr("T2", "t", "T1"),
            tr("T1", "both", "T2"),
            tr("T2", "both", "T1"),
        ),
    )


def _region(name: str, one: str, two: str, event: str) -> str:
    moves = "\n".join(
        f"""        - name: {a}
          transitions:
          - target: {b}
            event: {event}
          - target: {b}
            event: both"""
        for a, b in ((one, two), (two, one))
    )
    return f"""      - name: {name}
        initial: {one}
        states:
{moves}"""


SISMIC_YAML = f"""statechart:
  name: two regions
  root state:
    name: root
    initial: Checks
    states:
    - name: Checks
      parallel states:
{_region("Build", "B1", "B2", "b")}
{_region("Test", "T1", "T2", "t")}
"""


class TwoRegions(StateChart):  # type: ignore[misc]
    """The chart for python-statemachine 3."""

    class Checks(State.Parallel, initial=True):  # type: ignore[misc]
        class Build(State.Compound):  # type: ignore[misc]
            B1 = State(initial=True)
            B2 = State()
            b = B1.to(B2) | B2.to(B1)
            both = B1.to(B2) | B2.to(B1)

        class Test(State.Compound):  # type: ignore[misc]
            T1 = State(initial=True)
            T2 = State()
            t = T1.to(T2) | T2.to(T1)
            both = T1.to(T2) | T2.to(T1)


def leaves_after(names: list[str]) -> frozenset[str]:
    """The active leaves after processing ``names`` from the start (the expected result)."""
    build, test = "B1", "T1"
    for name in names:
        if name in ("b", "both"):
            build = "B2" if build == "B1" else "B1"
        if name in ("t", "both"):
            test = "T2" if test == "T1" else "T1"
    return frozenset({build, test})


def make_runners(
    count: int,
) -> dict[str, tuple[Callable[[], Awaitable[frozenset[str]]], int]]:
    names = [EVENTS[i % len(EVENTS)] for i in range(count)]
    sm = dn.WorkflowStateMachine("bench", definition(), max_history=1000)
    interpreter = Interpreter(import_from_yaml(SISMIC_YAML))
    interpreter.execute_once()
    chart = TwoRegions()

    async def ours() -> frozenset[str]:
        process = sm.process_event
        for name in names:
            await process(name)
        return sm.configuration & {"B1", "B2", "T1", "T2"}

    async def sismic() -> frozenset[str]:
        for name in names:
            interpreter.queue(name)
            interpreter.execute_once()
        return frozenset(interpreter.configuration) & {"B1", "B2", "T1", "T2"}

    async def psm() -> frozenset[str]:
        for name in names:
            chart.send(name)
        return frozenset(s.id for s in chart.configuration) & {"B1", "B2", "T1", "T2"}

    # name: (runner, how many events it processes per round)
    return {
        "descartes_nb": (ours, count),
        "sismic": (sismic, count),
        "python-statemachine 3": (psm, count),
    }


async def time_per_event(rounds: int, count: int) -> dict[str, float]:
    runners = make_runners(count)
    samples: dict[str, list[float]] = {name: [] for name in runners}
    done: dict[str, list[str]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, (runner, n) in runners.items():
            start = time.perf_counter()
            leaves = await runner()
            samples[name].append((time.perf_counter() - start) / n * 1e6)
            done[name].extend(EVENTS[i % len(EVENTS)] for i in range(n))
            expected = leaves_after(done[name])
            assert leaves == expected, (name, sorted(leaves), sorted(expected))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--events", type=int, default=3_000)
    args = parser.parse_args()
    figures = asyncio.run(time_per_event(args.rounds, args.events))
    ours = figures["descartes_nb"]
    print(f"per event, two-region parallel chart (median of {args.rounds} interleaved rounds)")
    for name, value in figures.items():
        print(f"  {name:24} {value:9.2f} us   {value / ours:7.1f}x descartes_nb")
    for peer in ("sismic", "python-statemachine 3"):
        print(f"  {peer} / descartes_nb: {figures[peer] / ours:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
