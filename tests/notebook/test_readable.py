"""Readable DataFrames: durations, times and JSON shown in the one format, values untouched."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

import descartes_nb as dn
from descartes_nb.notebook import history_frame, time_in_state
from descartes_nb.notebook._readable import (
    column_formatters,
    readable_html,
    readable_series_text,
    readable_text,
)


async def small_frame(clock) -> pd.DataFrame:
    sm = dn.WorkflowStateMachine("build-1", clock=clock)
    await clock.advance(timedelta(seconds=5))
    await sm.process_event("Start", {"by": "ana", "tags": ["x"]})
    await sm.set_context("step", "compile")
    await clock.advance(timedelta(minutes=14, seconds=23))
    await sm.process_event("Pause")
    return history_frame(sm)


async def test_readable_text_writes_durations_times_and_json(clock):
    frame = await small_frame(clock)
    shown = frame[["seq", "timestamp", "event", "event_data", "duration", "context"]]
    with pd.option_context("display.max_columns", 20, "display.width", 200):
        text = readable_text(shown)
    when = frame["timestamp"].iloc[1].strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = text.splitlines()
    assert lines[1].split()[-3:] == ['["x"]}', "5s", "{}"]
    assert lines[2].endswith('14m 23s {"step": "compile"}')
    assert when in lines[2]
    assert "0 days" not in text
    assert "'by'" not in text  # JSON, not Python reprs
    assert '{"by": "ana", "tags": ["x"]}' in text


async def test_readable_frames_stay_analysable(clock):
    frame = await small_frame(clock)
    before = frame.copy()
    readable_text(frame)
    readable_html(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert frame["duration"].dtype == "timedelta64[us]"
    assert frame["duration"].sum() == timedelta(minutes=14, seconds=28)


async def test_readable_html_escapes_and_keeps_pandas_truncation(clock):
    frame = await small_frame(clock)
    frame["context"] = pd.Series([{}, {"note": "<img src=x>"}], dtype=object)
    page = readable_html(frame[["duration", "context"]])
    assert "<td>14m 23s</td>" in page
    assert '<td>{"note": "&lt;img src=x&gt;"}</td>' in page
    assert "<img" not in page
    big = pd.concat([frame] * 500, ignore_index=True)
    page = readable_html(big)
    assert page.count("<tr>") == pd.get_option("display.min_rows") + 1  # the "..." row
    assert f"1000 rows × {len(big.columns)} columns" in page


async def test_time_in_state_shows_as_durations(clock):
    frame = await small_frame(clock)
    text = readable_text(time_in_state(frame))
    assert text.splitlines()[-1].split() == ["build-1", "5s", "14m", "23s", "0s", "0s", "0s"]


def test_frames_without_special_columns_show_as_pandas_shows_them():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    assert column_formatters(frame) == {}
    assert readable_text(frame) == repr(frame)
    assert readable_html(frame) == str(frame._repr_html_())  # type: ignore[operator]


def test_timedelta_series_show_as_durations():
    series = pd.Series(pd.to_timedelta([5, 863], unit="s"), name="duration").astype(
        "timedelta64[us]"
    )
    assert readable_series_text(series) == (
        "0         5s\n1    14m 23s\nName: duration, dtype: timedelta64[us]"
    )
    words = pd.Series(["a"])
    assert readable_series_text(words) == repr(words)


async def test_reprs_read_well(tmp_path, clock):
    assert repr(dn.WorkflowState.PAUSED) == "WorkflowState.PAUSED"
    assert repr(dn.RetryPolicy()) == (
        "RetryPolicy(max_attempts=3, backoff='exponential', initial='1s', max='1m', jitter=0.0)"
    )
    async with dn.SqliteWorkflowStore(tmp_path / "w.db", clock=clock) as store:
        sm = dn.WorkflowStateMachine("inv-1", clock=clock, store=store)
        await sm.process_event("Start")
        checkpoint = await store.create_checkpoint("inv-1", label="started")
        report = await dn.WorkflowRecovery(store).recover_all_workflows()
    assert repr(checkpoint) == (
        "<Checkpoint 1 'started' of 'inv-1': state 'Running' at seq 1 (version 1), "
        f"taken {clock.now().isoformat(sep=' ')}>"
    )
    assert repr(report) == "<RecoveryReport: recovered 1 workflow, 0 failed>"
    assert "datetime" not in repr(checkpoint)
