"""One colour per state of a definition, the same in every chart and diagram: state_colors().

Pure and stable: the colours depend only on the state names and their order, so the same
definition gets the same colours in every call, process and notebook. A state whose name
says it failed is a red, one that says it succeeded a green, one that says it waits a grey;
the others take the next colour of a qualitative palette, in definition order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

from ..core._definition import WorkflowDefinition

Kind = Literal["failure", "success", "waiting", "other"]

PALETTES: Final[dict[Kind, tuple[str, ...]]] = {
    "failure": ("#d62728", "#9e1b1b", "#f07470", "#c2185b"),
    "success": ("#2ca02c", "#1b7a3a", "#7bc96f", "#00897b"),
    "waiting": ("#9e9e9e", "#78909c", "#bdbdbd"),
    # Tableau-like hues without its red and green, which say failed and succeeded here
    "other": (
        "#1f77b4",
        "#ff7f0e",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#17becf",
        "#bcbd22",
        "#3f51b5",
        "#f9a825",
        "#6d4c41",
    ),
}
_WORDS: Final[dict[Kind, re.Pattern[str]]] = {
    "failure": re.compile(
        r"fail|error|abort|abandon|reject|cancel|timeout|timed.?out|crash|dead|broken|declin",
        re.IGNORECASE,
    ),
    "success": re.compile(
        r"complet|done|success|succeed|finish|approv|accept|ship|deliver|merged|pass|resolv|clos",
        re.IGNORECASE,
    ),
    "waiting": re.compile(r"idle|new|draft|pending|queue|wait|created|ready", re.IGNORECASE),
}


def state_kind(name: str) -> Kind:
    """What a state's name says it is: ``failure``, ``success``, ``waiting`` or ``other``.

    Example:
        >>> [state_kind(s) for s in ("Failed", "Completed", "Idle", "Running")]
        ['failure', 'success', 'waiting', 'other']
    """
    for kind, words in _WORDS.items():
        if words.search(name):
            return kind
    return "other"


def state_colors(states: WorkflowDefinition | Iterable[str]) -> dict[str, str]:
    """Map each state of a definition (or each of some state names) to a colour.

    Example:
        >>> import descartes_nb as dn
        >>> state_colors(dn.LIFECYCLE)
        {'Idle': '#9e9e9e', 'Running': '#1f77b4', 'Paused': '#ff7f0e', 'Completed': '#2ca02c', 'Failed': '#d62728'}

    Args:
        states: a definition (its states in definition order, compound states included), or
            state names in the order they should take colours; repeats are ignored.

    Returns:
        A new dict, state name -> ``#rrggbb``, in the order given. The same names in the same
        order always give the same colours; charts and diagrams of one definition share them.

    Raises:
        TypeError: ``states`` is neither a definition nor an iterable of str.
    """  # noqa: E501 (the doctest's dict is one line)
    names = _names(states)
    used: dict[Kind, int] = dict.fromkeys(PALETTES, 0)
    colors: dict[str, str] = {}
    for name in names:
        kind = state_kind(name)
        palette = PALETTES[kind]
        colors[name] = palette[used[kind] % len(palette)]
        used[kind] += 1
    return colors


def _names(states: WorkflowDefinition | Iterable[str]) -> list[str]:
    if isinstance(states, WorkflowDefinition):
        return list(dict.fromkeys(map(str, states.state_names)))
    if isinstance(states, str | bytes) or not isinstance(states, Iterable):
        raise TypeError(
            "expected a WorkflowDefinition or an iterable of state names, "
            f"got {type(states).__name__} {states!r:.80}"
        )
    names = list(dict.fromkeys(states))
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(f"state names must be str, got {bad[0]!r} of type {type(bad[0]).__name__}")
    return names
