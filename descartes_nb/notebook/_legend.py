"""The legend under a diagram: what its colours and line styles mean, only those it uses.

Added to the rendered SVG (below the graph, inside the same picture), so it never moves a
state: the layout is the renderer's, the legend a strip under it.
"""

from __future__ import annotations

import html
import re
from typing import Final, Literal

from ._model import GraphModel
from ._style import ACTIVE_FILL, IMPLICIT, INK, LAST, MUTED, UNDO, WRONG

LegendItem = Literal[
    "current", "last", "taken", "muted", "implicit", "rollback", "undefined", "previous"
]
TEXT: Final[dict[LegendItem, str]] = {
    "current": "current state",
    "last": "last transition",
    "taken": "taken (×count, heavier when more often)",
    "muted": "not allowed now",
    "implicit": "implicit (Fail, Timeout)",
    "rollback": "rollback",
    "undefined": "not allowed by the definition",
    "previous": "back to the previous state",
}
_FONT_SIZE: Final = 9.0
_ROW: Final = 14.0
_SAMPLE: Final = 22.0  # width of a line sample or a swatch
_GAP: Final = 12.0
_SVG_TAG = re.compile(
    r'<svg width="(?P<w>[\d.]+)pt" height="(?P<h>[\d.]+)pt"\s+'
    r'viewBox="(?P<x>[-\d.]+) (?P<y>[-\d.]+) (?P<vw>[\d.]+) (?P<vh>[\d.]+)"'
)


def legend_items(model: GraphModel) -> tuple[LegendItem, ...]:
    """The legend entries a model's picture needs, in a fixed order."""
    edges, nodes = model.edges, model.nodes
    used: dict[LegendItem, bool] = {
        "current": any(n.active for n in nodes),
        "last": any(e.last for e in edges),
        "taken": any(e.count for e in edges),
        "muted": any(e.enabled is False and e.kind == "defined" for e in edges),
        "implicit": any(e.implicit for e in edges),
        "rollback": any(e.kind == "undo" for e in edges),
        "undefined": any(e.kind == "undefined" for e in edges) or any(not n.known for n in nodes),
        "previous": any(n.kind == "previous" for n in nodes),
    }
    return tuple(item for item, shown in used.items() if shown)


def with_legend(svg: str, items: tuple[LegendItem, ...]) -> str:
    """The SVG with a legend strip under the graph (unchanged without items or a size)."""
    found = _SVG_TAG.search(svg)
    if not items or found is None:
        return svg
    width, height = float(found["w"]), float(found["h"])
    box_w, box_h = float(found["vw"]), float(found["vh"])
    rows = _rows(items, max(box_w - 8, 160.0))
    extra = len(rows) * _ROW + 6
    top = float(found["y"]) + box_h
    parts = [
        f'<g class="legend"><rect x="{found["x"]}" y="{top:.2f}" width="{box_w:.2f}" '
        f'height="{extra:.2f}" fill="white" stroke="none"/>'
    ]
    for r, row in enumerate(rows):
        y = top + 2 + (r + 0.5) * _ROW
        x = float(found["x"]) + 4
        for item in row:
            parts.append(_entry(item, x, y))
            x += _width(item) + _GAP
    parts.append("</g>")
    tag = (
        f'<svg width="{width:g}pt" height="{height * (box_h + extra) / box_h:.2f}pt"\n'
        f' viewBox="{found["x"]} {found["y"]} {box_w:.2f} {box_h + extra:.2f}"'
    )
    svg = svg[: found.start()] + tag + svg[found.end() :]
    end = svg.rindex("</svg>")
    return svg[:end] + "".join(parts) + "\n" + svg[end:]


def _width(item: LegendItem) -> float:
    return _SAMPLE + 4 + len(TEXT[item]) * _FONT_SIZE * 0.52


def _rows(items: tuple[LegendItem, ...], room: float) -> list[list[LegendItem]]:
    rows: list[list[LegendItem]] = [[]]
    used = 0.0
    for item in items:
        if rows[-1] and used + _width(item) > room:
            rows.append([])
            used = 0.0
        rows[-1].append(item)
        used += _width(item) + _GAP
    return rows


def _entry(item: LegendItem, x: float, y: float) -> str:
    text = (
        f'<text x="{x + _SAMPLE + 4:.2f}" y="{y + 3:.2f}" font-family="Helvetica,sans-Serif" '
        f'font-size="{_FONT_SIZE:g}" fill="{INK}">{html.escape(TEXT[item])}</text>'
    )
    return f"<g><title>{html.escape(TEXT[item])}</title>{_sample(item, x, y)}{text}</g>"


def _sample(item: LegendItem, x: float, y: float) -> str:
    if item == "current":
        return (
            f'<rect x="{x:.2f}" y="{y - 5:.2f}" width="{_SAMPLE}" height="10" rx="3" '
            f'fill="{ACTIVE_FILL}" stroke="{INK}" stroke-width="1.5"/>'
        )
    if item == "previous":
        return (
            f'<circle cx="{x + 8:.2f}" cy="{y:.2f}" r="6" fill="none" stroke="{INK}"/>'
            f'<text x="{x + 8:.2f}" y="{y + 3:.2f}" text-anchor="middle" '
            f'font-family="Helvetica,sans-Serif" font-size="7" fill="{INK}">H</text>'
        )
    color, width, dash = {
        "last": (LAST, 2.5, ""),
        "taken": (INK, 3.5, ""),
        "muted": (MUTED, 1.2, ""),
        "implicit": (IMPLICIT, 1.0, "5,2"),
        "rollback": (UNDO, 1.2, "5,2"),
        "undefined": (WRONG, 2.0, ""),
    }[item]
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<path d="M{x:.2f},{y:.2f} L{x + _SAMPLE - 4:.2f},{y:.2f}" stroke="{color}" '
        f'stroke-width="{width}"{dashes} fill="none"/>'
        f'<polygon points="{x + _SAMPLE:.2f},{y:.2f} {x + _SAMPLE - 5:.2f},{y - 3:.2f} '
        f'{x + _SAMPLE - 5:.2f},{y + 3:.2f}" fill="{color}" stroke="none"/>'
    )
