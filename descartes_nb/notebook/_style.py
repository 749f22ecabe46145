"""The diagrams' palette: ink, muted, highlight and fill colours, and the font."""

from __future__ import annotations

from typing import Final

FONT: Final = "Helvetica"  # graphviz-pure has metrics for it; SVG falls back to sans-serif
INK: Final = "#37474f"
MUTED: Final = "#b0bec5"
MUTED_TEXT: Final = "#90a4ae"
IMPLICIT: Final = "#78909c"
LAST: Final = "#1565c0"
WRONG: Final = "#c62828"
UNDO: Final = "#7e57c2"
ACTIVE_FILL: Final = "#ffe082"
ACTIVE_CLUSTER_FILL: Final = "#fff8e1"
