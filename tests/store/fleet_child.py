"""A worker process for the fleet tests: ``python fleet_child.py DB HOLD_SECONDS``.

It serves DB (a SQLite file or PostgreSQL URL) with ``dn.Worker`` and the definitions of
``fleet.toml``. Its handler prints ``hold WORKFLOW EVENT`` and then sleeps HOLD_SECONDS on
each event, so that a test can kill it while it holds one. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import descartes_nb as dn

DEFINITIONS = dn.load_definitions(Path(__file__).with_name("fleet.toml"))


class Slow(dn.StateHandler):
    def __init__(self, hold: float) -> None:
        self.hold = hold

    async def on_event(self, state: str, event: dn.WorkflowEvent) -> None:
        print(f"hold {state} {event.name}", flush=True)
        await asyncio.sleep(self.hold)


async def main(db: str, hold: float) -> None:
    async with dn.open_store(db) as store:
        handler = Slow(hold)
        worker = dn.Worker(
            store, DEFINITIONS, handlers=dict.fromkeys(DEFINITIONS, handler), poll_interval=0.02
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
        print("ready", flush=True)
        await worker.run()
        print(f"stopped {worker.stats.events} {worker.stats.timers}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
