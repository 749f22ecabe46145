"""run_sync(): the one sync entry point, for plain scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import EventLoopRunningError

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code and return its result.

    Raises:
        EventLoopRunningError: a loop is already running here (in Jupyter, for instance);
            ``await`` the coroutine instead.

    Example:
        >>> from descartes_nb import WorkflowStateMachine
        >>> sm = WorkflowStateMachine("script-1")
        >>> run_sync(sm.process_event("Start")).to_state
        'Running'
    """
    if _loop_is_running():
        coro.close()  # never awaited: close it so Python does not warn about it
        raise EventLoopRunningError(
            "run_sync() was called inside a running event loop; use `await` instead"
        )
    # Run outside any except block: an error of the coroutine must not be shown as raised
    # "during handling of" get_running_loop's RuntimeError.
    return asyncio.run(coro)


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
