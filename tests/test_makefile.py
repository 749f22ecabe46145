"""The Makefile: `make demo` installs the package alone, the test targets add the dev set."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The variables of a surrounding `make test` must not reach the make under test.
ENV = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}


def dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make -n target`` would run, with the venv in ``venv``."""
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    )
    return [line for line in done.stdout.splitlines() if not line.startswith("make")]


def installs(lines: list[str]) -> list[str]:
    return [line.split(" -m ", 1)[1] for line in lines if "pip install" in line]


def fake_venv(tmp_path: Path, *stamps: str) -> Path:
    """A venv folder whose stamps say what is installed (newest last, all after pyproject)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch(mode=0o755)
    newer = (ROOT / "pyproject.toml").stat().st_mtime + 10
    for i, stamp in enumerate(stamps):
        (venv / stamp).touch()
        os.utime(venv / stamp, (newer + i, newer + i))
    return venv


def test_make_demo_on_a_fresh_machine_installs_the_package_without_the_dev_set(tmp_path):
    venv = tmp_path / "venv"
    lines = dry_run("demo", venv)
    assert lines[0].endswith(f" -m venv {venv}")
    assert installs(lines) == ["pip install --quiet --upgrade pip", "pip install --quiet -e ."]
    assert lines[-1] == f"{venv}/bin/descartes-nb demo"


def test_make_test_after_make_demo_adds_the_dev_set_to_the_same_venv(tmp_path):
    venv = fake_venv(tmp_path, ".installed-base")
    lines = dry_run("lint", venv)
    assert not any("-m venv" in line for line in lines)
    assert installs(lines) == ["pip install --quiet -e '.[dev]'"]


def test_make_demo_after_make_test_installs_nothing_more(tmp_path):
    venv = fake_venv(tmp_path, ".installed-base", ".installed")
    assert dry_run("demo", venv) == [f"{venv}/bin/descartes-nb demo"]
    assert installs(dry_run("lint", venv)) == []


def test_make_clean_removes_what_the_commands_create_and_nothing_else(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path)
    created = [
        ".venv/bin/python",
        "workflows.db",
        "workflows.db-wal",
        "workflows.db-shm",
        "test-artifacts/browser-last.png",
        ".coverage",
        ".pytest_cache/README.md",
        "descartes_nb/__pycache__/x.pyc",
        "notebooks/.ipynb_checkpoints/01-checkpoint.ipynb",
    ]
    kept = ["descartes_nb/x.py", "notebooks/01.ipynb", "tests/test_x.py", "bench/README.md"]
    for name in [*created, *kept]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    clean = ["make", "-C", str(tmp_path), "clean"]
    subprocess.run(clean, capture_output=True, check=True, env=ENV)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(["Makefile", *kept])
