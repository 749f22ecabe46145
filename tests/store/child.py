"""A child process for the crash and multi-process tests: runs workflows on a store.

DB is a SQLite file or a PostgreSQL URL (``dn.open_store``).

``python child.py crash DB WORKFLOWS LOOP_COMMITS`` recovers every workflow in DB (creating
the missing ones), then processes events in all of them concurrently until killed,
printing ``ack WORKFLOW SEQ VERSION`` after each ``process_event`` returns. LOOP_COMMITS is
1 or 0 (``StateStoreConfig.loop_commits``; SQLite only).

``python child.py contend DB WORKFLOWS STEPS SEED`` waits for ``go`` on stdin, then makes
STEPS changes to randomly chosen workflows, keeping its machines between steps (so another
process's writes make them stale); on ``ConcurrentModificationError`` it prints
``conflict WORKFLOW`` and recovers that workflow. It prints ``ack WORKFLOW SEQ`` per entry.
"""

from __future__ import annotations

import asyncio
import random
import sys

import descartes_nb as dn

# Never Complete: a completed workflow takes no more events. Fail leads to Retry.
EVENTS = ("Start", "Pause", "Resume", "Fail", "Retry", "Rollback", "Timeout")


def pick_event(sm: dn.WorkflowStateMachine, rng: random.Random) -> str:
    allowed = [e for e in sm.allowed_events() if e in EVENTS]
    return rng.choice(allowed)


async def change(sm: dn.WorkflowStateMachine, rng: random.Random) -> dn.StateHistoryEntry:
    if rng.random() < 0.2:
        await sm.set_context("note", rng.randrange(1000))
    return await sm.process_event(pick_event(sm, rng))


async def recovered_or_new(
    store: dn.SqliteWorkflowStore | dn.PostgresWorkflowStore, names: list[str]
) -> dict[str, dn.WorkflowStateMachine]:
    report = await dn.WorkflowRecovery(store).recover_all_workflows()
    if not report.ok:
        raise SystemExit(f"recovery failed:\n{report}")
    machines = dict(report.workflows)
    for name in names:
        machines.setdefault(name, dn.WorkflowStateMachine(name, store=store))
    return machines


async def crash(path: str, workflows: int, loop_commits: bool) -> None:
    config = dn.StateStoreConfig(loop_commits=loop_commits)
    async with dn.open_store(path, config) as store:
        machines = await recovered_or_new(store, [f"crash-{i}" for i in range(workflows)])
        print("ready", flush=True)

        async def drive(sm: dn.WorkflowStateMachine) -> None:
            rng = random.Random(sm.workflow_id)
            while True:
                entry = await change(sm, rng)
                print(f"ack {sm.workflow_id} {entry.seq} {sm.version}", flush=True)

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
        asyncio.run(crash(db, int(numbers[0]), numbers[1] == "1"))
    else:
        asyncio.run(contend(db, *(int(n) for n in numbers)))
