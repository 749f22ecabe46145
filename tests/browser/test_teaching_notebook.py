"""The teaching notebook in a real browser: JupyterLab, headless Chromium, Playwright.

Runs notebooks/02_teaching_walkthrough.ipynb in JupyterLab, clicks Start on its last
EventPanel and checks the page: the diagram now fills Running and the history table gained
a row. Then it moves the HistoryPlayer's slider and checks the diagram changes back.
Screenshots go to test-artifacts/. How JupyterLab is served, the kernel started and every
wait bounded: _lab.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from ._lab import ARTIFACTS, Deadline, Lab, browser_page, current_states, lab_fixture, walk_player

pytestmark = pytest.mark.browser

NOTEBOOK = "02_teaching_walkthrough.ipynb"
lab = lab_fixture(NOTEBOOK)


def test_teaching_notebook_panel_and_player_in_chromium(lab: Lab, deadline: Deadline) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)  # an alert() here would mean injected script ran
        dialog.dismiss()

    with lab.log_on_failure(deadline):
        session = lab.start_session(NOTEBOOK)
        with browser_page(deadline, width=1500, height=1000, last="browser-last.png") as page:
            page.on("dialog", on_dialog)
            counts = lab.run_notebook(page, session, deadline)
            assert counts == list(range(1, len(counts) + 1)), "not every cell ran, in order, once"
            check_event_panel(page, deadline)
            # The last HistoryPlayer follows to step 1; its slider back to step 0 shows Idle.
            walk_player(page, 1, [(1, ["Running"]), (0, ["Idle"])], deadline)
            page.screenshot(
                path=ARTIFACTS / "browser-player-step-0.png", full_page=True, timeout=deadline.ms()
            )
            # Hostile text from users shows as text and runs nothing.
            hostile = page.get_by_text("<img src=x onerror=alert(1)>").first
            expect(hostile).to_be_visible(timeout=deadline.ms())
            expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=deadline.ms())
            assert dialogs == []
        kernels = [kernel["id"] for kernel in lab.api("GET", "/api/kernels")]
        assert kernels == [session.kernel_id], "JupyterLab started a kernel of its own"


def check_event_panel(page: Page, deadline: Deadline) -> None:
    """Start on the last EventPanel: title, history table and diagram follow."""
    panel = page.locator(".descartes-nb-event-panel").last
    expect(panel.locator(".descartes-nb-title")).to_contain_text("Idle", timeout=deadline.ms())
    # A new workflow: its history says it is empty, and only Start looks clickable.
    history_rows = panel.locator(".descartes-nb-history tr")
    expect(panel.locator(".descartes-nb-history")).to_contain_text(
        "No events processed yet.", timeout=deadline.ms()
    )
    expect(history_rows).to_have_count(0, timeout=deadline.ms())
    diagram = panel.locator(".descartes-nb-diagram")
    expect(current_states(diagram)).to_have_text(["Idle"], timeout=deadline.ms())
    start = panel.get_by_role("button", name="Start", exact=True)
    expect(start).to_be_enabled(timeout=deadline.ms())
    expect(start).to_have_class(re.compile(r"\bmod-primary\b"), timeout=deadline.ms())
    expect(panel.get_by_role("button", name="Pause", exact=True)).to_be_disabled(
        timeout=deadline.ms()
    )
    start.click(timeout=deadline.ms())
    expect(panel.locator(".descartes-nb-title")).to_contain_text("Running", timeout=deadline.ms())
    expect(panel.locator(".descartes-nb-message")).to_contain_text(
        "Processed Start: Idle → Running.", timeout=deadline.ms()
    )
    expect(history_rows).to_have_count(2, timeout=deadline.ms())
    expect(current_states(diagram)).to_have_text(["Running"], timeout=deadline.ms())
    page.screenshot(
        path=ARTIFACTS / "browser-panel-after-start.png", full_page=True, timeout=deadline.ms()
    )
