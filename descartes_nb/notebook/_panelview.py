"""What the panels say, as text and HTML: sentences about history entries, tables, the context.

The live widgets and their static fallbacks (what a saved notebook shows where widgets cannot
run) are built from these same pieces, so both read the same. Times and durations use the
one format of ``_timefmt``; arrows are the diagrams' ``→``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ..core._events import ROLLBACK
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ._timefmt import format_duration, format_timestamp, plural

ARROW: Final = "→"
_TABLE_STYLE: Final = "border-collapse:collapse;font-size:12px"
_CELL: Final = "padding:2px 8px;border-bottom:1px solid rgba(127,127,127,0.35);text-align:left"
_BOX: Final = (
    "margin:0;padding:4px 8px;font-size:12px;border:1px solid rgba(127,127,127,0.35);"
    "border-radius:4px;background:rgba(127,127,127,0.08)"
)
HISTORY_HEADER: Final = ("#", "event", "from", "to", "data", "time", "time in 'from'")
NO_HISTORY: Final = "No events processed yet."


def esc(value: object) -> str:
    """``value`` as HTML text (quotes too)."""
    return html.escape(str(value), quote=True)


def to_json(value: object, *, indent: int | None = 2) -> str:
    """``value`` as JSON text (non-ASCII kept as it is)."""
    separators = None if indent else (", ", ": ")
    return json.dumps(value, indent=indent, separators=separators, ensure_ascii=False, default=str)


def describe(entry: StateHistoryEntry) -> str:
    """What an entry did, e.g. ``Start: Idle → Running`` or ``note: stayed in Running``.

    A statechart step that moved inside ``sm.state`` says what it exited and entered:
    ``compiled: in Checks, Compiling → Built``.
    """
    if entry.event == ROLLBACK and isinstance(entry.event_data, dict):
        undone = entry.event_data.get("undone_seq")
        return f"{ROLLBACK} of #{undone}: {entry.from_state} {ARROW} {entry.to_state}"
    if entry.from_state == entry.to_state and (entry.exited or entry.entered):
        # a statechart's step inside one state, e.g. one region of a parallel state moving
        exited, entered = ", ".join(entry.exited) or "-", ", ".join(entry.entered) or "-"
        return f"{entry.event}: in {entry.to_state}, {exited} {ARROW} {entered}"
    if entry.from_state == entry.to_state:
        return f"{entry.event}: stayed in {entry.to_state}"
    return f"{entry.event}: {entry.from_state} {ARROW} {entry.to_state}"


def processed(entry: StateHistoryEntry) -> str:
    """The sentence a panel shows after processing an event."""
    return f"Processed {describe(entry)}."


def _data(entry: StateHistoryEntry) -> str:
    """The entry's event data as compact JSON ('' when there is none, or for a rollback)."""
    if entry.event_data is None or entry.event == ROLLBACK:
        return ""
    return to_json(entry.event_data, indent=None)


def step_sentence(entry: StateHistoryEntry | None, step: int, steps: int, first_seq: int) -> str:
    """What the player says at ``step`` of ``steps`` (``entry``: the one just taken)."""
    if steps == 0:
        return "Nothing to replay yet: the workflow has processed no event."
    where = f"Step {step} of {steps}"
    if entry is None:
        if first_seq <= 1:
            return f"{where}: the start, before any event."
        older = plural(first_seq - 1, "older entry", "older entries")
        return f"{where}: before #{first_seq} (the {older} are no longer kept)."
    data = _data(entry)
    return (
        f"{where}: #{entry.seq} {describe(entry)}, at {format_timestamp(entry.timestamp)}, "
        f"after {format_duration(entry.duration)} in {entry.from_state}."
        + (f" Data: {data}." if data else "")
    )


def history_rows(entries: Iterable[StateHistoryEntry]) -> list[tuple[str, ...]]:
    """One row of ``HISTORY_HEADER`` per entry."""
    return [
        (
            f"#{e.seq}",
            e.event,
            e.from_state,
            e.to_state,
            _data(e),
            format_timestamp(e.timestamp),
            format_duration(e.duration),
        )
        for e in entries
    ]


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table, every cell escaped."""
    head = "".join(f'<th style="{_CELL}">{esc(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{esc(c)}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_TABLE_STYLE}"><tr>{head}</tr>{body}</table>'


def _label(text: str, note: str = "") -> str:
    extra = f' <span style="opacity:0.7">{esc(note)}</span>' if note else ""
    return f'<div style="font-weight:bold;margin:4px 0 2px">{esc(text)}{extra}</div>'


def history_heading(shown: int, kept: int) -> str:
    """``last 8 of 12 entries``, ``3 entries``, or '' when there are none."""
    if not kept:
        return ""
    return plural(kept, "entry", "entries") if shown == kept else f"last {shown} of {kept}"


def history_html(entries: Sequence[StateHistoryEntry], kept: int) -> str:
    """The labelled history table of the newest ``entries`` (of ``kept``), or says it is empty."""
    label = _label("History", history_heading(len(entries), kept))
    if not entries:
        return f"{label}<div>{esc(NO_HISTORY)}</div>"
    return label + table(HISTORY_HEADER, history_rows(entries))


def context_html(context: Mapping[str, JSONValue]) -> str:
    """The context as a labelled, pretty-printed JSON panel."""
    note = "(empty)" if not context else ""
    return f'{_label("Context", note)}<pre style="{_BOX}">{esc(to_json(dict(context)))}</pre>'


def history_text(entries: Sequence[StateHistoryEntry], kept: int) -> list[str]:
    """The history as plain-text lines (for the static fallback)."""
    if not entries:
        return [NO_HISTORY]
    lines = [f"History ({history_heading(len(entries), kept)}):"]
    for e in entries:
        data = _data(e)
        lines.append(
            f"  #{e.seq} {describe(e)}, at {format_timestamp(e.timestamp)}, "
            f"after {format_duration(e.duration)}" + (f", data {data}" if data else "")
        )
    return lines


def with_static_view(bundle: dict[str, Any], widget: Any) -> dict[str, Any]:
    """A widget's display bundle with readable text and HTML in place of its bare repr."""
    return {**bundle, "text/plain": widget.static_text(), "text/html": widget.static_html()}
