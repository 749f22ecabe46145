"""Diagrams fit JupyterLab's output area: notebook 05 run in headless Chromium.

Runs notebooks/05_declarative_workflows.ipynb (outputs cleared) in JupyterLab and checks
that no output is wider than the area it is shown in (``scrollWidth <= clientWidth``), that
diagrams are shown inline (so that hovering over a state shows its description), and that a
diagram painted with a workflow's run carries its legend. Screenshots of the page and of
each diagram go to test-artifacts/. JupyterLab is served and run as _lab.py says.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from ._lab import ARTIFACTS, Deadline, Lab, browser_page, lab_fixture

pytestmark = pytest.mark.browser

NOTEBOOK = "05_declarative_workflows.ipynb"
lab = lab_fixture(NOTEBOOK)

# Every output area of the notebook: how wide its content is, and how wide it is shown.
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map((o, i) => ({index: i, scroll: o.scrollWidth, client: o.clientWidth,
                     svg: o.querySelector('svg, img') ? o.querySelector('svg, img')
                          .getBoundingClientRect().width : null,
                     inline: !!o.querySelector('.descartes-nb-picture svg'),
                     legend: !!o.querySelector('svg g.legend')}))"""


def test_notebook_05_diagrams_fit_the_output_area(lab: Lab, deadline: Deadline) -> None:
    with (
        lab.log_on_failure(deadline),
        browser_page(deadline, width=1280, height=900, last="fit-05-page.png") as page,
    ):
        lab.run_notebook(page, lab.start_session(NOTEBOOK), deadline)
        outputs: list[dict[str, Any]] = page.evaluate(OVERFLOW_JS)
        pictures = [o for o in outputs if o["svg"] is not None]
        shown = page.locator(".jp-OutputArea-output").locator("svg, img")
        for n, picture in enumerate(shown.all()):
            with contextlib.suppress(PlaywrightError):  # a picture scrolled out of reach
                picture.screenshot(path=ARTIFACTS / f"fit-05-diagram-{n}.png")
    wide = [o for o in outputs if o["scroll"] > o["client"]]
    assert wide == [], f"outputs wider than their area: {wide}"
    assert len(pictures) >= 4, outputs  # code, invoice, deploy and the run workflow
    assert all(o["svg"] <= o["client"] for o in pictures), pictures
    shown_inline = [o for o in pictures if o["inline"]]
    assert len(shown_inline) >= 3, pictures  # what diagram() and a machine display
    assert any(o["legend"] for o in pictures), pictures  # the run workflow's colours
