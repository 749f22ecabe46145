"""The history-analysis notebook's charts in a real browser: JupyterLab, headless Chromium.

Runs notebooks/03_history_analysis.ipynb (outputs cleared first) in JupyterLab and checks
that every chart drew through JupyterLab's own Vega-Lite renderer (a canvas with pixels
painted), that hovering a timeline bar shows its tooltip, and that the page asked for
nothing outside this machine (no script from a CDN). Screenshots go to test-artifacts/.
JupyterLab is served and run as _lab.py says.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Request, expect

from ._lab import ARTIFACTS, Deadline, Lab, browser_page, lab_fixture

pytestmark = pytest.mark.browser
NOTEBOOK = "03_history_analysis.ipynb"
lab = lab_fixture(NOTEBOOK)

CHARTS = 5  # two timelines, occupancy, time in state, variants

# Per chart output: how many pixels of its canvas are painted (not transparent).
PAINTED_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output canvas'))
    .map(canvas => {
        const data = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return painted;
    })"""


def test_history_notebook_charts_draw_offline_in_chromium(lab: Lab, deadline: Deadline) -> None:
    outside: list[str] = []

    def on_request(request: Request) -> None:
        if urlparse(request.url).hostname not in ("127.0.0.1", None, ""):
            outside.append(request.url)

    # Tall enough that the whole notebook is on screen for the screenshot.
    last = "browser-03-last.png"
    with (
        lab.log_on_failure(deadline),
        browser_page(deadline, width=1500, height=9000, last=last) as page,
    ):
        page.on("request", on_request)
        lab.run_notebook(page, lab.start_session(NOTEBOOK), deadline)
        check_charts(page, deadline)
        page.screenshot(path=ARTIFACTS / "browser-03-history-analysis.png", timeout=deadline.ms())
        check_tooltip(page, deadline)
    assert outside == [], "the page loaded something from outside this machine"


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
