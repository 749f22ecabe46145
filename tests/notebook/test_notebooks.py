"""The notebooks as files: committed executed, short, on the python3 kernel; nbval's settings.

(``make test`` re-runs them under nbval; these checks catch a notebook committed unexecuted or
a sanitize pattern that hides more than volatile values.)
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def sanitize(text: str) -> str:
    patterns = get_sanitize_patterns((NOTEBOOKS / "nbval_sanitize.cfg").read_text())
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


def test_there_are_notebooks():
    expected = {
        "01_quickstart.ipynb",
        "02_teaching_walkthrough.ipynb",
        "03_history_analysis.ipynb",
        "04_persistence_and_recovery.ipynb",
        "05_declarative_workflows.ipynb",
        "06_statecharts.ipynb",
    }
    assert expected <= {p.name for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_executed_in_order_on_python3(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(nb.cells) <= 30
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(output.output_type != "error" for cell in code for output in cell.outputs)
    assert not any("sys.path" in cell.source for cell in code)


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_ends_its_cells_on_text_nbval_can_check(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type in ("display_data", "execute_result"):
                assert "text/plain" in output.data, cell.source


def test_sanitize_replaces_wall_clock_times_ids_addresses_and_temp_paths():
    text = (
        "2026-11-25T23:45:16.123456+00:00 | 2026-11-25 23:45:16.000001 | "
        "datetime.datetime(2026, 11, 25, 23, 45, 16, 123456, tzinfo=datetime.timezone.utc) | "
        "3f2b8c1e-9a4d-4b7e-8f00-1234567890ab | <object at 0x7f3a2b1c9d80> | "
        "/tmp/tmpab12cd/store.db"
    )
    assert sanitize(text) == (
        "WALL-CLOCK-TIME | WALL-CLOCK-TIME | WALL-CLOCK-DATETIME | UUID | "
        "<object at 0xADDRESS> | TEMPORARY-PATH"
    )


def test_sanitize_keeps_manual_clock_times_and_durations_checked():
    text = (
        "2026-03-01 09:00:05+00:00 | timestamp='2026-03-01T09:17:35+00:00' | "
        "0 days 00:43:32.500000 | datetime.datetime(2026, 3, 2, 16, 37, 35, "
        "tzinfo=datetime.timezone.utc) | build-042"
    )
    assert sanitize(text) == text
