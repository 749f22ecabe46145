"""`descartes-nb recover DB --definitions FILE`: workflows of Swarm.toml definitions recovered."""

from __future__ import annotations

from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.cli import main

from .store.conftest import query

ROOT = Path(__file__).parent.parent
SWARM = ROOT / "notebooks" / "workflows" / "swarm.toml"
FIXTURES = ROOT / "tests" / "fixtures"
DOOR = """\
[workflow.door]
initial_state = "Closed"
[workflow.door.states.Closed]
on = { open = { target = "Open", guard = "is_vip" } }
[workflow.door.states.Open]
terminal = true
"""


async def write_workflows(db: Path, *, with_door: bool = False) -> None:
    """A lifecycle workflow, an invoice of swarm.toml, and maybe a door (a named guard)."""
    invoice = dn.load_definitions(SWARM)["invoice"]
    async with dn.SqliteWorkflowStore(db) as store:
        await dn.WorkflowStateMachine("job-1", store=store).process_event("Start")
        sm = dn.WorkflowStateMachine("inv-7", invoice, store=store)
        await sm.process_event("submit")
        await sm.process_event("approve", {"amount": 120})
        if with_door:
            vip = dn.load_definitions(DOOR, guards={"is_vip": lambda ctx, data: True})["door"]
            await dn.WorkflowStateMachine("door-1", vip, store=store).process_event("open")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "workflows.db"
    dn.run_sync(write_workflows(path))
    return path


def test_recover_without_the_definitions_reports_their_workflows(db, capsys):
    assert main(["recover", str(db)]) == 1
    out = capsys.readouterr().out
    assert "recovered 1 workflow, 1 failed" in out
    assert (
        "  'inv-7': it runs definition 'invoice', which is not registered (known: ['lifecycle']); "
        "pass --definitions FILE\n"
    ) in out


def test_recover_with_definitions_rebuilds_their_workflows(db, capsys):
    assert main(["recover", str(db), "--definitions", str(SWARM)]) == 0
    out = capsys.readouterr().out
    assert "recovered 2 workflows, 0 failed" in out
    assert "  inv-7        invoice     Approved  2" in out
    assert "  job-1        lifecycle   Running   1" in out


def test_recover_takes_several_files_and_named_guards(tmp_path, capsys):
    path = tmp_path / "workflows.db"
    door_file = tmp_path / "door.toml"
    door_file.write_text(DOOR)
    dn.run_sync(write_workflows(path, with_door=True))
    args = ["recover", str(path), "--definitions", str(SWARM), "--definitions", str(door_file)]
    assert main(args) == 1  # the door's guard is unknown without --guard
    err = capsys.readouterr().err
    assert f"{door_file}:4: workflow 'door', state 'Closed', key 'on.open.guard'" in err
    assert err.endswith("\nerror: the definitions cannot be read; nothing recovered\n")
    assert main([*args, "--guard", "is_vip"]) == 0
    assert "  door-1       door        Open      1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(
            [FIXTURES / "bad_durations.toml"],
            f"{FIXTURES / 'bad_durations.toml'}:6: ",
            id="problems",
        ),
        pytest.param([Path("no-such.toml")], "cannot read 'no-such.toml'", id="missing"),
        pytest.param(
            [SWARM, SWARM],
            f"workflow 'code_implementation' is defined in both {str(SWARM)!r} and "
            f"{str(SWARM)!r}; pass each workflow once",
            id="twice",
        ),
    ],
)
def test_recover_refuses_definitions_it_cannot_read(db, capsys, files, message):
    before = query(db, "SELECT * FROM workflows ORDER BY key")
    args = ["recover", str(db)]
    for path in files:
        args += ["--definitions", str(path)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.splitlines()[-1].startswith("error: ")
    assert captured.out == ""  # nothing recovered with half the definitions
    assert query(db, "SELECT * FROM workflows ORDER BY key") == before
