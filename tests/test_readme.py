"""The README's Python blocks run, in order, from the repository root, as a reader runs them."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb

from .readme_blocks import Block, marker_problems, python_blocks, run_blocks

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUNNER = Path(__file__).with_name("readme_blocks.py")


def test_readme_python_blocks_run_in_order_from_the_repository_root(tmp_path):
    # A fresh interpreter: use_renderer_for_graphviz() changes PATH for the rest of the
    # process. A temporary folder with the repository's notebooks/, so that the databases
    # and pictures the blocks write land there.
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks", target_is_directory=True)
    done = subprocess.run(
        [sys.executable, "-W", "error", str(RUNNER), str(README)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    ran = sum(block.skip_reason is None for block in blocks)
    assert done.stdout == f"{README}: {ran} python blocks ran, {len(blocks) - ran} not run\n"
    assert (tmp_path / "workflows.db").is_file()  # the persistence block wrote where it ran


def test_readme_python_blocks_are_all_found_and_few_are_not_run():
    text = README.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) == text.count("```python\n")
    assert marker_problems(text) == []
    assert sum(block.skip_reason is not None for block in blocks) <= 2


def test_python_blocks_reads_fences_markers_and_lines():
    text = textwrap.dedent(
        """\
        # title

        ```python
        x = 1
        ```

        ```sh
        echo not python
        ```

        <!-- not run: needs a server -->
        ```python
        connect()
        ```
        """
    )
    assert python_blocks(text) == [
        Block(3, "x = 1\n"),
        Block(12, "connect()\n", "needs a server"),
    ]
    assert marker_problems(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "<!-- not run -->\n```python\nx\n```\n",
            "line 1: a not-run marker must say why: <!-- not run: why -->",
            id="no-reason",
        ),
        pytest.param(
            "<!-- not run:  -->\n```python\nx\n```\n",
            "line 1: a not-run marker must say why: <!-- not run: why -->",
            id="blank-reason",
        ),
        pytest.param(
            "<!-- not run: a shell -->\n```sh\nx\n```\n",
            "line 1: a not-run marker must sit right before a python block",
            id="before-another-language",
        ),
        pytest.param(
            "text\n<!-- not run: why -->\n\nmore text\n```python\nx\n```\n",
            "line 2: a not-run marker must sit right before a python block",
            id="not-right-before",
        ),
    ],
)
def test_marker_problems_names_a_marker_without_reason_or_block(text, problem):
    assert marker_problems(text) == [problem]


def test_run_blocks_shares_one_namespace_and_runs_await_on_one_loop_and_the_rest_without():
    blocks = [
        Block(1, "import descartes_nb as dn\nsm = dn.WorkflowStateMachine('a')\n"),
        Block(5, "await sm.process_event('Start')\n"),
        Block(9, "assert dn.run_sync(sm.process_event('Pause')).to_state == 'Paused'\n"),
        Block(13, "raise AssertionError('a block marked not run ran')\n", "illustration"),
        Block(17, "await sm.process_event('Resume')\nresult = sm.state\n"),
    ]
    assert run_blocks(blocks, "README.md") == 4


def test_run_blocks_raises_what_a_block_raises_naming_its_line():
    blocks = [Block(1, "x = 1\n"), Block(5, "await asyncio.sleep(0)\n")]
    with pytest.raises(NameError, match="asyncio") as raised:
        run_blocks(blocks, "README.md")
    assert raised.value.__notes__ == ["raised by the python block at README.md:5"]
    assert raised.traceback[-1].lineno + 1 == 6  # the block's code is on line 6 of the file


# -- the table of sync and async calls ------------------------------------------------------------

# Words in the table's code spans that name no attribute.
NOT_NAMES = {"len", "in", "async with", "...", "descartes_nb.notebook"}
MISSING = object()


def api_table() -> dict[str, tuple[list[str], list[str]]]:
    """Per row of the Python API table: the names in its sync and its async column."""
    section = README.read_text(encoding="utf-8").split("## Python API\n", 1)[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 3 or not cells[0] or set(cells[0]) <= {"-"}:
            continue
        sync, async_ = (
            [
                name.split("(")[0]
                for name in re.findall(r"`([^`]+)`", cell)
                if name.split("(")[0] not in NOT_NAMES
            ]
            for cell in cells[1:]
        )
        rows[cells[0].strip("`")] = (sync, async_)
    return rows


def resolve(row: str, name: str) -> object:
    """The attribute a name of the table stands for: on the row's class, or for "the rest" in
    descartes_nb, descartes_nb.notebook (``dnb.``) or SerializedWorkflow."""
    owners: list[object] = [getattr(dn, row)] if row != "the rest" else [dn, dn.SerializedWorkflow]
    if name.startswith("dnb."):
        owners, name = [dnb], name.removeprefix("dnb.")
    for owner in owners:
        obj: object = owner
        for part in name.split("."):
            obj = getattr(obj, part, MISSING)
        if obj is not MISSING:
            return obj
    raise AssertionError(f"the README's API table names {name!r} in row {row!r}: no such thing")


def public_methods(cls: type) -> set[str]:
    """The public methods of a class, classmethods included (properties are not methods)."""
    return {n for n in vars(cls) if not n.startswith("_") and callable(getattr(cls, n))}


def test_readme_api_table_says_which_calls_are_sync_and_which_async():
    rows = api_table()
    assert set(rows) == {
        "WorkflowStateMachine",
        "WorkflowOrchestrator",
        "SqliteWorkflowStore",
        "WorkflowRecovery",
        "the rest",
    }
    for row, (sync, async_) in rows.items():
        assert [n for n in sync if inspect.iscoroutinefunction(resolve(row, n))] == [], row
        assert [n for n in async_ if not inspect.iscoroutinefunction(resolve(row, n))] == [], row
    # Every method of the machine and the orchestrator is in the table.
    for cls in (dn.WorkflowStateMachine, dn.WorkflowOrchestrator):
        sync, async_ = rows[cls.__name__]
        assert public_methods(cls) - {*sync, *async_} == set(), cls
    # "every other method" of the store, and the notebook layer's one async function
    store = dn.SqliteWorkflowStore
    others = public_methods(store) - set(rows["SqliteWorkflowStore"][0])
    assert {n for n in others if not inspect.iscoroutinefunction(getattr(store, n))} == set()
    assert [n for n in dnb.__all__ if inspect.iscoroutinefunction(getattr(dnb, n))] == [
        "load_history_frame"
    ]
