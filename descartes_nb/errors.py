"""Every public exception of descartes_nb.

The hierarchy::

    StateMachineError
    ├── DefinitionError               invalid definition; .source .workflow .state .key say where
    ├── SerializationError            a value or snapshot that is not JSON / not our format,
    │                                 or out of range (also a ValueError)
    ├── WorkflowError                 refusal on one workflow; .workflow_id, .state, .event
    │   ├── UnknownEventError         event not declared in the definition
    │   ├── InvalidTransitionError    declared, but not allowed from this state
    │   └── HandlerError              a handler raised; the original is __cause__
    ├── OrchestratorError
    │   ├── DuplicateWorkflowError
    │   └── WorkflowNotFoundError     also a LookupError
    ├── StoreError                    sqlite3/aiosqlite/asyncpg failures, translated at the edge
    │   ├── SchemaVersionError
    │   ├── ConcurrentModificationError  another writer changed the workflow first
    │   └── RecoveryError
    ├── EventLoopRunningError         also a RuntimeError; run_sync() inside a running loop
    ├── DefinitionWarning             also a UserWarning; load_definitions(strict=False) let
    │                                 a doubtful part through (a warning, not raised)
    └── RenderError                   no Graphviz renderer, or it failed; also a RuntimeError
        └── RenderTimeoutError        the renderer took longer than the time limit

``DefinitionProblem`` (a value, not an exception) is one problem of a definition; a
``DefinitionError`` carries them in ``.problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ConcurrentModificationError",
    "DefinitionError",
    "DefinitionProblem",
    "DefinitionWarning",
    "DuplicateWorkflowError",
    "EventLoopRunningError",
    "HandlerError",
    "InvalidTransitionError",
    "OrchestratorError",
    "RecoveryError",
    "RenderError",
    "RenderTimeoutError",
    "SchemaVersionError",
    "SerializationError",
    "StateMachineError",
    "StoreError",
    "UnknownEventError",
    "WorkflowError",
    "WorkflowNotFoundError",
]


class StateMachineError(Exception):
    """Base class of every error raised by descartes_nb."""


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    """One problem found in a definition; ``severity`` is ``"error"`` or ``"warning"``.

    ``event`` names the event when the problem is about the transitions of one event.
    """

    message: str
    workflow: str | None = None
    state: str | None = None
    key: str | None = None
    severity: Literal["error", "warning"] = "error"
    source: str | None = None
    line: int | None = None
    event: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: " if self.source and self.line else ""
        if self.source and not self.line:
            where = f"{self.source}: "
        return f"{where}{self.message}"


class DefinitionError(StateMachineError):
    """A workflow definition is invalid.

    Attributes:
        source: the file (or ``"<text>"``) the definition came from, if any.
        workflow: the workflow name, if known.
        state: the state the problem is in, if any.
        key: the offending key, if any.
        line: the 1-based line in ``source``, if known.
        problems: every problem found, when several were collected.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        workflow: str | None = None,
        state: str | None = None,
        key: str | None = None,
        line: int | None = None,
        problems: Sequence[DefinitionProblem] = (),
    ) -> None:
        super().__init__(message)
        self.source = source
        self.workflow = workflow
        self.state = state
        self.key = key
        self.line = line
        self.problems = tuple(problems)


class DefinitionWarning(StateMachineError, UserWarning):
    """A doubtful part of a definition, let through by ``load_definitions(strict=False)``.

    For example an unreachable state or a dead end; the message starts with ``file:line:``.
    """


class SerializationError(StateMachineError, ValueError):
    """A value a workflow would hold is not allowed, or a snapshot is not one this version reads.

    For example a context value or event data that is not JSON, nests too deeply or holds an
    int too long to read back; a workflow id that is empty or an event name that is not a
    str; a snapshot field of the wrong type or out of range (a time, a count). Also a
    ``ValueError``, which is what such a value is.
    """


class WorkflowError(StateMachineError):
    """An operation on one workflow was refused; nothing about the workflow changed.

    Attributes:
        workflow_id: the workflow that refused.
        state: its state at the time.
        event: the event name involved, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        workflow_id: str | None = None,
        state: str | None = None,
        event: str | None = None,
    ) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.state = state
        self.event = event


class UnknownEventError(WorkflowError):
    """The event is not declared in the workflow's definition."""


class InvalidTransitionError(WorkflowError):
    """The event is declared but not allowed now (wrong state, guard said no, terminal state)."""


class HandlerError(WorkflowError):
    """A handler or guard raised; the original exception is ``__cause__``."""


class OrchestratorError(StateMachineError):
    """An orchestrator operation failed."""


class DuplicateWorkflowError(OrchestratorError):
    """A workflow with this id is already registered."""


class WorkflowNotFoundError(OrchestratorError, LookupError):
    """No workflow with this id is registered (or stored)."""


class StoreError(StateMachineError):
    """A store operation failed; the underlying driver error is ``__cause__``."""


class SchemaVersionError(StoreError):
    """The database was written by a schema this version does not know."""


class ConcurrentModificationError(StoreError):
    """Another writer changed the workflow first; nothing was written."""


class RecoveryError(StoreError):
    """A stored workflow could not be rebuilt."""


class EventLoopRunningError(StateMachineError, RuntimeError):
    """``run_sync()`` was called while an event loop is running; use ``await`` instead."""


class RenderError(StateMachineError, RuntimeError):
    """No Graphviz renderer was found, or it failed on a diagram."""


class RenderTimeoutError(RenderError, TimeoutError):
    """The renderer took longer than the time limit and was stopped."""
