"""Durations as Swarm.toml writes them: ``"30m"``, ``"1h30m"``, ``"1.5s"``, ``"250ms"``."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

MAX_DURATION: Final = timedelta(days=3650)
"""The longest duration accepted (ten years)."""
DURATION_HELP: Final = (
    "a positive number and unit, units d h m s ms us, e.g. '30m', '1h30m', '1.5s', '250ms'"
)
_UNITS: Final = {
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
_PART: Final = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)(ms|us|d|h|m|s)", re.ASCII)


def parse_duration(text: str) -> timedelta:
    """Parse ``"1h30m"`` and the like into a ``timedelta``.

    Raises:
        ValueError: not a duration in that form, finer than a microsecond, or longer than
            ``MAX_DURATION``; the message says what is allowed.

    Example:
        >>> parse_duration("1h30m"), parse_duration("1.5s")
        (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=1, microseconds=500000))
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a str, got {text!r} (allowed: {DURATION_HELP})")
    position, total, seen = 0, 0, set()
    body = text.strip()
    while position < len(body):
        match = _PART.match(body, position)
        if match is None or match.group(2) in seen:
            raise ValueError(f"bad duration {text!r} (allowed: {DURATION_HELP})")
        seen.add(match.group(2))
        try:
            micros = Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise ValueError(f"bad duration {text!r} (allowed: {DURATION_HELP})") from None
        if micros != micros.to_integral_value():
            raise ValueError(f"duration {text!r} is finer than a microsecond")
        total += int(micros)
        position = match.end()
    if not seen:
        raise ValueError(f"bad duration {text!r} (allowed: {DURATION_HELP})")
    if total > MAX_DURATION // timedelta(microseconds=1):
        raise ValueError(f"duration {text!r} is longer than the {MAX_DURATION.days} days allowed")
    return timedelta(microseconds=total)


def format_duration(value: timedelta) -> str:
    """Write a ``timedelta`` the way ``parse_duration`` reads it (``"0s"`` for zero).

    Example:
        >>> format_duration(timedelta(minutes=90)), format_duration(timedelta(milliseconds=1500))
        ('1h30m', '1s500ms')
    """
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    parts: list[str] = []
    for unit, size in _UNITS.items():
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
