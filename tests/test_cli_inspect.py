"""`descartes-nb history` and `recover` only read: any file, any file system, damaged files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.cli import main

from .store import pages
from .store.conftest import child_environment, query
from .store.files import (
    KINDS,
    NOT_OURS,
    assert_left_alone,
    crashed_writer,
    fingerprint,
    is_wal,
    make_kind,
    write_workflows,
)
from .store.test_salvage import DAMAGED, WORKFLOWS, leaves, workflows_on, write_many

COMMANDS = ("history", "recover")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_inspection_leaves_every_file_as_it_was(tmp_path, capsys, command, kind):
    db = dn.run_sync(make_kind(tmp_path, kind))
    before = fingerprint(tmp_path)
    status = main([command, str(db)])
    captured = capsys.readouterr()
    if kind.startswith("ours"):
        assert status == 0
        assert ("3 workflows in" if command == "history" else "recovered 3 workflows") in (
            captured.out
        )
    else:
        assert status == 1
        assert captured.err == (
            f"error: {str(db)!r} {NOT_OURS[kind]}; "
            "descartes_nb reads the files a SqliteWorkflowStore writes\n"
        )
    assert_left_alone(before, tmp_path, db, wal=is_wal(kind))


@pytest.mark.parametrize("command", COMMANDS)
def test_inspection_of_a_file_that_is_not_sqlite_says_so(tmp_path, capsys, command):
    db = tmp_path / "notes.txt"
    db.write_text("not a database\n" * 100)
    before = fingerprint(tmp_path)
    assert main([command, str(db)]) == 1
    err = capsys.readouterr().err
    assert f"database {str(db)!r} is not a descartes_nb database: not a SQLite database" in err
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_inspection_of_a_newer_schema_says_so(tmp_path, capsys, command):
    db = tmp_path / "workflows.db"
    dn.run_sync(write_workflows(db))
    query(db, "PRAGMA user_version = 42")
    before = fingerprint(tmp_path)
    assert main([command, str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: database")
    assert "newer than this descartes_nb reads" in err
    assert_left_alone(before, tmp_path, db, wal=True)


# -- a read-only file system ---------------------------------------------------------

# In a mount namespace of its own (as root, or in a user namespace), the directory is
# bind-mounted read-only onto itself: a real read-only file system, which root cannot
# write either. The probe proves it before the command runs.
_READ_ONLY_SH = (
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 98\n'
    'if touch "$1/.probe" 2>/dev/null; then exit 99; fi\n'
    'shift\nexec "$@"\n'
)
_UNSHARE = ["unshare", "--map-root-user", "--mount", "--propagation", "private"]


def on_read_only_fs(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``descartes-nb args`` with ``directory`` mounted read-only; skip where impossible."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to mount a read-only file system")
    command = [*_UNSHARE, "sh", "-c", _READ_ONLY_SH, "sh", str(directory)]
    result = subprocess.run(
        [*command, sys.executable, "-m", "descartes_nb.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(),
    )
    if result.returncode == 98 or "unshare: " in result.stderr:
        pytest.skip(f"no read-only mount here: {result.stderr.strip()}")
    assert result.returncode != 99, "the directory was writable"
    return result


READ_ONLY_FS = {
    "ours-wal": (0, "3 workflows in"),
    "ours-rollback": (0, "3 workflows in"),
    "crashed-writer": (0, "8 workflows in"),
    "zero-byte": (1, NOT_OURS["zero-byte"]),
    "foreign-wal": (1, NOT_OURS["foreign-wal"]),
}


@pytest.mark.parametrize(("kind", "expected"), READ_ONLY_FS.items(), ids=READ_ONLY_FS.keys())
def test_inspection_works_on_a_read_only_file_system(tmp_path, kind, expected):
    if kind == "crashed-writer":
        db = dn.run_sync(make_kind(tmp_path, "ours-wal"))
        crashed_writer(db, 5)  # the log holds their changes, with its -shm index
    else:
        db = dn.run_sync(make_kind(tmp_path, kind))
    before = fingerprint(tmp_path)
    status, says = expected
    for command in COMMANDS:
        result = on_read_only_fs(tmp_path, command, str(db))
        assert result.returncode == status, result.stderr
        if command == "history":
            assert says in (result.stdout if status == 0 else result.stderr)
    assert fingerprint(tmp_path) == before


def test_a_log_without_its_index_on_a_read_only_file_system_is_explained(tmp_path):
    db = tmp_path / "workflows.db"
    dn.run_sync(write_workflows(db))
    crashed_writer(db, 2)
    Path(f"{db}-shm").unlink()  # copied without it, say
    before = fingerprint(tmp_path)
    result = on_read_only_fs(tmp_path, "history", str(db))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: database {str(db)!r} cannot be read here: its "
        f"changes in {f'{db}-wal'!r} need a {f'{db}-shm'!r} index, which SQLite cannot "
        "create (a read-only file system?); copy the database with its -wal file to a "
        "writable place, or open it for writing once to checkpoint it\n"
    )
    assert fingerprint(tmp_path) == before


# -- damaged files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inspect") / "many.db"
    dn.run_sync(write_many(path))
    return path


@pytest.fixture
def damaged(tmp_path: Path, many: Path) -> tuple[Path, list[int], set[str]]:
    """A copy of the many-workflow file with garbage over two transitions pages."""
    source = many
    db = tmp_path / "damaged.db"
    shutil.copy(source, db)
    hit = [leaves(source, "transitions")[i] for i in (2, -3)]
    pages.write_garbage(db, hit)
    return db, hit, workflows_on(source, "transitions", hit)


def test_recover_salvages_a_damaged_file_and_names_what_it_lost(damaged, capsys):
    db, hit, lost = damaged
    before = fingerprint(db.parent)
    assert main(["recover", str(db)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"integrity check of {db}: FAILED"
    for page in hit:
        assert f"  Page {page}: btreeInitPage() returns error code 11" in lines
    assert f"recovered {WORKFLOWS - len(lost)} workflows, {len(lost)} failed" in lines
    assert [line for line in lines if line.endswith(DAMAGED)] == [
        f"  {wid!r}: {DAMAGED}" for wid in sorted(lost)
    ]
    assert_left_alone(before, db.parent, db, wal=True)


def test_history_lists_a_damaged_file_with_its_unreadable_workflows(damaged, capsys):
    db, _, lost = damaged
    assert main(["history", str(db)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{WORKFLOWS} workflows in {db}")
    unreadable = [line.split()[0] for line in out.splitlines() if " unreadable " in line]
    assert unreadable == sorted(lost)
