"""A child process for the crash and multi-process tests: runs workflows on a store.

DB is a SQLite file or a PostgreSQL URL (``dn.open_store``).

``python child.py crash DB WORKFLOWS LOOP_COMMITS [chart]`` recovers every workflow in DB
(creating the missing ones), then processes events in all of them concurrently until killed,
printing ``ack WORKFLOW SEQ VERSION`` after each ``process_event`` returns. LOOP_COMMITS is
1 or 0 (``StateStoreConfig.loop_commits``; SQLite only). With ``chart`` the workflows run
the statechart of tests/fixtures/valid_statechart.toml (parallel regions, history states),
and each ack also prints the machine's snapshot (its 3 newest entries) as JSON: what
recovery must give back.

``python child.py contend DB WORKFLOWS STEPS SEED`` waits for ``go`` on stdin, then makes
STEPS changes to randomly chosen workflows, keeping its machines between steps (so another
process's writes make them stale); on ``ConcurrentModificationError`` it prints
``conflict WORKFLOW`` and recovers that workflow. It prints ``ack WORKFLOW SEQ`` per entry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
from pathlib import Path

import descartes_nb as dn

# Never Complete: a completed workflow takes no more events. Fail leads to Retry.
EVENTS = ("Start", "Pause", "Resume", "Fail", "Retry", "Rollback", "Timeout")
CHART = dn.load_definitions(Path(__file__).parent.parent / "fixtures" / "valid_statechart.toml")[
    "chart"
]
CHART_ENDS = ("go",)  # W1 -> W2 ends the chart: never taken, so its workflows go on


def pick_event(sm: dn.WorkflowStateMachine, rng: random.Random) -> str:
    if sm.definition is CHART:
        allowed = [e for e in sm.allowed_events() if e not in CHART_ENDS]
    else:
        allowed = [e for e in sm.allowed_events() if e in EVENTS]
    return rng.choice(allowed)


async def change(sm: dn.WorkflowStateMachine, rng: random.Random) -> dn.StateHistoryEntry:
    if rng.random() < 0.2:
        await sm.set_context("note", rng.randrange(1000))
    return await sm.process_event(pick_event(sm, rng))


def tail(sw: dn.SerializedWorkflow) -> dn.SerializedWorkflow:
    """A snapshot with its 3 newest entries only: one line of output stays short."""
    return dataclasses.replace(sw, history=sw.history[-3:])


async def recovered_or_new(
    store: dn.SqliteWorkflowStore | dn.PostgresWorkflowStore,
    names: list[str],
    definition: dn.WorkflowDefinition = dn.LIFECYCLE,
) -> dict[str, dn.WorkflowStateMachine]:
    report = await dn.WorkflowRecovery(store, [CHART]).recover_all_workflows()
    if not report.ok:
        raise SystemExit(f"recovery failed:\n{report}")
    machines = dict(report.workflows)
    for name in names:
        machines.setdefault(name, dn.WorkflowStateMachine(name, definition, store=store))
    return machines


async def crash(path: str, workflows: int, loop_commits: bool, chart: bool) -> None:
    config = dn.StateStoreConfig(loop_commits=loop_commits)
    async with dn.open_store(path, config) as store:
        names = [f"crash-{i}" for i in range(workflows)]
        machines = await recovered_or_new(store, names, CHART if chart else dn.LIFECYCLE)
        print("ready", flush=True)

        async def drive(sm: dn.WorkflowStateMachine) -> None:
            rng = random.Random(sm.workflow_id)
            while True:
                entry = await change(sm, rng)
                snapshot = f" {tail(sm.serialize()).to_json()}" if chart else ""
                print(f"ack {sm.workflow_id} {entry.seq} {sm.version}{snapshot}", flush=True)

        async with asyncio.TaskGroup() as group:
            for sm in machines.values():
                group.create_task(drive(sm))


async def contend(path: str, workflows: int, steps: int, seed: int) -> None:
    rng = random.Random(seed)
    async with dn.open_store(path) as store:
        names = [f"shared-{i}" for i in range(workflows)]
        recovery = dn.WorkflowRecovery(store)
        machines = {name: await recovery.recover_workflow(name) for name in names}
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": both processes start together
        for _ in range(steps):
            name = rng.choice(names)
            try:
                entry = await machines[name].process_event(pick_event(machines[name], rng))
            except dn.ConcurrentModificationError:
                print(f"conflict {name}", flush=True)
                machines[name] = await recovery.recover_workflow(name)
                continue
            print(f"ack {name} {entry.seq}", flush=True)


if __name__ == "__main__":
    mode, db, *numbers = sys.argv[1:]
    if mode == "crash":
        asyncio.run(crash(db, int(numbers[0]), numbers[1] == "1", numbers[2:] == ["chart"]))
    else:
        asyncio.run(contend(db, *(int(n) for n in numbers)))
