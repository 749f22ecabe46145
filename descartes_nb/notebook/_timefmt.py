"""Durations as people write them: ``850ms``, ``5s``, ``14m 23s``, ``2h 05m``, ``3d 04h``."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd


def format_duration(value: timedelta | pd.Timedelta | float) -> str:
    """A duration (or a number of seconds) in its two largest units.

    Example:
        >>> [format_duration(s) for s in (0.85, 5, 863, 7500, 273600)]
        ['850ms', '5s', '14m 23s', '2h 05m', '3d 04h']
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if math.isnan(seconds):
        return ""
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f}ms"
    whole = round(seconds)
    if whole < 60:
        return f"{sign}{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{sign}{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours:02d}h"


def format_durations(values: pd.Series) -> pd.Series:
    """``format_duration`` of each timedelta of a column (as a str column, same index)."""
    seconds = values.dt.total_seconds()
    return pd.Series([format_duration(s) for s in seconds], index=values.index, dtype="str")
