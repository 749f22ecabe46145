"""The notebook layer: diagrams, DataFrames, analytics, charts, widgets (graphviz, pandas, altair).

Importing it lets machines, definitions and orchestrators show themselves in Jupyter, and
changes nothing else: no environment variable, no file, no other library's display. The
diagrams it returns render with the renderer ``find_renderer`` picks; plain ``graphviz``
graphs do too after ``use_renderer_for_graphviz()``.
"""

from ._analytics import (
    conformance,
    overlay,
    to_pm4py,
    transition_counts,
    workflow_durations,
)
from ._charts import occupancy, occupancy_frame, time_in_state_chart
from ._diagram import diagram, graph_model
from ._display import install as _install
from ._display import use_renderer_for_graphviz
from ._fleetboard import FleetDashboard
from ._frames import HISTORY_COLUMNS, history_frame, workflows_frame
from ._palette import state_colors
from ._player import HistoryPlayer
from ._readable import use_readable_frames
from ._render import Renderer, find_renderer, render_svg, set_render_timeout
from ._storeframe import load_history_frame
from ._timeinstate import time_in_state
from ._timeline import timeline
from ._variants import variants, variants_chart
from ._vega import HistoryChart, to_png, to_svg
from ._widgets import Dashboard, EventPanel

_install()

__all__ = [
    "HISTORY_COLUMNS",
    "Dashboard",
    "EventPanel",
    "FleetDashboard",
    "HistoryChart",
    "HistoryPlayer",
    "Renderer",
    "conformance",
    "diagram",
    "find_renderer",
    "graph_model",
    "history_frame",
    "load_history_frame",
    "occupancy",
    "occupancy_frame",
    "overlay",
    "render_svg",
    "set_render_timeout",
    "state_colors",
    "time_in_state",
    "time_in_state_chart",
    "timeline",
    "to_pm4py",
    "to_png",
    "to_svg",
    "transition_counts",
    "use_readable_frames",
    "use_renderer_for_graphviz",
    "variants",
    "variants_chart",
    "workflow_durations",
    "workflows_frame",
]
