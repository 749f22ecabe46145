"""The throwaway PostgreSQL server of the tests (tests/pgserver.py) and its fixtures, for real."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from tests import conftest, pgserver
from tests.pgserver import PostgresServer, PostgresServerError

from .conftest import child_environment

ROOT = Path(__file__).resolve().parents[2]


def is_gone(path: str | Path) -> bool:
    """Whether a path no longer exists (a sync helper: tests stat files between awaits)."""
    return not Path(path).exists()


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(url, timeout=30)
    try:
        yield connection
    finally:
        await connection.close()


async def test_pg_db_url_creates_inserts_and_selects(pg_db_url):
    async with connect(pg_db_url) as conn:
        await conn.execute("CREATE TABLE probe (id bigint PRIMARY KEY, note text)")
        await conn.execute("INSERT INTO probe VALUES ($1, $2), ($3, $4)", 1, "one", 2, "two")
        rows = await conn.fetch("SELECT id, note FROM probe ORDER BY id")
    assert [tuple(row) for row in rows] == [(1, "one"), (2, "two")]


async def test_pg_db_url_commit_is_seen_by_a_second_connection(pg_db_url):
    async with connect(pg_db_url) as writer, connect(pg_db_url) as reader:
        await writer.execute("CREATE TABLE probe (id bigint)")
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("INSERT INTO probe VALUES (7)")
        assert await reader.fetchval("SELECT count(*) FROM probe") == 0
        await transaction.commit()
        assert await reader.fetchval("SELECT count(*) FROM probe") == 1


@pytest.mark.parametrize("turn", ["first", "second"])
async def test_pg_db_url_is_empty_for_every_test(pg_db_url, turn):
    async with connect(pg_db_url) as conn:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        assert tables == []
        await conn.execute(
            "CREATE TABLE left_behind (turn text)"
        )  # the other turn must not see it


async def test_pg_db_url_reaches_child_processes_through_the_environment(pg_db_url):
    assert os.environ[conftest.PG_URL_VARIABLE] == pg_db_url
    script = (
        "import asyncio, os, asyncpg\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(os.environ['DESCARTES_NB_PG_URL'])\n"
        "    print(await conn.fetchval('SELECT current_database()'))\n"
        "    await conn.close()\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE, env=child_environment()
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    assert out.decode().strip() == pg_db_url.rsplit("/", 1)[1]


async def test_pg_server_is_durable_local_and_not_superuser(pg_server, pg_db_url):
    async with connect(pg_db_url) as conn:
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "full_page_writes", "listen_addresses")
        }
        role = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
    assert settings == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "listen_addresses": "127.0.0.1",
    }
    assert pg_server.admin_sql("SHOW unix_socket_directories") == str(pg_server.data)
    assert tuple(role) == (False, True)


async def test_pg_server_restart_keeps_committed_rows(pg_server, pg_db_url):
    async with connect(pg_db_url) as conn:
        await conn.execute("CREATE TABLE probe (id bigint)")
        await conn.execute("INSERT INTO probe VALUES (1)")
        pg_server.restart()  # immediate: the server goes down as in a crash
        with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
            await conn.fetchval("SELECT 1")
    async with connect(pg_db_url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM probe") == 1


async def test_pg_server_kill_backend_ends_that_connection_only(pg_server, pg_db_url):
    async with connect(pg_db_url) as victim, connect(pg_db_url) as bystander:
        pid = await victim.fetchval("SELECT pg_backend_pid()")
        pg_server.kill_backend(pid)
        with pytest.raises(
            asyncpg.exceptions.ConnectionDoesNotExistError, match="administrator command"
        ):
            await victim.fetchval("SELECT 1")
        assert await bystander.fetchval("SELECT 1") == 1


def test_pg_server_kill_backend_of_no_backend_raises(pg_server):
    with pytest.raises(PostgresServerError, match="backend 1 was not terminated"):
        pg_server.kill_backend(1)


async def test_pg_server_stop_refuses_connections_until_start(pg_server, pg_db_url):
    pg_server.stop()
    assert not pg_server.is_running()
    with pytest.raises(OSError, match="Connect call failed"):
        await asyncpg.connect(pg_db_url, timeout=30)
    pg_server.start()
    async with connect(pg_db_url) as conn:
        assert await conn.fetchval("SELECT 1") == 1


def test_postgres_server_that_cannot_start_quotes_its_log_and_cleans_up(pg_server):
    taken = PostgresServer(port=pg_server.port)
    failing = pytest.raises(PostgresServerError, match=r"(?s)pg_ctl start failed.*already in use")
    with failing as failed, taken:
        pass
    log = Path(str(failed.value).split("server log ")[1].split(":\n")[0])
    assert log.name == "server.log"
    assert not log.parent.exists()


def test_why_unavailable_without_binaries(monkeypatch, tmp_path):
    monkeypatch.setattr(pgserver, "PG_BINDIRS", str(tmp_path / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pgserver.find_bindir() is None
    assert pgserver.why_unavailable() == (
        f"no PostgreSQL here: no initdb in {tmp_path / '*' / 'bin'} or on PATH"
    )
    with pytest.raises(PostgresServerError, match="no PostgreSQL here"):
        PostgresServer()


def test_find_bindir_takes_the_newest_version(monkeypatch, tmp_path):
    for version in ("9.6", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
        (tmp_path / version / "bin" / "initdb").touch()
    (tmp_path / "17" / "bin").mkdir(parents=True)  # a client-only install: no initdb
    monkeypatch.setattr(pgserver, "PG_BINDIRS", str(tmp_path / "*" / "bin"))
    assert pgserver.find_bindir() == tmp_path / "16" / "bin"


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        pytest.param("", pytest.skip.Exception, id="skips"),
        pytest.param("1", pytest.fail.Exception, id="fails-in-ci"),
    ],
)
def test_postgres_unavailable_skips_outside_ci_and_fails_in_ci(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no PostgreSQL here"):
        conftest.postgres_unavailable("no PostgreSQL here")


async def start_serving() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """``python -m tests.pgserver`` (make postgres) and the lines it printed, by first word."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.pgserver",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    said: dict[str, str] = {}
    while line := (await child.stdout.readline()).decode():
        said[line.split()[0]] = line.strip()
        if line.startswith("Ctrl-C"):
            return child, said
    _, err = await child.communicate()
    pytest.fail(f"make postgres ended early (status {child.returncode}): {err.decode()}")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_make_postgres_serves_its_url_until_stopped(stop):
    child, said = await start_serving()
    url = said["URL:"].removeprefix("URL: ")
    folder = Path(said["PostgreSQL"].rsplit(" ", 1)[1])
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT current_database()") == "descartes"
    child.send_signal(stop)
    try:  # bounded: a server that ignores the signal fails the test, never hangs the run
        out, err = await asyncio.wait_for(child.communicate(), pgserver.TIMEOUT)
    except TimeoutError:
        child.kill()
        raise
    assert (child.returncode, out.decode(), err.decode()) == (0, "stopped, data removed\n", "")
    assert is_gone(folder)
    with pytest.raises(OSError, match="Connect call failed"):
        await asyncpg.connect(url, timeout=30)


async def wait_for_exit(pid: int) -> None:
    """Wait until a process that is not our child has ended (a pidfd turns readable)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # ended already
    ended = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_reader(pidfd, ended.set_result, None)
    try:
        await asyncio.wait_for(ended, pgserver.TIMEOUT)
    finally:
        asyncio.get_running_loop().remove_reader(pidfd)
        os.close(pidfd)


@pytest.mark.slow
async def test_postgres_server_of_a_killed_process_is_stopped_and_removed():
    script = (
        "from tests.pgserver import PostgresServer\n"
        "server = PostgresServer()\n"
        "server.start()\n"
        "print(server.url, server.folder, server.guard_pid, flush=True)\n"
        "input()\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    url, folder, guard = (await child.stdout.readline()).decode().split()
    assert not is_gone(folder)
    child.kill()
    await child.wait()
    await wait_for_exit(int(guard))
    assert is_gone(folder)
    with pytest.raises(OSError, match="Connect call failed"):
        await asyncpg.connect(url, timeout=30)


@pytest.mark.slow
async def test_pg_fixtures_use_the_server_named_in_the_environment(pg_url, pg_server):
    """A run given DESCARTES_NB_PG_URL starts no server and works in databases of its own."""
    here = "tests/store/test_pgserver.py::"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rs",
        here + "test_pg_db_url_is_empty_for_every_test",
        here + "test_pg_db_url_reaches_child_processes_through_the_environment",
        here + "test_pg_server_kill_backend_of_no_backend_raises",
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=child_environment(),  # DESCARTES_NB_PG_URL is pg_url
    )
    out = (await child.communicate())[0].decode()
    assert child.returncode == 0, out
    assert "3 passed, 1 skipped" in out
    assert "DESCARTES_NB_PG_URL names a server this run did not start" in out
    left = pg_server.admin_sql("SELECT count(*) FROM pg_database WHERE datname <> 'descartes'")
    assert left == "3"  # postgres, template0, template1: the child dropped what it made
