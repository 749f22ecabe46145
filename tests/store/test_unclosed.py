"""A store never closed warns when dropped and never keeps the interpreter from exiting."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import warnings
import weakref

import pytest

import descartes_nb as dn

from .conftest import child_environment

# A child that opens a store, commits through it and forgets to close it, three ways.
OPEN = (
    "import asyncio, sys, descartes_nb as dn\n"
    "async def use(store):\n"
    "    await store.open()\n"
    "    await dn.WorkflowStateMachine('w', store=store).process_event('Start')\n"
)
SCRIPTS = {
    # dropped when main() returns
    "dropped": OPEN + "asyncio.run(use(dn.SqliteWorkflowStore(sys.argv[1])))\n",
    # a global, alive until the interpreter exits
    "global": OPEN + "store = dn.SqliteWorkflowStore(sys.argv[1])\nasyncio.run(use(store))\n",
    # in a reference cycle of the caller's, which only the cyclic collector frees
    "cycle": OPEN
    + "import gc\ngc.disable()\n"
    + "class Holder:\n    pass\n"
    + "def run():\n"
    + "    holder = Holder()\n"
    + "    holder.me, holder.store = holder, dn.SqliteWorkflowStore(sys.argv[1])\n"
    + "    asyncio.run(use(holder.store))\n"
    + "run()\n",
}


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_script_that_never_closes_its_store_exits_and_warns(db_path, script):
    result = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", SCRIPTS[script], str(db_path)],
        capture_output=True,
        text=True,
        timeout=120,  # a bound on a hang, not a measure: the script takes about a second
        env=child_environment(),
    )
    assert result.returncode == 0, result.stderr
    assert "Exception" not in result.stderr
    if script != "cycle":  # the cycle is never collected: nothing can warn
        assert "ResourceWarning: <SqliteWorkflowStore" in result.stderr
        assert "was never closed; use 'async with' or 'await store.close()'" in result.stderr


async def test_an_unclosed_store_goes_as_soon_as_it_is_dropped(db_path):
    """No reference cycle: dropping the last reference frees it, warns, stops its thread."""
    before = set(threading.enumerate())
    store = dn.SqliteWorkflowStore(db_path)
    await store.open()
    await dn.WorkflowStateMachine("w", store=store).process_event("Start")
    await asyncio.gather(
        *(dn.WorkflowStateMachine(f"b{i}", store=store).process_event("Start") for i in range(5))
    )  # group commit's writer task too
    [thread] = set(threading.enumerate()) - before
    assert thread.daemon  # it never keeps the interpreter from exiting
    gone = weakref.ref(store)
    was_enabled = gc.isenabled()
    gc.disable()  # reference counting alone must do it
    try:
        # Ignored, not recorded: a recorded warning would keep the store (its source).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del store
            assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
    await asyncio.to_thread(thread.join, 60)  # a bound on a hang, not a measure
    assert not thread.is_alive()
