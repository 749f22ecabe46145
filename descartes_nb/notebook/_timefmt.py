"""Times and counts as people write them, the one format of every table, chart and panel.

Durations ``850ms``, ``5s``, ``14m 23s``, ``2h 05m``, ``3d 04h``; timestamps
``2026-03-01 09:00:05 UTC``; counts with their noun in the right number (``1 transition``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd


def format_duration(value: timedelta | pd.Timedelta | float) -> str:
    """A duration (or a number of seconds) in its two largest units.

    Example:
        >>> [format_duration(s) for s in (0, 0.85, 5, 863, 7500, 273600)]
        ['0s', '850ms', '5s', '14m 23s', '2h 05m', '3d 04h']
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if math.isnan(seconds):
        return ""
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds == 0:
        return "0s"
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


def format_timestamp(value: datetime) -> str:
    """A point in time in UTC, to the second (milliseconds when it has them).

    Example:
        >>> format_timestamp(datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC))
        '2026-03-01 09:00:05 UTC'
    """
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return f"{text} UTC"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and the noun in the right number.

    Example:
        >>> plural(1, "transition"), plural(0, "transition"), plural(2, "retry", "retries")
        ('1 transition', '0 transitions', '2 retries')
    """
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
