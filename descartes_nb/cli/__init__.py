"""The ``descartes-nb`` command; ``main`` is its console script (also ``python -m``)."""

from ._main import main

__all__ = ["main"]
