"""A large history frame built as columns (as a store's reader builds one), for size tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

import descartes_nb as dn
from descartes_nb.notebook._frames import frame_from_columns

# One workflow's moves: a lifecycle path with a pause, a failure and its retry, a rollback.
PATH = (
    ("Idle", "Start", "Running"),
    ("Running", "Pause", "Paused"),
    ("Paused", "Resume", "Running"),
    ("Running", "Fail", "Failed"),
    ("Failed", "Retry", "Running"),
    ("Running", "Pause", "Paused"),
    ("Paused", "Rollback", "Running"),
    ("Running", "Pause", "Paused"),
    ("Paused", "Resume", "Running"),
    ("Running", "Complete", "Completed"),
)
START = datetime(2026, 3, 1, tzinfo=UTC)


def big_frame(workflows: int, *, seed: int = 1) -> pd.DataFrame:
    """``workflows`` x 10 rows; every 7th workflow times out at the end instead."""
    rng = np.random.default_rng(seed)
    steps = len(PATH)
    source, event, target = (np.array(column, dtype=object) for column in zip(*PATH, strict=True))
    events = np.tile(event, workflows)
    targets = np.tile(target, workflows)
    timed_out = (np.arange(workflows) % 7 == 6).repeat(steps) & (
        np.arange(len(events)) % steps == steps - 1
    )
    events[timed_out] = "Timeout"
    targets[timed_out] = "Failed"
    waits = rng.integers(1, 600, size=(workflows, steps)) * 1_000_000  # microseconds
    created = rng.integers(0, 7 * 86400, size=workflows) * 1_000_000
    times = created[:, None] + np.cumsum(waits, axis=1)
    columns: dict[str, Any] = {
        "workflow_id": np.array([f"wf-{i:07d}" for i in range(workflows)], dtype=object).repeat(
            steps
        ),
        "seq": np.tile(np.arange(1, steps + 1), workflows),
        "timestamp": pd.Series(
            pd.to_datetime(
                times.ravel() + int(pd.Timestamp(START).value // 1000), unit="us", utc=True
            )
        ),
        "from_state": np.tile(source, workflows),
        "event": events,
        "to_state": targets,
        "event_data": [None] * (workflows * steps),
        "duration": waits.ravel().astype("timedelta64[us]"),
        "context": [None] * (workflows * steps),
    }
    return frame_from_columns(columns, states=dn.LIFECYCLE.state_names)
