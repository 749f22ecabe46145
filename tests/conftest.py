"""Shared fixtures: a manual clock, definitions, a workflow factory; the requires_dot marker.

PostgreSQL: ``pg_url`` (one server and database per session), ``pg_db_url`` (a fresh empty
database per test, also in ``DESCARTES_NB_PG_URL`` for child processes) and ``pg_server`` (the
harness, to stop, restart or kill backends of the server this run started).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
from hypothesis import settings

import descartes_nb as dn

from .pgserver import PostgresServer, why_unavailable

# The store's fixtures, for layers above it tested on a real store (recovery).
from .store.conftest import db_path, durable, store  # noqa: F401

PG_URL_VARIABLE = "DESCARTES_NB_PG_URL"

settings.register_profile("ci", deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a ``requires_dot`` test when there is no Graphviz renderer."""
    if item.get_closest_marker("requires_dot") is None:
        return
    # Imported here: only tests that draw need the notebook layer.
    from descartes_nb.notebook import _render as render

    try:
        render.find_renderer()
    except dn.RenderError as exc:
        pytest.skip(f"no Graphviz renderer: {exc}")


@pytest.fixture
def clock() -> dn.ManualClock:
    return dn.ManualClock(START)


@pytest.fixture
def make_workflow(clock: dn.ManualClock) -> Callable[..., dn.WorkflowStateMachine]:
    counter = iter(range(1, 10_000))

    def make(definition: dn.WorkflowDefinition = dn.LIFECYCLE, **options: Any):
        options.setdefault("clock", clock)
        return dn.WorkflowStateMachine(f"wf-{next(counter)}", definition, **options)

    return make


@pytest.fixture
def review_definition() -> dn.WorkflowDefinition:
    """A small flat definition with a guard: draft -> review -> approved / rejected."""

    def enough_approvals(context, data):
        return context.get("approvals", 0) >= 2

    return dn.WorkflowDefinition(
        "review",
        states=(
            dn.StateDef("draft"),
            dn.StateDef("review"),
            dn.StateDef("approved", terminal=True),
            dn.StateDef("rejected", terminal=True),
        ),
        initial_state="draft",
        transitions=(
            dn.TransitionDef("draft", "submit", "review"),
            dn.TransitionDef(
                "review",
                "approve",
                "approved",
                guard=enough_approvals,
                guard_label="context.approvals >= 2",
            ),
            dn.TransitionDef("review", "reject", "rejected"),
            dn.TransitionDef("review", "revise", "draft"),
        ),
    )


class ExitEnterTrace(dn.StateHandler):
    """Records ("exit", state) and ("enter", state) in the order the hooks ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_exit(self, state, ctx):
        self.calls.append(("exit", state))

    def on_enter(self, state, ctx):
        self.calls.append(("enter", state))


def database_url(url: str, database: str) -> str:
    """``url`` with its database replaced by ``database``."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def execute(url: str, *statements: str) -> None:
    """Run SQL statements on one asyncpg connection, from a sync fixture.

    The connection runs in a thread with a loop of its own: the test's loop must not be
    started or replaced by a fixture.
    """
    # Imported here: asyncpg is the postgres extra, needed only by tests that ask for a server.
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url, timeout=30)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, run()).result()


def postgres_unavailable(reason: str) -> NoReturn:
    """Skip, with the reason; under CI (where the tests must run) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _pg_session() -> Iterator[tuple[PostgresServer | None, str]]:
    """The server this run started (None for ``DESCARTES_NB_PG_URL``) and the session's URL."""
    named = os.environ.get(PG_URL_VARIABLE)
    if named:
        # Someone else's server: a fresh database of our own on it, dropped at the end.
        name = f"descartes_session_{secrets.token_hex(4)}"
        execute(named, f"CREATE DATABASE {name} TEMPLATE template0")
        try:
            yield None, database_url(named, name)
        finally:
            execute(named, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return
    reason = why_unavailable()
    if reason:
        postgres_unavailable(f"{reason}; or name a server in {PG_URL_VARIABLE}")
    server = PostgresServer()
    try:
        server.start()
        yield server, server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def pg_url(_pg_session: tuple[PostgresServer | None, str]) -> Iterator[str]:
    """The URL of this session's database, also in ``DESCARTES_NB_PG_URL`` for children."""
    url = _pg_session[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PG_URL_VARIABLE, url)
        yield url


@pytest.fixture
def pg_db_url(
    pg_url: str, _pg_session: tuple[PostgresServer | None, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh empty database for this test (its URL is also in ``DESCARTES_NB_PG_URL``)."""
    server = _pg_session[0]
    name = f"descartes_test_{secrets.token_hex(4)}"
    execute(pg_url, f"CREATE DATABASE {name} TEMPLATE template0")
    url = database_url(pg_url, name)
    monkeypatch.setenv(PG_URL_VARIABLE, url)
    yield url
    if server is not None:
        server.start()  # a test may have left it stopped
    execute(pg_url, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def pg_server(_pg_session: tuple[PostgresServer | None, str]) -> Iterator[PostgresServer]:
    """The server this run started, to stop, restart or kill backends of; running afterwards."""
    server = _pg_session[0]
    if server is None:
        pytest.skip(f"{PG_URL_VARIABLE} names a server this run did not start")
    yield server
    server.start()
