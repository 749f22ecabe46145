"""DataFrames that read well in a notebook, on request: durations as ``14m 23s``, JSON as JSON.

The frames of this library keep their types (``timedelta64`` durations, tz-aware
timestamps, dicts in ``event_data`` and ``context``), so that they stay analysable: sum a
duration column, divide it by ``pd.Timedelta(minutes=1)``, filter on a context key. Only how
a frame *shows* changes, and only after ``use_readable_frames()``: the one format of the
panels and charts (``5s``, ``14m 23s``, ``2026-03-01 09:00:05 UTC``) and compact JSON. A
pandas ``Styler`` was the other way, but a Styler is no longer a DataFrame and has no text
form; display formatters leave every value, and every copy, untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any, Final, cast

import pandas as pd

from ._timefmt import format_duration, format_timestamp

Formatter = Callable[[Any], str]
_SAMPLE: Final = 50  # values looked at to decide that an object column holds JSON


def _duration(value: Any) -> str:
    return "" if pd.isna(value) else format_duration(value)


def _timestamp(value: Any) -> str:
    return "" if pd.isna(value) else format_timestamp(value)


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _is_json(column: pd.Series) -> bool:
    """An object column whose values (a sample) are dicts, lists or None, at least one not None."""
    sample = column.head(_SAMPLE).tolist()
    return any(v is not None for v in sample) and all(
        v is None or isinstance(v, dict | list) for v in sample
    )


def column_formatters(frame: pd.DataFrame) -> dict[Hashable, Formatter]:
    """How each column of ``frame`` that needs it is written (others keep pandas' way)."""
    if isinstance(frame.columns, pd.MultiIndex) or not frame.columns.is_unique:
        return {}
    found: dict[Hashable, Formatter] = {}
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_timedelta64_dtype(dtype):
            found[name] = _duration
        elif isinstance(dtype, pd.DatetimeTZDtype):
            found[name] = _timestamp
        elif pd.api.types.is_object_dtype(dtype) and _is_json(frame[name]):
            found[name] = _json
    return found


def _shape() -> dict[str, Any]:
    """The limits of pandas' own HTML: past ``max_rows`` rows, only ``min_rows`` show."""
    max_rows, min_rows = pd.get_option("display.max_rows"), pd.get_option("display.min_rows")
    return {
        "max_rows": max_rows,
        "min_rows": min_rows,
        "max_cols": pd.get_option("display.max_columns"),
        "show_dimensions": pd.get_option("display.show_dimensions"),
    }


def readable_text(frame: pd.DataFrame) -> str:
    """``frame`` as text, the way pandas writes it, with durations, times and JSON readable.

    Example:
        >>> frame = pd.DataFrame({"duration": pd.to_timedelta([5, 863], unit="s")})
        >>> print(readable_text(frame))
          duration
        0       5s
        1  14m 23s
    """
    formatters = column_formatters(frame)
    if not formatters:
        return repr(frame)
    wrap = pd.get_option("display.expand_frame_repr")
    text = frame.to_string(
        formatters=cast(dict[str, Formatter], formatters),  # any column label works
        line_width=pd.get_option("display.width") if wrap else None,
        max_colwidth=pd.get_option("display.max_colwidth"),
        **_shape(),
    )
    return str(text)


def readable_html(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table (text escaped), with durations, times and JSON readable."""
    formatters = column_formatters(frame)
    if not formatters:
        page = frame._repr_html_()  # type: ignore[operator]  # stubs miss it; None when off
        return str(page) if page else frame.to_html()
    shape = _shape()
    max_rows, min_rows = shape.pop("max_rows"), shape.pop("min_rows")
    if max_rows and len(frame) > max_rows:
        max_rows = min(min_rows or max_rows, max_rows)
    page = frame.to_html(
        formatters=cast(dict[str, Formatter], formatters), max_rows=max_rows, **shape
    )
    return str(page)


def readable_series_text(series: pd.Series) -> str:
    """A timedelta Series as text with readable durations (others, and long ones, as pandas')."""
    short = len(series) <= pd.get_option("display.max_rows")
    if not (short and pd.api.types.is_timedelta64_dtype(series.dtype)):
        return repr(series)
    text = series.map(_duration).to_string(name=False, dtype=False)
    name = f"Name: {series.name}, " if series.name is not None else ""
    return f"{text}\n{name}dtype: {series.dtype}"


def use_readable_frames(enable: bool = True) -> None:
    """Show DataFrames in this IPython session with readable durations, times and JSON.

    Only the display changes: ``0 days 00:14:23`` shows as ``14m 23s``, timestamps as
    ``2026-03-01 09:00:05 UTC``, ``event_data`` and ``context`` as JSON. The frames keep
    their types and values, so they stay analysable. Outside IPython this does nothing.

    Example:
        ``dnb.use_readable_frames()`` once, at the top of a notebook; then
        ``dnb.history_frame(sm)[["event", "duration"]]`` shows ``5s``, ``14m 23s``.

    Args:
        enable: ``False`` gives DataFrames pandas' own display back.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing displays rich output
        return
    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    text, page = formatters["text/plain"], formatters["text/html"]
    if not enable:
        for formatter in (text, page):
            formatter.pop(pd.DataFrame, None)
        text.pop(pd.Series, None)
        return
    text.for_type(pd.DataFrame, lambda obj, p, cycle: p.text(readable_text(obj)))
    text.for_type(pd.Series, lambda obj, p, cycle: p.text(readable_series_text(obj)))
    page.for_type(pd.DataFrame, readable_html)
