"""Why a write was refused: the messages both stores give for a stale or unrelated write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConcurrentModificationError


def conflict(
    workflow_id: str, row: Sequence[Any] | None, expected: int
) -> ConcurrentModificationError:
    """Say why a change that continues version ``expected`` found ``row`` (version, state)."""
    if row is None:
        return ConcurrentModificationError(
            f"workflow {workflow_id!r} is not stored (deleted by another writer?), but this "
            f"change continues its version {expected}; nothing was written"
        )
    version, state = row
    if expected == 0:
        return already_stored(
            workflow_id,
            version,
            state,
            "and this machine is a new one with the same id (version 0)",
            "use `await sm.attach_store(store, overwrite=True)`",
        )
    since = (
        "another writer changed it since this machine last wrote it"
        if version > expected
        else "it was replaced or restored since this machine last wrote it"
    )
    return ConcurrentModificationError(
        f"workflow {workflow_id!r} is stored at version {version} (state {state!r}), but "
        f"this change continues version {expected}: {since}; nothing was written (rebuild "
        "the machine with WorkflowRecovery or `await WorkflowStateMachine.get_or_create(...)` "
        "and retry)"
    )


def already_stored(
    workflow_id: str, version: int, state: str, why: str, replace: str = "pass overwrite=True"
) -> ConcurrentModificationError:
    """The error for a new or unrelated workflow written over a stored one."""
    return ConcurrentModificationError(
        f"workflow {workflow_id!r} is already stored at version {version} (state {state!r}), "
        f"{why}; nothing was written: to continue it use "
        "`await WorkflowStateMachine.get_or_create(...)` or WorkflowRecovery; to replace it "
        f"{replace}"
    )


def why_not_continued(stored: Sequence[Any], header: tuple[Any, ...]) -> str | None:
    """Why a workflow's header cannot continue the stored one (None: it may).

    ``stored`` is (key, version, state, transition_count, created_at, context) as stored,
    times and context as the text ``header`` (``HEADER_COLUMNS``) holds them.
    """
    _, version, state, count, created_at, context = stored
    _, _, new_state, new_context, new_version, new_count, _, _, new_created_at, *_ = header
    if new_created_at != created_at:
        return (
            f"and this machine is another workflow with the same id (created at {new_created_at})"
        )
    if new_version < version:
        return f"ahead of this machine (version {new_version})"
    if new_count < count:
        return f"and this machine's history ends at entry {new_count}, before the stored {count}"
    if new_version == version and (new_state, new_context) != (state, context):
        return "and this machine, at the same version, holds another state or context"
    return None
