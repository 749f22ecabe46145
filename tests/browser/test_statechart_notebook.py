"""Notebook 06 (statecharts) in JupyterLab and headless Chromium: its widgets on regions.

Runs notebooks/06_statecharts.ipynb (outputs cleared) in JupyterLab, served and run as
_lab.py says. On its EventPanel, both regions of the parallel state are filled at once, and
``compiled`` moves one of them; its HistoryPlayer goes back through the hold and the join,
configuration by configuration. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ._lab import ARTIFACTS, Deadline, Lab, browser_page, current_states, lab_fixture, walk_player

pytestmark = pytest.mark.browser

NOTEBOOK = "06_statecharts.ipynb"
lab = lab_fixture(NOTEBOOK)


def test_statechart_notebook_panel_and_player_in_chromium(lab: Lab, deadline: Deadline) -> None:
    last = "statecharts-06-last.png"
    with (
        lab.log_on_failure(deadline),
        browser_page(deadline, width=1500, height=1000, last=last) as page,
    ):
        lab.run_notebook(page, lab.start_session(NOTEBOOK), deadline)
        page.screenshot(path=ARTIFACTS / "statecharts-06-page.png", full_page=True)
        check_event_panel(page, deadline)
        # From Shipped back to the resume, the hold, and the regions before the join.
        stops = [(6, ["Shipped"]), (5, ["SecurityReview"]), (1, ["Built", "Testing"])]
        player = walk_player(page, 6, stops, deadline)
        player.screenshot(path=ARTIFACTS / "statecharts-06-player-step-1.png")


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
