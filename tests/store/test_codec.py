"""The row codec: times, JSON columns, and the errors a damaged row gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import descartes_nb as dn
from descartes_nb.core._serialization import parse_time, time_text
from descartes_nb.store._codec import (
    entries_from_rows,
    json_text,
    parse_context,
    parse_json,
    transition_row,
)

WHEN = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_time_text_is_utc_with_microseconds_and_z():
    assert time_text(WHEN) == "2026-03-01T09:30:15.123456Z"
    paris = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert time_text(paris) == "2026-03-01T09:30:15.123456Z"
    assert time_text(WHEN.replace(microsecond=0)) == "2026-03-01T09:30:15.000000Z"


def test_time_texts_sort_in_time_order():
    times = [WHEN + timedelta(microseconds=n) * 997_001 for n in range(-50, 50)]
    texts = [time_text(t) for t in times]
    assert sorted(texts) == texts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T09:30:15.123456Z", WHEN),
        ("2026-03-01T10:30:15.123456+01:00", WHEN),
        ("2026-03-01T09:30:15.123456+00:00", WHEN),
    ],
)
def test_parse_time_reads_any_offset_as_utc(text, expected):
    parsed = parse_time(text, "t")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("yesterday", "not an ISO-8601 time"),
        ("2026-03-01T09:30:15", "must carry a UTC offset"),
        (1700000000, "must be ISO-8601 text"),
        (None, "must be ISO-8601 text"),
    ],
)
def test_parse_time_refuses_what_is_not_an_aware_iso_time(bad, message):
    with pytest.raises(dn.SerializationError, match=message) as info:
        parse_time(bad, "row 3 timestamp")
    assert "row 3 timestamp" in str(info.value)
    assert repr(bad) in str(info.value)


def test_json_text_is_compact_and_keeps_unicode():
    assert json_text({"a": [1, 2.5, None], "ü": "工作"}) == '{"a":[1,2.5,null],"ü":"工作"}'
    assert json_text(dn.WorkflowStateMachine("x", context={"k": 1}).context) == '{"k":1}'


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"x": NaN}', "NaN is not a JSON value"),
        ('{"x": Infinity}', "Infinity is not a JSON value"),
        (b'{"x": 1}', "must be JSON text"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_parse_context_refuses_what_is_not_a_json_object(bad, message):
    with pytest.raises(dn.SerializationError, match=message) as info:
        parse_context(bad, "workflow 'w' context")
    assert "workflow 'w' context" in str(info.value)


def test_parse_json_reads_any_json_value():
    assert parse_json('[1, {"a": null}]', "data") == [1, {"a": None}]
    assert parse_context("{}", "c") == {}


def entry(seq, context, before, *, event="Pause"):
    return dn.StateHistoryEntry(
        seq, "Running", "Paused", event, None, WHEN, timedelta(seconds=seq), context, before
    )


def test_entries_from_rows_resolves_null_context_before_from_the_row_before():
    a, b = {"n": 1}, {"n": 2}
    rows = [
        transition_row(entry(1, a, {}), json_text(a), "{}"),
        transition_row(entry(2, a, a), json_text(a), None),
        transition_row(entry(3, b, a), json_text(b), None),
    ]
    entries = entries_from_rows(rows, "workflow 'w'")
    assert [e.context_before for e in entries] == [{}, a, a]
    assert [e.context for e in entries] == [a, a, b]
    assert entries[1].context is entries[0].context  # equal texts share one mapping
    assert entries[2].context_before is entries[1].context
    later = entries_from_rows(rows[2:], "workflow 'w'", previous=rows[1])
    assert later == entries[2:]


def test_entries_from_rows_refuses_a_null_context_before_with_no_row_before():
    rows = [transition_row(entry(5, {}, {}), "{}", None)]
    with pytest.raises(dn.SerializationError, match="seq 5: context_before is NULL") as info:
        entries_from_rows(rows, "workflow 'w'")
    assert "seq 4" in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (0, "one", "seq and duration_us must be integers"),
        (6, 1.5, "seq and duration_us must be integers"),
        (2, None, "from_state, to_state and event must be text"),
        (3, 7, "from_state, to_state and event must be text"),
        (4, "{oops", "event_data is not JSON"),
        (5, "soon", "timestamp is not an ISO-8601 time"),
        (7, "[]", "context must be a JSON object"),
        (8, "nope", "context_before is not JSON"),
    ],
)
def test_entries_from_rows_names_the_bad_column(column, value, message):
    row = list(transition_row(entry(1, {}, {}), "{}", "{}"))
    row[column] = value
    with pytest.raises(dn.SerializationError, match=message) as info:
        entries_from_rows([row], "workflow 'w'")
    assert "workflow 'w'" in str(info.value)


def test_json_text_escapes_lone_surrogates_and_reads_them_back():
    value = {"k": "a\ud800b", "ok": "ü"}
    text = json_text(value)
    assert text.isascii()
    assert parse_context(text, "c") == value
