"""`descartes-nb validate FILE`: problems as file:line: message, exit status 0 or 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.cli import main

from .formats.test_guards import DEEP_SUM, toml_with_guard

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SWARM = ROOT / "notebooks" / "workflows" / "swarm.toml"


def test_validate_valid_file_exits_0_and_names_its_workflows(capsys):
    assert main(["validate", str(SWARM)]) == 0
    assert capsys.readouterr().out == f"{SWARM}: ok (code_implementation, invoice, deploy)\n"


def test_validate_prints_every_problem_as_file_line_message(capsys):
    path = FIXTURES / "bad_durations.toml"
    assert main(["validate", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"{path}: 8 errors"
    assert [line.split(": ", 1)[0] for line in lines[:-1]] == [
        f"{path}:{n}" for n in (6, 10, 14, 18, 22, 26, 27, 27)
    ]
    assert "bad duration '30 minutes'" in lines[0]


def test_validate_checks_every_file_and_fails_if_any_fails(capsys, tmp_path):
    missing = tmp_path / "missing.toml"
    args = ["validate", str(SWARM), str(FIXTURES / "bad_syntax.toml"), str(missing)]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert f"{SWARM}: ok" in out
    assert f"{FIXTURES / 'bad_syntax.toml'}:4: not valid TOML" in out
    assert f"{missing}: cannot read" in out


def test_validate_lenient_reports_warnings_and_exits_0(capsys):
    path = FIXTURES / "bad_unreachable.toml"
    assert main(["validate", "--lenient", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:8: workflow 'island': state 'Orphan' cannot be reached")
    assert out[0].endswith("(warning)")
    assert out[1] == f"{path}: ok (island)"


def test_validate_accepts_declared_guard_names(capsys):
    path = FIXTURES / "bad_guard_name.toml"
    assert main(["validate", str(path)]) == 1
    assert main(["validate", "--guard", "is_aproved", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"{path}: ok (named)\n")


def test_validate_says_how_to_leave_out_an_unreachable_implicit_failed_state(capsys):
    path = FIXTURES / "bad_unreachable_failed.toml"
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:2: workflow 'elsewhere': state 'Failed', which uniform failure adds, cannot be "
        "reached from initial state 'Draft': no Fail or Timeout leads there; set "
        "uniform_failure = false to leave it out",
        f"{path}: 1 error",
    ]
    fixed = path.read_text().replace(
        'initial_state = "Draft"', 'initial_state = "Draft"\nuniform_failure = false'
    )
    assert dn.load_definitions(fixed)["elsewhere"].state_names == ("Draft", "Done")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--guard", "approved_by_bot", "valid_all_keys"], 0),
        (["valid_all_keys"], 1),  # its named guard is not declared
        (["bad_trap"], 1),
    ],
)
def test_validate_runs_as_a_program_with_its_exit_status(args, status):
    *options, name = args
    path = FIXTURES / f"{name}.toml"
    done = subprocess.run(
        [sys.executable, "-m", "descartes_nb.cli", "validate", *options, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == status
    assert done.stdout.splitlines()[0].startswith(str(path))
    assert done.stderr == ""


@pytest.mark.parametrize("command", ["validate", "render", "recover"])
def test_cli_reports_a_deep_guard_instead_of_crashing(command, tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text(toml_with_guard(DEEP_SUM), encoding="utf-8")
    db = tmp_path / "wf.db"
    dn.run_sync(_write_one_workflow(db))
    args = {
        "validate": ["validate", str(path)],
        "render": ["render", str(path), "--format", "dot"],
        "recover": ["recover", str(db), "--definitions", str(path)],
    }[command]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert f"{path}:4: " in captured.out + captured.err
    assert "operations nest 496 levels deep" in captured.out + captured.err
    assert "Traceback" not in captured.err


async def _write_one_workflow(db) -> None:
    async with dn.SqliteWorkflowStore(db) as store:
        await dn.WorkflowStateMachine("job-1", store=store).process_event("Start")


def test_validate_reads_scxml_files_by_their_suffix(capsys):
    editor = ROOT / "notebooks" / "workflows" / "editor.scxml"
    assert main(["validate", str(editor)]) == 0
    assert capsys.readouterr().out == f"{editor}: ok (editor)\n"
    bad = FIXTURES / "scxml" / "bad_references.scxml"
    assert main(["validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{bad}:{n}" for n in (3, 6, 10)] + [
        str(bad)
    ]
    assert lines[-1] == f"{bad}: 3 errors"


def test_validate_scxml_lint_and_lenient(capsys, tmp_path):
    path = tmp_path / "chart.scxml"
    path.write_text(
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">\n'
        '<state id="A"><transition event="go" target="C"/></state>\n'
        '<state id="B"/>\n<final id="C"/>\n</scxml>\n',
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 1
    assert f"{path}:3: state 'B' cannot be reached" in capsys.readouterr().out
    assert main(["validate", "--lenient", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{path}: ok (chart)"
