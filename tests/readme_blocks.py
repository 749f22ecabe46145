"""Run a Markdown file's Python blocks in order, as a reader would (see tests/test_readme.py).

``python tests/readme_blocks.py README.md`` runs every ```python block of the file in one
namespace, in a fresh interpreter, from the current folder (so relative paths in the blocks
resolve as they would for a reader there). A block with top-level ``await`` runs as IPython
runs such a cell: compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT``, its coroutine run to the end on
one event loop kept for all blocks. A block without ``await`` runs as plain code, with no loop
running, as a script would. ``<!-- not run: reason -->`` right before a block skips it; a
marker without a reason, or not right before a Python block, is an error.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!--\s*not run\b(?P<rest>.*?)-->", re.DOTALL)
_REASON = re.compile(r"\s*:\s*(?P<reason>\S.*?)\s*\Z", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One ```python block: the line of its opening fence, its code, why it is not run."""

    line: int
    source: str
    skip_reason: str | None = None


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of ``text``, in order, with the reason of a not-run marker."""
    markers = {end: reason for end, reason, _ in _markers(text)}
    blocks = []
    for fence in _FENCE.finditer(text):
        if fence["lang"].strip() != "python":
            continue
        before = len(text[: fence.start()].rstrip())
        blocks.append(Block(_line_of(text, fence.start()), fence["body"], markers.get(before)))
    return blocks


def marker_problems(text: str) -> list[str]:
    """What is wrong with the not-run markers of ``text`` (empty when nothing is)."""
    problems = []
    python_fences = {
        fence.start() for fence in _FENCE.finditer(text) if fence["lang"].strip() == "python"
    }
    for end, reason, line in _markers(text):
        if reason is None:
            problems.append(f"line {line}: a not-run marker must say why: <!-- not run: why -->")
        following = len(text) - len(text[end:].lstrip())
        if following not in python_fences:
            problems.append(f"line {line}: a not-run marker must sit right before a python block")
    return problems


def _markers(text: str) -> list[tuple[int, str | None, int]]:
    """Each not-run marker: where it ends, its reason (None if it gives none), its line."""
    found = []
    for marker in _MARKER.finditer(text):
        reason = _REASON.fullmatch(marker["rest"])
        found.append(
            (marker.end(), reason["reason"] if reason else None, _line_of(text, marker.start()))
        )
    return found


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def run_blocks(blocks: Sequence[Block], filename: str) -> int:
    """Run the blocks not marked as not run, in order, in one namespace; return how many ran.

    Tracebacks show the lines of ``filename`` the code is on.

    Raises:
        Exception: whatever a block raised, with a note naming the block's line.
    """
    namespace: dict[str, Any] = {"__name__": "__main__"}
    ran = 0
    with asyncio.Runner() as runner:
        for block in blocks:
            if block.skip_reason is not None:
                continue
            # Blank lines first, so that the code sits on the file's own line numbers.
            code = compile(
                "\n" * block.line + block.source,
                filename,
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,
            )
            try:
                if code.co_flags & inspect.CO_COROUTINE:
                    runner.run(eval(code, namespace))
                else:
                    exec(code, namespace)
            except Exception as exc:
                exc.add_note(f"raised by the python block at {filename}:{block.line}")
                raise
            ran += 1
    return ran


def main(argv: Sequence[str]) -> int:
    """Run the Python blocks of the file ``argv[1]``; exit status 1 on any problem."""
    path = argv[1]
    text = Path(path).read_text(encoding="utf-8")
    problems = marker_problems(text)
    if problems:
        print("\n".join(f"{path}: {problem}" for problem in problems), file=sys.stderr)
        return 1
    # An exception nobody could raise (a coroutine never awaited, an unclosed store warning
    # under -W error) is only printed by Python; count it as a failure.
    unraisable: list[str] = []
    sys.unraisablehook = lambda hook: unraisable.append(f"{hook.exc_value!r} in {hook.object!r}")
    blocks = python_blocks(text)
    ran = run_blocks(blocks, path)
    gc.collect()
    if unraisable:
        print("\n".join(f"{path}: unraisable: {u}" for u in unraisable), file=sys.stderr)
        return 1
    print(f"{path}: {ran} python blocks ran, {len(blocks) - ran} not run")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
