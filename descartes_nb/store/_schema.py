"""The SQLite schema: DDL and numbered migrations tracked in ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3
from typing import Final

from ..errors import SchemaVersionError, StoreError

# Each migration is (name, statements); migration i (1-based) brings user_version to i.
# Never edit a released migration: append a new one.
MIGRATIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "workflows, transitions and checkpoints",
        (
            """
            CREATE TABLE workflows (
                key              INTEGER PRIMARY KEY,  -- short row key the other tables use
                id               TEXT NOT NULL UNIQUE, -- the workflow id
                definition       TEXT NOT NULL,
                state            TEXT NOT NULL,
                context          TEXT NOT NULL,        -- JSON object
                version          INTEGER NOT NULL,     -- changes so far: the optimistic lock
                transition_count INTEGER NOT NULL,     -- seq of the newest transition
                retry_attempts   INTEGER NOT NULL,
                max_history      INTEGER NOT NULL,
                created_at       TEXT NOT NULL,        -- ISO-8601 UTC
                updated_at       TEXT NOT NULL,
                state_entered_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE transitions (
                workflow       INTEGER NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
                seq            INTEGER NOT NULL,
                from_state     TEXT NOT NULL,
                to_state       TEXT NOT NULL,
                event          TEXT NOT NULL,
                event_data     TEXT,                   -- JSON; NULL when the event had none
                timestamp      TEXT NOT NULL,          -- ISO-8601 UTC
                duration_us    INTEGER NOT NULL,       -- time spent in from_state
                context        TEXT NOT NULL,          -- JSON object after the transition
                context_before TEXT                    -- JSON; NULL: the previous row's context
            )
            """,
            "CREATE UNIQUE INDEX transitions_workflow_seq ON transitions (workflow, seq)",
            """
            CREATE TABLE checkpoints (
                key              INTEGER PRIMARY KEY,  -- the checkpoint id
                workflow         INTEGER NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
                label            TEXT,
                created_at       TEXT NOT NULL,
                version          INTEGER NOT NULL,
                seq              INTEGER NOT NULL,     -- transition_count when it was taken
                state            TEXT NOT NULL,
                context          TEXT NOT NULL,
                retry_attempts   INTEGER NOT NULL,
                state_entered_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX checkpoints_workflow ON checkpoints (workflow)",
            """
            CREATE VIEW history AS
            SELECT w.id AS workflow_id, t.seq, t.from_state, t.to_state, t.event,
                   t.event_data, t.timestamp, t.duration_us, t.context
            FROM transitions AS t JOIN workflows AS w ON w.key = t.workflow
            """,
        ),
    ),
    (
        "durable timers and the inbox of sent events",
        (
            """
            CREATE TABLE timers (
                workflow   TEXT NOT NULL,              -- the workflow id
                event      TEXT NOT NULL,              -- Timeout or Retry
                event_data TEXT,                       -- JSON
                due_at     TEXT NOT NULL,              -- ISO-8601 UTC: sorts in time order
                version    INTEGER NOT NULL            -- valid while the workflow is at it
            )
            """,
            "CREATE INDEX timers_due ON timers (due_at)",
            "CREATE INDEX timers_workflow ON timers (workflow)",
            """
            CREATE TABLE inbox (
                key        INTEGER PRIMARY KEY,        -- order sent
                workflow   TEXT NOT NULL,              -- the workflow id
                event      TEXT NOT NULL,
                event_data TEXT,                       -- JSON
                sent_at    TEXT NOT NULL,
                done_at    TEXT,                       -- NULL while pending
                seq        INTEGER,                    -- the history entry it produced
                error      TEXT,                       -- the refusal's class name
                message    TEXT                        -- and its message
            )
            """,
            "CREATE INDEX inbox_pending ON inbox (workflow, key) WHERE done_at IS NULL",
        ),
    ),
    (
        "statecharts: configurations, moves and history memory",
        (
            # NULL in each for a flat definition (its state says it) and for empty values.
            # configuration: JSON array of every active state, sorted; memory: JSON object
            # {history state: [remembered states]}; exited, entered: JSON arrays, in order.
            "ALTER TABLE workflows ADD COLUMN configuration TEXT",
            "ALTER TABLE workflows ADD COLUMN memory TEXT",
            "ALTER TABLE transitions ADD COLUMN exited TEXT",
            "ALTER TABLE transitions ADD COLUMN entered TEXT",
            "ALTER TABLE transitions ADD COLUMN configuration TEXT",
            "ALTER TABLE transitions ADD COLUMN memory TEXT",
            "ALTER TABLE checkpoints ADD COLUMN configuration TEXT",
            "ALTER TABLE checkpoints ADD COLUMN memory TEXT",
            "DROP VIEW history",
            """
            CREATE VIEW history AS
            SELECT w.id AS workflow_id, t.seq, t.from_state, t.to_state, t.event,
                   t.event_data, t.timestamp, t.duration_us, t.context,
                   t.exited, t.entered, t.configuration
            FROM transitions AS t JOIN workflows AS w ON w.key = t.workflow
            """,
        ),
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
# The tables that tell a descartes_nb database from any other SQLite file.
_TABLES: Final = ("checkpoints", "transitions", "workflows")


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in the database (0 for a new database)."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def initialize_schema(conn: sqlite3.Connection, where: str) -> int:
    """Apply the migrations the database lacks, each in its own transaction.

    Safe to run again and from several processes at once: the version is re-read once the
    write lock is held. Returns the number of migrations applied.

    Raises:
        SchemaVersionError: the database was written by a newer schema.
    """
    applied = 0
    while _behind(conn, where):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)  # again, under the lock: another process may be first
            if version < SCHEMA_VERSION:
                _name, statements = MIGRATIONS[version]
                for statement in statements:
                    conn.execute(statement)
                # PRAGMA takes no parameters; the value is our own int.
                conn.execute(f"PRAGMA user_version = {version + 1}")
                applied += 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied


def check_schema(conn: sqlite3.Connection, where: str) -> None:
    """Check, reading only, that the database is ours and at the schema this code reads.

    Raises:
        StoreError: it is not a descartes_nb database (an empty file, another program's).
        SchemaVersionError: it was written by a newer schema, or needs migrating.
    """
    version = schema_version(conn)
    missing = _missing_tables(conn, where, version)
    if missing is not None:
        raise missing
    if version > SCHEMA_VERSION:
        raise _newer(version, where)
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"database {where!r} has schema version {version}, older than this descartes_nb "
            f"reads ({SCHEMA_VERSION}); open it once for writing to migrate it"
        )


def _behind(conn: sqlite3.Connection, where: str) -> bool:
    """Whether migrations are missing (raising if the database is ahead of us)."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        # Another program's database may use user_version too: say what it is.
        raise _missing_tables(conn, where, version) or _newer(version, where)
    return version < SCHEMA_VERSION


def _missing_tables(conn: sqlite3.Connection, where: str, version: int) -> StoreError | None:
    """The error for a database that is not ours, or None when it has our tables."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = sorted(name for (name,) in rows)
    missing = [name for name in _TABLES if name not in tables]
    if not tables:
        why = "it holds no tables"
    elif missing:
        why = f"it has no {missing[-1]!r} table (its tables: {tables})"
    elif version == 0:
        why = "its tables were not made by descartes_nb (PRAGMA user_version is 0)"
    else:
        return None
    return StoreError(
        f"{where!r} is not a descartes_nb database: {why}; descartes_nb reads the files "
        "a SqliteWorkflowStore writes"
    )


def _newer(version: int, where: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"database {where!r} has schema version {version}, newer than this descartes_nb "
        f"reads (versions 0 to {SCHEMA_VERSION}); upgrade descartes_nb to open it"
    )
