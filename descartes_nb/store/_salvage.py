"""Salvage: read every workflow a damaged database still holds, one workflow at a time.

Reading all workflows takes one query, which stops at the first damaged page. When it
does, each workflow is read on its own, so that a damaged page fails only the workflows
whose rows it holds. Workflows are found by two routes, the table's rows and the index
of ids, so that one whose row is on a damaged page is still named; its transitions are
read through their index and, if that is what is damaged, by a scan of the table.
"""

from __future__ import annotations

import operator
import sqlite3
from typing import Final

from ..core._serialization import SerializedWorkflow
from ..errors import SerializationError, StoreError
from . import _reads as reads
from ._codec import HEADER_COLUMNS, TRANSITION_COLUMNS
from ._failures import is_damage

_BY_ROW: Final = "SELECT key, id FROM workflows NOT INDEXED ORDER BY key"
# The UNIQUE constraint on workflows.id makes this index; it holds every (id, key).
_BY_ID: Final = "SELECT key, id FROM workflows INDEXED BY sqlite_autoindex_workflows_1"
_HEADER: Final = f"SELECT key, {HEADER_COLUMNS} FROM workflows WHERE key = ?"
# A workflow's window of history rows (as reads reads them), by the index or by a scan.
_WINDOW: Final = (
    "SELECT t."
    + TRANSITION_COLUMNS.replace(", ", ", t.")
    + " FROM workflows AS w JOIN transitions AS t {how}"
    " ON t.workflow = w.key AND t.seq >= w.transition_count - w.max_history"
    " WHERE w.key = ? ORDER BY t.seq"
)
_WINDOW_BY_INDEX: Final = _WINDOW.format(how="")
_WINDOW_BY_SCAN: Final = _WINDOW.format(how="NOT INDEXED")

_Result = SerializedWorkflow | SerializationError | StoreError
_MAX_PROBLEMS: Final = 100  # what PRAGMA integrity_check reports at most by default


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong (an empty list when the file is sound).

    The check first walks every b-tree, then reads every table to check its indexes; a
    damaged page stops that second part with an error, and the findings of the first
    (one result row) are lost with it. The check stops after its first N findings when
    asked for at most N, so the largest N that lets it finish gives all of them.
    """
    found = _integrity_check(conn, _MAX_PROBLEMS)
    if isinstance(found, list):
        return [] if found == ["ok"] else found
    stopped = f"the check stopped at a damaged page ({found})"
    finished, failed = 0, _MAX_PROBLEMS  # the largest N known to finish, the smallest not
    problems: list[str] = []
    while failed - finished > 1:
        middle = (finished + failed) // 2
        result = _integrity_check(conn, middle)
        if isinstance(result, list):
            finished, problems = middle, result
        else:
            failed = middle
    return [*problems, stopped]


def _integrity_check(conn: sqlite3.Connection, limit: int) -> list[str] | sqlite3.DatabaseError:
    """The lines of ``PRAGMA integrity_check(limit)``, or the damage that stopped it."""
    try:
        rows = conn.execute(f"PRAGMA integrity_check({limit})").fetchall()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return exc
    return [line for (text,) in rows for line in text.splitlines()]


def read_all_workflows(conn: sqlite3.Connection) -> reads.LoadedWorkflows:
    """Every stored workflow by id (``reads.read_all_workflows``); salvaged if damaged.

    Raises:
        sqlite3.DatabaseError: the file is damaged so badly that no workflow can be found.
    """
    try:
        return reads.read_all_workflows(conn)
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
    return salvage_workflows(conn)


def salvage_workflows(conn: sqlite3.Connection) -> reads.LoadedWorkflows:
    """Read every workflow that can be read, one by one; for the others, why not.

    Raises:
        sqlite3.DatabaseError: no workflow can be found (the file is too damaged).
    """
    with reads.snapshot(conn):
        ids, damage = _stored_ids(conn)
        if damage is not None and not ids:
            raise damage
        salvage = _Salvage(conn)
        out: reads.LoadedWorkflows = [(wid, salvage.read(key, wid)) for key, wid in ids.items()]
    out.sort(key=operator.itemgetter(0))
    return out


def _stored_ids(conn: sqlite3.Connection) -> tuple[dict[int, str], sqlite3.DatabaseError | None]:
    """The stored workflow ids by row key, as far as each route can read; the damage met."""
    found: dict[int, str] = {}
    damage: sqlite3.DatabaseError | None = None
    for query in (_BY_ROW, _BY_ID):
        try:
            for key, workflow_id in conn.execute(query):
                found.setdefault(key, workflow_id)  # the table's own row first
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            damage = exc
    return found, damage


class _Salvage:
    """Read workflows one by one, remembering whether the transitions table is damaged."""

    __slots__ = ("_conn", "_table_damaged")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._table_damaged = False

    def read(self, key: int, workflow_id: str) -> _Result:
        """The workflow stored under ``key``, or why it cannot be read."""
        try:
            header = self._conn.execute(_HEADER, (key,)).fetchone()
            if header is None:
                return StoreError(
                    "its row is missing from the workflows table, which the index of ids "
                    "still names: the database is damaged"
                )
            return reads.workflow_or_error(header, self._window(key))
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            return StoreError(f"a page holding its rows is damaged ({exc})")

    def _window(self, key: int) -> list[tuple[object, ...]]:
        """Its history rows, through the index; by a scan of the table if the index fails.

        A scan reads the whole table, so once one has failed, every other would too.
        """
        try:
            return self._conn.execute(_WINDOW_BY_INDEX, (key,)).fetchall()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc) or self._table_damaged:
                raise
        try:
            return self._conn.execute(_WINDOW_BY_SCAN, (key,)).fetchall()
        except sqlite3.DatabaseError:
            self._table_damaged = True
            raise
