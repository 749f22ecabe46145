"""The ``descartes-nb`` command: its parser; each command group lives in its own module.

``demo`` (``_demo.py``) keeps its workflows in a SQLite file; ``history`` and ``recover``
(``_database.py``) show what such a file holds; ``validate`` and ``render``
(``_swarmfile.py``) work on Swarm.toml files, with bad input giving exit status 1 and
messages that name the file and line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._database import add_database_tools
from ._demo import add_demo
from ._swarmfile import add_swarm_tools


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descartes-nb", description="Workflow state machines: demo and tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_demo(commands)
    add_database_tools(commands)
    add_swarm_tools(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status
