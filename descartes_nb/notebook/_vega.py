"""Vega-Lite charts that show themselves offline, and their export: HistoryChart, to_png, to_svg.

JupyterLab draws Vega-Lite 5 itself (``application/vnd.vegalite.v5+json``, no script from
the internet); Altair's default display is HTML that loads vega-embed from a CDN, which fails
offline and would win over the native renderer. So the charts of this layer are
``HistoryChart``, an ``altair.LayerChart`` whose display is that mime type, a PNG drawn by
vl-convert for places that cannot run Vega (GitHub, nbconvert), and a line of text; Altair's
own renderer settings stay as the user left them.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

import altair as alt
import pandas as pd
import vl_convert as vlc

from ._palette import state_colors

VEGALITE_MIME: Final = "application/vnd.vegalite.v5+json"
VEGALITE_VERSION: Final = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # "5.20"
MAX_ROWS: Final = 4000
"""At most this many rows of data in any chart of this layer (Altair refuses over 5000)."""
WIDTH: Final = 640
_log = logging.getLogger(__name__)


class HistoryChart(alt.LayerChart):
    """An Altair layer chart that JupyterLab draws natively, offline.

    Everything Altair offers works on it (``.properties(...)``, ``.save("chart.png")``,
    ``chart.to_dict()``); only its display differs: the Vega-Lite 5 mime bundle JupyterLab
    renders itself, a PNG fallback, and a one-line text.
    """

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        spec = self.to_dict()
        bundle: dict[str, Any] = {VEGALITE_MIME: spec, "text/plain": plain_text(spec)}
        try:
            bundle["image/png"] = base64.b64encode(spec_to_png(spec)).decode("ascii")
        except ValueError as exc:  # vl-convert reports a spec it cannot draw as ValueError
            _log.warning("no PNG fallback for this chart: %s", exc)
        return bundle


def plain_text(spec: Mapping[str, Any]) -> str:
    """The chart's title (and subtitle) as the text shown where nothing richer is."""
    title = spec.get("title", "chart")
    if isinstance(title, Mapping):
        lines = [str(title.get("text", "chart")), *_lines(title.get("subtitle", ()))]
    else:
        lines = [str(title)]
    return "\n".join(["<Vega-Lite chart>", *lines])


def _lines(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]  # type: ignore[attr-defined]


def spec_to_png(spec: Mapping[str, Any], *, scale: float = 1.0) -> bytes:
    """A Vega-Lite spec drawn as PNG by vl-convert (bundled Vega; no network)."""
    return bytes(vlc.vegalite_to_png(dict(spec), vl_version=VEGALITE_VERSION, scale=scale))


def to_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, drawn offline by vl-convert.

    Example:
        ``Path("timeline.png").write_bytes(dnb.to_png(dnb.timeline(frame)))``; Altair's
        ``chart.save("timeline.png")`` works too (it uses vl-convert as well).

    Args:
        chart: any Altair chart (the charts of this layer, or your own).
        scale: pixels per Vega-Lite pixel (2 for sharp images on high-density screens).

    Raises:
        ValueError: ``scale`` is not a positive number.
    """
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return spec_to_png(chart.to_dict(), scale=float(scale))


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text, drawn offline by vl-convert."""
    return str(vlc.vegalite_to_svg(chart.to_dict(), vl_version=VEGALITE_VERSION))


def color_scale(frame: pd.DataFrame, shown: Iterable[str]) -> alt.Scale:
    """The states in ``shown`` with their colours from the palette of the frame's states.

    The palette is taken over every state of the frame's definitions (the categories of
    ``from_state``, in definition order), so a state has the same colour in every chart
    and diagram of its definition, whichever states a chart happens to show.
    """
    colors = state_colors(state_order(frame))
    wanted = set(shown)
    domain = [state for state in colors if state in wanted]
    return alt.Scale(domain=domain, range=[colors[state] for state in domain])


def state_order(frame: pd.DataFrame) -> list[str]:
    """Every state name of the frame: its categories in definition order, then any other."""
    names: dict[str, None] = {}
    for column in ("from_state", "to_state"):
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            names.update(dict.fromkeys(map(str, values.cat.categories)))
        else:
            names.update(dict.fromkeys(map(str, pd.unique(values))))
    return list(names)


def iso_times(values: pd.Series) -> pd.Series:
    """UTC times as ISO-8601 text Vega parses as UTC (``2026-03-02T08:04:14.000Z``)."""
    text: pd.Series = values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.str[:-3] + "Z"


def clock_times(values: pd.Series) -> pd.Series:
    """UTC times for tooltips: ``08:04:14`` within a day, with the date otherwise."""
    utc = values.dt.tz_convert("UTC")
    same_day = len(values) == 0 or utc.dt.normalize().nunique() == 1
    text: pd.Series = utc.dt.strftime("%H:%M:%S UTC" if same_day else "%Y-%m-%d %H:%M:%S UTC")
    return text


def time_axis(field: str, span: pd.Timedelta, title: str = "time (UTC)") -> alt.X:
    """A time x axis in UTC (Vega would otherwise show the viewer's local time).

    Labels are 24-hour clock times over up to two days, dates over longer spans.
    """
    label = "%H:%M" if span <= pd.Timedelta(days=2) else "%b %d"
    axis = alt.Axis(format=label, labelOverlap=True)  # a utc scale formats in UTC
    return alt.X(field, type="temporal", scale=alt.Scale(type="utc"), title=title, axis=axis)


def zoom() -> alt.Parameter:
    """Drag to pan, scroll to zoom the time axis; double-click to reset."""
    return alt.selection_interval(name="zoom_time", bind="scales", encodings=["x"])


def layered(*layers: alt.Chart, title: str, subtitle: Iterable[str] = ()) -> HistoryChart:
    """Layers as one ``HistoryChart``, with a title and a subtitle."""
    lines = list(subtitle)
    heading = alt.TitleParams(text=title, subtitle=lines, anchor="start") if lines else title
    chart: HistoryChart = HistoryChart(layer=list(layers), title=heading)
    return chart
