"""Notebook 06 (statecharts) in JupyterLab and headless Chromium: its widgets on regions.

Runs notebooks/06_statecharts.ipynb (outputs cleared) in JupyterLab as
test_diagram_fit.py does. On its EventPanel, both regions of the parallel state are filled
at once, and ``compiled`` moves one of them; its HistoryPlayer goes back through the hold
and the join, configuration by configuration. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

from . import test_diagram_fit as fit
from .test_teaching_notebook import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    TEST_S,
    Deadline,
    Lab,
    chromium,  # noqa: F401 (a fixture)
    current_states,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "06_statecharts.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/ with notebook 06's outputs cleared."""
    yield from fit.serve_lab(tmp_path_factory, NOTEBOOK)


def test_statechart_notebook_panel_and_player_in_chromium(lab: Lab, chromium: Path) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    deadline = Deadline(TEST_S)
    with lab.log_on_failure(deadline), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=deadline.ms()
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        try:
            fit.run_notebook(page, lab, deadline, NOTEBOOK)
            page.screenshot(path=ARTIFACTS / "statecharts-06-page.png", full_page=True)
            check_event_panel(page, deadline)
            check_history_player(page, deadline)
        finally:
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=ARTIFACTS / "statecharts-06-last.png", full_page=True)
            browser.close()


def check_event_panel(page: Page, deadline: Deadline) -> None:
    """Both regions filled; compiled moves Build alone; passed joins them into Review."""
    panel = page.locator(".descartes-nb-event-panel").last
    diagram = panel.locator(".descartes-nb-diagram")
    expect(current_states(diagram)).to_have_text(["Compiling", "Testing"], timeout=deadline.ms())
    passed = panel.get_by_role("button", name="passed", exact=True)
    expect(passed).to_be_enabled(timeout=deadline.ms())
    expect(panel.get_by_role("button", name="hold", exact=True)).to_be_disabled()
    panel.get_by_role("button", name="compiled", exact=True).click(timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Built", "Testing"], timeout=deadline.ms())
    expect(panel.get_by_role("button", name="compiled", exact=True)).to_be_disabled()
    panel.screenshot(path=ARTIFACTS / "statecharts-06-panel-compiled.png")
    passed.click(timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["CodeReview"], timeout=deadline.ms())
    expect(panel.locator(".descartes-nb-title")).to_contain_text("CodeReview")


def check_history_player(page: Page, deadline: Deadline) -> None:
    """From Shipped back to the resume, the hold, and the regions before the join."""
    player = page.locator(".descartes-nb-history-player").last
    entry = player.locator(".descartes-nb-entry")
    diagram = player.locator(".descartes-nb-diagram")
    expect(entry).to_contain_text("Step 6 of 6", timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Shipped"], timeout=deadline.ms())
    player.locator(".noUi-handle").first.focus(timeout=deadline.ms())
    page.keyboard.press("ArrowLeft")
    expect(entry).to_contain_text("Step 5 of 6", timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["SecurityReview"], timeout=deadline.ms())
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    expect(entry).to_contain_text("Step 1 of 6", timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Built", "Testing"], timeout=deadline.ms())
    player.screenshot(path=ARTIFACTS / "statecharts-06-player-step-1.png")
