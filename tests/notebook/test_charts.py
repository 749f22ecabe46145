"""Charts of history: aggregated data and specs against hand-computed values, sizes, display."""

from __future__ import annotations

import json
import struct
from datetime import timedelta
from typing import Any

import altair as alt
import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb
from descartes_nb.notebook import _timeline, _vega

from ..conftest import START
from .bigframe import big_frame

S = pd.Timedelta(seconds=1)
PLANS: dict[str, list[tuple[int, Any]]] = {
    "wf-1": [(10, E.START), (60, E.PAUSE), (30, E.RESUME), (20, E.COMPLETE)],
    "wf-2": [(5, E.START), (40, E.fail("tests")), (15, E.RETRY), (25, E.COMPLETE)],
    "wf-3": [(20, E.START), (30, E.PAUSE), (10, E.ROLLBACK), (40, E.TIMEOUT)],
    "wf-4": [(1, E.START), (1, E.PAUSE), (1, E.RESUME), (1, E.COMPLETE)],
}


async def run(
    plans: dict[str, list[tuple[int, Any]]], max_history: int = 1000
) -> list[dn.WorkflowStateMachine]:
    machines = []
    for workflow_id, plan in plans.items():
        clock = dn.ManualClock(START)
        sm = dn.WorkflowStateMachine(workflow_id, clock=clock, max_history=max_history)
        for seconds, event in plan:
            await clock.advance(timedelta(seconds=seconds))
            await sm.process_event(event)
        machines.append(sm)
    return machines


@pytest.fixture
async def frame() -> pd.DataFrame:
    """Four workflows created at START (09:00:00); the last event is at 09:02:00."""
    return dnb.history_frame(await run(PLANS))


@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    return big_frame(100_000)


def data_of(chart: alt.TopLevelMixin, layer: int) -> list[dict[str, Any]]:
    spec = chart.to_dict()
    name = spec["layer"][layer].get("data", spec.get("data"))["name"]
    rows: list[dict[str, Any]] = spec["datasets"][name]
    return rows


def at(seconds: int) -> str:
    return (pd.Timestamp(START) + seconds * S).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- the palette


def test_state_colors_of_the_lifecycle_say_waiting_running_done_and_failed():
    assert dnb.state_colors(dn.LIFECYCLE) == {
        "Idle": "#9e9e9e",
        "Running": "#1f77b4",
        "Paused": "#ff7f0e",
        "Completed": "#2ca02c",
        "Failed": "#d62728",
    }


def test_state_colors_are_stable_and_follow_the_order_given():
    names = ["Planning", "Coding", "Review", "Blocked", "Done", "Abandoned", "Rejected"]
    first = dnb.state_colors(names)
    assert dnb.state_colors(list(names)) == first
    assert first["Planning"] == "#1f77b4"  # the other states take the palette in order
    assert first["Coding"] == "#ff7f0e"
    assert first["Done"] == "#2ca02c"
    assert (first["Abandoned"], first["Rejected"]) == ("#d62728", "#9e1b1b")
    assert len(set(first.values())) == len(names)


def test_state_colors_of_a_toml_definition_match_its_state_names():
    defs = dn.load_definitions("notebooks/workflows/swarm.toml")
    for definition in defs.values():
        colors = dnb.state_colors(definition)
        assert list(colors) == list(dict.fromkeys(map(str, definition.state_names)))


@pytest.mark.parametrize("bad", ["Idle", 42, [1, 2]], ids=["str", "int", "ints"])
def test_state_colors_refuses_what_is_not_states(bad):
    with pytest.raises(TypeError, match=r"expected a WorkflowDefinition|must be str"):
        dnb.state_colors(bad)


# --- timeline


async def test_timeline_bars_are_the_visits_with_the_last_open_to_the_frame_end(frame):
    bars = data_of(dnb.timeline(frame), 0)
    wf3 = [
        (b["state"], b["start"], b["end"], b["left_by"])
        for b in bars
        if b["workflow_id"] == "wf-3"
    ]
    assert wf3 == [
        ("Idle", at(0), at(20), "Start"),
        ("Running", at(20), at(50), "Pause"),
        ("Paused", at(50), at(60), "Rollback"),
        ("Running", at(60), at(100), "Timeout"),
        ("Failed", at(100), at(120), _timeline.STILL_THERE),
    ]
    wf1 = [b for b in bars if b["workflow_id"] == "wf-1"]
    assert [b["state"] for b in wf1] == ["Idle", "Running", "Paused", "Running"]  # ends at 120
    assert [b["time"] for b in wf1] == ["10s", "1m 00s", "30s", "20s"]
    assert wf1[0]["from"] == "09:00:00 UTC"
    assert {b["visits"] for b in bars} == {1}


async def test_timeline_spans_only_the_lanes_it_shows(frame):
    bars = data_of(dnb.timeline(frame, workflows=["wf-2", "wf-4"]), 0)
    assert max(b["end"] for b in bars) == at(85)  # wf-2's last event
    assert (bars[-1]["workflow_id"], bars[-1]["state"], bars[-1]["start"]) == (
        "wf-4",
        "Completed",
        at(4),
    )


async def test_timeline_marks_failures_and_rollbacks(frame):
    marks = data_of(dnb.timeline(frame), 1)
    assert [(m["workflow_id"], m["kind"], m["event"], m["move"], m["at"]) for m in marks] == [
        ("wf-2", "failure", "Fail", "Running → Failed", at(45)),
        ("wf-3", "rollback", "Rollback", "Paused → Running", at(60)),
        ("wf-3", "failure", "Timeout", "Running → Failed", at(100)),
    ]


async def test_timeline_spec_colours_states_zooms_time_and_has_tooltips(frame):
    spec = dnb.timeline(frame).to_dict()
    bars = spec["layer"][0]["encoding"]
    assert bars["color"]["scale"] == {
        "domain": ["Idle", "Running", "Paused", "Completed", "Failed"],
        "range": ["#9e9e9e", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"],
    }
    assert bars["y"]["sort"] == ["wf-1", "wf-2", "wf-3", "wf-4"]
    assert bars["x"]["scale"] == {"type": "utc"}
    assert bars["x"]["axis"] == {"format": "%H:%M", "labelOverlap": True}
    assert [t["field"] for t in bars["tooltip"]][:3] == ["workflow_id", "state", "from"]
    assert spec["params"] == [
        {
            "name": "zoom_time",
            "select": {"type": "interval", "encodings": ["x"]},
            "bind": "scales",
            "views": ["timeline_bars"],
        }
    ]
    assert spec["title"] == "Timeline of 4 workflows"
    assert spec["height"] == 72


async def test_timeline_caps_lanes_and_sums_up_the_rest(frame):
    spec = dnb.timeline(frame, max_lanes=2).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["wf-1", "wf-2"]  # earliest started
    assert spec["title"] == {
        "text": "Timeline: 2 of 4 workflows (earliest started)",
        "subtitle": ["not shown: 2 workflows (last states: Completed 1, Failed 1)"],
        "anchor": "start",
    }


@pytest.mark.parametrize(
    ("workflows", "lanes"),
    [
        pytest.param("failing", ["wf-2", "wf-3"], id="failing"),
        pytest.param("longest", ["wf-1", "wf-3"], id="longest"),
        pytest.param("last", ["wf-3", "wf-4"], id="last"),
        pytest.param(["wf-4", "wf-2"], ["wf-4", "wf-2"], id="given"),
    ],
)
async def test_timeline_picks_lanes_as_asked(frame, workflows, lanes):
    spec = dnb.timeline(frame, workflows=workflows, max_lanes=2).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == lanes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"workflows": "worst"}, "workflows must be one of", id="choice"),
        pytest.param({"workflows": ["wf-9"]}, "no workflow 'wf-9'", id="unknown"),
        pytest.param({"workflows": []}, "must name 1 to max_lanes=50", id="none"),
        pytest.param({"max_lanes": 0}, "max_lanes must be a positive int, got 0", id="lanes"),
        pytest.param({"workflows": ["wf-1", "wf-2"], "max_lanes": 1}, "got 2", id="too-many"),
    ],
)
async def test_timeline_refuses_bad_arguments(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dnb.timeline(frame, **kwargs)


async def test_timeline_samples_a_lane_with_more_visits_than_a_chart_holds():
    plan = [(1, E.START)] + [(2, E.PAUSE), (1, E.RESUME)] * 3000
    [sm] = await run({"busy": plan}, max_history=10_000)
    chart = dnb.timeline(dnb.history_frame(sm))
    bars = data_of(chart, 0)
    assert len(bars) <= _timeline.MAX_BARS
    assert sum(b["visits"] for b in bars) == 6001  # Idle, then 3000 x Running and Paused
    assert {b["state"] for b in bars} <= {"Idle", "Running", "Paused"}
    assert chart.to_dict()["title"]["subtitle"] == [
        "lanes with many short visits are sampled at even times"
    ]


def test_timeline_refuses_what_is_not_a_history_frame():
    with pytest.raises(ValueError, match="not a history frame"):
        dnb.timeline(pd.DataFrame({"workflow_id": ["a"]}))


# --- occupancy


async def test_occupancy_frame_counts_workflows_per_state_at_each_point(frame):
    counts = dnb.occupancy_frame(frame, freq="10s")
    assert counts.index[0] == pd.Timestamp(START)
    assert counts.index[-1] == pd.Timestamp(START) + 130 * S
    assert list(counts.columns) == ["Idle", "Running", "Paused", "Completed", "Failed"]
    expected = {
        0: [4, 0, 0, 0, 0],
        10: [1, 2, 0, 1, 0],
        60: [0, 3, 0, 1, 0],
        100: [0, 1, 0, 2, 1],
        120: [0, 0, 0, 3, 1],
    }
    for seconds, row in expected.items():
        assert list(counts.loc[pd.Timestamp(START) + seconds * S]) == row, seconds
    assert (counts.sum(axis=1) == 4).all()


async def test_occupancy_picks_a_step_and_stacks_the_states_in_definition_order(frame):
    chart = dnb.occupancy(frame)
    spec = chart.to_dict()
    assert spec["title"] == {
        "text": "Workflows in each state (4 workflows)",
        "subtitle": ["one point every 1s"],
        "anchor": "start",
    }
    areas = spec["layer"][0]["encoding"]
    assert areas["color"]["scale"]["domain"] == [
        "Idle",
        "Running",
        "Paused",
        "Completed",
        "Failed",
    ]
    assert areas["y"]["stack"] == "zero"
    hover = data_of(chart, 1)
    assert hover[60] == {
        "time": at(60),
        "at": "09:01:00 UTC",
        "workflows": "Running 3, Completed 1",
    }


@pytest.mark.parametrize(
    ("freq", "message"),
    [
        pytest.param("often", "freq must be a fixed duration", id="text"),
        pytest.param("-5s", "freq must be a positive duration", id="negative"),
        pytest.param("1us", "try freq='1s'", id="too-fine"),
    ],
)
async def test_occupancy_refuses_a_bad_freq(frame, freq, message):
    with pytest.raises(ValueError, match=message):
        dnb.occupancy(frame, freq=freq)


# --- time in state


async def test_time_in_state_chart_boxes_are_the_quartiles_per_workflow(frame):
    chart = dnb.time_in_state_chart(frame)
    rows = {row["state"]: row for row in data_of(chart, 0)}
    assert list(rows) == ["Idle", "Running", "Paused", "Failed"]  # nobody left Completed
    idle = rows["Idle"]  # 10, 5, 20 and 1 s
    assert (idle["min"], idle["q1"], idle["median"], idle["q3"], idle["max"]) == (
        1,
        4,
        7.5,
        12.5,
        20,
    )
    assert (rows["Running"]["median"], rows["Running"]["median_text"]) == (67.5, "1m 08s")
    assert (rows["Paused"]["workflows"], rows["Failed"]["workflows"]) == (3, 1)
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["title"] == "time in state per workflow (seconds)"
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rule", "bar", "tick"]


# --- variants


async def test_variants_counts_each_distinct_path(frame):
    table = dnb.variants(frame)
    assert table[["variant", "count", "share", "example"]].values.tolist() == [
        ["Start → Pause → Resume → Complete", 2, 0.5, "wf-1"],
        ["Start → Fail → Retry → Complete", 1, 0.25, "wf-2"],
        ["Start → Pause → Rollback → Timeout", 1, 0.25, "wf-3"],
    ]
    assert table["events"][0] == ("Start", "Pause", "Resume", "Complete")
    assert table["length"].tolist() == [4, 4, 4]


async def test_variants_of_rows_out_of_order_are_the_same(frame):
    pd.testing.assert_frame_equal(dnb.variants(frame.iloc[::-1]), dnb.variants(frame))


async def test_variants_chart_shows_the_top_and_sums_the_rest(frame):
    chart = dnb.variants_chart(frame, top=1)
    rows = data_of(chart, 0)
    assert [(r["label"], r["count"], r["percent"]) for r in rows] == [
        ("Start → Pause → Resume → Complete", 2, "50.0%"),
        ("2 other variants", 2, "50.0%"),
    ]
    with pytest.raises(ValueError, match="top must be a positive int, got 0"):
        dnb.variants_chart(frame, top=0)


# --- a million rows


@pytest.mark.parametrize(
    "draw",
    [dnb.timeline, dnb.occupancy, dnb.time_in_state_chart, dnb.variants_chart],
    ids=lambda f: f.__name__,
)
def test_a_million_rows_give_a_small_spec(million, draw):
    assert len(million) == 1_000_000
    with alt.data_transformers.enable("default", max_rows=_vega.MAX_ROWS):
        spec = draw(million).to_dict()  # Altair's MaxRowsError would be raised here
    assert all(len(rows) <= _vega.MAX_ROWS for rows in spec["datasets"].values())
    assert len(json.dumps(spec)) < 400_000


def test_a_million_rows_in_variants(million):
    table = dnb.variants(million)
    assert table["count"].tolist() == [85715, 14285]  # every 7th workflow times out
    assert table["variant"][1].endswith("→ Resume → Timeout")


# --- determinism, display, export


async def test_charts_are_deterministic(frame):
    for draw in (dnb.timeline, dnb.occupancy, dnb.time_in_state_chart, dnb.variants_chart):
        assert json.dumps(draw(frame).to_dict()) == json.dumps(draw(frame).to_dict())


async def test_charts_show_themselves_as_vega_lite_5_without_scripts(frame):
    chart = dnb.timeline(frame)
    data, _ = DisplayFormatter().format(chart)  # what IPython sends to JupyterLab
    assert set(data) == {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
    spec = data["application/vnd.vegalite.v5+json"]
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5.")
    assert "<script" not in json.dumps(data)
    assert data["text/plain"] == "<Vega-Lite chart>\nTimeline of 4 workflows"
    assert png_size(__import__("base64").b64decode(data["image/png"]))[0] > 600


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_to_png_and_to_svg_draw_offline(frame):
    png = dnb.to_png(dnb.occupancy(frame))
    width, height = png_size(png)
    assert 1200 < width < 2200  # 640 px wide plus axes and legend, at scale 2
    assert 400 < height < 1000
    assert len(png) > 20_000
    svg = dnb.to_svg(dnb.variants_chart(frame))
    assert svg.startswith("<svg")
    assert "Start → Pause → Resume → Complete" in svg
    with pytest.raises(ValueError, match="scale must be a positive number, got 0"):
        dnb.to_png(dnb.occupancy(frame), scale=0)
