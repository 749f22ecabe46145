"""The descartes-nb command line."""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import descartes_nb as dn
from descartes_nb import SqliteWorkflowStore
from descartes_nb.cli import main
from descartes_nb.cli._demo import run_demo

from .store.conftest import child_environment, query


async def test_demo_runs_every_story_and_summarises(tmp_path):
    out = io.StringIO()
    orchestrator = await run_demo(out, tmp_path / "demo.db")
    text = out.getvalue()
    states = {m.workflow_id: m.state for m in orchestrator.get_all_metadata()}
    assert set(states.values()) == {"Completed"}
    assert len(states) == 7
    assert "registry timed out" in text  # the failure that was retried
    assert "Rollback" in text
    assert "refused -> InvalidTransitionError" in text
    assert text.rstrip().splitlines()[-1].startswith("  backup-501")
    deploy = orchestrator.get_workflow("deploy-201")
    assert [e.event for e in deploy.history] == ["Start", "Fail", "Retry", "Complete"]
    summary = text[text.index("\nsummary") :].splitlines()
    assert summary[2].split() == [
        "workflow_id",
        "state",
        "transitions",
        "retries",
        "rollbacks",
        "elapsed",
    ]
    rows = {line.split()[0]: line.split()[1:5] for line in summary[4:]}
    assert rows["deploy-201"] == ["Completed", "4", "1", "0"]
    assert rows["migrate-401"] == ["Completed", "4", "0", "1"]


async def test_demo_persists_every_change_and_can_run_again(tmp_path):
    db = tmp_path / "demo.db"
    first = await run_demo(io.StringIO(), db)
    out = io.StringIO()
    second = await run_demo(out, db)
    assert out.getvalue().startswith(f"demo run 2: 7 workflows, each change committed to {db}")
    assert "deploy-201#2" in second
    async with SqliteWorkflowStore(db) as store:
        assert len(await store.list_workflows()) == 14
        for sm in [*first, *second]:
            assert await store.load_workflow(sm.workflow_id) == sm.serialize()


def test_console_script_runs_demo_on_workflows_db_here(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "descartes_nb.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
        env=child_environment(),
    )
    assert "summary" in result.stdout
    again = f"{shlex.quote(sys.executable)} -m descartes_nb.cli history workflows.db"
    assert f"(see them again with: {again})" in result.stdout
    assert result.stderr == ""
    assert query(tmp_path / "workflows.db", "SELECT count(*) FROM workflows") == [(7,)]


@pytest.mark.parametrize(
    ("activated", "again"), [(False, "bin/descartes-nb"), (True, "descartes-nb")]
)
def test_demo_names_the_command_as_the_user_can_run_it(tmp_path, activated, again):
    script = Path(sys.executable).with_name("descartes-nb")
    venv = script.parent.parent
    path = os.pathsep.join([str(script.parent)] * activated + [str(tmp_path)])
    result = subprocess.run(
        [str(script), "demo", "--db", str(tmp_path / "demo.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=venv,  # the script is below it: named relative to it when not on PATH
        env={**child_environment(), "PATH": path},
    )
    db = shlex.quote(str(tmp_path / "demo.db"))
    assert f"(see them again with: {again} history {db})" in result.stdout


def demo_database(tmp_path, capsys):
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db)]) == 0
    capsys.readouterr()
    return db


def test_history_lists_workflows_and_shows_one(tmp_path, capsys):
    db = demo_database(tmp_path, capsys)
    assert main(["history", str(db)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith(f"7 workflows in {db}")
    assert "  deploy-201   lifecycle   Completed  4  " in listing
    assert main(["history", str(db), "deploy-201"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("deploy-201 (lifecycle): Completed, 4 transitions, version 4")
    assert '{"message": "registry timed out"}' in shown


def test_history_of_an_unknown_workflow_names_the_stored_ones(tmp_path, capsys):
    db = demo_database(tmp_path, capsys)
    assert main(["history", str(db), "deploy-999"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no workflow 'deploy-999' is stored (7 are: [")
    assert error.count("\n") == 1


def test_recover_reports_sound_and_damaged_databases(tmp_path, capsys):
    db = demo_database(tmp_path, capsys)
    assert main(["recover", str(db)]) == 0
    report = capsys.readouterr().out
    assert report.startswith(f"integrity check of {db}: ok\nrecovered 7 workflows, 0 failed")
    query(db, "UPDATE transitions SET context = 'garbage' WHERE seq = 2")
    assert main(["recover", str(db)]) == 1
    report = capsys.readouterr().out
    assert "recovered 0 workflows, 7 failed" in report
    assert "seq 2 context is not JSON" in report


def test_tools_refuse_a_missing_database_without_creating_it(tmp_path, capsys):
    missing = str(tmp_path / "none.db")
    for command in ("history", "recover"):
        assert main([command, missing]) == 1
        assert capsys.readouterr().err == f"error: no database file at {missing!r}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["history", "recover"])
def test_tools_report_a_file_that_is_not_a_database(tmp_path, capsys, command):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database\n" * 100)
    assert main([command, str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: database {str(bad)!r} is not a descartes_nb database: not a SQLite database, "
        "or its header is damaged (file is not a database) while opening\n"
    )
    assert captured.out == ""
    assert bad.read_text() == "not a database\n" * 100


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines: list[str] = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_demo_refuses_a_directory_or_a_missing_folder_in_one_line(tmp_path, capsys):
    assert main(["demo", "--db", str(tmp_path)]) == 1
    assert (
        one_error_line(capsys) == f"error: {str(tmp_path)!r} is a directory, not a database file"
    )
    nowhere = tmp_path / "no" / "such" / "folder" / "x.db"
    assert main(["demo", "--db", str(nowhere)]) == 1
    assert one_error_line(capsys) == (
        f"error: no folder {str(nowhere.parent)!r} to create the database {str(nowhere)!r} in"
    )
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_file_that_is_not_a_database_in_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database\n" * 100)
    assert main(["demo", "--db", str(bad)]) == 1
    assert "is not a descartes_nb database: not a SQLite database" in one_error_line(capsys)
    assert bad.read_text() == "not a database\n" * 100


def test_demo_on_a_locked_database_says_so_in_one_line(tmp_path, capsys):
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("CREATE TABLE mine (x)")
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        holder.execute("INSERT INTO mine VALUES (1)")
        assert main(["demo", "--db", str(db)]) == 1
        assert "is locked by another connection" in one_error_line(capsys)
    finally:
        holder.close()
    assert query(db, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("mine",)]


def test_commands_take_sqlite_urls_as_the_store_does(tmp_path, capsys):
    db = tmp_path / "demo.db"
    url = f"sqlite:///{db}"  # an absolute path: four slashes
    assert main(["demo", "--db", url]) == 0
    assert f"each change committed to {url}" in capsys.readouterr().out
    assert query(db, "SELECT count(*) FROM workflows") == [(7,)]
    assert main(["history", url]) == 0
    assert capsys.readouterr().out.startswith(f"7 workflows in {url}")
    assert main(["recover", url]) == 0
    assert "recovered 7 workflows, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["demo --db", "history", "recover"])
def test_commands_refuse_another_url_scheme_in_one_line(tmp_path, capsys, command):
    args = [*command.split(), "mysql://localhost/workflows"]
    assert main(args) == 1
    assert one_error_line(capsys).startswith(
        "error: unsupported database URL 'mysql://localhost/workflows'"
    )
    assert list(tmp_path.iterdir()) == []


def test_demo_history_and_recover_take_a_postgresql_url(pg_db_url, capsys):
    shown = dn.PostgresWorkflowStore(pg_db_url).url  # the password hidden
    assert main(["demo", "--db", pg_db_url]) == 0
    out = capsys.readouterr().out
    assert f"each change committed to {shown}" in out
    assert f"history {shlex.quote(shown)}, your password in place of ***)" in out
    assert str(urlsplit(pg_db_url).password) not in out
    assert main(["history", pg_db_url]) == 0
    assert capsys.readouterr().out.startswith(f"7 workflows in {shown}")
    assert main(["history", pg_db_url, "build-101"]) == 0
    assert capsys.readouterr().out.startswith("build-101 (lifecycle): Completed")
    assert main(["recover", pg_db_url]) == 0
    assert "recovered 7 workflows, 0 failed" in capsys.readouterr().out


def test_commands_say_in_one_line_when_postgresql_cannot_be_reached(capsys):
    assert main(["history", "postgresql://ana:secret@127.0.0.1:1/flows"]) == 1
    line = one_error_line(capsys)
    assert line.startswith("error: database 'postgresql://ana:***@127.0.0.1:1/flows' cannot be")
    assert "secret" not in line


def test_version_is_printed_by_the_console_script():
    script = Path(sys.executable).with_name("descartes-nb")
    assert script.exists(), "make installs the descartes-nb console script into the venv"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == f"descartes-nb {dn.__version__}\n"


def start_cli(*args: str) -> subprocess.Popen[str]:
    """The command line in a child process, its output and errors read through pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "descartes_nb.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_environment(),
    )


async def write_lifecycle_workflows(db: Path, count: int) -> None:
    async with SqliteWorkflowStore(db) as store:
        started = (dn.WorkflowStateMachine(f"job-{i}", store=store) for i in range(count))
        await asyncio.gather(*(sm.process_event("Start") for sm in started))


@pytest.mark.parametrize(
    ("command", "first"), [("history", "3000 workflows in "), ("recover", "integrity check of ")]
)
def test_commands_stop_quietly_when_their_reader_goes_away(tmp_path, command, first):
    db = tmp_path / "many.db"
    dn.run_sync(write_lifecycle_workflows(db, 3000))  # more lines than a pipe holds
    with start_cli(command, str(db)) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        assert child.stdout.readline().startswith(first)
        child.stdout.close()  # as `| head -1` does
        assert child.stderr.read() == ""  # no BrokenPipeError traceback
        assert child.wait(timeout=60) == 1


def test_demo_stops_quietly_when_its_reader_is_gone(tmp_path):
    db = tmp_path / "demo.db"
    with start_cli("demo", "--db", str(db)) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()  # before the demo writes its first line
        assert child.stderr.read() == ""
        assert child.wait(timeout=60) == 1
    assert query(db, "SELECT count(*) FROM workflows") == [(7,)]  # it ran all the same
