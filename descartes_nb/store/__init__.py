"""The store layer: workflows in SQLite (aiosqlite), and recovery from a store."""

from .batch import StoreStats
from .checkpoint import RESTORE, Checkpoint
from .config import DEFAULT_DATABASE, StateStoreConfig
from .recovery import RecoveryFailure, RecoveryReport, WorkflowRecovery
from .schema import SCHEMA_VERSION
from .sqlite import SqliteWorkflowStore

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
