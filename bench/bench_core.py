"""Core benchmark: one lifecycle cycle on fresh machines, against peers, in one process.

The cycle Idle -> Running -> Paused -> Running -> Completed runs on a fresh machine each time
for: descartes_nb (async process_event, history on), transitions (sync Machine and
AsyncMachine), python-statemachine, and a hand-written async floor (a dict lookup of
(state, event) plus appending a (from, to, event, timestamp) tuple). Contenders run
interleaved, round after round, and the median round is reported in microseconds per
transition (machine creation included, spread over the four transitions).

Memory, with tracemalloc: bytes per idle machine (10,000 machines) and bytes per history
entry (50,000 entries, an empty context shared by all, so the context payload is excluded).

Run: .venv/bin/python bench/bench_core.py [--rounds N] [--cycles N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from statemachine import State, StateMachine
from transitions import Machine
from transitions.extensions.asyncio import AsyncMachine

import descartes_nb as dn

CYCLE = ("Start", "Pause", "Resume", "Complete")
STATES = ["Idle", "Running", "Paused", "Completed", "Failed"]
TRANSITIONS = [
    {"trigger": "Start", "source": "Idle", "dest": "Running"},
    {"trigger": "Pause", "source": "Running", "dest": "Paused"},
    {"trigger": "Resume", "source": "Paused", "dest": "Running"},
    {"trigger": "Complete", "source": "Running", "dest": "Completed"},
    {"trigger": "Fail", "source": ["Running", "Paused"], "dest": "Failed"},
    {"trigger": "Retry", "source": "Failed", "dest": "Running"},
]
FLOOR_TABLE = {(t["source"], t["trigger"]): t["dest"] for t in TRANSITIONS[:4]}


class Model:
    """A bare model object for the transitions library."""


class Lifecycle(StateMachine):  # type: ignore[misc]
    """The lifecycle for python-statemachine."""

    idle = State(initial=True)
    running = State()
    paused = State()
    completed = State(final=True)
    Start = idle.to(running)
    Pause = running.to(paused)
    Resume = paused.to(running)
    Complete = running.to(completed)


class FloorMachine:
    """The floor: the least an async state machine with a history can do."""

    __slots__ = ("history", "state")

    def __init__(self) -> None:
        self.state = "Idle"
        self.history: list[tuple[str, str, str, datetime]] = []

    async def process_event(self, event: str) -> None:
        target = FLOOR_TABLE[(self.state, event)]
        self.history.append((self.state, target, event, datetime.now(UTC)))
        self.state = target


class FloatFloorMachine:
    """The long-lived floor: a dict lookup and a tuple append with a float timestamp."""

    __slots__ = ("history", "state")

    def __init__(self) -> None:
        self.state = "Idle"
        self.history: list[tuple[str, str, str, float]] = []

    async def process_event(self, event: str) -> None:
        target = FLOOR_TABLE[(self.state, event)]
        self.history.append((self.state, target, event, time.time()))
        self.state = target


async def time_long_lived(rounds: int, machines: int) -> dict[str, float]:
    """us per transition of the cycle on machines created beforehand (creation not timed)."""
    makers: dict[str, Callable[[], Any]] = {
        "float floor": FloatFloorMachine,
        "descartes_nb": lambda: dn.WorkflowStateMachine("bench"),
    }
    samples: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(rounds):
        for name, make in makers.items():
            made = [make() for _ in range(machines)]
            gc.collect()
            gc.disable()  # a collection mid-run is charged to whoever runs then
            start = time.perf_counter()
            for sm in made:
                for event in CYCLE:
                    await sm.process_event(event)
            elapsed = time.perf_counter() - start
            gc.enable()
            samples[name].append(elapsed / (machines * len(CYCLE)) * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


async def run_ours(cycles: int) -> None:
    for _ in range(cycles):
        sm = dn.WorkflowStateMachine("bench")
        for event in CYCLE:
            await sm.process_event(event)


async def run_floor(cycles: int) -> None:
    for _ in range(cycles):
        sm = FloorMachine()
        for event in CYCLE:
            await sm.process_event(event)


async def run_transitions(cycles: int) -> None:
    for _ in range(cycles):
        model = Model()
        Machine(model=model, states=STATES, transitions=TRANSITIONS, initial="Idle")
        for event in CYCLE:
            model.trigger(event)  # type: ignore[attr-defined]


async def run_async_transitions(cycles: int) -> None:
    for _ in range(cycles):
        model = Model()
        AsyncMachine(model=model, states=STATES, transitions=TRANSITIONS, initial="Idle")
        for event in CYCLE:
            await model.trigger(event)  # type: ignore[attr-defined]


async def run_statemachine(cycles: int) -> None:
    for _ in range(cycles):
        sm = Lifecycle()
        for event in CYCLE:
            sm.send(event)


CONTENDERS: dict[str, tuple[Callable[[int], Awaitable[None]], int]] = {
    # name: (runner, how many cycles per round relative to --cycles)
    "async floor": (run_floor, 1),
    "descartes_nb": (run_ours, 1),
    "transitions Machine": (run_transitions, 20),
    "transitions AsyncMachine": (run_async_transitions, 20),
    "python-statemachine": (run_statemachine, 40),
}


async def time_per_transition(rounds: int, cycles: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, (runner, divisor) in CONTENDERS.items():
            n = max(1, cycles // divisor)
            start = time.perf_counter()
            await runner(n)
            samples[name].append((time.perf_counter() - start) / (n * len(CYCLE)) * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def bytes_per(make: Callable[[], object], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [make() for _ in range(count)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / count


def make_transitions_machine() -> object:
    model = Model()
    Machine(model=model, states=STATES, transitions=TRANSITIONS, initial="Idle")
    return model


def bytes_per_history_entry(entries: int) -> float:
    sm = dn.WorkflowStateMachine("memory", max_history=entries + 1)

    async def fill() -> float:
        await sm.process_event("Start")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(entries // 2):
            await sm.process_event("Pause")
            await sm.process_event("Resume")
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / (entries // 2 * 2)

    return asyncio.run(fill())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cycles", type=int, default=20_000)
    args = parser.parse_args()

    per_transition = asyncio.run(time_per_transition(args.rounds, args.cycles))
    ours, floor = per_transition["descartes_nb"], per_transition["async floor"]
    print(f"per transition (median of {args.rounds} interleaved rounds, fresh machines)")
    for name, value in per_transition.items():
        print(f"  {name:26} {value:8.2f} us   {value / ours:6.1f}x descartes_nb")
    print(f"  descartes_nb / async floor: {ours / floor:.2f}x (target <= 3x)")
    sync_transitions = per_transition["transitions Machine"]
    print(f"  transitions Machine / descartes_nb: {sync_transitions / ours:.1f}x (target >= 8x)")

    long_lived = asyncio.run(time_long_lived(args.rounds, args.cycles))
    ours_long, floor_long = long_lived["descartes_nb"], long_lived["float floor"]
    print("per transition, long-lived machines (created beforehand; gc off while timed)")
    for name, value in long_lived.items():
        print(f"  {name:26} {value:8.2f} us")
    print(f"  descartes_nb / float floor: {ours_long / floor_long:.2f}x (target <= 3x)")

    print("memory (tracemalloc)")
    machines = {
        "descartes_nb": lambda: dn.WorkflowStateMachine("idle"),
        "transitions Machine": make_transitions_machine,
        "python-statemachine": Lifecycle,
    }
    for name, make in machines.items():
        print(f"  bytes per idle machine, {name:20} {bytes_per(make, 10_000):9.0f}")
    print("  (target for descartes_nb: <= 1000)")
    entry = bytes_per_history_entry(50_000)
    print(f"  bytes per history entry, descartes_nb  {entry:9.0f}  (target <= 150)")


if __name__ == "__main__":
    main()
