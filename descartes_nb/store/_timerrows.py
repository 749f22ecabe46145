"""Durable timers as rows: written with the change that armed them (SQLite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from ..core._ports import DurableTimer
from ..core._serialization import time_text
from ._codec import json_text

Timers = tuple[tuple[str, str | None, str], ...]  # (event, event_data, due_at)


class TimedChange(Protocol):
    """The part of an ``EncodedChange`` that says which timers it arms."""

    @property
    def workflow_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def timers(self) -> Timers | None: ...


_DELETE: Final = "DELETE FROM timers WHERE workflow = ?"
_INSERT: Final = (
    "INSERT INTO timers (workflow, event, event_data, due_at, version) VALUES (?, ?, ?, ?, ?)"
)


def timer_rows(timers: Iterable[DurableTimer] | None) -> Timers | None:
    """The rows of ``timers`` (None stays None: the definition has no timers)."""
    if timers is None:
        return None
    return tuple(
        (t.event, None if t.data is None else json_text(t.data), time_text(t.due_at))
        for t in timers
    )


def write_timers(conn: sqlite3.Connection, changes: Sequence[TimedChange]) -> None:
    """Replace the timers of each change's workflow with those it carries, at its version.

    Inside the caller's transaction: a timer is stored exactly when the change that armed
    it is. Changes whose ``timers`` is None leave them alone.
    """
    for change in changes:
        if change.timers is None:
            continue
        conn.execute(_DELETE, (change.workflow_id,))
        if change.timers:
            wid, version = change.workflow_id, change.version
            conn.executemany(_INSERT, [(wid, *row, version) for row in change.timers])


def replace_timers(
    conn: sqlite3.Connection, workflow_id: str, version: int, timers: Timers | None
) -> None:
    """Replace the timers of one workflow (``save_workflow``): see ``write_timers``."""
    if timers is None:
        return
    conn.execute(_DELETE, (workflow_id,))
    conn.executemany(_INSERT, [(workflow_id, *row, version) for row in timers])
