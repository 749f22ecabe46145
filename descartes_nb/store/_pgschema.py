"""The PostgreSQL schema: plain tables, and numbered migrations recorded in the database."""

from __future__ import annotations

from typing import Any, Final, Protocol

from ..errors import SchemaVersionError, StoreError

# Each migration is (name, statements); migration i (1-based) is recorded as version i in
# schema_migrations. Never edit a released migration: append a new one.
#
# Contexts and event data are `json`, not `jsonb`: json keeps the text exactly as written,
# so what is read back equals what was stored (jsonb turns 1e16 into an integer, drops -0.0,
# reorders keys and refuses lone surrogates). Cast to jsonb in a query to use its operators.
MIGRATIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "workflows, transitions and checkpoints",
        (
            """
            CREATE TABLE workflows (
                key              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id               text NOT NULL UNIQUE,  -- the workflow id
                definition       text NOT NULL,
                state            text NOT NULL,
                context          json NOT NULL,         -- a JSON object
                version          bigint NOT NULL,       -- changes so far: the optimistic lock
                transition_count bigint NOT NULL,       -- seq of the newest transition
                retry_attempts   bigint NOT NULL,
                max_history      bigint NOT NULL,
                created_at       timestamptz NOT NULL,
                updated_at       timestamptz NOT NULL,
                state_entered_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE transitions (
                workflow       bigint NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
                seq            bigint NOT NULL,
                from_state     text NOT NULL,
                to_state       text NOT NULL,
                event          text NOT NULL,
                event_data     json,                    -- NULL when the event had none
                timestamp      timestamptz NOT NULL,
                duration_us    bigint NOT NULL,         -- time spent in from_state
                context        json NOT NULL,           -- after the transition
                context_before json,                    -- NULL: the previous row's context
                PRIMARY KEY (workflow, seq)
            )
            """,
            """
            CREATE TABLE checkpoints (
                key              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                workflow         bigint NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
                label            text,
                created_at       timestamptz NOT NULL,
                version          bigint NOT NULL,
                seq              bigint NOT NULL,       -- transition_count when it was taken
                state            text NOT NULL,
                context          json NOT NULL,
                retry_attempts   bigint NOT NULL,
                state_entered_at timestamptz NOT NULL
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
                key        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                workflow   bigint NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
                event      text NOT NULL,               -- Timeout or Retry
                event_data json,
                due_at     timestamptz NOT NULL,
                version    bigint NOT NULL              -- valid while the workflow is at it
            )
            """,
            "CREATE INDEX timers_due ON timers (due_at)",
            "CREATE INDEX timers_workflow ON timers (workflow)",
            """
            CREATE TABLE inbox (
                key        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- order sent
                workflow   text NOT NULL,               -- the workflow id (may not exist)
                event      text NOT NULL,
                event_data json,
                sent_at    timestamptz NOT NULL,
                done_at    timestamptz,                 -- NULL while pending
                seq        bigint,                      -- the history entry it produced
                error      text,                        -- the refusal's class name
                message    text                         -- and its message
            )
            """,
            "CREATE INDEX inbox_pending ON inbox (key) WHERE done_at IS NULL",
            "CREATE INDEX inbox_workflow ON inbox (workflow, key) WHERE done_at IS NULL",
        ),
    ),
    (
        "statecharts: configurations, moves and history memory",
        (
            # NULL in each for a flat definition (its state says it) and for empty values.
            # configuration: JSON array of every active state, sorted; memory: JSON object
            # {history state: [remembered states]}; exited, entered: JSON arrays, in order.
            # json as for contexts: the text as the codec wrote it, no parse on write (and
            # text[] cannot travel through the unnest of a batch: arrays of arrays flatten).
            "ALTER TABLE workflows ADD COLUMN configuration json, ADD COLUMN memory json",
            """
            ALTER TABLE transitions ADD COLUMN exited json, ADD COLUMN entered json,
                ADD COLUMN configuration json, ADD COLUMN memory json
            """,
            "ALTER TABLE checkpoints ADD COLUMN configuration json, ADD COLUMN memory json",
            """
            CREATE OR REPLACE VIEW history AS
            SELECT w.id AS workflow_id, t.seq, t.from_state, t.to_state, t.event,
                   t.event_data, t.timestamp, t.duration_us, t.context,
                   t.exited, t.entered, t.configuration
            FROM transitions AS t JOIN workflows AS w ON w.key = t.workflow
            """,
        ),
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
# Serializes migrations of one database across processes (an arbitrary constant of ours).
_MIGRATION_LOCK: Final = 0x6465736361727465
_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class Connection(Protocol):
    """The part of an asyncpg connection the PostgreSQL store uses."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def executemany(self, query: str, args: Any) -> None: ...
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...
    def transaction(self) -> Any: ...


async def schema_version(conn: Connection) -> int:
    """The newest migration recorded in the database (0: none, or no ledger yet)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return version


async def initialize_schema(conn: Connection, where: str) -> int:
    """Apply the migrations the database lacks, in one transaction; return how many.

    Safe to run from several processes at once: a transaction-scoped advisory lock makes
    them take turns, and each reads the version again once it holds the lock.

    Raises:
        SchemaVersionError: the database was written by a newer schema.
        StoreError: it holds tables of ours that no migration recorded (another program's).
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(_LEDGER)
        version = await schema_version(conn)
        if version > SCHEMA_VERSION:
            raise _newer(version, where)
        if version == 0:
            await _check_free(conn, where)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            name, statements = MIGRATIONS[number - 1]
            for statement in statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, name
            )
        return SCHEMA_VERSION - version


async def check_schema(conn: Connection, where: str) -> None:
    """Check, reading only, that the database holds the schema this code reads.

    Raises:
        StoreError: it has no descartes_nb tables.
        SchemaVersionError: it was written by a newer schema, or needs migrating.
    """
    version = await schema_version(conn)
    if version == 0:
        raise StoreError(
            f"{where} is not a descartes_nb database: it has no schema_migrations ledger "
            "(open it once with a store that may write, to create the tables)"
        )
    if version > SCHEMA_VERSION:
        raise _newer(version, where)
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where} has schema version {version}, older than this descartes_nb reads "
            f"({SCHEMA_VERSION}); open it once for writing to migrate it"
        )


async def _check_free(conn: Connection, where: str) -> None:
    """Refuse a database whose tables of our names were made by something else."""
    taken = await conn.fetch(
        "SELECT c.relname FROM pg_class AS c WHERE c.relname = ANY($1::text[]) "
        "AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname",
        ["checkpoints", "history", "inbox", "timers", "transitions", "workflows"],
    )
    if taken:
        names = [row[0] for row in taken]
        raise StoreError(
            f"{where} is not a descartes_nb database: it already has {names} that no "
            "descartes_nb migration made; use another database or schema"
        )


def _newer(version: int, where: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"{where} has schema version {version}, newer than this descartes_nb reads "
        f"(versions 0 to {SCHEMA_VERSION}); upgrade descartes_nb to open it"
    )
