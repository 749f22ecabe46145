"""Event names with a meaning live in core/_events.py alone; WorkflowEvent is built from them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.core import _events as events

PACKAGE = Path(dn.__file__).parent
NAMES = {
    value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)
}


def test_every_event_name_with_a_meaning_is_named_once():
    assert {
        "Start", "Pause", "Resume", "Complete", "Fail", "Timeout", "Retry", "Rollback", "Restore"
    } == NAMES  # fmt: skip
    assert events.FAILURE_EVENTS == ("Fail", "Timeout")
    constants = [dn.WorkflowEvent.START, dn.WorkflowEvent.RETRY, dn.WorkflowEvent.ROLLBACK]
    assert [e.name for e in constants] == [events.START, events.RETRY, events.ROLLBACK]
    assert dn.WorkflowEvent.fail("x").name == events.FAIL


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "_events.py"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_other_module_spells_an_event_name(path):
    spelled = [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in NAMES
    ]
    assert spelled == [], f"use the names of descartes_nb.core._events instead: {spelled}"
