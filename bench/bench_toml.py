"""Swarm.toml benchmark: guards, timers and loading, each next to what it replaces.

- A guard expression (``context.approvals >= 2 and data.ok``) against the same test as a
  Python lambda: called directly, and as the guard of a transition in ``process_event``.
- A transition of a TOML workflow whose states have timeouts (each transition cancels one
  timer and arms another, on a ManualClock) against the same workflow without timeouts,
  and against the built-in lifecycle.
- ``load_definitions`` and ``to_toml`` on ``notebooks/workflows/swarm.toml`` and on a
  generated workflow of 200 states.

Contenders run interleaved, round after round; the median round is reported.

Run: .venv/bin/python bench/bench_toml.py [--rounds N] [--n N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import descartes_nb as dn
from descartes_nb.formats.swarm.guards._parser import parse_guard

SWARM = Path(__file__).parent.parent / "notebooks" / "workflows" / "swarm.toml"
GUARD = "context.approvals >= 2 and data.ok"
CONTEXT = {"approvals": 3, "owner": "ada"}
DATA = {"ok": True}


def per_call(function: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n * 1e6


def guard_direct(n: int) -> dict[str, Callable[[], float]]:
    expression = parse_guard(GUARD)

    def as_lambda(context, data):  # type: ignore[no-untyped-def]
        return context.get("approvals", 0) >= 2 and bool(data.get("ok"))

    return {
        "guard: expression, direct call": lambda: per_call(lambda: expression(CONTEXT, DATA), n),
        "guard: Python lambda, direct call": lambda: per_call(lambda: as_lambda(CONTEXT, DATA), n),
    }


def toggle(guard: dn.Guard | None, label: str | None) -> dn.WorkflowDefinition:
    return dn.WorkflowDefinition(
        f"toggle-{label}",
        states=(dn.StateDef("A"), dn.StateDef("B")),
        initial_state="A",
        transitions=(
            dn.TransitionDef("A", "go", "B", guard=guard, guard_label=label),
            dn.TransitionDef("B", "back", "A"),
        ),
    )


async def run_pairs(definition: dn.WorkflowDefinition, events: tuple[str, str], n: int) -> float:
    sm = dn.WorkflowStateMachine("w", definition, clock=dn.ManualClock(), context=CONTEXT)
    first, second = events
    start = time.perf_counter()
    for _ in range(n):
        await sm.process_event(first, DATA)
        await sm.process_event(second)
    return (time.perf_counter() - start) / n / 2 * 1e6


def machines(n: int) -> dict[str, Callable[[], float]]:
    loaded = dn.load_definitions(SWARM)["code_implementation"]
    plain = dn.load_definitions(SWARM.read_text().replace('timeout = "', '# timeout = "'))
    no_timers = plain["code_implementation"]

    def as_lambda(context, data):  # type: ignore[no-untyped-def]
        return context.get("approvals", 0) >= 2 and bool(data.get("ok"))

    return {
        "transition, guard expression": lambda: asyncio.run(
            run_pairs(toggle(parse_guard(GUARD), GUARD), ("go", "back"), n)
        ),
        "transition, guard lambda": lambda: asyncio.run(
            run_pairs(toggle(as_lambda, "lambda"), ("go", "back"), n)
        ),
        "transition, no guard": lambda: asyncio.run(
            run_pairs(toggle(None, None), ("go", "back"), n)
        ),
        "TOML transition, timeouts armed": lambda: asyncio.run(
            run_pairs(_started(loaded), ("review", "request_changes"), n)
        ),
        "TOML transition, no timeouts": lambda: asyncio.run(
            run_pairs(_started(no_timers), ("review", "request_changes"), n)
        ),
    }


def _started(definition: dn.WorkflowDefinition) -> dn.WorkflowDefinition:
    """The same definition starting in Coding, so that the benchmark cycles two states."""
    return dn.WorkflowDefinition(
        definition.name,
        definition.states,
        "Coding",
        definition.transitions,
        definition.description,
    )


def big_toml(states: int) -> str:
    lines = ['[workflow.big]\ninitial_state = "S0"\n']
    for i in range(states):
        lines.append(f"[workflow.big.states.S{i}]")
        if i == states - 1:
            lines.append("terminal = true\n")
            continue
        lines.append(f'next_on_success = "S{i + 1}"\ntimeout = "{i + 1}m"')
        lines.append(
            f'on = {{ back = "S{max(i - 1, 0)}", jump = {{ target = "S{states - 1}", '
            f'guard = "context.n >= {i}" }} }}\n'
        )
    return "\n".join(lines)


def loading(n: int) -> dict[str, Callable[[], float]]:
    swarm_text = SWARM.read_text()
    big = big_toml(200)
    big_definitions = dn.load_definitions(big)
    repeat = max(1, n // 2000)
    return {
        "load swarm.toml (3 workflows)": lambda: per_call(
            lambda: dn.load_definitions(swarm_text), repeat * 20
        ),
        "load 200-state workflow": lambda: per_call(lambda: dn.load_definitions(big), repeat),
        "to_toml 200-state workflow": lambda: per_call(
            lambda: dn.to_toml(big_definitions), repeat
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    contenders = {**guard_direct(args.n), **machines(args.n), **loading(args.n)}
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            results[name].append(run())
    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"median of {args.rounds} interleaved rounds")
    for name, value in median.items():
        unit = "ms" if name.startswith(("load", "to_toml")) else "us"
        shown = value / 1000 if unit == "ms" else value
        print(f"  {name:36} {shown:9.2f} {unit}")
    ratio = median["guard: expression, direct call"] / median["guard: Python lambda, direct call"]
    print(f"  expression / lambda, direct: {ratio:.2f}x")
    ratio = median["transition, guard expression"] / median["transition, guard lambda"]
    print(f"  expression / lambda, in process_event: {ratio:.2f}x")
    ratio = median["TOML transition, timeouts armed"] / median["TOML transition, no timeouts"]
    print(f"  with timeouts / without, in process_event: {ratio:.2f}x")


if __name__ == "__main__":
    main()
