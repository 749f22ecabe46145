"""PostgresWorkflowStore on its own: URLs, the schema and its migrations, read-only stores."""

from __future__ import annotations

import asyncio

import pytest

import descartes_nb as dn
from descartes_nb.store._pgschema import MIGRATIONS, SCHEMA_VERSION

from .conftest import Backend


@pytest.fixture
def backend(pg_db_url) -> Backend:
    return Backend("postgres", pg_db_url)


@pytest.mark.parametrize(
    "url", ["postgresql://ana:secret@db.example.org:5433/flows", "postgres://ana@db/flows"]
)
def test_open_store_opens_postgresql_urls_and_hides_the_password(url):
    store = dn.open_store(url)
    assert isinstance(store, dn.PostgresWorkflowStore)
    assert "secret" not in repr(store)
    assert repr(store) == f"<PostgresWorkflowStore {store.url!r} closed>"


@pytest.mark.parametrize("bad", ["mysql://db/flows", "http://example.org"])
def test_open_store_refuses_other_urls_and_names_the_allowed_ones(bad):
    with pytest.raises(ValueError, match="allowed: a file path, 'sqlite:///path', or 'postgr"):
        dn.open_store(bad)
    with pytest.raises(ValueError, match=f"unsupported PostgreSQL URL '{bad}'"):
        dn.PostgresWorkflowStore(bad)


def test_config_refuses_bad_postgres_settings():
    with pytest.raises(ValueError, match="pool_size must be an int >= 1, got 0"):
        dn.StateStoreConfig(pool_size=0)
    with pytest.raises(ValueError, match="statement_timeout must be a positive timedelta"):
        dn.StateStoreConfig(statement_timeout=5)  # type: ignore[arg-type]


async def test_schema_is_plain_typed_tables_with_migrations_recorded(backend):
    async with backend.open() as store:
        assert await store.initialize_schema() == 0
    rows = await backend.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(number, name) for number, (name, _) in enumerate(MIGRATIONS, 1)]
    assert rows[0] == (1, "workflows, transitions and checkpoints")
    assert len(rows) == SCHEMA_VERSION
    types = dict(
        await backend.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'transitions'"
        )
    )
    assert types["timestamp"] == "timestamp with time zone"
    assert (types["seq"], types["duration_us"], types["context"]) == ("bigint", "bigint", "json")
    assert {types[c] for c in ("exited", "entered", "configuration", "memory")} == {"json"}


async def test_a_newer_schema_is_refused_and_left_alone(backend):
    async with backend.open():
        pass
    await backend.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    with pytest.raises(dn.SchemaVersionError, match="schema version 99, newer than"):
        await backend.open().open()
    assert len(await backend.query("SELECT * FROM schema_migrations")) == SCHEMA_VERSION + 1


async def test_tables_of_another_program_are_refused(backend):
    await backend.query("CREATE TABLE workflows (name text)")
    with pytest.raises(dn.StoreError, match=r"not a descartes_nb database: .*\['workflows'\]"):
        await backend.open().open()


async def test_read_only_store_reads_and_refuses_every_write(backend, clock):
    with pytest.raises(dn.StoreError, match="not a descartes_nb database"):
        await backend.open(read_only=True).open()
    async with backend.open(clock=clock) as store:
        await dn.WorkflowStateMachine("w", store=store, clock=clock).process_event("Start")
    async with backend.open(read_only=True, clock=clock) as reader:
        sm = await dn.WorkflowRecovery(reader).recover_workflow("w")
        with pytest.raises(dn.StoreError, match="a store opened read-only"):
            await sm.process_event("Pause")
        assert sm.state == dn.WorkflowState.RUNNING
        with pytest.raises(dn.StoreError, match="a store opened read-only"):
            await reader.create_checkpoint("w")
        assert await reader.list_workflows() == ["w"]


async def test_an_unreachable_server_raises_store_error_saying_so():
    store = dn.open_store("postgresql://nobody:x@127.0.0.1:1/none")
    with pytest.raises(dn.StoreError, match=r"cannot be reached .* check the URL") as info:
        await store.open()
    assert isinstance(info.value.__cause__, OSError)
    assert not store.is_open


async def test_a_change_cancelled_while_queued_is_withdrawn_and_nothing_is_written(backend, clock):
    async with backend.open(clock=clock) as store:
        sm = dn.WorkflowStateMachine("w", store=store, clock=clock)
        await sm.process_event("Start")
        before = (sm.state, sm.version, list(sm.history))
        change = asyncio.create_task(sm.process_event("Pause"))
        await asyncio.sleep(0)  # the change is queued; the writer task has not taken it yet
        change.cancel()
        with pytest.raises(asyncio.CancelledError):
            await change
        assert (sm.state, sm.version, list(sm.history)) == before
        assert await store.load_workflow("w") == sm.serialize()
        assert store.stats.changes == 1
        await sm.process_event("Pause")  # the machine goes on working
        assert (await store.load_workflow("w")).state == dn.WorkflowState.PAUSED
