"""History: StateHistoryEntry records and the bounded History that holds them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol, overload

from ._jsonvalue import JSONValue


class Move(Protocol):
    """What a step did to the configuration (an interpreter ``Step``, or an entry itself)."""

    @property
    def exited(self) -> tuple[str, ...]: ...
    @property
    def entered(self) -> tuple[str, ...]: ...
    @property
    def configuration(self) -> frozenset[str]: ...
    @property
    def memory(self) -> tuple[tuple[str, tuple[str, ...]], ...]: ...


class _NoMove(NamedTuple):
    exited: tuple[str, ...] = ()
    entered: tuple[str, ...] = ()
    configuration: frozenset[str] = frozenset()
    memory: tuple[tuple[str, tuple[str, ...]], ...] = ()


NO_MOVE: Final[Move] = _NoMove()
"""The move a flat definition's entry records: none (its from_state and to_state say it)."""


class StateHistoryEntry(NamedTuple):
    """One accepted event (a frozen record).

    A ``NamedTuple`` rather than a frozen dataclass: one is built on every transition, and a
    tuple is built several times faster (figures in bench/README.md).

    Attributes:
        seq: 1, 2, ... per workflow; never reused, also after old entries are evicted.
        from_state: the state the event arrived in.
        to_state: the state after it (equal to ``from_state`` for an internal event).
        event: the event name.
        event_data: the event's JSON data, or None.
        timestamp: when it was processed, aware UTC.
        duration: the time spent in ``from_state`` since the previous entry (or since the
            workflow was created); summed per state it gives the total time in that state.
        context: the context right after the transition.
        context_before: the context right before it (what a rollback restores).
        exited: every state the whole step exited, in order (innermost first per
            microstep).
        entered: every state it entered, in order (outermost first per microstep).
        configuration: every active state after it, ancestors included.
        memory: what the history pseudo-states remember after it, as (history state,
            remembered states) pairs (empty without history states).

    The last four are recorded for statecharts; for a flat definition (no statechart
    feature, ``definition.is_statechart`` false) they are empty: ``from_state`` and
    ``to_state`` say it all, and ``notebook.history_frame`` fills them in.
    """

    seq: int
    from_state: str
    to_state: str
    event: str
    event_data: JSONValue
    timestamp: datetime
    duration: timedelta
    context: Mapping[str, JSONValue]
    context_before: Mapping[str, JSONValue]
    exited: tuple[str, ...] = ()
    entered: tuple[str, ...] = ()
    configuration: frozenset[str] = frozenset()
    memory: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def is_internal(self) -> bool:
        """Whether the event left the state unchanged."""
        return self.from_state == self.to_state

    def __repr__(self) -> str:
        # Plain strings and dicts: a notebook shows this, and enum or mappingproxy noise hides
        # what happened. The time and duration unquoted: they are a datetime and a timedelta.
        return (
            f"StateHistoryEntry(seq={self.seq}, from_state={str(self.from_state)!r}, "
            f"to_state={str(self.to_state)!r}, event={self.event!r}, "
            f"event_data={self.event_data!r}, timestamp={self.timestamp.isoformat()}, "
            f"duration={self.duration}, context={dict(self.context)!r}"
            + (f", configuration={sorted(self.configuration)!r})" if self.configuration else ")")
        )


# History keeps one list per field (a column store) in a ring buffer; seq and duration are
# derived from positions and neighbouring timestamps. An entry then costs a few pointers (bytes
# per entry in bench/README.md), and StateHistoryEntry objects are made only when someone asks
# for one.
_COLUMNS: Final = (
    "from_state",
    "to_state",
    "event",
    "event_data",
    "timestamp",
    "context",
    "context_before",
)
_MOVE_COLUMNS: Final = ("exited", "entered", "configuration", "memory")
_ALL_COLUMNS: Final = frozenset({"seq", *_COLUMNS, "duration", *_MOVE_COLUMNS})
_NO_ROWS: Final[Any] = ()
_new_tuple: Final = tuple.__new__


class History(Sequence[StateHistoryEntry]):
    """The most recent ``max_history`` entries of one workflow, oldest first (read-only)."""

    __slots__ = (
        "_base_move",
        "_base_time",
        "_before",
        "_context",
        "_data",
        "_event",
        "_from",
        "_last_seq",
        "_last_time",
        "_max",
        "_move",
        "_start",
        "_time",
        "_to",
    )

    def __init__(self, max_history: int, base_time: datetime) -> None:
        if not isinstance(max_history, int) or max_history < 1:
            raise ValueError(f"max_history must be an int >= 1, got {max_history!r}")
        self._max = max_history
        # Columns start as one shared empty tuple and become lists on the first append, so
        # that an idle workflow costs no list objects.
        self._from: list[str] = _NO_ROWS
        self._to: list[str] = _NO_ROWS
        self._event: list[str] = _NO_ROWS
        self._data: list[JSONValue] = _NO_ROWS
        self._time: list[datetime] = _NO_ROWS
        self._context: list[Mapping[str, JSONValue]] = _NO_ROWS
        self._before: list[Mapping[str, JSONValue]] = _NO_ROWS
        self._move: list[Move] = _NO_ROWS
        self._base_move: Move | None = None  # the move of the newest evicted entry
        self._start = 0  # index of the oldest entry once the ring buffer is full
        self._last_seq = 0
        self._base_time = base_time  # timestamp before the oldest retained entry
        self._last_time = base_time  # timestamp of the newest entry

    @property
    def max_history(self) -> int:
        """How many entries are kept; older ones are evicted."""
        return self._max

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry ever recorded (0 when there is none)."""
        return self._last_seq

    @property
    def last_context(self) -> Mapping[str, JSONValue] | None:
        """The context of the newest entry (None when there is none)."""
        return self._context[self._index(-1)] if self._time else None

    @property
    def first_seq(self) -> int:
        """The seq of the oldest retained entry (``last_seq + 1`` when empty)."""
        return self._last_seq - len(self._time) + 1

    def __len__(self) -> int:
        return len(self._time)

    @overload
    def __getitem__(self, index: int) -> StateHistoryEntry: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[StateHistoryEntry]: ...

    def __getitem__(self, index: int | slice) -> StateHistoryEntry | Sequence[StateHistoryEntry]:
        n = len(self._time)
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(n))]
        if not -n <= index < n:
            raise IndexError(f"history index {index} out of range ({n} entries)")
        return self._entry(index % n)

    def __iter__(self) -> Iterator[StateHistoryEntry]:
        return (self._entry(i) for i in range(len(self._time)))

    def __repr__(self) -> str:
        return f"<History {len(self)} of max {self._max}, last seq {self._last_seq}>"

    def without_moves(self) -> Iterator[StateHistoryEntry]:
        """The entries without their statechart fields (a flat definition's states say them)."""
        return (
            self._entry(i)._replace(exited=(), entered=(), configuration=frozenset())
            for i in range(len(self._time))
        )

    def tail(self, n: int) -> list[StateHistoryEntry]:
        """The newest ``n`` entries, oldest first."""
        count = len(self._time)
        return [self._entry(i) for i in range(max(0, count - max(n, 0)), count)]

    def columns(self, names: Collection[str] | None = None) -> dict[str, list[Any]]:
        """The entries as columns, oldest first: ``seq``, the entry fields, ``duration``.

        Args:
            names: only these columns (all by default); ``duration``, computed from
                neighbouring timestamps, costs the most.

        Raises:
            ValueError: a name is not a column.
        """
        wanted = _ALL_COLUMNS if names is None else frozenset(names)
        if not wanted <= _ALL_COLUMNS:
            raise ValueError(
                f"unknown history columns {sorted(wanted - _ALL_COLUMNS)} "
                f"(columns: {['seq', *_COLUMNS, 'duration', *_MOVE_COLUMNS]})"
            )
        order = [self._index(i) for i in range(len(self._time))] if self._start else None
        out: dict[str, list[Any]] = {}
        if "seq" in wanted:
            out["seq"] = list(range(self.first_seq, self._last_seq + 1))
        for name, column in zip(_COLUMNS, self._lists(), strict=True):
            if name in wanted:
                out[name] = [column[i] for i in order] if order else list(column)
        moves = [self._move[i] for i in order] if order else self._move
        for name in _MOVE_COLUMNS:
            if name in wanted:
                out[name] = [getattr(m, name) for m in moves]
        if "duration" in wanted:
            times = [self._time[i] for i in order] if order else self._time
            previous = [self._base_time, *times[:-1]] if times else []
            out["duration"] = [t - p for t, p in zip(times, previous, strict=True)]
        return out

    def move_before(self, index: int) -> Move | None:
        """The move of the entry just before the one at ``index``.

        None when there was none since the workflow started, or it is no longer kept.
        """
        if index % len(self._time):
            return self._move[self._index(index - 1)]
        return self._base_move

    def previous_state(self) -> str | None:
        """The state the newest state-changing entry left, or None if none is retained."""
        for i in range(len(self._time) - 1, -1, -1):
            j = self._index(i)
            if self._from[j] != self._to[j]:
                return self._from[j]
        return None

    def event_at(self, index: int) -> str:
        """The event name of the entry at ``index`` (negative counts from the newest)."""
        return self._event[self._index(index)]

    def next_entry(
        self,
        from_state: str,
        to_state: str,
        event: str,
        event_data: JSONValue,
        timestamp: datetime,
        context: Mapping[str, JSONValue],
        context_before: Mapping[str, JSONValue],
        move: Move,
    ) -> StateHistoryEntry:
        """The entry ``append`` would record with these fields (nothing is recorded)."""
        return StateHistoryEntry(
            self._last_seq + 1,
            from_state,
            to_state,
            event,
            event_data,
            timestamp,
            timestamp - self._last_time,
            context,
            context_before,
            move.exited,
            move.entered,
            move.configuration,
            move.memory,
        )

    def append(
        self,
        from_state: str,
        to_state: str,
        event: str,
        event_data: JSONValue,
        timestamp: datetime,
        context: Mapping[str, JSONValue],
        context_before: Mapping[str, JSONValue],
        move: Move,
    ) -> StateHistoryEntry:
        """Record an entry as the next seq (evicting the oldest when full) and return it."""
        seq = self._last_seq = self._last_seq + 1
        duration = timestamp - self._last_time
        self._last_time = timestamp
        if self._time is _NO_ROWS:
            self._from, self._to, self._event, self._data = [], [], [], []
            self._time, self._context, self._before, self._move = [], [], [], []
        if len(self._time) < self._max:
            self._from.append(from_state)
            self._to.append(to_state)
            self._event.append(event)
            self._data.append(event_data)
            self._time.append(timestamp)
            self._context.append(context)
            self._before.append(context_before)
            self._move.append(move)
        else:
            i = self._start
            self._base_time = self._time[i]
            self._base_move = self._move[i]
            self._from[i], self._to[i], self._event[i], self._data[i] = (
                from_state,
                to_state,
                event,
                event_data,
            )
            self._time[i], self._context[i], self._before[i] = timestamp, context, context_before
            self._move[i] = move
            self._start = (i + 1) % self._max
        # tuple.__new__ skips the generated __new__'s argument binding: a third of the cost
        # of building an entry, once per event.
        return _new_tuple(
            StateHistoryEntry,
            (
                seq,
                from_state,
                to_state,
                event,
                event_data,
                timestamp,
                duration,
                context,
                context_before,
                move.exited,
                move.entered,
                move.configuration,
                move.memory,
            ),
        )

    def _lists(self) -> tuple[list[Any], ...]:
        return (
            self._from,
            self._to,
            self._event,
            self._data,
            self._time,
            self._context,
            self._before,
        )

    def _index(self, i: int) -> int:
        return (self._start + i) % len(self._time)

    def _entry(self, i: int) -> StateHistoryEntry:
        j = self._index(i)
        previous = self._base_time if i == 0 else self._time[self._index(i - 1)]
        move = self._move[j]
        return StateHistoryEntry(
            self.first_seq + i,
            self._from[j],
            self._to[j],
            self._event[j],
            self._data[j],
            self._time[j],
            self._time[j] - previous,
            self._context[j],
            self._before[j],
            move.exited,
            move.entered,
            move.configuration,
            move.memory,
        )

    @classmethod
    def restore(
        cls,
        max_history: int,
        entries: Sequence[StateHistoryEntry],
        base_time: datetime,
        last_seq: int = 0,
    ) -> History:
        """Rebuild a history from entries (oldest first), keeping the newest ``max_history``.

        ``base_time`` and ``last_seq`` are used only when there are no entries.
        """
        entries = list(entries)
        kept = entries[-max_history:]
        if kept:
            base_time = kept[0].timestamp - kept[0].duration
        history = cls(max_history, base_time)
        if len(entries) > len(kept):
            history._base_move = entries[-len(kept) - 1]
        if kept:  # the columns at once (zip transposes in C): recovery restores millions
            _, from_, to, event, data, time, _, context, before, *_ = zip(*kept, strict=True)
            history._from, history._to, history._event = list(from_), list(to), list(event)
            history._data, history._time = list(data), list(time)
            history._context, history._before = list(context), list(before)
            history._move = list[Move](kept)  # an entry is its own move
            history._last_time = kept[-1].timestamp
        history._last_seq = kept[-1].seq if kept else last_seq
        return history
