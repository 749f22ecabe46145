"""How the commands report bad input: one ``error: ...`` line on standard error, status 1.

Bad input is whatever a command is given that it cannot use: a file it cannot read, a
database it cannot open, a definition with errors, an unknown workflow. A command raises
``BadInput`` (or lets a ``StateMachineError`` through) and ``main`` reports it; problems of
a Swarm.toml file are printed before, one ``file:line: message`` line each. Wrong options
are argparse's usage errors (its usage text, exit status 2).
"""

from __future__ import annotations

import sys
from typing import TextIO


class BadInput(Exception):
    """Why a command cannot go on; reported as ``error: <message>``, exit status 1."""


def report_error(message: str, err: TextIO | None = None) -> int:
    """Print ``error: <message>`` as one line on ``err`` (standard error); return 1."""
    text = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    print(f"error: {text}", file=err or sys.stderr)
    return 1
