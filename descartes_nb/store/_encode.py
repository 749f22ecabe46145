"""Machine changes -> rows, remembering per workflow the texts that did not change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final, NamedTuple

from ..core._jsonvalue import JSONValue
from ..core._ports import WorkflowChange
from ..core._serialization import time_text
from ._codec import check_names, configuration_text, json_text, memory_text, transition_row
from ._timerrows import timer_rows
from ._writes import EncodedChange

_MAX_KNOWN: Final = 50_000  # workflows remembered; all are forgotten past that


class _Known(NamedTuple):
    """What the last change of one workflow wrote, to reuse when it repeats."""

    context: Mapping[str, JSONValue]
    context_text: str
    created_at: datetime
    created_text: str


class ChangeEncoder:
    """Encode changes into column values for the writes, cheaply: on the path of every change.

    Most transitions leave the context as it was, and a workflow's id, definition and
    creation time never change: their texts are made once and reused.
    """

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}

    def forget(self, workflow_id: str | None = None) -> None:
        """Drop what is remembered of one workflow (None: of all)."""
        if workflow_id is None:
            self._known.clear()
        else:
            self._known.pop(workflow_id, None)

    def encode(self, change: WorkflowChange) -> EncodedChange:
        """The header row and transition row of ``change``.

        Raises:
            SerializationError: an id, state or event holds a lone surrogate (not UTF-8).
        """
        wid, context, entry, state = (
            change.workflow_id,
            change.context,
            change.entry,
            str(change.state),
        )
        old = self._known.get(wid)
        if old is None or old.created_at is not change.created_at:  # first seen, or new
            check_names(wid, wid, change.definition)
            old = None
        if old is not None and old.context is context:
            known = old
        else:
            known = self._remember(wid, context, change.created_at, old)
        now = change.updated_at
        now_text = time_text(now)
        transition = None
        if entry is not None:
            check_names(wid, state, entry.event, entry.from_state)
            before, previous = entry.context_before, change.previous_context
            if previous is not None and (before is previous or before == previous):
                before_text = None  # the previous row holds it
            elif old is not None and old.context is before:
                before_text = old.context_text
            else:
                before_text = json_text(before)
            transition = transition_row(entry, known.context_text, before_text, now_text)
        else:
            check_names(wid, state)
        entered = change.state_entered_at
        if transition is not None:  # the entry's configuration and memory are the header's
            configuration, memory = transition[11], transition[12]
        else:
            configuration = configuration_text(change.configuration)
            memory = memory_text(change.memory)
        header = (
            wid,
            change.definition,
            state,
            known.context_text,
            change.version,
            change.transition_count,
            change.retry_attempts,
            change.max_history,
            known.created_text,
            now_text,
            now_text if entered is now else time_text(entered),
            configuration,
            memory,
        )
        timers = None if change.timers is None else timer_rows(change.timers)
        return EncodedChange(wid, change.version, header, transition, timers)

    def _remember(
        self,
        wid: str,
        context: Mapping[str, JSONValue],
        created_at: datetime,
        old: _Known | None,
    ) -> _Known:
        if len(self._known) >= _MAX_KNOWN:
            self._known.clear()
        created_text = old.created_text if old is not None else time_text(created_at)
        known = _Known(context, json_text(context), created_at, created_text)
        self._known[wid] = known
        return known
