"""Rich display without display libraries: objects give their text, formatters add the rest.

Core objects (machines, definitions, serialized workflows, the orchestrator) define
``_repr_mimebundle_`` with a stable ``text/plain`` form (no memory addresses, no times). The
notebook layer registers a formatter here on import, which adds SVG diagrams and HTML tables,
so that the core itself never imports graphviz, pandas or IPython.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

Formatter = Callable[[object, Callable[[str], bool]], Mapping[str, Any]]
"""``formatter(obj, wanted)``: more mimetypes for ``obj`` (only those ``wanted(mimetype)``)."""

_formatters: list[Formatter] = []

_SHORT: Final = reprlib.Repr()
_SHORT.maxdict = _SHORT.maxlist = 8
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlevel = 3


def register_formatter(formatter: Formatter) -> None:
    """Let ``formatter`` add mimetypes to the display of core objects (once)."""
    if formatter not in _formatters:
        _formatters.append(formatter)


def unregister_formatter(formatter: Formatter) -> None:
    """Stop using ``formatter``; nothing happens if it is not registered."""
    if formatter in _formatters:
        _formatters.remove(formatter)


def mimebundle(
    obj: object,
    text: str,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """The display of ``obj``: ``text`` as ``text/plain`` plus what the formatters add.

    ``include`` and ``exclude`` are IPython's: the mimetypes wanted, and those not wanted.
    """

    def wanted(mimetype: str) -> bool:
        return (include is None or mimetype in include) and (
            exclude is None or mimetype not in exclude
        )

    bundle: dict[str, Any] = {}
    for formatter in _formatters:
        bundle.update(formatter(obj, wanted))
    bundle["text/plain"] = text
    return {mimetype: data for mimetype, data in bundle.items() if wanted(mimetype)}


def short_repr(value: object) -> str:
    """A repr cut short for display: a few items per level, long strings abbreviated."""
    return _SHORT.repr(value)
