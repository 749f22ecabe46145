"""LineIndex: the line of every key path, whatever TOML syntax wrote it."""

from __future__ import annotations

import tomllib

import pytest

import descartes_nb as dn
from descartes_nb.formats.swarm._index import LineIndex
from descartes_nb.formats.swarm._write import to_toml

TEXT = '''\
# comment with [brackets] and key = "value"
title = """a multi-line
string with = signs and [tables]
and \\""" escaped quotes"""
literal = \'\'\'raw \\ text
over lines\'\'\'

[workflow."quoted name".states.A]   # a comment
"key with spaces" = 1
dotted.key.path = 'x'
inline = { a = 1, b = { c = [1, 2,
  3] } }
array = [
  "first",   # comment inside
  { target = "B", guard = "data.x == ']'" },
]

[[jobs]]
name = "one"

[[jobs]]
name = "two"
escaped = "tab\\tquote\\"unicode\\u00e9\\U0001F600"
'''


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("title",), 2),
        (("literal",), 5),
        (("workflow",), 8),
        (("workflow", "quoted name", "states", "A"), 8),
        (("workflow", "quoted name", "states", "A", "key with spaces"), 9),
        (("workflow", "quoted name", "states", "A", "dotted", "key", "path"), 10),
        (("workflow", "quoted name", "states", "A", "inline", "b", "c", 2), 12),
        (("workflow", "quoted name", "states", "A", "array", 1, "guard"), 15),
        (("workflow", "quoted name", "states", "A", "array", 1, "nothing"), 15),
        (("jobs", 0, "name"), 19),
        (("jobs", 1), 21),
        (("jobs", 1, "escaped"), 23),
        (("nowhere",), None),
    ],
)
def test_line_index_finds_each_key(path, line):
    tomllib.loads(TEXT)  # the index only ever sees valid TOML
    assert LineIndex(TEXT).line(path) == line


def test_line_index_reads_escaped_keys_like_tomllib():
    text = '"k\\u00e9y\\"" = 1\n"next" = 2\n'
    assert list(tomllib.loads(text)) == ['k\u00e9y"', "next"]
    index = LineIndex(text)
    assert index.line(('k\u00e9y"',)) == 1
    assert index.line(("next",)) == 2


def test_line_index_skips_very_deep_values_and_goes_on():
    deep = "[" * 200 + "]" * 200
    text = f"a = {deep}\nb = {{ c = {deep} }}\nd = 1\n"
    tomllib.loads(text)
    index = LineIndex(text)
    assert (index.line(("a",)), index.line(("b", "c")), index.line(("d",))) == (1, 2, 3)


def test_load_definitions_reports_integer_digit_limits_and_deep_nesting():
    for text in ["x = " + "1" * 5000, "x = " + "[" * 3000 + "]" * 3000]:
        with pytest.raises(dn.DefinitionError, match="not valid TOML"):
            dn.load_definitions(text)


def test_to_toml_escapes_text_and_refuses_lone_surrogates():
    d = dn.WorkflowDefinition(
        'odd "name"\n',
        states=(dn.StateDef("a b", terminal=True, description='tab\t "q" \\ \x7f \x01 é'),),
        initial_state="a b",
        transitions=(),
    )
    text = to_toml([d])
    again = dn.load_definitions(text)
    assert again == {d.name: d}
    bad = dn.WorkflowDefinition(
        "w", states=(dn.StateDef("a", description="\ud800"),), initial_state="a", transitions=()
    )
    with pytest.raises(dn.DefinitionError, match="lone surrogate"):
        to_toml(bad)
