"""Diagrams fit JupyterLab's output area: notebook 05 run in headless Chromium.

Runs notebooks/05_declarative_workflows.ipynb (outputs cleared) in JupyterLab and checks
that no output is wider than the area it is shown in (``scrollWidth <= clientWidth``), that
diagrams are shown inline (so that hovering over a state shows its description), and that a
diagram painted with a workflow's run carries its legend. Screenshots of the page and of
each diagram go to test-artifacts/. JupyterLab is started as in test_teaching_notebook.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from .test_teaching_notebook import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    KERNEL_NAME,
    KERNEL_READY_JS,
    ROOT,
    RUN_STATE_JS,
    SHUTDOWN_S,
    TEST_S,
    TOKEN,
    Deadline,
    Lab,
    chromium,  # noqa: F401 (a fixture)
    clear_outputs,
    free_port,
    wait_until_serving,
    write_settings,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "05_declarative_workflows.ipynb"
# Every output area of the notebook: how wide its content is, and how wide it is shown.
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map((o, i) => ({index: i, scroll: o.scrollWidth, client: o.clientWidth,
                     svg: o.querySelector('svg, img') ? o.querySelector('svg, img')
                          .getBoundingClientRect().width : null,
                     inline: !!o.querySelector('.descartes-nb-picture svg'),
                     legend: !!o.querySelector('svg g.legend')}))"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/ with notebook 05's outputs cleared."""
    yield from serve_lab(tmp_path_factory, NOTEBOOK)


def serve_lab(tmp_path_factory: pytest.TempPathFactory, notebook: str) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/ with ``notebook``'s outputs cleared."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    clear_outputs(root / "notebooks" / notebook)
    write_settings(root / "settings")
    port = free_port()
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    lab = Lab(f"http://127.0.0.1:{port}", root / "lab.log")
    with lab.log.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={root / 'notebooks'}",
                f"--LabApp.user_settings_dir={root / 'settings'}",
                f"--LabApp.workspaces_dir={root / 'workspaces'}",
                "--LabApp.expose_app_in_browser=True",
                "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until_serving(lab, server)
            yield lab
        finally:
            server.terminate()
            try:
                server.wait(timeout=SHUTDOWN_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def run_notebook(page: Page, lab: Lab, deadline: Deadline, notebook: str = NOTEBOOK) -> None:
    """Open the notebook on a kernel started here, run every cell, wait until all ran."""
    body = {"path": notebook, "type": "notebook", "name": "", "kernel": {"name": KERNEL_NAME}}
    kernel_id = str(lab.api("POST", "/api/sessions", body)["kernel"]["id"])
    page.goto(f"{lab.url}/lab/tree/{notebook}?token={TOKEN}", timeout=deadline.ms())
    page.wait_for_function(
        KERNEL_READY_JS, arg=[notebook, kernel_id], polling=100, timeout=deadline.ms()
    )
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click(
        timeout=deadline.ms()
    )
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click(
        timeout=deadline.ms()
    )
    state = page.wait_for_function(
        RUN_STATE_JS, arg=[notebook, kernel_id], polling=100, timeout=deadline.ms()
    ).json_value()
    assert "problem" not in state, state["problem"]


def test_notebook_05_diagrams_fit_the_output_area(lab: Lab, chromium: Path) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    deadline = Deadline(TEST_S)
    with lab.log_on_failure(deadline), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=deadline.ms()
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            run_notebook(page, lab, deadline)
            outputs: list[dict[str, Any]] = page.evaluate(OVERFLOW_JS)
            pictures = [o for o in outputs if o["svg"] is not None]
            shown = page.locator(".jp-OutputArea-output").locator("svg, img")
            for n, picture in enumerate(shown.all()):
                with contextlib.suppress(PlaywrightError):  # a picture scrolled out of reach
                    picture.screenshot(path=ARTIFACTS / f"fit-05-diagram-{n}.png")
        finally:
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=ARTIFACTS / "fit-05-page.png", full_page=True)
            browser.close()
    wide = [o for o in outputs if o["scroll"] > o["client"]]
    assert wide == [], f"outputs wider than their area: {wide}"
    assert len(pictures) >= 4, outputs  # code, invoice, deploy and the run workflow
    assert all(o["svg"] <= o["client"] for o in pictures), pictures
    shown_inline = [o for o in pictures if o["inline"]]
    assert len(shown_inline) >= 3, pictures  # what diagram() and a machine display
    assert any(o["legend"] for o in pictures), pictures  # the run workflow's colours
