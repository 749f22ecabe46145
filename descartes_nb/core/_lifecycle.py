"""The built-in lifecycle: WorkflowState and the LIFECYCLE definition."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ._definition import StateDef, TransitionDef, WorkflowDefinition
from ._events import COMPLETE, FAIL, PAUSE, RESUME, RETRY, START, TIMEOUT


class WorkflowState(StrEnum):
    """The states of the built-in lifecycle."""

    IDLE = "Idle"
    RUNNING = "Running"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    FAILED = "Failed"

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    @property
    def is_terminal(self) -> bool:
        """Completed and Failed are terminal; Failed may be left only by Retry."""
        return self in (WorkflowState.COMPLETED, WorkflowState.FAILED)


_S = WorkflowState

LIFECYCLE: Final = WorkflowDefinition(
    "lifecycle",
    states=(
        StateDef(_S.IDLE, description="created, waiting for Start"),
        StateDef(_S.RUNNING, description="doing its work"),
        StateDef(_S.PAUSED, description="stopped for now; Resume continues"),
        StateDef(_S.COMPLETED, terminal=True, description="finished; no way out"),
        StateDef(_S.FAILED, terminal=True, description="failed; only Retry leaves"),
    ),
    initial_state=_S.IDLE,
    transitions=(
        TransitionDef(_S.IDLE, START, _S.RUNNING),
        TransitionDef(_S.RUNNING, PAUSE, _S.PAUSED),
        TransitionDef(_S.RUNNING, COMPLETE, _S.COMPLETED),
        TransitionDef(_S.RUNNING, FAIL, _S.FAILED),
        TransitionDef(_S.RUNNING, TIMEOUT, _S.FAILED),
        TransitionDef(_S.PAUSED, RESUME, _S.RUNNING),
        TransitionDef(_S.PAUSED, FAIL, _S.FAILED),
        TransitionDef(_S.PAUSED, TIMEOUT, _S.FAILED),
        TransitionDef(_S.FAILED, RETRY, _S.RUNNING),
    ),
    description="the built-in workflow lifecycle",
)
