"""The database commands of ``descartes-nb``: ``history`` and ``recover`` of a database.

Both take a path or a ``sqlite:///`` URL (an existing file only) or a ``postgresql://`` URL,
and only read it: not a byte of a file changes, and it may be on a read-only file system;
PostgreSQL is read in read-only transactions. They report what they find
instead of raising: exit status 1 for a damaged workflow or file, and (as one ``error: ...``
line) for a missing file, a file that is not a descartes_nb database, or definitions that
cannot be read. On a damaged file they show every workflow that can still be read and name
those that cannot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Final, TextIO

from ..core._definition import WorkflowDefinition
from ..core._history import StateHistoryEntry
from ..core._serialization import SerializedWorkflow
from ..errors import DefinitionError, StateMachineError
from ..formats.swarm._load import load_definitions
from ..recovery import WorkflowRecovery
from ..store._config import database_path
from ..store._open import open_store
from ..store._pgpool import check_url, shown
from ._report import BadInput
from ._swarmfile import add_guard_option, declared_guards

_DB_HELP = "a SQLite file written by descartes_nb (or sqlite:/// URL), or a postgresql:// URL"
# How WorkflowRecovery ends the reason of a workflow whose definition it was not given.
_UNREGISTERED: Final = re.compile(r"which is not registered \(known: .*\)$", re.MULTILINE)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, in left-aligned columns indented by two spaces."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def milliseconds(delta: timedelta) -> str:
    """A duration as ``12.5 ms``."""
    return f"{delta.total_seconds() * 1000:.1f} ms"


def history_table(entries: Sequence[StateHistoryEntry]) -> str:
    """History entries as a table: seq, states, event, its data, time of day, duration."""
    rows = [
        [
            str(e.seq),
            str(e.from_state),
            str(e.to_state),
            e.event,
            "" if e.event_data is None else json.dumps(e.event_data),
            e.timestamp.strftime("%H:%M:%S.%f")[:-3],
            milliseconds(e.duration),
        ]
        for e in entries
    ]
    header = ["seq", "from_state", "to_state", "event", "event_data", "timestamp", "duration"]
    return table(header, rows)


async def show_history(db: str, workflow_id: str | None, out: TextIO) -> int:
    """Print the stored workflows of ``db``, or the stored history of one; return the status.

    The status is 1 when a stored workflow cannot be read (it is listed as unreadable).
    """
    async with open_store(db, read_only=True) as store:
        if workflow_id is None:
            loaded = await store.load_all_workflows()
            print(f"{len(loaded)} workflows in {shown_database(db)}", file=out)
            print(_stored_table(loaded), file=out)
            return 1 if any(isinstance(item, StateMachineError) for _, item in loaded) else 0
        header = await store.load_workflow(workflow_id)
        entries = await store.get_workflow_history(workflow_id)
    print(
        f"{workflow_id} ({header.definition}): {header.state}, {header.transition_count} "
        f"transitions, version {header.version}, context {json.dumps(dict(header.context))}",
        file=out,
    )
    print(history_table(entries), file=out)
    return 0


async def recover(
    db: str, out: TextIO, definitions: Mapping[str, WorkflowDefinition] | None = None
) -> int:
    """Rebuild every workflow of ``db`` and check the file; 0 when all is sound, else 1.

    ``definitions`` are those the workflows may run besides the lifecycle. On a damaged
    file, every workflow that can still be read is rebuilt, and the others are named.
    """
    async with open_store(db, read_only=True) as store:
        problems = await store.check_integrity()
        report = await WorkflowRecovery(store, definitions or {}).recover_all_workflows()
    verdict = "ok" if not problems else "FAILED"
    print(f"integrity check of {shown_database(db)}: {verdict}", file=out)
    for problem in problems:
        print(f"  {problem}", file=out)
    print(_UNREGISTERED.sub(r"\g<0>; pass --definitions FILE", str(report)), file=out)
    rows = [
        [sm.workflow_id, sm.definition.name, str(sm.state), str(sm.history.last_seq)]
        for sm in report.workflows.values()
    ]
    if rows:
        print(table(["workflow_id", "definition", "state", "transitions"], rows), file=out)
    return 0 if report.ok and not problems else 1


def _stored_table(loaded: Sequence[tuple[str, SerializedWorkflow | StateMachineError]]) -> str:
    rows = [
        [wid, "?", "unreadable", "", str(item)]
        if isinstance(item, StateMachineError)
        else [
            wid,
            item.definition,
            str(item.state),
            str(item.transition_count),
            item.updated_at.isoformat(timespec="seconds"),
        ]
        for wid, item in loaded
    ]
    return table(["workflow_id", "definition", "state", "transitions", "updated_at"], rows)


def load_definition_files(
    paths: Iterable[str], guards: Iterable[str] = ()
) -> dict[str, WorkflowDefinition]:
    """The workflows of Swarm.toml files, by name; ``guards`` name guards the files may use.

    The guards are stand-ins: recovery rebuilds workflows without evaluating any guard.

    Raises:
        DefinitionError: a file cannot be read or has problems (``.problems`` lists them),
            or two files define a workflow of the same name.
    """
    named = declared_guards(guards)
    found: dict[str, WorkflowDefinition] = {}
    source: dict[str, str] = {}
    for path in paths:
        for name, definition in load_definitions(Path(path), guards=named).items():
            if name in found:
                raise DefinitionError(
                    f"workflow {name!r} is defined in both {source[name]!r} and {path!r}; "
                    "pass each workflow once",
                    source=path,
                    workflow=name,
                )
            found[name], source[name] = definition, path
    return found


def add_definitions_option(command: argparse.ArgumentParser) -> None:
    """Add ``--definitions FILE`` (repeatable); read them with ``read_definition_files``."""
    command.add_argument(
        "--definitions",
        action="append",
        default=[],
        metavar="FILE",
        help="a Swarm.toml file of the workflows the database runs besides the lifecycle "
        "(repeatable)",
    )


def read_definition_files(
    paths: Iterable[str], guards: Iterable[str] = (), *, refused: str
) -> dict[str, WorkflowDefinition]:
    """``load_definition_files``, or their problems printed and ``BadInput``.

    Args:
        paths: the Swarm.toml files.
        guards: names of guards the files may use.
        refused: what the command does not do, for the error (``"nothing recovered"``).

    Raises:
        BadInput: the files cannot be read, or have problems (printed first).
    """
    try:
        return load_definition_files(paths, guards)
    except DefinitionError as exc:
        if not exc.problems:
            raise BadInput(str(exc)) from exc
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise BadInput(f"the definitions cannot be read; {refused}") from exc


def add_database_tools(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``history`` and ``recover`` commands."""
    history = commands.add_parser(
        "history",
        help="list the workflows stored in a database, or show one's history",
        description="List the workflows of a database, or show one's history; the file is "
        "only read. Exit status 0; 1 when a workflow cannot be read (it is listed as "
        "unreadable) or the file is not a descartes_nb database.",
    )
    history.add_argument("db", help=_DB_HELP)
    history.add_argument("workflow", nargs="?", help="the workflow whose history to show")
    rebuild = commands.add_parser(
        "recover",
        help="rebuild every stored workflow and report the damaged ones",
        description="Rebuild every workflow of a database and check the file; the file is "
        "only read. On a damaged file, print what PRAGMA integrity_check finds, rebuild "
        "every workflow that can still be read and name the others. Exit status 0 when all "
        "is sound; 1 when a workflow or the file is damaged, the file is not a descartes_nb "
        "database, or the definitions cannot be read.",
    )
    rebuild.add_argument("db", help=_DB_HELP)
    add_definitions_option(rebuild)
    for command in (history, rebuild):
        command.set_defaults(run=run_database_tool)
    add_guard_option(rebuild)


def is_postgres(db: str) -> bool:
    """Whether ``db`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return db.startswith(("postgresql://", "postgres://"))


def shown_database(db: str) -> str:
    """``db`` as output shows it: a PostgreSQL URL without its password."""
    return shown(db) if is_postgres(db) else db


def check_database(db: str, *, existing: bool) -> None:
    """Refuse a database argument (a path, a ``sqlite:///`` or ``postgresql://`` URL).

    Only what no store could open is refused here.

    Raises:
        BadInput: an unsupported URL, a directory, no file (``existing``), or no folder to
            create the file in.
    """
    if is_postgres(db):
        try:
            check_url(db)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        return
    try:
        path = Path(database_path(db))
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if path.is_dir():
        raise BadInput(f"{db!r} is a directory, not a database file")
    if existing and not path.is_file():
        raise BadInput(f"no database file at {db!r}")
    if not path.parent.is_dir():
        raise BadInput(f"no folder {str(path.parent)!r} to create the database {db!r} in")


def run_database_tool(args: argparse.Namespace) -> int:
    """Run ``history`` or ``recover`` on an existing database file; return the status.

    Raises:
        BadInput: no such database, or the definitions cannot be read (their problems are
            printed first).
    """
    check_database(args.db, existing=True)
    if args.command == "history":
        return asyncio.run(show_history(args.db, args.workflow, sys.stdout))
    definitions = read_definition_files(args.definitions, args.guard, refused="nothing recovered")
    return asyncio.run(recover(args.db, sys.stdout, definitions))
