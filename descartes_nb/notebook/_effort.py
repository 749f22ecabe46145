"""How hard dot may work on a diagram, by its size; and the size past which it is not drawn.

``dot`` spends its time on long edges: every rank an edge crosses is a virtual node, every
edge label one more rank, and spline routing grows faster than the number of virtual nodes
(a 100-state workflow with 4 transitions per state: about 50 s, 21,000 virtual nodes, nearly
all of it routing splines). Past ``MEDIUM`` states (or edges) a diagram bounds the effort of
each phase (ranking and positioning iterations, crossing minimisation), puts edge labels
beside the edges (``xlabel``: half the ranks), and past ``LARGE`` draws straight lines
(no spline routing). Past ``MAX_STATES`` states or ``MAX_EDGES`` edges it is not drawn at
all: the renderer would need tens of seconds and hundreds of megabytes for a picture no one
can read. Figures in bench/README.md (``bench/bench_notebook.py --only diagrams``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MEDIUM: Final = (40, 120)
"""States and edges up to which dot lays a diagram out with its full effort."""
LARGE: Final = (80, 240)
"""States and edges past which edges are drawn as straight lines."""
MAX_STATES: Final = 300
MAX_EDGES: Final = 1200
_BOUNDED: Final = {  # each a fraction of what dot allows by default, or off
    "nslimit": "0.2",  # positioning: network simplex iterations per node
    "nslimit1": "0.2",  # ranking: the same
    "mclimit": "0.2",  # crossing minimisation passes
    "searchsize": "5",  # negative cut values searched per iteration (default 30)
    "remincross": "false",  # no second crossing minimisation
}

Effort = Literal["full", "bounded", "straight"]


@dataclass(frozen=True, slots=True)
class Size:
    """A diagram's size: drawn states, edges, and compound states that ``collapse`` shrinks."""

    states: int
    edges: int
    compound: int

    @property
    def effort(self) -> Effort:
        """How much layout effort a diagram of this size gets."""
        if self.states > LARGE[0] or self.edges > LARGE[1]:
            return "straight"
        if self.states > MEDIUM[0] or self.edges > MEDIUM[1]:
            return "bounded"
        return "full"

    @property
    def too_large(self) -> bool:
        """Whether it is past the size a display draws."""
        return self.states > MAX_STATES or self.edges > MAX_EDGES

    def refusal(self) -> str:
        """Why a display does not draw a diagram this large, and what to do instead."""
        return (
            f"a diagram of {self.states} states and {self.edges} transitions is too large to "
            f"draw (at most {MAX_STATES} states and {MAX_EDGES} transitions). " + self.advice()
        )

    def advice(self) -> str:
        """What to do when it is too large or too slow to draw: collapse only if it can."""
        if self.compound:
            return (
                f"Draw it with collapse=True ({self.compound} compound states, each drawn as "
                "one node), or collapse= some of them by name"
            )
        return (
            "It has no compound states to collapse: group its states under parents "
            "(StateDef(parent=...)) to draw it with collapse=True, or save its DOT source "
            "(.source) and lay it out with another tool"
        )


def graph_attrs(size: Size) -> dict[str, str]:
    """The graph attributes that bound dot's effort on a diagram of this size."""
    if size.effort == "full":
        return {}
    if size.effort == "bounded":
        return dict(_BOUNDED)
    return {**_BOUNDED, "mclimit": "0.1", "splines": "false"}
