"""Reading a parsed Swarm.toml document into definitions, collecting every problem found.

Each value is checked where it is read; a problem names the workflow, state and key, the
line and what is allowed, and reading goes on so that all problems are reported at once.
``_load.py`` describes the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...core._definition import PREVIOUS_STATE, Guard, WorkflowDefinition
from ...core._validate import validate
from ...errors import DefinitionError, DefinitionProblem
from ._index import LineIndex
from ._report import Place, Reporter, show, suggest
from ._state import FAILED, ParsedState, StateReader, assemble

WORKFLOW_KEYS: Final = ("initial_state", "description", "uniform_failure", "states")


class WorkflowReader:
    """Reads the ``[workflow.*]`` tables of one document; ``problems`` collects what is wrong."""

    def __init__(
        self, source: str, index: LineIndex, guards: Mapping[str, Guard], *, strict: bool
    ) -> None:
        self.report = Reporter(source, index)
        self.states = StateReader(self.report, guards)
        self.strict = strict

    @property
    def problems(self) -> list[DefinitionProblem]:
        """Every problem reported so far, in the order found."""
        return self.report.problems

    def read(self, document: Mapping[str, Any]) -> dict[str, WorkflowDefinition]:
        """Return the workflows that have no errors; problems are in ``self.problems``."""
        top = Place(())
        self.report.unknown_keys(document, ("workflow",), top)
        workflows = document.get("workflow")
        if workflows is None or workflows == {}:  # missing, or an empty [workflow] table
            place = top if workflows is None else top.at("workflow")
            self.report.add(place, "no workflow found (add a [workflow.<name>] table)")
            return {}
        if not isinstance(workflows, dict):
            self.report.add(top.at("workflow"), f"must be a table, got {show(workflows)}")
            return {}
        found: dict[str, WorkflowDefinition] = {}
        for name, table in workflows.items():
            definition = self.workflow(name, table)
            if definition is not None:
                found[name] = definition
        return found

    def workflow(self, name: str, table: object) -> WorkflowDefinition | None:
        """Read one workflow; None when it has errors."""
        report, place = self.report, Place(("workflow", name), workflow=name)
        before = report.errors()
        if not name:
            report.add(place, "a workflow name cannot be empty")
        if not isinstance(table, dict):
            report.add(place, f"must be a table, got {show(table)}")
            return None
        report.unknown_keys(table, WORKFLOW_KEYS, place)
        initial = report.value(
            table, "initial_state", (str,), place, "a state name", required=True
        )
        description = report.value(table, "description", (str,), place, "a string")
        uniform = report.value(table, "uniform_failure", (bool,), place, "true or false")
        states = report.value(table, "states", (dict,), place, "a table of states", required=True)
        if states == {}:
            report.add(place.at("states"), "needs at least one state")
        parsed = [
            p
            for n, t in (states or {}).items()
            if (p := self.states.state(place, n, t)) is not None
        ]
        self.check_references(place, initial, list(states or {}), parsed)
        if report.errors() > before or initial is None or not parsed:
            return None
        return self.build(place, initial, description or "", parsed, uniform is not False)

    def check_references(
        self, place: Place, initial: str | None, names: list[str], parsed: list[ParsedState]
    ) -> None:
        """Report unknown initial states, targets, parents and initial children."""
        known = f"states: {names}"
        if initial is not None and names and initial not in names:
            self.report.add(
                place.at("initial_state"),
                f"unknown initial state {initial!r} ({suggest(initial, names)}{known})",
            )
        for p in parsed:
            for target, where in p.targets:
                if target not in names and target != PREVIOUS_STATE:
                    self.report.add(
                        where,
                        f"unknown target state {target!r} ({suggest(target, names)}"
                        f"{known}, or {PREVIOUS_STATE!r})",
                    )
            here = place.at("states", p.state.name, state=p.state.name)
            parent, child = p.state.parent, p.state.initial
            if parent is not None and parent not in names:
                self.report.add(
                    here.at("parent"),
                    f"unknown parent {parent!r} ({suggest(parent, names)}{known})",
                )
            default = p.state.default
            if default is not None and default not in names:
                self.report.add(
                    here.at("default"),
                    f"unknown default {default!r} ({suggest(default, names)}{known})",
                )
            children = [q.state.name for q in parsed if q.state.parent == p.state.name]
            if child is not None and child not in children:
                self.report.add(
                    here.at("initial"),
                    f"{child!r} is not a child of {p.state.name!r} (children: {children})",
                )

    def build(
        self,
        place: Place,
        initial: str,
        description: str,
        parsed: list[ParsedState],
        uniform: bool,
    ) -> WorkflowDefinition | None:
        """Build the definition and run ``validate()`` on it; None when there are errors."""
        assert place.workflow is not None
        states, transitions = assemble(parsed, uniform=uniform)
        before = self.report.errors()
        try:
            definition = WorkflowDefinition(
                place.workflow, tuple(states), initial, tuple(transitions), description
            )
        except DefinitionError as exc:
            for problem in exc.problems:
                self.add_found(place, problem)
            return None
        added_failed = uniform and all(p.state.name != FAILED for p in parsed)
        for problem in validate(definition, strict=self.strict):
            if added_failed and problem.state == FAILED:  # only unreachable applies to it
                self.report.add(
                    place.at("uniform_failure"),
                    f"state {FAILED!r}, which uniform failure adds, cannot be reached from "
                    f"initial state {initial!r}: no Fail or Timeout leads there; set "
                    "uniform_failure = false to leave it out",
                    with_key=False,
                    severity=problem.severity,
                )
            else:
                self.add_found(place, problem)
        return definition if self.report.errors() == before else None

    def add_found(self, place: Place, problem: DefinitionProblem) -> None:
        """Report a problem found on a built definition, at the place it comes from."""
        where = place
        event_place = self.states.event_places.get((problem.state or "", problem.event or ""))
        if event_place is not None:
            where = event_place
        elif problem.state is not None:
            where = place.at("states", problem.state, state=problem.state)
            if problem.key:
                where = where.at(*problem.key.split("."))
        elif problem.key:
            where = place.at(problem.key)
        found = DefinitionProblem(
            f"workflow {place.workflow!r}: {problem.message}",
            workflow=place.workflow,
            state=problem.state,
            key=problem.key,
            severity=problem.severity,
            event=problem.event,
        )
        self.report.add_problem(found, where)
