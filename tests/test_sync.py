"""run_sync(): runs coroutines from scripts, refuses inside a running loop."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import descartes_nb as dn


def test_run_sync_runs_a_coroutine_to_completion():
    sm = dn.WorkflowStateMachine("script")
    entry = dn.run_sync(sm.process_event("Start"))
    assert entry.to_state == "Running"


async def test_run_sync_inside_a_running_loop_raises():
    sm = dn.WorkflowStateMachine("cell")
    with pytest.raises(dn.EventLoopRunningError, match="use `await` instead") as info:
        dn.run_sync(sm.process_event("Start"))
    assert isinstance(info.value, RuntimeError)
    assert sm.state == "Idle"  # the coroutine never ran


def test_run_sync_shows_only_the_users_own_error(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(
        textwrap.dedent(
            """
        import descartes_nb as dn

        async def main():
            raise ValueError("the user's own error")

        dn.run_sync(main())
        """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith("ValueError: the user's own error")
    assert 'raise ValueError("the user\'s own error")' in done.stderr
    assert "During handling" not in done.stderr
    assert "no running event loop" not in done.stderr
    assert done.stderr.count("Traceback (most recent call last)") == 1


def test_run_sync_error_has_no_context_chained():
    async def main():
        raise KeyError("missing")

    with pytest.raises(KeyError) as info:
        dn.run_sync(main())
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
