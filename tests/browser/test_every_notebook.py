"""Every notebook in a real browser, on JupyterLab's Dark theme: JupyterLab, headless Chromium.

One JupyterLab (theme "JupyterLab Dark") serves a copy of notebooks/ with every output
cleared. Each notebook is opened in a workspace of its own, on a kernel started through the
REST API, and run; then the page is checked: no output is wider than its area
(``scrollWidth <= clientWidth``), every diagram that paints a run carries its legend and is
re-inked for the dark theme (transparent background, light ink), every Vega-Lite chart drew
through JupyterLab's renderer (a canvas with marks painted), and on notebook 02 a click on an
EventPanel's Start moves the workflow. A screenshot of each whole notebook goes to
test-artifacts/. Waits are on explicit signals (see _lab.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from descartes_nb.notebook._style import ACTIVE_FILL, LAST, MUTED, UNDO, WRONG

from ._lab import ARTIFACTS, ROOT, Deadline, Lab, chromium_browser, current_states, lab_fixture

pytestmark = pytest.mark.browser

NOTEBOOKS: Final = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TEST_S: Final = 900.0  # every notebook, on a loaded 2-core machine
lab = lab_fixture(*NOTEBOOKS, theme="JupyterLab Dark")

VEGALITE_MIME: Final = "application/vnd.vegalite.v5+json"
MEANING: Final = (ACTIVE_FILL, LAST, MUTED, UNDO, WRONG)  # colours a legend explains
DARK_INK: Final = "rgb(207, 216, 220)"  # _dark.DARK[INK], as the browser computes it

# What the kernel sent: how many chart outputs (Vega-Lite) the notebook holds.
CHART_COUNT_JS = f"""(path) => {{
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find(w => w.context && w.context.path === path);
    return panel.content.widgets.filter(cell => cell.model.type === 'code')
        .flatMap(cell => cell.model.outputs.toJSON())
        .filter(o => o.data && o.data['{VEGALITE_MIME}']).length;
}}"""
# Every output area: its widths; every inline diagram: legend, meaning colours, dark inks.
OUTPUTS_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map((o, i) => ({index: i, scroll: o.scrollWidth, client: o.clientWidth}))"""
DIAGRAMS_JS = """(meaning) => Array.from(document.querySelectorAll('.descartes-nb-picture svg'))
    .map((svg, i) => {
        const painted = meaning.some(c => svg.querySelector(`[fill="${c}"], [stroke="${c}"]`));
        const page = svg.querySelector('g.graph > polygon');
        const plain = Array.from(svg.querySelectorAll('g.node'))
            .find(g => !g.querySelector(`[fill="${meaning[0]}"]`));  // not the current state
        const text = plain && plain.querySelector('text');
        const legend = Array.from(svg.querySelectorAll('g.legend text'))
            .map(t => getComputedStyle(t).fill);
        return {index: i, painted, legend: legend.length > 0, legend_inks: legend,
                background: page ? getComputedStyle(page).fill : null,
                ink: text ? getComputedStyle(text).fill : null};
    })"""
# Painted pixels of each chart's canvas, once every chart the kernel sent has one.
PAINTED_JS = """(expected) => {
    const canvases = Array.from(
        document.querySelectorAll('.jp-OutputArea-output .vega-embed canvas'));
    if (canvases.length !== expected) return null;
    const painted = canvases.map(canvas => {
        const data = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
    });
    return painted.every(n => n > 2000) ? painted : null;
}"""
# The notebook's whole height, once the viewport holds it all (nothing left to scroll).
_SCROLLER = """document.querySelector('.jp-NotebookPanel-notebook .jp-WindowedPanel-outer')
    || document.querySelector('.jp-NotebookPanel-notebook')"""
# Where the last cell ends, scrolled to the top: the viewport height the notebook needs.
NOTEBOOK_HEIGHT_JS = f"""() => {{
    const nb = {_SCROLLER};
    nb.scrollTop = 0;
    const cells = nb.querySelectorAll('.jp-Cell');
    return Math.ceil(cells[cells.length - 1].getBoundingClientRect().bottom);
}}"""
# Once the viewport holds the whole notebook: scrolled to the top, the last cell on screen.
ALL_SHOWN_JS = f"""() => {{
    const nb = {_SCROLLER};
    const cells = nb.querySelectorAll('.jp-Cell');
    const bottom = cells[cells.length - 1].getBoundingClientRect().bottom;
    return nb.scrollTop === 0 && bottom <= window.innerHeight ? bottom : null;
}}"""


def test_every_notebook_fits_explains_and_draws_on_dark(lab: Lab) -> None:
    deadline = Deadline(TEST_S)
    with lab.log_on_failure(deadline), chromium_browser(deadline) as browser:
        for n, notebook in enumerate(NOTEBOOKS):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            try:
                check_notebook(page, lab, notebook, f"nb{n}", deadline)
            finally:
                page.close()


def check_notebook(
    page: Page, lab: Lab, notebook: str, workspace: str, deadline: Deadline
) -> None:
    """Run one notebook in a fresh workspace; check widths, diagrams, charts; screenshot it."""
    session = lab.start_session(notebook)
    stem = notebook.removesuffix(".ipynb")
    try:
        lab.run_notebook(page, session, deadline, workspace=workspace)
        page.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'false'", timeout=deadline.ms()
        )
        charts = check_charts(page, notebook, deadline)
        check_diagrams(page, notebook)
        wide = [o for o in page.evaluate(OUTPUTS_JS) if o["scroll"] > o["client"]]
        assert wide == [], f"{notebook}: outputs wider than their area: {wide}"
        if notebook.startswith("02_"):
            click_start(page, deadline)
        screenshot_whole(page, ARTIFACTS / f"browser-dark-{stem}.png", deadline)
        assert charts > 0 or not notebook.startswith("03_"), "notebook 03 drew no chart"
    except Exception:
        with contextlib.suppress(PlaywrightError):
            page.screenshot(path=ARTIFACTS / f"browser-dark-{stem}-failed.png")
        raise
    finally:
        lab.api("DELETE", f"/api/sessions/{session.id}")  # its kernel goes with it


def check_charts(page: Page, notebook: str, deadline: Deadline) -> int:
    """Every chart the kernel sent drew in JupyterLab's Vega renderer, marks painted."""
    expected = int(page.evaluate(CHART_COUNT_JS, notebook))
    expect(page.locator(".jp-OutputArea-output .vega-embed")).to_have_count(
        expected, timeout=deadline.ms()
    )
    if expected:
        page.wait_for_function(PAINTED_JS, arg=expected, polling=200, timeout=deadline.ms())
    return expected


def check_diagrams(page: Page, notebook: str) -> None:
    """Diagrams painted with a run carry their legend; all are re-inked for the dark theme."""
    diagrams: list[dict[str, Any]] = page.evaluate(DIAGRAMS_JS, list(MEANING))
    unexplained = [d["index"] for d in diagrams if d["painted"] and not d["legend"]]
    assert unexplained == [], f"{notebook}: diagrams without their legend: {unexplained}"
    glaring = [d for d in diagrams if d["background"] not in (None, "rgba(0, 0, 0, 0)")]
    assert glaring == [], f"{notebook}: diagrams on a white card: {glaring}"
    dark_ink = [
        d
        for d in diagrams
        if d["ink"] not in (None, DARK_INK) or set(d["legend_inks"]) - {DARK_INK}
    ]
    assert dark_ink == [], f"{notebook}: diagrams with dark ink on the dark theme: {dark_ink}"


def click_start(page: Page, deadline: Deadline) -> None:
    """On the dark theme, Start on the last EventPanel moves its diagram to Running."""
    panel = page.locator(".descartes-nb-event-panel").last
    diagram = panel.locator(".descartes-nb-diagram")
    expect(current_states(diagram)).to_have_text(["Idle"], timeout=deadline.ms())
    panel.get_by_role("button", name="Start", exact=True).click(timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Running"], timeout=deadline.ms())


def screenshot_whole(page: Page, path: Path, deadline: Deadline) -> None:
    """Grow the viewport to the notebook's height, wait until it is all shown, shoot."""
    needed = int(page.evaluate(NOTEBOOK_HEIGHT_JS)) + 40
    height = min(max(needed, 900), 16000)  # Chromium's largest screenshot
    page.set_viewport_size({"width": 1280, "height": height})
    if height == needed:
        page.wait_for_function(ALL_SHOWN_JS, polling=100, timeout=deadline.ms())
    page.screenshot(path=path, timeout=deadline.ms())
