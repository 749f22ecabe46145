"""The descartes-nb command line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

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
    assert result.stderr == ""
    assert query(tmp_path / "workflows.db", "SELECT count(*) FROM workflows") == [(7,)]


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
    assert "WorkflowNotFoundError: no workflow 'deploy-999' is stored (7 are: [" in error


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
    for command in ("history", "recover"):
        with pytest.raises(SystemExit) as info:
            main([command, str(tmp_path / "none.db")])
        assert info.value.code == 2
        assert "no database file at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_tools_report_a_file_that_is_not_a_database(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database\n" * 100)
    assert main(["recover", str(bad)]) == 1
    assert "StoreError" in capsys.readouterr().err
