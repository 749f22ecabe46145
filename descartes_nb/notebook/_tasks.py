"""spawn(): run a coroutine from a widget callback without blocking, and show its failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets

from ..errors import StateMachineError

# Tasks in flight, so that they are not garbage-collected before they finish.
_RUNNING: set[asyncio.Task[Any]] = set()


def spawn(
    coro: Coroutine[Any, Any, Any],
    output: ipywidgets.Output,
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
        return f"Refused: {exc}"
    return f"Failed ({type(exc).__name__}, a bug to report): {exc}"


def show_message(output: ipywidgets.Output, text: str, *, error: bool = False) -> None:
    """Show one message in a panel's ``Output``, replacing the previous one.

    It is a text stream (stderr for errors), so what users typed shows as text, never HTML.
    """
    stream = {"output_type": "stream", "name": "stderr" if error else "stdout"}
    output.outputs = ({**stream, "text": text + "\n"},)


def message_text(output: ipywidgets.Output) -> str:
    """The text an ``Output`` shows (what ``show_message`` put there)."""
    return "".join(str(part.get("text", "")) for part in output.outputs)
