"""descartes_nb: workflow state machines for Jupyter.

Users import ``descartes_nb as dn`` for the library and ``from descartes_nb import notebook
as dnb`` for diagrams, DataFrames and widgets (not imported here, so that ``import
descartes_nb`` stays fast in a worker process).
"""

from .core.clock import Clock, ManualClock, SystemClock, TimerHandle
from .core.definition import (
    DefinitionProblem,
    RetryPolicy,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    validate,
)
from .core.event import WorkflowEvent
from .core.handlers import StateHandler
from .core.history import History, StateHistoryEntry
from .core.lifecycle import LIFECYCLE, WorkflowState
from .core.machine import WorkflowMetadata, WorkflowStateMachine
from .core.ports import WorkflowChange, WorkflowStore
from .core.serialization import SerializedWorkflow
from .errors import (
    ConcurrentModificationError,
    DefinitionError,
    DuplicateWorkflowError,
    EventLoopRunningError,
    HandlerError,
    InvalidTransitionError,
    OrchestratorError,
    RecoveryError,
    RenderError,
    RenderTimeoutError,
    SchemaVersionError,
    SerializationError,
    StateMachineError,
    StoreError,
    UnknownEventError,
    WorkflowError,
    WorkflowNotFoundError,
)
from .orchestrator import BroadcastResult, WorkflowOrchestrator
from .sync import run_sync

__version__ = "0.1.0"

__all__ = [
    "LIFECYCLE",
    "BroadcastResult",
    "Clock",
    "ConcurrentModificationError",
    "DefinitionError",
    "DefinitionProblem",
    "DuplicateWorkflowError",
    "EventLoopRunningError",
    "HandlerError",
    "History",
    "InvalidTransitionError",
    "ManualClock",
    "OrchestratorError",
    "RecoveryError",
    "RenderError",
    "RenderTimeoutError",
    "RetryPolicy",
    "SchemaVersionError",
    "SerializationError",
    "SerializedWorkflow",
    "StateDef",
    "StateHandler",
    "StateHistoryEntry",
    "StateMachineError",
    "StoreError",
    "SystemClock",
    "TimerHandle",
    "TransitionDef",
    "UnknownEventError",
    "WorkflowChange",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowMetadata",
    "WorkflowNotFoundError",
    "WorkflowOrchestrator",
    "WorkflowState",
    "WorkflowStateMachine",
    "WorkflowStore",
    "__version__",
    "run_sync",
    "validate",
]
