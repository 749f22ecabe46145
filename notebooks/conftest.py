"""nbval settings: rich outputs that vary by renderer or widget ids are not compared.

SVG diagrams and HTML tables differ by renderer and version (their text forms are still
compared); widget views carry random model ids.
"""

from __future__ import annotations

import pytest

SKIP_COMPARE = ("text/html", "image/svg+xml", "application/vnd.jupyter.widget-view+json")


def pytest_collectstart(collector: pytest.Collector) -> None:
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += SKIP_COMPARE
