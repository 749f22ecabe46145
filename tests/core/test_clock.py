"""Clocks: ManualClock runs due callbacks in order; SystemClock on the running loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import descartes_nb as dn

from ..conftest import START


async def test_manual_clock_runs_due_callbacks_in_time_order(clock):
    ran = []

    def record(label):
        async def callback():
            ran.append((label, clock.now()))

        return callback

    clock.call_at(START + timedelta(seconds=30), record("late"))
    clock.call_at(START + timedelta(seconds=10), record("early"))
    cancelled = clock.call_at(START + timedelta(seconds=20), record("cancelled"))
    cancelled.cancel()
    await clock.advance(timedelta(seconds=15))
    assert ran == [("early", START + timedelta(seconds=10))]
    assert clock.now() == START + timedelta(seconds=15)
    assert clock.pending == [START + timedelta(seconds=30)]
    await clock.advance(timedelta(minutes=1))
    assert [label for label, _ in ran] == ["early", "late"]
    assert clock.pending == []


async def test_manual_clock_refuses_to_go_back_and_naive_times(clock):
    with pytest.raises(ValueError, match="cannot go back"):
        await clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        dn.ManualClock(datetime(2026, 1, 1))


async def test_system_clock_is_utc_and_runs_callbacks_on_the_loop():
    clock = dn.SystemClock()
    assert clock.now().tzinfo is UTC
    done = asyncio.Event()

    async def callback():
        done.set()

    clock.call_at(clock.now(), callback)
    await asyncio.wait_for(done.wait(), timeout=5)
    handle = clock.call_at(clock.now() + timedelta(hours=1), callback)
    handle.cancel()
    assert handle.cancelled


async def test_system_clock_logs_failing_callbacks(caplog):
    clock = dn.SystemClock()
    failed = asyncio.Event()

    async def callback():
        failed.set()
        raise RuntimeError("timer broke")

    clock.call_at(clock.now(), callback)
    await asyncio.wait_for(failed.wait(), timeout=5)
    for _ in range(3):
        await asyncio.sleep(0)
    assert "scheduled callback failed" in caplog.text


def test_clocks_satisfy_the_protocol(clock):
    assert isinstance(clock, dn.Clock)
    assert isinstance(dn.SystemClock(), dn.Clock)
