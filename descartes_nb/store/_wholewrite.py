"""Whole workflows written at once: added, continued, or replaced when asked by name."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from ..core._history import StateHistoryEntry
from ._codec import HEADER_COLUMNS, json_text, transition_row, transition_rows
from ._conflicts import already_stored, why_not_continued
from ._timerrows import Timers, replace_timers
from ._writes import INSERT_TRANSITION, Retention, Transaction, retain

_UPSERT_HEADER: Final = (
    f"INSERT INTO workflows ({HEADER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, "
    "state = excluded.state, context = excluded.context, version = excluded.version, "
    "transition_count = excluded.transition_count, retry_attempts = excluded.retry_attempts, "
    "max_history = excluded.max_history, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, state_entered_at = excluded.state_entered_at, "
    "configuration = excluded.configuration, memory = excluded.memory RETURNING key"
)
_STORED: Final = (
    "SELECT key, version, state, transition_count, created_at, context FROM workflows WHERE id = ?"
)


def write_workflow(
    conn: sqlite3.Connection,
    header: tuple[Any, ...],
    history: Sequence[StateHistoryEntry],
    retention: Retention,
    overwrite: bool,
    timers: Timers | None = None,
) -> None:
    """Write a whole workflow (header, history, timers) in one transaction.

    A workflow not stored is added. A stored one is written only if this one continues it
    (see ``continuation``): then only its new entries are added, and nothing stored is
    lost. With ``overwrite`` the stored workflow and its history are replaced.

    Raises:
        ConcurrentModificationError: it is stored and this one does not continue it
            (without ``overwrite``); nothing was written.
    """
    with Transaction(conn):
        stored = conn.execute(_STORED, (header[0],)).fetchone()
        if stored is None or overwrite:
            kept = history[-retention.limit :] if retention.limit else history
            rows = transition_rows(kept)
            key = conn.execute(_UPSERT_HEADER, header).fetchall()[0][0]
            conn.execute("DELETE FROM transitions WHERE workflow = ?", (key,))
        else:
            key = stored[0]
            rows = continuation(stored, header, history, _stored_row(conn, key, stored[3]))
            conn.execute(_UPSERT_HEADER, header).fetchall()
        conn.executemany(INSERT_TRANSITION, [(key, *row) for row in rows])
        if rows:
            retain(conn, key, rows[-1], retention)
        replace_timers(conn, header[0], header[4], timers)


def continuation(
    stored: Sequence[Any],
    header: tuple[Any, ...],
    history: Sequence[StateHistoryEntry],
    newest: Sequence[Any] | None,
) -> list[tuple[Any, ...]]:
    """The transition rows a workflow adds to the stored one it continues (both stores).

    ``stored`` is as ``why_not_continued`` takes it; ``newest`` is the stored newest entry
    as (seq, from_state, to_state, event, timestamp text, context text), None if none.

    It continues it when it is the same workflow (created at the same time), at the stored
    version or later, and its history holds the stored newest entry, unchanged.

    Raises:
        ConcurrentModificationError: it does not continue the stored workflow.
    """
    _key, version, state, count, _, _ = stored
    # The stored newest entry, in history (whose last entry is seq header[5]).
    index = len(history) - 1 - (header[5] - count)
    why = why_not_continued(stored, header)
    if why is None and count:
        if index < 0:
            why = f"and this machine no longer holds its entry {count} to go on from"
        elif _row_of(history[index]) != (None if newest is None else tuple(newest)):
            why = f"and this machine's entry {count} is not the stored one"
    if why is not None:
        raise already_stored(header[0], version, state, why)
    if not count:
        return transition_rows(history)
    # From the stored newest entry, which is not written again, so that the next one may
    # leave out its context_before when that equals the stored entry's context.
    return transition_rows(history[index:])[1:]


def _row_of(entry: StateHistoryEntry) -> tuple[Any, ...]:
    """What identifies a history entry: its seq, states, event, time and context."""
    row = transition_row(entry, json_text(entry.context), None)
    return (*row[:4], row[5], row[7])


def _stored_row(conn: sqlite3.Connection, key: int, seq: int) -> tuple[Any, ...] | None:
    if not seq:
        return None
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT seq, from_state, to_state, event, timestamp, context FROM transitions "
        "WHERE workflow = ? AND seq = ?",
        (key, seq),
    ).fetchone()
    return row
