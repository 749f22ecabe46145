"""spawn(): run a coroutine from a widget callback without blocking, and show its failure."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets

from ..errors import StateMachineError

__all__ = ["show_message", "spawn"]

# Tasks in flight, so that they are not garbage-collected before they finish.
_RUNNING: set[asyncio.Task[Any]] = set()


def spawn(
    coro: Coroutine[Any, Any, Any],
    output: ipywidgets.HTML,
    on_done: Callable[[], None] | None = None,
) -> asyncio.Task[Any]:
    """Run ``coro`` as a task on the kernel's loop; show any exception in ``output``.

    Widget callbacks are sync and must not block, so they hand their coroutine to this.
    A refusal (a ``StateMachineError``) is shown as such; anything else is shown with its
    type so that a bug is never lost in a log.
    """
    task = asyncio.get_event_loop().create_task(coro)
    _RUNNING.add(task)

    def finished(done: asyncio.Task[Any]) -> None:
        _RUNNING.discard(done)
        if not done.cancelled() and done.exception() is not None:
            show_message(output, _describe(done.exception()), error=True)
        if on_done is not None:
            on_done()

    task.add_done_callback(finished)
    return task


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, StateMachineError):
        return f"refused ({type(exc).__name__}): {exc}"
    return f"failed ({type(exc).__name__}): {exc}"


def show_message(output: ipywidgets.HTML, text: str, *, error: bool = False) -> None:
    """Show one message (escaped) in a panel's message area."""
    color = "#b71c1c" if error else "#37474f"
    output.value = (
        f'<div class="descartes-nb-message" style="color:{color};white-space:pre-wrap">'
        f"{html.escape(text)}</div>"
    )
