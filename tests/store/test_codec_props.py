"""Codec properties: any entry and any context survive the trip through rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb.core._serialization import LATEST_TIME, parse_time, time_text
from descartes_nb.store._codec import entries_from_rows, json_text, parse_context, transition_row

from ..strategies import json_values

contexts = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
# Up to the latest time a snapshot may hold (9999 was allowed once: a rare random failure).
times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=LATEST_TIME.replace(tzinfo=None),
    timezones=st.just(UTC),
)
names = st.text(min_size=1, max_size=12)


@given(times)
def test_times_round_trip_exactly(when):
    assert parse_time(time_text(when), "t") == when


@given(times, times)
def test_time_texts_compare_like_the_times(a, b):
    assert (time_text(a) < time_text(b)) == (a < b)


@given(contexts)
def test_contexts_round_trip(context):
    assert parse_context(json_text(context), "c") == context


@st.composite
def histories(draw):
    """Consecutive entries; some keep the context, some change it."""
    first = draw(st.integers(1, 10**6))
    when = draw(times.filter(lambda t: t.year < 9000))
    context = draw(contexts)
    entries = []
    for seq in range(first, first + draw(st.integers(1, 6))):
        before = context
        if draw(st.booleans()):
            context = draw(contexts)
        step = timedelta(microseconds=draw(st.integers(0, 10**10)))
        when = when + step
        entries.append(
            dn.StateHistoryEntry(
                seq,
                draw(names),
                draw(names),
                draw(names),
                draw(json_values),
                when,
                step,
                context,
                before,
            )
        )
    return entries


@given(histories())
def test_entries_round_trip_through_rows_with_shared_contexts(entries):
    first = entries[0]
    rows = [transition_row(first, json_text(first.context), json_text(first.context_before))]
    for previous, e in itertools.pairwise(entries):
        before = None if e.context_before == previous.context else json_text(e.context_before)
        rows.append(transition_row(e, json_text(e.context), before))
    assert entries_from_rows(rows, "w") == entries
