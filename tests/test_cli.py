"""The descartes-nb command line."""

from __future__ import annotations

import io
import subprocess
import sys

from descartes_nb.cli import run_demo


async def test_demo_runs_every_story_and_summarises():
    out = io.StringIO()
    orchestrator = await run_demo(out)
    text = out.getvalue()
    states = {m.workflow_id: m.state for m in orchestrator.get_all_metadata()}
    assert set(states.values()) == {"Completed"}
    assert len(states) == 7
    assert "registry timed out" in text  # the failure that was retried
    assert "Rollback" in text
    assert "refused -> InvalidTransitionError" in text
    assert text.rstrip().splitlines()[-1].startswith("  backup-501")
    deploy = orchestrator.get_workflow("deploy-201")
    assert [e.event for e in deploy.history] == ["Start", "Fail", "Retry", "Complete"]


def test_console_script_runs_demo():
    result = subprocess.run(
        [sys.executable, "-m", "descartes_nb.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "summary" in result.stdout
    assert result.stderr == ""
