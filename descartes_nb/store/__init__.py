"""The store layer: workflows in SQLite (aiosqlite), and recovery from a store."""

from ..core._events import RESTORE
from ..recovery import RecoveryFailure, RecoveryReport, WorkflowRecovery
from ._batch import StoreStats
from ._checkpoint import Checkpoint
from ._config import DEFAULT_DATABASE, StateStoreConfig
from ._schema import SCHEMA_VERSION
from ._sqlite import SqliteWorkflowStore

__all__ = [
    "DEFAULT_DATABASE",
    "RESTORE",
    "SCHEMA_VERSION",
    "Checkpoint",
    "RecoveryFailure",
    "RecoveryReport",
    "SqliteWorkflowStore",
    "StateStoreConfig",
    "StoreStats",
    "WorkflowRecovery",
]
