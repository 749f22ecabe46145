"""The history-analysis notebook's charts in a real browser: JupyterLab, headless Chromium.

Runs notebooks/03_history_analysis.ipynb (outputs cleared first) in JupyterLab and checks
that every chart drew through JupyterLab's own Vega-Lite renderer (a canvas with pixels
painted), that hovering a timeline bar shows its tooltip, and that the page asked for
nothing outside this machine (no script from a CDN). Screenshots go to test-artifacts/.
Shares the server, kernel and wait helpers of the teaching-notebook test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, expect, sync_playwright

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
    chromium,
    clear_outputs,
    free_port,
    wait_until_serving,
    write_settings,
)

pytestmark = pytest.mark.browser
NOTEBOOK = "03_history_analysis.ipynb"
CHARTS = 5  # two timelines, occupancy, time in state, variants
__all__ = ["chromium"]  # the fixture, used by name

# Per chart output: how many pixels of its canvas are painted (not transparent).
PAINTED_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output canvas'))
    .map(canvas => {
        const data = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return painted;
    })"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 serving a copy of notebooks/ with notebook 03 cleared."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    clear_outputs(root / "notebooks" / NOTEBOOK)
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
                *(sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root"),
                *("--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0"),
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


def test_history_notebook_charts_draw_offline_in_chromium(lab: Lab, chromium: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    deadline = Deadline(TEST_S)
    outside: list[str] = []

    def on_request(request: Request) -> None:
        if urlparse(request.url).hostname not in ("127.0.0.1", None, ""):
            outside.append(request.url)

    with lab.log_on_failure(deadline), sync_playwright() as playwright:
        body = {"path": NOTEBOOK, "type": "notebook", "name": "", "kernel": {"name": KERNEL_NAME}}
        kernel_id = str(lab.api("POST", "/api/sessions", body)["kernel"]["id"])
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=deadline.ms()
        )
        # Tall enough that the whole notebook is on screen for the screenshot.
        page = browser.new_page(viewport={"width": 1500, "height": 9000})
        page.on("request", on_request)
        try:
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={TOKEN}", timeout=deadline.ms())
            ready = page.wait_for_function(
                KERNEL_READY_JS, arg=[NOTEBOOK, kernel_id], polling=100, timeout=deadline.ms()
            )
            assert ready.json_value() == kernel_id
            run_all(page, kernel_id, deadline)
            check_charts(page, deadline)
            page.screenshot(
                path=ARTIFACTS / "browser-03-history-analysis.png", timeout=deadline.ms()
            )
            check_tooltip(page, deadline)
        finally:
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=ARTIFACTS / "browser-03-last.png")
            browser.close()
    assert outside == [], "the page loaded something from outside this machine"


def run_all(page: Page, kernel_id: str, deadline: Deadline) -> None:
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click(
        timeout=deadline.ms()
    )
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click(
        timeout=deadline.ms()
    )
    state = page.wait_for_function(
        RUN_STATE_JS,
        arg=[NOTEBOOK, kernel_id],
        polling=100,
        timeout=deadline.ms(),
    ).json_value()
    assert "problem" not in state, state["problem"]


def check_charts(page: Page, deadline: Deadline) -> None:
    """Each chart is JupyterLab's Vega renderer with a painted canvas, not the PNG fallback."""
    embeds = page.locator(".jp-OutputArea-output .vega-embed")
    expect(embeds).to_have_count(CHARTS, timeout=deadline.ms())
    expect(page.locator(".jp-OutputArea-output img[src^='data:image/png']")).to_have_count(
        0, timeout=deadline.ms()
    )
    painted = page.wait_for_function(
        f"() => {{ const p = ({PAINTED_JS})(); "
        f"return p.length === {CHARTS} && p.every(n => n > 5000) ? p : null; }}",
        polling=200,
        timeout=deadline.ms(),
    ).json_value()
    assert len(painted) == CHARTS


# Where in the first chart's canvas (CSS pixels from its corner) the first pixel of a colour
# is: a bar of that state's colour, found without assuming the layout.
FIND_COLOR_JS = """([r, g, b]) => {
    const canvas = document.querySelector('.jp-OutputArea-output .vega-embed canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const scale = canvas.width / canvas.clientWidth;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) {
            const x = (i / 4) % canvas.width, y = Math.floor(i / 4 / canvas.width);
            return [x / scale + 3, y / scale + 3];
        }
    }
    return null;
}"""
RUNNING_RGB = [0x1F, 0x77, 0xB4]  # state_colors(LIFECYCLE)["Running"]


def check_tooltip(page: Page, deadline: Deadline) -> None:
    """Hovering the first Running bar of the first timeline shows its tooltip."""
    canvas = page.locator(".jp-OutputArea-output .vega-embed canvas").first
    box = canvas.bounding_box(timeout=deadline.ms())
    assert box is not None
    spot = page.evaluate(FIND_COLOR_JS, RUNNING_RGB)
    assert spot is not None, "no Running bar drawn"
    page.mouse.move(box["x"] + spot[0], box["y"] + spot[1])
    tooltip = page.locator("#vg-tooltip-element")
    expect(tooltip).to_be_visible(timeout=deadline.ms())
    expect(tooltip).to_contain_text("Running", timeout=deadline.ms())
    expect(tooltip).to_contain_text("build-", timeout=deadline.ms())
    page.screenshot(path=ARTIFACTS / "browser-03-tooltip.png", timeout=deadline.ms())
