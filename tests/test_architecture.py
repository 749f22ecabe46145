"""Import direction (STYLE section 2), checked with an AST scan and in a subprocess.

Every import counts: at the top, under ``TYPE_CHECKING`` and inside functions. The arrows
(``a <- b``: b may import a): ``core <- formats``, ``core <- store <- notebook``,
``core <- orchestrator <- notebook``, ``core <- recovery``; ``cli`` may import anything.
``errors`` (every public exception) is below everything and imports nothing of ours.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "descartes_nb"
NOTEBOOK_ONLY = {
    *("graphviz", "pandas", "ipywidgets", "altair", "vl_convert", "IPython", "matplotlib"),
    "numpy",
}
STDLIB = set(sys.stdlib_module_names)
EVERY_LAYER = {"core", "formats", "store", "orchestrator", "recovery", "notebook", "sync"}

# layer: (the layers of descartes_nb it may import, the third-party packages it may import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "errors": (set(), set()),
    "sync": ({"errors"}, set()),
    "core": ({"errors"}, set()),
    "formats": ({"errors", "core"}, set()),
    "store": ({"errors", "core"}, {"aiosqlite", "asyncpg"}),
    "orchestrator": ({"errors", "core"}, set()),
    "recovery": ({"errors", "core"}, set()),
    "notebook": ({"errors", *EVERY_LAYER}, NOTEBOOK_ONLY),
    "package": ({"errors", *EVERY_LAYER - {"notebook"}}, set()),  # descartes_nb/__init__.py
    "cli": ({"errors", "package", *EVERY_LAYER}, set()),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Absolute names of what a file imports; ``from a import b`` gives ``a.b``."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            yield from (f"{base}.{alias.name}" for alias in node.names)


def layer(module: str) -> str:
    """The layer of one of our modules: its first part under descartes_nb."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "package"


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def target(name: str, modules: dict[str, Path]) -> str:
    """The module an imported name lives in (``a.b`` is module ``a`` unless ``a.b`` is one)."""
    return name if name in modules else name.rsplit(".", 1)[0]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=module_name)
def test_each_layer_imports_only_what_its_arrows_allow(path):
    own = layer(module_name(path))
    ours, theirs = RULES[own]
    for name in imports(path):
        top = name.split(".")[0]
        if top == "descartes_nb":
            found = layer(target(name, our_modules()))
            assert found in (ours | {own}), f"{module_name(path)} ({own}) imports {name}"
        elif top not in STDLIB and top != "__future__":
            assert top in theirs, f"{module_name(path)} ({own}) imports {name}"
            assert not any(part.startswith("_") for part in name.split(".")), (
                f"{module_name(path)} uses the private name {name}"
            )


def test_every_layer_of_the_package_has_a_rule():
    layers = {layer(module) for module in our_modules()}
    assert layers == set(RULES)


def test_modules_import_each_other_without_cycles():
    modules = our_modules()
    graph = {
        module: {target(name, modules) for name in imports(path)} & set(modules) - {module}
        for module, path in modules.items()
    }
    cycles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]


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


def test_descartes_nb_works_without_asyncpg_until_a_postgres_store_opens():
    """asyncpg is the postgres extra: importing the library, naming a PostgreSQL store and
    using SQLite never import it; opening a PostgreSQL store without it says what to install."""
    code = (
        "import sys, asyncio\n"
        "sys.modules['asyncpg'] = None  # as if it were not installed\n"
        "import descartes_nb as dn\n"
        "store = dn.open_store('postgresql://ana:secret@127.0.0.1:1/flows')\n"
        "print(type(store).__name__, store.url)\n"
        "async def main():\n"
        "    async with dn.open_store(':memory:') as lite:\n"
        "        await dn.WorkflowStateMachine('w', store=lite).process_event('Start')\n"
        "    try:\n"
        "        await store.open()\n"
        "    except dn.StoreError as exc:\n"
        "        print(exc)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == [
        "PostgresWorkflowStore postgresql://ana:***@127.0.0.1:1/flows",
        "PostgresWorkflowStore needs asyncpg: pip install asyncpg (or the postgres extra: "
        "pip install 'descartes-nb[postgres]'; from a clone: pip install -e '.[postgres]')",
    ]


def test_the_store_uses_no_private_name_of_aiosqlite():
    """aiosqlite through its public API only: no attribute of its private names is read."""
    import aiosqlite

    private = {
        name
        for cls in (aiosqlite.Connection, aiosqlite.Cursor)
        for name in dir(cls)
        if name.startswith("_") and not name.startswith("__")
    } | {"_conn", "_connection", "_thread", "_tx", "_running"}
    found = []
    for path in sorted((PACKAGE / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in private
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == []
