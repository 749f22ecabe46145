"""A retry policy as the text of one ``dn:retry`` attribute, and back.

``"max_attempts=3 backoff=exponential initial=1s max=1m jitter=0.25"``: every field of
``RetryPolicy``, in that order, durations as Swarm.toml writes them.
"""

from __future__ import annotations

import math
from typing import Final

from ...core._definition import RetryPolicy
from ...core._duration import format_duration, parse_duration

_FIELDS: Final = ("max_attempts", "backoff", "initial", "max", "jitter")
_BACKOFFS: Final = ("exponential", "fixed")


def format_retry(r: RetryPolicy) -> str:
    """The attribute text of a retry policy."""
    return (
        f"max_attempts={r.max_attempts} backoff={r.backoff} "
        f"initial={format_duration(r.initial)} max={format_duration(r.max)} "
        f"jitter={float(r.jitter)!r}"
    )


def parse_retry(text: str) -> RetryPolicy:
    """Read ``format_retry``'s text; a field left out keeps ``RetryPolicy``'s default.

    Raises:
        ValueError: an unknown or repeated field, or a bad value; the message says which.
    """
    values: dict[str, str] = {}
    for part in text.split():
        key, sign, value = part.partition("=")
        if not sign or key not in _FIELDS or key in values:
            raise ValueError(f"bad retry field {part!r} (allowed: {', '.join(_FIELDS)})")
        values[key] = value
    default = RetryPolicy()
    backoff = values.get("backoff", default.backoff)
    if backoff not in _BACKOFFS:
        raise ValueError(f"unknown backoff {backoff!r} (allowed: {list(_BACKOFFS)})")
    attempts = values.get("max_attempts", str(default.max_attempts))
    if not attempts.isdigit():
        raise ValueError(f"max_attempts must be a whole number, got {attempts!r}")
    jitter = float(values.get("jitter", "0"))
    if not math.isfinite(jitter):
        raise ValueError(f"jitter must be a number from 0 to 1, got {jitter!r}")
    initial = parse_duration(values["initial"]) if "initial" in values else default.initial
    longest = parse_duration(values["max"]) if "max" in values else default.max
    return RetryPolicy(
        max_attempts=int(attempts),
        backoff="fixed" if backoff == "fixed" else "exponential",
        initial=initial,
        max=longest,
        jitter=jitter,
    )
