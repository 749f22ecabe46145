"""Diagrams on a dark notebook theme: a style sheet that re-inks the inline SVG there.

The SVG keeps its light colours (an exported file, a GitHub page, an image output read on
white). Its inline HTML carries a small style sheet, scoped to ``.descartes-nb-picture`` and
applied only under a dark theme (JupyterLab's ``body[data-jp-theme-light="false"]``, VS
Code's ``body.vscode-dark``): the white background becomes transparent, ink and muted greys
turn light, highlight colours turn lighter; the current state keeps its yellow fill with
dark text, so it reads the same on both. CSS properties override SVG presentation attributes,
so the SVG itself is not rewritten.
"""

from __future__ import annotations

from typing import Final

from ._style import (
    ACTIVE_CLUSTER_FILL,
    ACTIVE_FILL,
    IMPLICIT,
    INK,
    LAST,
    MUTED,
    MUTED_TEXT,
    UNDO,
    WRONG,
)

DARK_THEMES: Final = ('body[data-jp-theme-light="false"]', "body.vscode-dark")
DARK: Final[dict[str, str]] = {
    "white": "transparent",  # the page behind the graph and the legend
    INK: "#cfd8dc",
    MUTED: "#546e7a",
    MUTED_TEXT: "#78909c",
    IMPLICIT: "#90a4ae",
    LAST: "#64b5f6",
    WRONG: "#ef5350",
    UNDO: "#b39ddb",
    ACTIVE_CLUSTER_FILL: "rgba(255, 224, 130, 0.14)",
}
"""Light colour -> its dark-theme replacement (fills and strokes alike)."""
_ON_ACTIVE: Final = "#263238"  # text on the current state's yellow


def dark_style(scope: str) -> str:
    """A ``<style>`` element re-inking the SVGs under ``scope`` on a dark theme."""
    where = f":is({', '.join(DARK_THEMES)}) {scope}"
    rules = [
        f'{where} [{attr}="{light}"]{{{attr}:{dark}}}'
        for light, dark in DARK.items()
        for attr in ("fill", "stroke")
    ]
    rules.append(f"{where} text:not([fill]){{fill:{DARK[INK]}}}")  # the title: black by default
    rules.append(f'{where} g.node [fill="{ACTIVE_FILL}"] ~ text{{fill:{_ON_ACTIVE}}}')
    return "<style>" + "\n".join(rules) + "</style>"
