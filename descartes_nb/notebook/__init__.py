"""The notebook layer: diagrams, DataFrames, analytics, widgets (graphviz, pandas, ipywidgets).

Importing it makes diagrams render in Jupyter: machines, definitions and orchestrators show
themselves, and plain ``graphviz`` graphs find a renderer (see ``find_renderer``).
"""

from .analytics import (
    conformance,
    overlay,
    time_in_state,
    to_pm4py,
    transition_counts,
    workflow_durations,
)
from .diagram import diagram, graph_model
from .display import install as _install
from .frames import HISTORY_COLUMNS, history_frame, workflows_frame
from .render import Renderer, find_renderer, render_svg, set_render_timeout
from .storeframe import load_history_frame
from .widgets import Dashboard, EventPanel, HistoryPlayer

_install()

__all__ = [
    "HISTORY_COLUMNS",
    "Dashboard",
    "EventPanel",
    "HistoryPlayer",
    "Renderer",
    "conformance",
    "diagram",
    "find_renderer",
    "graph_model",
    "history_frame",
    "load_history_frame",
    "overlay",
    "render_svg",
    "set_render_timeout",
    "time_in_state",
    "to_pm4py",
    "transition_counts",
    "workflow_durations",
    "workflows_frame",
]
