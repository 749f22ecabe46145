"""The teaching notebook in a real browser: JupyterLab, headless Chromium, Playwright.

Runs notebooks/02_teaching_walkthrough.ipynb in JupyterLab, clicks Start on its last
EventPanel and checks the page: the diagram now fills Running and the history table gained
a row. Then it moves the HistoryPlayer's slider and checks the diagram changes back.
Screenshots go to test-artifacts/. Skips where Chromium is absent, except under CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "02_teaching_walkthrough.ipynb"
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "descartes-nb-browser-test"
CURRENT_FILL = "#ffe082"  # the diagram's fill for the current state
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The state names of the diagram's nodes that are filled as current.
CURRENT_STATES_JS = f"""(el) => Array.from(el.querySelectorAll('g.node'))
    .filter(n => Array.from(n.querySelectorAll('path,polygon,ellipse'))
        .some(s => s.getAttribute('fill') === '{CURRENT_FILL}'))
    .map(n => n.querySelector('text').textContent)"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    return CHROMIUM


def write_settings(folder: Path) -> None:
    """Start the kernel without asking, render every cell (no windowing), fetch no news."""
    settings = {
        "notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        plugin, file = name.split("/")
        path = folder / "@jupyterlab" / plugin / f"{file}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1, serving a copy of notebooks/ (the repository stays clean)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    write_settings(root / "settings")
    port = free_port()
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root / 'notebooks'}",
            f"--LabApp.user_settings_dir={root / 'settings'}",
            "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"JupyterLab did not start; see {root / 'lab.log'}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_teaching_notebook_panel_and_player_in_chromium(lab: str, chromium: Path) -> None:
    from playwright.sync_api import Dialog, expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)  # an alert() here would mean injected script ran
            dialog.dismiss()

        page.on("dialog", on_dialog)
        try:
            page.goto(f"{lab}/lab/tree/{NOTEBOOK}?token={TOKEN}")
            run_all_cells(page)
            panel = page.locator(".descartes-nb-event-panel").last
            expect(panel.locator(".descartes-nb-title")).to_contain_text("Idle", timeout=120_000)
            rows_before = panel.locator(".descartes-nb-history tr").count()
            panel.locator("button", has_text="Start").click()
            expect(panel.locator(".descartes-nb-title")).to_contain_text("Running")
            expect(panel.locator(".descartes-nb-history tr")).to_have_count(rows_before + 1)
            diagram = panel.locator(".descartes-nb-diagram")
            assert diagram.evaluate(CURRENT_STATES_JS) == ["Running"]
            page.screenshot(path=ARTIFACTS / "browser-panel-after-start.png", full_page=True)

            player = page.locator(".descartes-nb-history-player").last
            player_diagram = player.locator(".descartes-nb-diagram")
            expect(player.locator(".descartes-nb-entry")).to_contain_text("step 1 of 1")
            assert player_diagram.evaluate(CURRENT_STATES_JS) == ["Running"]
            player.locator(".noUi-handle").first.focus()
            page.keyboard.press("ArrowLeft")
            expect(player.locator(".descartes-nb-entry")).to_contain_text("step 0 of 1")
            assert player_diagram.evaluate(CURRENT_STATES_JS) == ["Idle"]
            page.screenshot(path=ARTIFACTS / "browser-player-step-0.png", full_page=True)

            # Hostile text from users shows as text and runs nothing.
            expect(page.get_by_text("<img src=x onerror=alert(1)>").first).to_be_visible()
            assert dialogs == []
        finally:
            page.screenshot(path=ARTIFACTS / "browser-last.png", full_page=True)
            browser.close()


def run_all_cells(page: Page) -> None:
    """Wait for the kernel, Run > Run All Cells, and wait until every cell has run.

    JupyterLab may report the kernel idle a moment before the notebook can run cells; a
    Run All that came too early runs nothing, so it is asked again (re-running from the
    top is harmless here).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    status = page.locator(".jp-Notebook-ExecutionIndicator")
    expect(status).to_have_attribute("data-status", "idle", timeout=120_000)
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for _ in range(5):
        page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
        # exact: the menus also hold "Restart Kernel and Run All Cells…", which asks first
        page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[[\d*]+\]"), timeout=15_000)
            break
        except (AssertionError, PlaywrightTimeout):
            continue
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    expect(prompts.last).to_have_text(re.compile(r"\[\d+\]"), timeout=180_000)
    expect(page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[*]")).to_have_count(0)
