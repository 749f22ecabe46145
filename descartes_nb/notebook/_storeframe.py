"""History frames read from a store: ``await load_history_frame(store)``.

The store hands over every transition as columns of stored values in one query
(``load_history_columns``); they are converted here in bulk into the frame ``history_frame``
builds from machines, through the same ``frame_from_columns``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, cast

import numpy as np
import pandas as pd

from ..core._definition import WorkflowDefinition
from ..core._jsonvalue import JSONValue
from ..core._lifecycle import LIFECYCLE
from ..errors import SerializationError
from ..recovery import cyclic_gc_paused
from ..store._codec import parse_context, parse_json, parse_names, read_time
from ..store._reads import HistoryColumns
from ._frames import DEFINITIONS_ATTR, DefinitionNames, frame_from_columns, state_and_event_names
from ._moves import MoveColumns, RecordedMove

_NOTHING: Final = object()  # equal to no stored text


class HistoryColumnsStore(Protocol):
    """A store that reads its transitions as columns (both stores do)."""

    async def load_history_columns(
        self, workflow_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> HistoryColumns:
        """Every stored transition of ``workflow_ids`` from ``since`` on, as raw columns."""
        ...


async def load_history_frame(
    store: HistoryColumnsStore,
    workflow_ids: Iterable[str] | None = None,
    *,
    since: datetime | None = None,
    definitions: WorkflowDefinition
    | Mapping[str, WorkflowDefinition]
    | Iterable[WorkflowDefinition] = (),
) -> pd.DataFrame:
    """One row per stored transition: ``history_frame``, read from a store in one query.

    Example:
        >>> import asyncio, tempfile, os, descartes_nb as dn
        >>> async def main(path):
        ...     async with dn.SqliteWorkflowStore(path) as store:
        ...         await dn.WorkflowStateMachine("build-42", store=store).process_event("Start")
        ...         return await load_history_frame(store)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     frame = asyncio.run(main(os.path.join(tmp, "workflows.db")))
        >>> frame[["workflow_id", "seq", "from_state", "event", "to_state"]]
          workflow_id  seq from_state  event to_state
        0    build-42    1       Idle  Start  Running

    The columns, dtypes and values are those of ``history_frame`` of the same workflows
    recovered with ``WorkflowRecovery(store, definitions)``, rows in workflow id order: but
    every transition the store keeps is there, also those older than a machine's
    ``max_history`` (a store's ``history_limit`` and ``history_max_age`` decide).

    Args:
        store: an open ``SqliteWorkflowStore`` or ``PostgresWorkflowStore``.
        workflow_ids: only these workflows (None: every stored one).
        since: only transitions at or after this aware time (None: all).
        definitions: the definitions the workflows run: one, a mapping by name (as
            ``load_definitions`` returns) or an iterable (the lifecycle is always known):
            their states and events become categories, in definition order, as in
            ``history_frame``. Without them the categories are the values observed.

    Returns:
        A DataFrame with the columns of ``HISTORY_COLUMNS``; ``frame.attrs["definitions"]``
        says which definition each workflow runs (as ``history_frame``'s does).

    Raises:
        WorkflowNotFoundError: one of ``workflow_ids`` is not stored.
        SerializationError: a stored value is unreadable (its workflow and seq are named).
        TypeError: ``store`` cannot read history columns, or an argument has a wrong type.
    """
    if not callable(getattr(store, "load_history_columns", None)):
        raise TypeError(
            f"expected a store with load_history_columns (a SqliteWorkflowStore), "
            f"got {type(store).__name__} {store!r:.80}"
        )
    known = _known(definitions)
    with cyclic_gc_paused():  # a million rows of tuples and texts, none of them cyclic
        raw = await store.load_history_columns(workflow_ids, since=since)
        return _frame(raw, known)


def _frame(raw: HistoryColumns, known: Mapping[str, WorkflowDefinition]) -> pd.DataFrame:
    """The typed frame of raw columns; categories first from the definitions ``known``."""
    used = [known[name] for name in dict.fromkeys(raw.definitions.values()) if name in known]
    states, events = state_and_event_names(used)
    columns: dict[str, Any] = {
        "workflow_id": raw.workflow_id,
        "seq": raw.seq,
        "timestamp": _times(raw),
        "from_state": raw.from_state,
        "to_state": raw.to_state,
        "event": raw.event,
        "event_data": _event_data(raw),
        "duration": _durations(raw.duration_us),
        "context": _contexts(raw),
        **_moves(raw, known),
    }
    try:
        frame = frame_from_columns(columns, states=states, events=events)
    except (TypeError, ValueError) as exc:  # a seq that is not an integer
        raise SerializationError(f"stored history cannot be read: {exc}") from exc
    frame.attrs[DEFINITIONS_ATTR] = DefinitionNames(raw.definitions)
    return frame


def _moves(
    raw: HistoryColumns, known: Mapping[str, WorkflowDefinition]
) -> dict[str, list[tuple[str, ...]]]:
    """The move columns: as stored for statecharts, derived for flat definitions.

    A flat definition's rows store none (NULL): they are derived from its states when the
    definition is known, else left empty.
    """
    moves = MoveColumns()
    start = 0
    ids = raw.workflow_id
    decoded = _StoredMoves()
    for workflow_id, end in _runs(ids):
        definition = known.get(raw.definitions.get(workflow_id, ""))
        rows = slice(start, end)
        recorded = decoded.rows(raw, rows, workflow_id)
        moves.extend(
            definition, raw.from_state[rows], raw.event[rows], raw.to_state[rows], recorded
        )
        start = end
    return {
        "exited": moves.exited,
        "entered": moves.entered,
        "configuration": moves.configuration,
    }


class _StoredMoves:
    """Decode stored move columns (JSON arrays of names); equal texts are decoded once."""

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, ...]] = {}

    def rows(
        self, raw: HistoryColumns, rows: slice, workflow_id: str
    ) -> list[RecordedMove] | None:
        """The recorded moves of some rows; None when none is stored (a flat definition)."""
        configurations = raw.configuration[rows]
        if not any(text is not None for text in configurations):
            return None
        columns = zip(
            raw.exited[rows], raw.entered[rows], configurations, raw.seq[rows], strict=True
        )
        return [
            (
                self._decode(exited, workflow_id, seq, "exited"),
                self._decode(entered, workflow_id, seq, "entered"),
                frozenset(self._decode(configuration, workflow_id, seq, "configuration")),
            )
            for exited, entered, configuration, seq in columns
        ]

    def _decode(self, text: str | None, workflow_id: str, seq: int, name: str) -> tuple[str, ...]:
        if text is None:
            return ()
        found = self._names.get(text)
        if found is None:
            where = f"workflow {workflow_id!r} seq {seq} {name}"
            found = self._names[text] = parse_names(text, where)
        return found


def _runs(ids: Sequence[str]) -> list[tuple[str, int]]:
    """Each workflow id with the end of its run of rows (rows come in workflow id order)."""
    ends = [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
    return [(ids[end - 1], end) for end in [*ends, len(ids)]] if ids else []


def _known(
    definitions: WorkflowDefinition
    | Mapping[str, WorkflowDefinition]
    | Iterable[WorkflowDefinition],
) -> dict[str, WorkflowDefinition]:
    """The definitions by name, the lifecycle included (as ``WorkflowRecovery`` takes them)."""
    items: list[tuple[str | None, object]]
    if isinstance(definitions, WorkflowDefinition):
        items = [(None, definitions)]
    elif isinstance(definitions, Mapping):
        items = list(definitions.items())
    elif isinstance(definitions, Iterable) and not isinstance(definitions, str | bytes):
        items = [(None, d) for d in definitions]
    else:
        raise TypeError(
            "definitions must be a WorkflowDefinition, a mapping of names to them or an "
            f"iterable of them, got {type(definitions).__name__} {definitions!r:.80}"
        )
    known: dict[str, WorkflowDefinition] = {LIFECYCLE.name: LIFECYCLE}
    for name, definition in items:
        if not isinstance(definition, WorkflowDefinition):
            named = "" if name is None else f" (named {name!r})"
            raise TypeError(
                f"definitions must be WorkflowDefinition objects, got {definition!r:.80}{named}"
            )
        known[definition.name if name is None else name] = definition
    return known


def _contexts(raw: HistoryColumns) -> list[Mapping[str, JSONValue]]:
    """Decoded contexts; a row whose text equals the row before shares its mapping."""
    out: list[Mapping[str, JSONValue]] = []
    append = out.append
    last_text: object = _NOTHING
    context: Mapping[str, JSONValue] = {}
    for text, workflow_id, seq in zip(raw.context, raw.workflow_id, raw.seq, strict=True):
        if text != last_text:
            context = parse_context(text, f"workflow {workflow_id!r} seq {seq} context")
            last_text = text
        append(context)
    return out


def _event_data(raw: HistoryColumns) -> list[JSONValue]:
    """Decoded event data (None where the event had none: most events)."""
    out: list[JSONValue] = list(raw.event_data)
    for i in [i for i, text in enumerate(out) if text is not None]:
        out[i] = parse_json(out[i], f"workflow {raw.workflow_id[i]!r} seq {raw.seq[i]} event_data")
    return out


def _times(raw: HistoryColumns) -> pd.Series | list[datetime]:
    """The stored times as UTC: in bulk, else one by one (naming an unreadable one).

    SQLite's ISO-8601 texts are of one form, which pandas parses in bulk, as it converts
    PostgreSQL's datetimes; a text written otherwise (but readable, as recovery reads it)
    takes the slow path rather than failing.
    """
    # cast: texts, or datetimes (PostgreSQL), which to_datetime takes as well
    stamps = cast("list[str]", list(raw.timestamp))
    try:
        return pd.Series(pd.to_datetime(stamps, utc=True, format="ISO8601"))
    except (TypeError, ValueError):
        return [
            read_time(text, f"workflow {workflow_id!r} seq {seq} timestamp")
            for text, workflow_id, seq in zip(raw.timestamp, raw.workflow_id, raw.seq, strict=True)
        ]


def _durations(micros: Sequence[int]) -> np.ndarray[Any, np.dtype[np.timedelta64]]:
    """Whole microseconds as a ``timedelta64[us]`` array."""
    try:
        return np.array(micros, dtype=np.int64).view("timedelta64[us]")
    except (TypeError, ValueError, OverflowError) as exc:
        raise SerializationError(f"stored durations must be integers: {exc}") from exc
