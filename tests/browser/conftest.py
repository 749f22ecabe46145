"""The browser tests' shared fixtures (Chromium present, a deadline); helpers are in _lab.py."""

from __future__ import annotations

from ._lab import chromium, deadline  # noqa: F401 (fixtures, found by name; chromium autouse)
