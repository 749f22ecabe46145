"""Diagrams that fit the notebook: scaled down to the output's width, inline where hover matters.

JupyterLab shows an ``image/svg+xml`` output as an image (no tooltips); an HTML output
holding the SVG inline keeps them, and JupyterLab prefers HTML. Both are given, each sized
to shrink to the width of the output area (never grown), keeping its proportions.
"""

from __future__ import annotations

import re
from typing import Final

from ._dark import dark_style

FIT_WIDTH_PT: Final = 675.0
"""The width a diagram should fit without scaling: 900 px, a JupyterLab output area of a
1280 px window with its side panel closed, less a margin."""
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.DOTALL)
_WIDTH = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"', re.DOTALL)
_SHRINK: Final = "max-width:100%;height:auto"
_CLASS: Final = "descartes-nb-picture"
_DARK_STYLE: Final = dark_style(f".{_CLASS}")


def svg_width_pt(svg: str) -> float | None:
    """The width a renderer gave an SVG, in points (None when it gave none in points)."""
    found = _WIDTH.search(svg)
    return None if found is None else float(found[1])


def responsive(svg: str) -> str:
    """The SVG, its root element styled to shrink to its container's width."""
    found = _SVG_OPEN.search(svg)
    if found is None or "style=" in found[0]:
        return svg
    tag = found[0][:-1] + f' style="{_SHRINK}">'
    return svg[: found.start()] + tag + svg[found.end() :]


def inline_html(svg: str) -> str:
    """The SVG as HTML: no XML prolog, shrunk to the output width, tooltips on hover.

    Its style sheet re-inks it on a dark theme (see ``_dark``).
    """
    found = _SVG_OPEN.search(svg)
    body = responsive(svg[found.start() :] if found else svg)
    return f'<div class="{_CLASS}" style="max-width:100%">{_DARK_STYLE}{body}</div>'
