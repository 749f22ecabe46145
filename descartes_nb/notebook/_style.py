"""The diagrams' palette: ink, muted, highlight and fill colours, and the font.

Colour in a diagram means what its legend says (current state, last transition, not allowed
now, rollback, not allowed by the definition), so states are not filled with their chart
colour (``_palette.state_colors``): a red "Failed" would read as "not allowed by the
definition", a filled state as the current one. Charts carry the per-state colours; a
diagram's states are named, which is how they are matched. ``_dark`` re-inks these colours
on a dark theme.
"""

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
