"""The definitions notebook functions take: one ``WorkflowDefinition``, or a mapping of them.

``load_definitions`` returns a mapping of names to definitions. Every notebook function that
takes a definition also takes such a mapping and picks from it the definition the workflow
(or the frame's workflows) runs; the lifecycle is always known.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeAlias

from ..core._definition import WorkflowDefinition
from ..core._lifecycle import LIFECYCLE

Definitions: TypeAlias = WorkflowDefinition | Mapping[str, WorkflowDefinition]
"""One definition, or definitions by name (as ``load_definitions`` returns them)."""


def checked_definitions(definitions: object) -> WorkflowDefinition | dict[str, WorkflowDefinition]:
    """``definitions`` as one definition, or as a dict by name of every definition given.

    Raises:
        TypeError: neither a definition nor a mapping of names to definitions.
    """
    if isinstance(definitions, WorkflowDefinition):
        return definitions
    if not isinstance(definitions, Mapping):
        raise TypeError(
            "expected a WorkflowDefinition or a mapping of names to them (as load_definitions "
            f"returns), got {type(definitions).__name__} {definitions!r:.80}"
        )
    by_name: dict[str, WorkflowDefinition] = {}
    for key, value in definitions.items():
        if not isinstance(value, WorkflowDefinition):
            raise TypeError(
                f"definitions[{key!r}] must be a WorkflowDefinition, got "
                f"{type(value).__name__} {value!r:.80}"
            )
        by_name.setdefault(value.name, value)
        by_name.setdefault(str(key), value)  # a key may differ from the definition's name
    return by_name


def definition_named(definitions: Definitions, name: str, *, who: str) -> WorkflowDefinition:
    """The definition called ``name`` that ``who`` runs (the lifecycle is always known).

    A single definition is returned as it is: the caller decides whether its name matters.

    Raises:
        TypeError: ``definitions`` is neither a definition nor a mapping of them.
        ValueError: the mapping holds no definition called ``name``.
    """
    found = checked_definitions(definitions)
    if isinstance(found, WorkflowDefinition):
        return found
    if name in found:
        return found[name]
    if name == LIFECYCLE.name:
        return LIFECYCLE
    raise ValueError(
        f"{who} runs definition {name!r}, which is not among the definitions given "
        f"{_names(found)}; pass the one it runs"
    )


def the_definition(
    definitions: Definitions, running: Collection[str], *, call: str, who: str = "the frame"
) -> WorkflowDefinition:
    """The one definition ``call`` is about: the one given, or the one the data runs.

    Args:
        definitions: one definition, or a mapping of them.
        running: the names of the definitions the data runs, where it says (may be empty).
        call: how the user called the function, for messages (``"overlay(defs, frame)"``).
        who: what runs ``running``, for messages.

    Raises:
        TypeError: ``definitions`` is neither a definition nor a mapping of them.
        ValueError: which one is meant cannot be told (several given and the data runs
            none or several of them), or the data runs one that was not given.
    """
    found = checked_definitions(definitions)
    if isinstance(found, WorkflowDefinition):
        return found
    if len(set(running)) == 1:
        [name] = set(running)
        return definition_named(found, name, who=who)
    distinct = {id(d): d for d in found.values()}
    if len(distinct) == 1 and not running:
        return next(iter(distinct.values()))
    given = _names(found)
    why = f"{who} runs {sorted(set(running))}" if running else f"{len(given)} were given"
    example = min(running) if running else (given or ["name"])[0]
    raise ValueError(
        f"{call} needs one definition, but {why} (definitions given: {given}); "
        f"pass one, such as defs[{example!r}]"
    )


def _names(by_name: Mapping[str, WorkflowDefinition]) -> list[str]:
    return sorted({d.name for d in by_name.values()})
