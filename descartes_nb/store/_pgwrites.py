"""Writes of the PostgreSQL store: a batch of changes in one statement, whole workflows, deletes.

Rows come from ``_codec`` exactly as SQLite takes them (JSON text, ISO-8601 UTC text times);
the statements cast the times to ``timestamptz`` on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from ..core._history import StateHistoryEntry
from ..core._serialization import time_text
from ..errors import StoreError
from ._codec import HEADER_COLUMNS, TRANSITION_COLUMNS, transition_rows
from ._conflicts import already_stored, conflict
from ._pgschema import Connection
from ._timerrows import Timers
from ._wholewrite import continuation
from ._writes import EncodedChange, Retention

logger = logging.getLogger(__name__)

_HEADER_VALUES: Final = (
    "$1, $2, $3, $4::text::json, $5, $6, $7, $8, "
    "$9::text::timestamptz, $10::text::timestamptz, $11::text::timestamptz, "
    "$12::text::json, $13::text::json"
)
_TRANSITION_VALUES: Final = (
    "$1, $2, $3, $4, $5, $6::text::json, $7::text::timestamptz, $8, $9::text::json, "
    "$10::text::json, $11::text::json, $12::text::json, $13::text::json, $14::text::json"
)
INSERT_TRANSITION: Final = (
    f"INSERT INTO transitions (workflow, {TRANSITION_COLUMNS}) VALUES ({_TRANSITION_VALUES})"
)
# The durable timers a batch writes: those of each change that carries timers ($28 lists
# them by place in the batch) replace its workflow's, at its version. The statement sees
# the table as it was before it, so the old rows go and the new ones stay.
TIMERS_CTE: Final = """dropped AS (
    DELETE FROM timers AS x USING done WHERE x.workflow = done.key AND done.n = ANY($28::bigint[])
), armed AS (
    INSERT INTO timers (workflow, event, event_data, due_at, version)
    SELECT done.key, a.event, a.event_data::json, a.due_at::timestamptz, c.version
    FROM unnest($29::bigint[], $30::text[], $31::text[], $32::text[])
        AS a (n, event, event_data, due_at)
    JOIN done ON done.n = a.n JOIN c ON c.n = a.n
)"""
# What ``changes()`` followers hear of each history entry, sent in the writing transaction
# (so on its commit): [id, seq, version, state, event] as JSON, or [null, key, seq, version]
# when that would not fit in a notice (8000 bytes), for the follower to read the entry.
# Sent whether or not anyone follows: it costs the write path (PostgreSQL serializes the
# commits that notify; 18-40% of the rate of 100 concurrent workflows in noisy runs on the
# shared 2-core machine). Gating it on a cheap sign of a follower is left to do (issue 14):
# a check of pg_stat_activity cost as much as the notice.
CHANGES_CHANNEL: Final = "descartes_nb_changes"
CHANGE_NOTICE: Final = f"""CASE WHEN t.seq IS NOT NULL THEN pg_notify('{CHANGES_CHANNEL}', CASE
    WHEN octet_length(c.id) + octet_length(c.state) + octet_length(t.event) < 7000
    THEN json_build_array(c.id, t.seq, c.version, c.state, t.event)::text
    ELSE json_build_array(NULL, done.key, t.seq, c.version)::text END) END"""
# A batch of changes in one statement, so one round trip and one transaction. A change
# updates its workflow row if that is at the version before it (the optimistic lock), or
# adds it if it is the first (version 1) and no row has its id; its transition goes in
# only then. The statement returns the changes written, by their place in the batch.
_BATCH: Final = f"""
WITH c AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                         $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[],
                         $11::text[], $12::text[], $13::text[])
    WITH ORDINALITY AS c ({HEADER_COLUMNS}, n)
), updated AS (
    UPDATE workflows AS w SET state = c.state, context = c.context::json,
        version = c.version, transition_count = c.transition_count,
        retry_attempts = c.retry_attempts, max_history = c.max_history,
        updated_at = c.updated_at::timestamptz, state_entered_at = c.state_entered_at::timestamptz,
        configuration = c.configuration::json, memory = c.memory::json
    FROM c WHERE w.id = c.id AND w.version = c.version - 1
    RETURNING w.key, c.n
), first AS (
    SELECT DISTINCT ON (id) * FROM c WHERE version = 1 ORDER BY id, n
), inserted AS (
    INSERT INTO workflows ({HEADER_COLUMNS})
    SELECT id, definition, state, context::json, version, transition_count, retry_attempts,
        max_history, created_at::timestamptz, updated_at::timestamptz,
        state_entered_at::timestamptz, configuration::json, memory::json
    FROM first ORDER BY n
    ON CONFLICT (id) DO NOTHING
    RETURNING key, id
), done AS (
    SELECT key, n FROM updated
    UNION ALL SELECT inserted.key, first.n FROM inserted JOIN first USING (id)
), t AS (
    SELECT * FROM unnest($14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::text[],
                         $19::text[], $20::text[], $21::bigint[], $22::text[], $23::text[],
                         $24::text[], $25::text[], $26::text[], $27::text[])
        AS t (n, {TRANSITION_COLUMNS})
), moved AS (
    INSERT INTO transitions (workflow, {TRANSITION_COLUMNS})
    SELECT done.key, t.seq, t.from_state, t.to_state, t.event, t.event_data::json,
        t.timestamp::timestamptz, t.duration_us, t.context::json, t.context_before::json,
        t.exited::json, t.entered::json, t.configuration::json, t.memory::json
    FROM t JOIN done ON done.n = t.n
), {TIMERS_CTE}
SELECT done.key, done.n, {CHANGE_NOTICE}
FROM done JOIN c ON c.n = done.n LEFT JOIN t ON t.n = done.n
"""
# Retention of the workflows a batch wrote: each one's cutoff seq (its newest transition is
# always kept), the row after the cutoff getting its context_before written out, since the
# row its NULL points at goes.
_RETAIN: Final = """
WITH n AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS n (workflow, seq, stamp)
), cut AS (
    SELECT n.workflow, greatest(
        coalesce(n.seq - $4::bigint, 0),
        CASE WHEN $5::interval IS NULL THEN 0 ELSE least(n.seq - 1, coalesce((
            SELECT max(t.seq) FROM transitions AS t WHERE t.workflow = n.workflow
            AND t.timestamp < n.stamp::timestamptz - $5::interval), 0)) END
    ) AS cutoff FROM n
), kept AS (
    UPDATE transitions AS t SET context_before = p.context
    FROM cut JOIN transitions AS p ON p.workflow = cut.workflow AND p.seq = cut.cutoff
    WHERE t.workflow = cut.workflow AND t.seq = cut.cutoff + 1 AND t.context_before IS NULL
)
DELETE FROM transitions AS t USING cut WHERE t.workflow = cut.workflow AND t.seq <= cut.cutoff
"""
_STORED: Final = (
    "SELECT w.key, w.version, w.state, w.transition_count, w.created_at, w.context::text, "
    "t.seq, t.from_state, t.to_state, t.event, t.timestamp, t.context::text "
    "FROM workflows AS w LEFT JOIN transitions AS t "
    "ON t.workflow = w.key AND t.seq = w.transition_count WHERE w.id = $1 FOR UPDATE OF w"
)
_INSERT_TIMER: Final = (
    "INSERT INTO timers (workflow, event, event_data, due_at, version) "
    "VALUES ($1, $2, $3::text::json, $4::text::timestamptz, $5)"
)
_INSERT_HEADER: Final = (
    f"INSERT INTO workflows ({HEADER_COLUMNS}) VALUES ({_HEADER_VALUES}) "
    "ON CONFLICT (id) DO NOTHING RETURNING key"
)
_UPSERT_HEADER: Final = (
    f"INSERT INTO workflows ({HEADER_COLUMNS}) VALUES ({_HEADER_VALUES}) "
    "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, "
    "state = excluded.state, context = excluded.context, version = excluded.version, "
    "transition_count = excluded.transition_count, retry_attempts = excluded.retry_attempts, "
    "max_history = excluded.max_history, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, state_entered_at = excluded.state_entered_at, "
    "configuration = excluded.configuration, memory = excluded.memory RETURNING key"
)


async def notify_entries(
    conn: Connection, key: int, rows: Sequence[tuple[Any, ...]], version: int
) -> None:
    """Send the ``changes()`` notices of one workflow's new transition rows.

    In the caller's transaction; rows are in TRANSITION_COLUMNS order, the newest at
    ``version``.
    """
    if rows:
        await conn.execute(
            f"SELECT pg_notify('{CHANGES_CHANNEL}', json_build_array(w.id, r.seq, "
            "$3::bigint - (max(r.seq) OVER () - r.seq), r.to_state, r.event)::text) "
            "FROM unnest($2::bigint[], $4::text[], $5::text[]) AS r (seq, to_state, event) "
            "JOIN workflows AS w ON w.key = $1 ORDER BY r.seq",
            key,
            [row[0] for row in rows],
            version,
            [row[2] for row in rows],
            [row[3] for row in rows],
        )


def timer_columns(changes: Sequence[EncodedChange]) -> list[list[Any]]:
    """The timer arguments of a batch: places re-arming, then (place, event, data, due)."""
    rearmed = [n for n, c in enumerate(changes, 1) if c.timers is not None]
    rows = [(n, *row) for n, c in enumerate(changes, 1) for row in c.timers or ()]
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 4
    return [rearmed, *columns]


def is_constraint(exc: BaseException) -> bool:
    """Whether ``exc`` is the server refusing a row (a constraint: SQLSTATE class 23)."""
    return str(getattr(exc, "sqlstate", "")).startswith("23")


async def write_together(
    conn: Connection, changes: Sequence[EncodedChange], retention: Retention
) -> list[StoreError | None] | None:
    """Write many changes in one statement, so one transaction; per change None or why not.

    A change that conflicts fails alone: the statement leaves it out. None when one breaks
    a constraint: the statement is rolled back, and the committer writes each alone.

    Raises:
        asyncpg.PostgresError, OSError: the statement failed; nothing was written.
    """
    try:
        return await _write_together(conn, changes, retention)
    except Exception as exc:
        if not is_constraint(exc):
            raise
    return None


async def write_alone(
    conn: Connection, change: EncodedChange, retention: Retention
) -> StoreError | None:
    """Write one change in its own transaction; None, or why it was not written."""
    try:
        [result] = await _write_together(conn, (change,), retention)
    except Exception as exc:
        if not is_constraint(exc):
            raise
        error = StoreError(f"workflow {change.workflow_id!r} could not be written: {exc}")
        error.__cause__ = exc
        return error
    return result


async def write_one(
    conn: Connection, change: EncodedChange, retention: Retention
) -> StoreError | None:
    """Write one change in the caller's transaction; None, or why it was not written."""
    [result] = await _write_together(conn, (change,), retention)
    return result


async def _write_together(
    conn: Connection, changes: Sequence[EncodedChange], retention: Retention
) -> list[StoreError | None]:
    headers = [list(column) for column in zip(*(c.header for c in changes), strict=True)]
    moved = [(n, *c.transition) for n, c in enumerate(changes, 1) if c.transition is not None]
    columns = [list(column) for column in zip(*moved, strict=True)] if moved else [[]] * 14
    done = await conn.fetch(_BATCH, *headers, *columns, *timer_columns(changes))
    written = {row[1]: row[0] for row in done}
    if moved and (retention.limit or retention.max_age):
        kept = [(written[row[0]], row[1], row[6]) for row in moved if row[0] in written]
        try:
            await retain(conn, kept, retention)
        except Exception:  # committed already: the next change of each prunes again
            logger.warning("pruning history failed; the next change retries", exc_info=True)
    if len(written) == len(changes):
        return [None] * len(changes)
    return await _conflicts(conn, changes, written)


async def _conflicts(
    conn: Connection, changes: Sequence[EncodedChange], written: dict[int, int]
) -> list[StoreError | None]:
    """None for the changes written, the conflict for the others (as stored now)."""
    stale = [c.workflow_id for n, c in enumerate(changes, 1) if n not in written]
    rows = await conn.fetch(
        "SELECT id, version, state FROM workflows WHERE id = ANY($1::text[])", stale
    )
    stored = {row[0]: (row[1], row[2]) for row in rows}
    return [
        None if n in written else conflict(c.workflow_id, stored.get(c.workflow_id), c.version - 1)
        for n, c in enumerate(changes, 1)
    ]


async def retain(
    conn: Connection, newest: Sequence[tuple[int, int, str]], retention: Retention
) -> None:
    """Delete the transitions ``retention`` no longer keeps, given (key, seq, time) written."""
    if not newest or not (retention.limit or retention.max_age):
        return
    keys, seqs, stamps = (list(column) for column in zip(*newest, strict=True))
    await conn.execute(_RETAIN, keys, seqs, stamps, retention.limit, retention.max_age)


async def write_workflow(
    conn: Connection,
    header: tuple[Any, ...],
    history: Sequence[StateHistoryEntry],
    retention: Retention,
    overwrite: bool,
    timers: Timers | None = None,
) -> None:
    """Write a whole workflow in one transaction (see ``_wholewrite.write_workflow``).

    Raises:
        ConcurrentModificationError: it is stored and this one does not continue it
            (without ``overwrite``); nothing was written.
    """
    async with conn.transaction():
        found = await conn.fetchrow(_STORED, header[0])
        if found is None and not overwrite:
            key = await conn.fetchval(_INSERT_HEADER, *header)
            if key is None:  # another writer added it since: as if it had been there
                raise already_stored(
                    header[0], 0, str(header[2]), "added by another writer just now"
                )
            rows = transition_rows(history[-retention.limit :] if retention.limit else history)
        elif found is None or overwrite:
            kept = history[-retention.limit :] if retention.limit else history
            rows = transition_rows(kept)
            key = await conn.fetchval(_UPSERT_HEADER, *header)
            await conn.execute("DELETE FROM transitions WHERE workflow = $1", key)
        else:
            key = found[0]
            stored = (*found[:4], time_text(found[4]), found[5])
            newest = None
            if found[6] is not None:
                newest = (*found[6:10], time_text(found[10]), found[11])
            rows = continuation(stored, header, history, newest)
            await conn.fetchval(_UPSERT_HEADER, *header)
        await conn.executemany(INSERT_TRANSITION, [(key, *row) for row in rows])
        if rows:
            await retain(conn, [(key, rows[-1][0], rows[-1][5])], retention)
        await notify_entries(conn, key, rows, header[4])
        if timers is not None:
            await conn.execute("DELETE FROM timers WHERE workflow = $1", key)
            await conn.executemany(_INSERT_TIMER, [(key, *row, header[4]) for row in timers])
