"""The public API: __all__ sorted and complete, every error exported."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb import errors
from descartes_nb import notebook as dnb


def isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("package", [dn, dnb], ids=["descartes_nb", "notebook"])
def test_all_is_sorted_and_complete(package):
    assert package.__all__ == sorted(package.__all__, key=isort_style)
    public = {name for name in vars(package) if not name.startswith("_")}
    modules = {name for name, value in vars(package).items() if inspect.ismodule(value)}
    assert public - modules == set(package.__all__) - {"__version__"}


def test_every_error_class_is_exported_and_in_the_tree():
    for name in errors.__all__:
        assert getattr(dn, name) is getattr(errors, name)
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    ]
    assert {cls.__name__ for cls in classes} == set(errors.__all__) - {"DefinitionProblem"}
    assert all(issubclass(cls, dn.StateMachineError) for cls in classes)


def test_design_names_are_importable():
    for name in [
        "WorkflowStateMachine",
        "WorkflowDefinition",
        "LIFECYCLE",
        "WorkflowEvent",
        "WorkflowState",
        "StateHandler",
        "StateHistoryEntry",
        "WorkflowMetadata",
        "SerializedWorkflow",
        "WorkflowOrchestrator",
        "SystemClock",
        "ManualClock",
        "run_sync",
        "validate",
        "SqliteWorkflowStore",
        "StateStoreConfig",
        "WorkflowRecovery",
    ]:
        assert name in dn.__all__, name


INTERNAL_PACKAGES = ["core", "store", "formats.swarm", "formats.swarm.guards"]


@pytest.mark.parametrize("name", INTERNAL_PACKAGES)
def test_internal_packages_export_nothing(name):
    package = importlib.import_module(f"descartes_nb.{name}")
    public = {
        attribute
        for attribute, value in vars(package).items()
        if not attribute.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set()


def test_modules_inside_the_layers_are_private():
    root = Path(dn.__file__).parent
    folders = ["core", "store", "notebook", "cli", "formats/swarm"]
    modules = [path for folder in folders for path in (root / folder).rglob("*.py")]
    public = [
        str(path.relative_to(root))
        for path in modules
        if not path.name.startswith("_") and path.name not in ("__init__.py", "__main__.py")
    ]
    assert len(modules) > 40
    assert public == []
