"""Import direction (STYLE section 2), checked with an AST scan and in a subprocess."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "descartes_nb"
NOTEBOOK_ONLY = {"graphviz", "pandas", "ipywidgets", "IPython", "matplotlib"}
STDLIB = set(sys.stdlib_module_names)


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved), lazily or not."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def layer_files(layer: str) -> list[Path]:
    target = PACKAGE / layer
    if target.is_dir():
        return sorted(target.rglob("*.py"))
    return [p for p in [target.with_suffix(".py")] if p.exists()]


@pytest.mark.parametrize("path", layer_files("core"), ids=lambda p: p.name)
def test_core_imports_only_the_standard_library(path):
    for module in imported_modules(path):
        top = module.split(".")[0]
        allowed = top in STDLIB or module.startswith(("descartes_nb.core", "descartes_nb.errors"))
        assert allowed, f"{path.name} imports {module}"


@pytest.mark.parametrize(
    "path",
    [
        *layer_files("store"),
        *layer_files("orchestrator"),
        *layer_files("sync"),
        *layer_files("errors"),
        PACKAGE / "__init__.py",
    ],
    ids=lambda p: p.name,
)
def test_only_the_notebook_layer_imports_notebook_packages(path):
    for module in imported_modules(path):
        assert module.split(".")[0] not in NOTEBOOK_ONLY, f"{path.name} imports {module}"
        assert not module.startswith("descartes_nb.notebook"), f"{path.name} imports {module}"


@pytest.mark.parametrize("path", layer_files("orchestrator"), ids=lambda p: p.name)
def test_orchestrator_reaches_a_store_only_through_the_core_protocol(path):
    for module in imported_modules(path):
        assert not module.startswith("descartes_nb.store"), f"{path.name} imports {module}"


def test_import_descartes_nb_loads_no_notebook_package():
    code = (
        "import sys, descartes_nb\n"
        f"heavy = sorted(m for m in {sorted(NOTEBOOK_ONLY)!r} if m in sys.modules)\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
