"""The ``worker`` command: fire durable timers and process sent events until SIGTERM.

It knows the built-in lifecycle, and the workflows of any ``--definitions`` files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from ..core._definition import WorkflowDefinition
from ..core._lifecycle import LIFECYCLE
from ..store._open import open_store
from ..store._postgres import PostgresWorkflowStore
from ..store._worker import Worker
from ._database import add_definitions_option, read_definition_files
from ._report import BadInput


def add_worker(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``worker`` command."""
    parser = commands.add_parser(
        "worker",
        help="serve a store: fire its due timers and process the events sent to it",
        description=(
            "Fire the durable timers and process the sent events of the workflows in a "
            "store, until SIGTERM or Ctrl-C (the event in hand is finished first). Run "
            "several on one database to share the work."
        ),
    )
    parser.add_argument("--db", required=True, help="a SQLite file or postgresql:// URL")
    add_definitions_option(parser)
    parser.add_argument(
        "--poll", type=float, default=0.2, help="seconds between looks at an idle store"
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.poll > 0:
        raise BadInput(f"--poll must be seconds > 0, got {args.poll!r}")
    found = read_definition_files(args.definitions, refused="no worker started")
    return asyncio.run(_serve(args.db, {LIFECYCLE.name: LIFECYCLE, **found}, args.poll))


async def _serve(db: str, definitions: dict[str, WorkflowDefinition], poll: float) -> int:
    async with open_store(db) as store:
        worker = Worker(store, definitions, poll_interval=poll)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        where = store.url if isinstance(store, PostgresWorkflowStore) else db  # no password
        print(f"worker {os.getpid()} serving {where}", flush=True)
        await worker.run()
        stats = worker.stats
        print(
            f"worker {os.getpid()} stopped: {stats.events} events, {stats.timers} timers "
            f"({stats.refused} refused)",
            file=sys.stdout,
            flush=True,
        )
    return 0
