"""The ``descartes-nb`` command: its parser, and the one place where bad input is reported.

Each command group lives in its own module: ``demo`` (``_demo.py``) keeps its workflows in
a SQLite file; ``history`` and ``recover`` (``_database.py``) show what such a file holds;
``validate`` and ``render`` (``_swarmfile.py``) work on Swarm.toml files. Every command
reports bad input the same way (``_report.py``): one ``error: ...`` line, exit status 1.
Every command stops quietly, with status 1, when its reader goes away (``... | head -1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import StateMachineError
from ._database import add_database_tools
from ._demo import add_demo
from ._report import BadInput, report_error
from ._swarmfile import add_swarm_tools
from ._worker import add_worker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="descartes-nb", description="Workflow state machines: demo and tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_demo(commands)
    add_database_tools(commands)
    add_swarm_tools(commands)
    add_worker(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
    except (BadInput, StateMachineError) as exc:
        return report_error(str(exc))
    except BrokenPipeError:
        return _closed_stdout()
    return status


def _closed_stdout() -> int:
    """Stop quietly when standard output was closed, as the Python docs' SIGPIPE note does."""
    # What is still buffered cannot be written: Python would report that at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1
