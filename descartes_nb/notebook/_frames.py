"""History and workflows as pandas DataFrames: history_frame(), workflows_frame().

``frame_from_columns`` is the one place a history frame is typed; it takes plain columns, so
that machines here and stores elsewhere build the same frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from ..core._definition import WorkflowDefinition
from ..core._machine import WorkflowStateMachine
from ..orchestrator import WorkflowOrchestrator
from ._moves import MOVE_COLUMNS, MoveColumns, RecordedMove

HISTORY_COLUMNS: Final = (
    "workflow_id",
    "seq",
    "timestamp",
    "from_state",
    "to_state",
    "event",
    "event_data",
    "duration",
    "context",
    *MOVE_COLUMNS,
)
WORKFLOW_COLUMNS: Final = (
    "workflow_id",
    "definition",
    "state",
    "is_terminal",
    "created_at",
    "updated_at",
    "transition_count",
    "time_in_state",
    "retry_attempts",
    "version",
)
DEFINITIONS_ATTR: Final = "definitions"
"""The key of ``frame.attrs`` that says which definition each workflow of a frame runs."""
_REQUIRED: Final = HISTORY_COLUMNS[: -len(MOVE_COLUMNS)]
_READ: Final = ("from_state", "to_state", "event", "event_data", "timestamp", "context")
_MICROSECOND: Final = timedelta(microseconds=1)
_TIME: Final = "datetime64[us, UTC]"
_DURATION: Final = "timedelta64[us]"

Machines = WorkflowStateMachine | WorkflowOrchestrator | Iterable[WorkflowStateMachine]


class DefinitionNames(Mapping[str, str]):
    """Workflow id -> the name of the definition it runs, kept in ``frame.attrs``.

    pandas deep-copies ``attrs`` into every frame and column derived from a frame; this
    mapping never changes, so a copy is the same object instead of a copy of every id.
    """

    __slots__ = ("_names",)

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = dict(names)

    def __getitem__(self, workflow_id: str) -> str:
        return self._names[workflow_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __deepcopy__(self, memo: dict[int, object]) -> DefinitionNames:
        return self

    def __repr__(self) -> str:
        return f"DefinitionNames({len(self)} workflows of {sorted(set(self._names.values()))})"


def definition_names(frame: pd.DataFrame) -> Mapping[str, str]:
    """Which definition each workflow of ``frame`` runs, as far as its ``attrs`` say.

    Frames from ``history_frame`` and ``load_history_frame`` say it for every workflow (and
    keep saying it through filtering, sorting and copying); frames built otherwise may not.
    """
    names = frame.attrs.get(DEFINITIONS_ATTR)
    return names if isinstance(names, Mapping) else {}


def history_frame(obj: Machines) -> pd.DataFrame:
    """One row per history entry of a machine, several machines, or an orchestrator.

    Example:
        >>> import asyncio, descartes_nb as dn
        >>> sm = dn.WorkflowStateMachine("build-42")
        >>> _ = asyncio.run(sm.process_event("Start"))
        >>> history_frame(sm)[["workflow_id", "seq", "from_state", "event", "to_state"]]
          workflow_id  seq from_state  event to_state
        0    build-42    1       Idle  Start  Running

    Returns:
        A DataFrame with the columns of ``HISTORY_COLUMNS``: ``timestamp`` tz-aware UTC,
        ``from_state``, ``to_state`` and ``event`` categorical (every state and event of the
        definitions are categories, visited or not), ``duration`` (time spent in
        ``from_state`` before the event) a timedelta; ``exited``, ``entered`` and
        ``configuration`` tuples of state names (what the event's whole step exited, in
        order; what it entered, in order; every state active after it, ancestors included,
        outermost first), derived from the definition for flat ones, whose entries do not
        record them. Rows are grouped by workflow, oldest first. Only the history each
        machine retains (``max_history``) is there.
        ``frame.attrs["definitions"]`` says which definition each workflow runs, so that
        ``conformance`` and ``overlay`` can pick it from ``load_definitions``' mapping.

    Raises:
        TypeError: ``obj`` is not a machine, an orchestrator or an iterable of machines.
    """
    machines = _machines(obj)
    parts = [sm.history.columns(_READ) for sm in machines]
    counts = [len(part["timestamp"]) for part in parts]
    columns: dict[str, Any] = {
        name: list(itertools.chain.from_iterable(part[name] for part in parts)) for name in _READ
    }
    ids = np.array([sm.workflow_id for sm in machines], dtype=object)
    columns["workflow_id"] = ids.repeat(counts)
    seqs = [np.arange(sm.history.first_seq, sm.history.last_seq + 1) for sm in machines]
    columns["seq"] = np.concatenate(seqs, dtype=np.int64) if seqs else np.empty(0, np.int64)
    columns["timestamp"] = _utc_times(columns["timestamp"])
    columns["duration"] = _durations(columns["timestamp"], counts, machines)
    moves = MoveColumns()
    for sm, part in zip(machines, parts, strict=True):
        moves.extend(
            sm.definition, part["from_state"], part["event"], part["to_state"], _moves(sm)
        )
    columns.update(exited=moves.exited, entered=moves.entered, configuration=moves.configuration)
    states, events = state_and_event_names(sm.definition for sm in machines)
    frame = frame_from_columns(columns, states=states, events=events)
    frame.attrs[DEFINITIONS_ATTR] = DefinitionNames(
        {sm.workflow_id: sm.definition.name for sm in machines}
    )
    return frame


def _move_columns(
    machines: list[WorkflowStateMachine], parts: list[dict[str, list[Any]]]
) -> dict[str, list[tuple[str, ...]]]:
    moves = MoveColumns()
    for sm, part in zip(machines, parts, strict=True):
        moves.extend(
            sm.definition, part["from_state"], part["event"], part["to_state"], _moves(sm)
        )
    return {
        "exited": moves.exited,
        "entered": moves.entered,
        "configuration": moves.configuration,
    }


def _moves(sm: WorkflowStateMachine) -> list[RecordedMove] | None:
    """A statechart's recorded moves (a flat definition's entries record none)."""
    if not sm.definition.is_statechart:
        return None
    recorded = sm.history.columns(MOVE_COLUMNS)
    return list(zip(*(recorded[name] for name in MOVE_COLUMNS), strict=True))


def _durations(
    times: pd.Series, counts: list[int], machines: list[WorkflowStateMachine]
) -> np.ndarray[Any, np.dtype[np.timedelta64]]:
    """Each entry's time since the one before it in its workflow, computed as arrays.

    A machine's first retained entry knows its own duration (time since creation, or since
    the evicted entry before it); the others are differences of neighbouring timestamps.
    """
    micros = times.to_numpy(dtype="datetime64[us]").view("int64")
    durations = np.empty_like(micros)
    durations[1:] = micros[1:] - micros[:-1]
    starts = np.cumsum([0, *counts])[:-1]
    for sm, start, count in zip(machines, starts, counts, strict=True):
        if count:
            durations[start] = sm.history[0].duration // _MICROSECOND
    return durations.view("timedelta64[us]")


def _machines(obj: object) -> list[WorkflowStateMachine]:
    if isinstance(obj, WorkflowStateMachine):
        return [obj]
    if isinstance(obj, WorkflowOrchestrator | Iterable) and not isinstance(obj, str | bytes):
        machines = list(obj)
        for item in machines:
            if not isinstance(item, WorkflowStateMachine):
                raise TypeError(
                    f"expected WorkflowStateMachine items, got {type(item).__name__} {item!r:.80}"
                )
        return machines
    if callable(getattr(obj, "load_history_columns", None)):  # a store: its reads are async
        raise TypeError(f"read a store with 'await load_history_frame(store)', got {obj!r:.80}")
    raise TypeError(
        "expected a WorkflowStateMachine, a WorkflowOrchestrator or an iterable of machines, "
        f"got {type(obj).__name__} {obj!r:.80}"
    )


def state_and_event_names(
    definitions: Iterable[WorkflowDefinition],
) -> tuple[list[str], list[str]]:
    """Every state and event name of ``definitions``, in definition order, without repeats.

    History pseudo-states, never active themselves, and the empty name of eventless
    transitions, never processed, are left out.
    """
    states: dict[str, None] = {}
    events: dict[str, None] = {}
    for definition in dict.fromkeys(definitions):
        states.update(dict.fromkeys(str(s.name) for s in definition.states if not s.is_pseudo))
        events.update(dict.fromkeys(t.event for t in definition.transitions if t.event))
    return list(states), list(events)


def frame_from_columns(
    columns: Mapping[str, Sequence[Any]],
    *,
    states: Sequence[str] = (),
    events: Sequence[str] = (),
) -> pd.DataFrame:
    """Build a typed history frame from plain columns (the names of ``HISTORY_COLUMNS``).

    Args:
        columns: equal-length sequences or arrays. ``timestamp`` holds aware datetimes,
            ISO-8601 text with an offset, or is a tz-aware Series; ``duration`` holds
            timedeltas or is a ``timedelta64`` array. The move columns (``exited``,
            ``entered``, ``configuration``: tuples of state names, see ``MoveColumns``) may
            be left out: they are then empty tuples, and ``time_in_state`` counts each
            row's time in its ``from_state`` alone.
        states: state names to use as categories first (visited or not), in this order.
        events: event names to use as categories first.

    Raises:
        ValueError: a column is missing or the lengths differ.
    """
    missing = [name for name in _REQUIRED if name not in columns]
    lengths = {len(columns[name]) for name in HISTORY_COLUMNS if name in columns}
    if missing or len(lengths) > 1:
        raise ValueError(
            f"history columns must be {list(_REQUIRED)} (and optionally "
            f"{list(MOVE_COLUMNS)}) of equal length; "
            f"missing {missing}, lengths {sorted(lengths)}"
        )
    state_names = _categories(states, columns["from_state"], columns["to_state"])
    rows = len(columns["seq"])
    moves = {
        name: pd.Series(columns[name] if name in columns else [()] * rows, dtype=object)
        for name in MOVE_COLUMNS
    }
    return pd.DataFrame(
        {
            "workflow_id": pd.Series(columns["workflow_id"], dtype="str"),
            "seq": pd.Series(columns["seq"], dtype="int64"),
            "timestamp": _utc_times(columns["timestamp"]),
            "from_state": pd.Categorical(columns["from_state"], categories=state_names),
            "to_state": pd.Categorical(columns["to_state"], categories=state_names),
            "event": pd.Categorical(
                columns["event"], categories=_categories(events, columns["event"])
            ),
            "event_data": pd.Series(columns["event_data"], dtype=object),
            "duration": pd.Series(pd.TimedeltaIndex(columns["duration"]), dtype=_DURATION),
            "context": pd.Series(columns["context"], dtype=object),
            **moves,
        }
    )


def _utc_times(values: Sequence[Any]) -> pd.Series:
    """Aware datetimes or ISO-8601 text as a UTC datetime column (microseconds)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        index = pd.DatetimeIndex(values)
    elif len(values) and isinstance(values[0], str):
        index = pd.to_datetime(list(values), utc=True, format="ISO8601")
    else:
        index = pd.DatetimeIndex(cast(list[Any], values))  # any sequence of datetimes
    if index.tz is None:
        if len(index):
            raise ValueError(f"timestamps must be timezone-aware, got {values[0]!r}")
        index = index.tz_localize("UTC")
    return pd.Series(index.tz_convert("UTC").as_unit("us"))


def _categories(first: Sequence[str], *observed: Sequence[str]) -> list[str]:
    """``first`` in order, then any other observed value in order of appearance."""
    names = dict.fromkeys(map(str, first))
    for values in observed:
        names.update(dict.fromkeys(map(str, dict.fromkeys(values))))
    return list(names)


def workflows_frame(obj: Machines) -> pd.DataFrame:
    """One row per workflow: its metadata, as of now.

    Example:
        >>> import descartes_nb as dn
        >>> workflows_frame([dn.WorkflowStateMachine("a"), dn.WorkflowStateMachine("b")])[
        ...     ["workflow_id", "state", "transition_count"]
        ... ]
          workflow_id state  transition_count
        0           a  Idle                 0
        1           b  Idle                 0

    Returns:
        A DataFrame with the columns of ``WORKFLOW_COLUMNS`` (``state`` categorical, times
        tz-aware UTC, ``time_in_state`` a timedelta).

    Raises:
        TypeError: ``obj`` is not a machine, an orchestrator or an iterable of machines.
    """
    machines = _machines(obj)
    metas = [sm.metadata for sm in machines]
    states, _ = state_and_event_names(sm.definition for sm in machines)
    return pd.DataFrame(
        {
            "workflow_id": pd.Series([m.workflow_id for m in metas], dtype="str"),
            "definition": pd.Series([m.definition for m in metas], dtype="str"),
            "state": pd.Categorical([str(m.state) for m in metas], categories=_categories(states)),
            "is_terminal": pd.Series([sm.is_terminal for sm in machines], dtype=bool),
            "created_at": pd.Series([m.created_at for m in metas], dtype=_TIME),
            "updated_at": pd.Series([m.updated_at for m in metas], dtype=_TIME),
            "transition_count": pd.Series([m.transition_count for m in metas], dtype="int64"),
            "time_in_state": pd.Series([m.time_in_state for m in metas], dtype=_DURATION),
            "retry_attempts": pd.Series([m.retry_attempts for m in metas], dtype="int64"),
            "version": pd.Series([sm.version for sm in machines], dtype="int64"),
        },
        columns=list(WORKFLOW_COLUMNS),
    )
