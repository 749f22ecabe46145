"""Diagrams on a dark theme: every colour a diagram uses is re-inked there, nothing else."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook._dark import DARK, DARK_THEMES, dark_style
from descartes_nb.notebook._style import ACTIVE_FILL, LAST, MUTED, UNDO, WRONG

_COLOR = re.compile(r'\b(?:fill|stroke)="([^"]+)"')


async def every_kind_of_picture(make_workflow) -> list[str]:
    """Inline HTML of diagrams using every legend item: taken, last, muted, rollback,
    a move the definition does not allow, an active compound state."""
    sm = make_workflow(dn.LIFECYCLE)
    for event in ("Start", "Pause", "Resume"):
        await sm.process_event(event)
    await sm.rollback()
    frame = dnb.history_frame(sm)
    tampered = frame.copy()
    tampered.loc[len(tampered) - 1, "to_state"] = "Completed"
    tampered["to_state"] = pd.Categorical(tampered["to_state"])
    pictures = [dnb.diagram(sm), dnb.overlay(dn.LIFECYCLE, tampered)]
    return [p.display_bundle()["text/html"] for p in pictures]


@pytest.mark.requires_dot
async def test_dark_style_re_inks_every_colour_a_diagram_uses(make_workflow):
    pages = await every_kind_of_picture(make_workflow)
    used = {c for page in pages for c in _COLOR.findall(page)} - {"none", "transparent"}
    assert {WRONG, UNDO, LAST, MUTED, ACTIVE_FILL, "white"} <= used  # the cases are there
    assert used - {ACTIVE_FILL} <= set(DARK), used - set(DARK)
    for page in pages:
        style = page[page.index("<style>") : page.index("</style>")]
        for color in used - {ACTIVE_FILL}:
            assert f'[fill="{color}"]{{fill:{DARK[color]}}}' in style
            assert f'[stroke="{color}"]{{stroke:{DARK[color]}}}' in style


def test_dark_style_applies_only_under_a_dark_theme_and_in_its_scope():
    style = dark_style(".pic")
    rules = style.removeprefix("<style>").removesuffix("</style>").splitlines()
    assert rules
    scope = f":is({', '.join(DARK_THEMES)}) .pic "
    assert all(rule.startswith(scope) for rule in rules)
    assert 'body[data-jp-theme-light="false"]' in scope
    assert f'g.node [fill="{ACTIVE_FILL}"] ~ text{{fill:#263238}}' in style  # on yellow
    assert '[fill="white"]{fill:transparent}' in style
