"""descartes_nb: workflow state machines for Jupyter.

Users import ``descartes_nb as dn`` for the library and ``from descartes_nb import notebook
as dnb`` for diagrams, DataFrames and widgets (not imported here, so that ``import
descartes_nb`` stays fast in a worker process).
"""

from .core._clock import Clock, ManualClock, SystemClock, TimerHandle
from .core._definition import (
    EVENTLESS,
    PREVIOUS_STATE,
    RetryPolicy,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from .core._events import WorkflowEvent
from .core._handlers import StateHandler
from .core._history import History, StateHistoryEntry
from .core._lifecycle import LIFECYCLE, WorkflowState
from .core._machine import WorkflowMetadata, WorkflowStateMachine
from .core._ports import DurableTimer, WorkflowChange, WorkflowStore
from .core._serialization import SerializedWorkflow
from .core._validate import validate
from .errors import (
    ConcurrentModificationError,
    DefinitionError,
    DefinitionProblem,
    DefinitionWarning,
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
from .formats.scxml._load import load_scxml
from .formats.scxml._write import to_scxml
from .formats.swarm._load import load_definitions
from .formats.swarm._write import to_toml
from .orchestrator import BroadcastResult, WorkflowOrchestrator
from .recovery import RecoveryFailure, RecoveryReport, WorkflowRecovery
from .store._changes import ChangeFeed, CommittedChange
from .store._checkpoint import Checkpoint
from .store._committer import StoreStats
from .store._config import StateStoreConfig
from .store._fleet import SentEvent
from .store._open import open_store
from .store._postgres import PostgresWorkflowStore
from .store._sqlite import SqliteWorkflowStore
from .store._worker import Worker, WorkerStats
from .sync import run_sync

__version__ = "0.1.0"

__all__ = [
    "EVENTLESS",
    "LIFECYCLE",
    "PREVIOUS_STATE",
    "BroadcastResult",
    "ChangeFeed",
    "Checkpoint",
    "Clock",
    "CommittedChange",
    "ConcurrentModificationError",
    "DefinitionError",
    "DefinitionProblem",
    "DefinitionWarning",
    "DuplicateWorkflowError",
    "DurableTimer",
    "EventLoopRunningError",
    "HandlerError",
    "History",
    "InvalidTransitionError",
    "ManualClock",
    "OrchestratorError",
    "PostgresWorkflowStore",
    "RecoveryError",
    "RecoveryFailure",
    "RecoveryReport",
    "RenderError",
    "RenderTimeoutError",
    "RetryPolicy",
    "SchemaVersionError",
    "SentEvent",
    "SerializationError",
    "SerializedWorkflow",
    "SqliteWorkflowStore",
    "StateDef",
    "StateHandler",
    "StateHistoryEntry",
    "StateMachineError",
    "StateStoreConfig",
    "StoreError",
    "StoreStats",
    "SystemClock",
    "TimerHandle",
    "TransitionDef",
    "UnknownEventError",
    "Worker",
    "WorkerStats",
    "WorkflowChange",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowMetadata",
    "WorkflowNotFoundError",
    "WorkflowOrchestrator",
    "WorkflowRecovery",
    "WorkflowState",
    "WorkflowStateMachine",
    "WorkflowStore",
    "__version__",
    "load_definitions",
    "load_scxml",
    "open_store",
    "run_sync",
    "to_scxml",
    "to_toml",
    "validate",
]
