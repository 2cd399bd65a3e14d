"""The package's architecture: which layers may import what, no import cycles, a torch-free
``schedreg.schedules``, and the deprecated old module paths of ``schedreg._moved``.

The import graph is read from the source with :mod:`ast` (every ``import`` / ``from ... import``
anywhere in a file, function bodies included), not from what happens to be loaded, so that a lazy
import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from schedreg._moved import MOVED

_SPEC = importlib.util.find_spec("schedreg")
assert _SPEC is not None and _SPEC.submodule_search_locations
PACKAGE_DIR = Path(next(iter(_SPEC.submodule_search_locations))).resolve()
SOURCE_ROOT = PACKAGE_DIR.parent  # the folder that holds schedreg/

HEAVY = ("torch", "hydra", "omegaconf")


# --------------------------------------------------------------------------------------------
# The import graph, from the source
# --------------------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULE_FILES: dict[str, Path] = {
    _module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py")) if "__pycache__" not in path.parts
}
PACKAGES = {name for name, path in MODULE_FILES.items() if path.name == "__init__.py"}


@dataclass(frozen=True)
class Edge:
    source: str  # the importing module
    target: str  # the module imported (canonical: old MOVED paths resolved to their new one)
    raw: str  # the module name as written (after resolving relative imports)
    lineno: int

    def where(self) -> str:
        return f"{MODULE_FILES[self.source].relative_to(SOURCE_ROOT)}:{self.lineno}"


def _canonical(name: str) -> str | None:
    """The schedreg module that importing ``name`` runs, or None when ``name`` is no module."""
    seen = set()
    while name in MOVED and name not in seen:  # an old path loads (and forwards to) the new one
        seen.add(name)
        name = MOVED[name][0]
    return name if name in MODULE_FILES else None


def _nearest_module(name: str) -> str:
    """``name`` if it is a known module, else its longest prefix that is (else ``name`` itself)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        found = _canonical(".".join(parts[:end]))
        if found is not None:
            return found
    return name


def _resolve_relative(module: str, level: int, name: str | None) -> str:
    package = module if module in PACKAGES else module.rpartition(".")[0]
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _imports(module: str, tree: ast.AST) -> list[tuple[str, str, int]]:
    """(target, raw name, line) for every import in ``tree``, wherever it sits."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((_nearest_module(alias.name), alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(module, node.level, node.module) if node.level else node.module
            assert base, f"{module}: cannot resolve an import on line {node.lineno}"
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if alias.name != "*" and _canonical(submodule) is not None:
                    found.append((_canonical(submodule), submodule, node.lineno))
                else:
                    found.append((_nearest_module(base), base, node.lineno))
    return found


def _all_edges() -> list[Edge]:
    edges = []
    for module, path in MODULE_FILES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, raw, lineno in _imports(module, tree):
            edges.append(Edge(module, target, raw, lineno))
    return edges


EDGES = _all_edges()


def _internal(edge: Edge) -> bool:
    return edge.target in MODULE_FILES


def _into_own_ancestor(edge: Edge) -> bool:
    """An edge from a module to a package ``__init__`` that contains it: Python runs that
    ``__init__`` before the module anyway, and an ``__init__`` that re-exports its submodules
    would otherwise make every such import look like a cycle."""
    return edge.target in PACKAGES and edge.source.startswith(edge.target + ".")


def _graph(edges: list[Edge]) -> dict[str, dict[str, Edge]]:
    graph: dict[str, dict[str, Edge]] = {module: {} for module in MODULE_FILES}
    for edge in edges:
        if _internal(edge) and not _into_own_ancestor(edge):
            graph[edge.source].setdefault(edge.target, edge)
    return graph


def _tarjan(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), each a sorted list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _a_cycle(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[Edge]:
    """One concrete cycle through ``component[0]`` inside the component (shortest, by BFS)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ, edge in graph[node].items():
            if succ not in members or succ in came_from:
                continue
            came_from[succ] = edge
            if succ == start:
                path = [edge]
                while path[0].source != start:
                    path.insert(0, came_from[path[0].source])
                return path
            queue.append(succ)
    raise AssertionError(f"no cycle found in {component}")  # pragma: no cover


def _describe(cycle: list[Edge]) -> str:
    chain = " -> ".join([cycle[0].source, *(edge.target for edge in cycle)])
    lines = "\n".join(f"    {edge.source} -> {edge.target}  ({edge.where()})" for edge in cycle)
    return f"{chain}\n{lines}"


# --------------------------------------------------------------------------------------------
# 1. schedreg.schedules (and schedreg itself) load no torch, hydra or omegaconf
# --------------------------------------------------------------------------------------------

_PROBE = """
import importlib, json, sys
importlib.import_module({module!r})
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
mine = sorted(m for m in sys.modules if m == "schedreg" or m.startswith("schedreg."))
print(json.dumps({{"heavy": heavy, "schedreg": mine}}))
"""


def _loaded_by_import(module: str) -> tuple[list[str], list[str]]:
    """(which of torch/hydra/omegaconf, the schedreg modules) a fresh interpreter has loaded
    after ``import <module>``."""
    import json
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        cwd=SOURCE_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, f"import {module} failed:\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["heavy"], report["schedreg"]


def test_the_probe_sees_a_heavy_import():
    """The subprocess check itself can fail: importing a module that loads torch is noticed."""
    heavy, _ = _loaded_by_import("schedreg.adapters.groups")
    assert heavy == ["torch"]


def test_a_fresh_interpreter_does_not_preload_torch_hydra_or_omegaconf():
    """Baseline for the checks below: nothing heavy is loaded before schedreg is."""
    heavy, _ = _loaded_by_import("json")
    assert heavy == []


def test_import_schedreg_loads_no_torch_hydra_or_omegaconf():
    heavy, mine = _loaded_by_import("schedreg")
    assert heavy == [], f"`import schedreg` loaded {heavy} (schedreg modules loaded: {mine})"


SCHEDULE_MODULES = sorted(
    name for name in MODULE_FILES if name == "schedreg.schedules" or name.startswith("schedreg.schedules.")
)


def test_schedules_has_submodules_to_check():
    assert "schedreg.schedules" in SCHEDULE_MODULES and len(SCHEDULE_MODULES) > 1


@pytest.mark.parametrize("module", SCHEDULE_MODULES)
def test_importing_a_schedules_module_loads_no_torch_hydra_or_omegaconf(module):
    heavy, mine = _loaded_by_import(module)
    assert heavy == [], f"`import {module}` loaded {heavy} (schedreg modules loaded: {mine})"


# --------------------------------------------------------------------------------------------
# 2. No import cycles, counting imports inside functions
# --------------------------------------------------------------------------------------------


def test_the_import_graph_reader_sees_top_level_relative_and_function_level_imports():
    """The graph below is not vacuous: it holds a top-level edge and a function-level one."""
    pairs = {(edge.source, edge.target) for edge in EDGES}
    assert ("schedreg.factory", "schedreg.adapters.grouped") in pairs  # top of the module
    assert ("schedreg.integrations.sampled", "schedreg.factory") in pairs  # inside a function
    # `from schedreg.schedules import detectron2` names the submodule, not the package
    assert ("schedreg.builders.detectron2", "schedreg.schedules.detectron2") in pairs
    assert _resolve_relative("schedreg.config.solver", 1, "units") == "schedreg.config.units"
    assert _resolve_relative("schedreg.config", 1, "units") == "schedreg.config.units"
    assert _resolve_relative("schedreg.config.solver", 2, "errors") == "schedreg.errors"


def test_tarjan_finds_a_cycle_and_skips_edges_into_an_own_ancestor_package():
    """The cycle check can fail: a made-up two-module cycle is one component of two."""

    def edge(source: str, target: str) -> Edge:
        return Edge(source, target, target, 1)

    graph = {
        "a": {"b": edge("a", "b")},
        "b": {"a": edge("b", "a"), "c": edge("b", "c")},
        "c": {},
    }
    components = _tarjan(graph)
    assert sorted(map(tuple, components)) == [("a", "b"), ("c",)]
    assert [e.target for e in _a_cycle(graph, ["a", "b"])] == ["b", "a"]
    assert _into_own_ancestor(edge("schedreg.config.solver", "schedreg.config"))
    assert _into_own_ancestor(edge("schedreg.config.solver", "schedreg"))
    assert not _into_own_ancestor(edge("schedreg.factory", "schedreg.config"))


def test_schedreg_modules_import_no_cycle_even_counting_function_level_imports():
    graph = _graph(EDGES)
    self_imports = [edge for edge in EDGES if _internal(edge) and edge.source == edge.target]
    assert not self_imports, "modules import themselves:\n" + "\n".join(
        f"    {edge.source} ({edge.where()})" for edge in self_imports
    )
    cycles = [component for component in _tarjan(graph) if len(component) > 1]
    assert not cycles, "import cycles among schedreg's modules:\n" + "\n\n".join(
        f"  component {component}:\n  {_describe(_a_cycle(graph, component))}" for component in cycles
    )


# --------------------------------------------------------------------------------------------
# 3. Layer direction
# --------------------------------------------------------------------------------------------

LAYERS = {
    "schedreg.schedules": (
        "schedreg.config",
        "schedreg.adapters",
        "schedreg.builders",
        "schedreg.factory",
        "schedreg.registry",
        "schedreg.integrations",
    ),
    "schedreg.config": (
        "schedreg.adapters",
        "schedreg.builders",
        "schedreg.factory",
        "schedreg.registry",
        "schedreg.integrations",
    ),
    "schedreg.adapters": (
        "schedreg.config",
        "schedreg.builders",
        "schedreg.factory",
        "schedreg.registry",
        "schedreg.integrations",
    ),
}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_lower_layer_imports_nothing_from_the_layers_above_it(layer):
    forbidden = LAYERS[layer]
    sources = [module for module in MODULE_FILES if _within(module, layer)]
    assert sources, f"no modules found in {layer}"
    wrong = [
        edge
        for edge in EDGES
        if _within(edge.source, layer)
        and any(_within(edge.target, above) or _within(edge.raw, above) for above in forbidden)
    ]
    assert not wrong, f"{layer} imports from a layer above it:\n" + "\n".join(
        f"    {edge.source} -> {edge.raw}"
        + (f" (= {edge.target})" if edge.raw != edge.target else "")
        + f"  ({edge.where()})"
        for edge in wrong
    )


def test_schedreg_modules_use_no_deprecated_old_path():
    """Inside the package, every import names a module's new home, never a MOVED alias."""
    old = [edge for edge in EDGES if any(_within(edge.raw, path) for path in MOVED)]
    assert not old, "imports of deprecated paths:\n" + "\n".join(
        f"    {edge.source} -> {edge.raw} (now {MOVED[edge.raw][0]})  ({edge.where()})" for edge in old
    )


# --------------------------------------------------------------------------------------------
# 4. The old module paths still work, with a DeprecationWarning
# --------------------------------------------------------------------------------------------


def _first_public_attribute(module: ModuleType) -> str:
    """A public name of ``module``: from ``__all__`` if it has one, else the first one defined in
    the module itself (not merely imported into it, like ``typing.Any``), else any public name."""
    public = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    own = [name for name in public if getattr(vars(module)[name], "__module__", None) == module.__name__]
    for name in [*(getattr(module, "__all__", None) or []), *own, *public]:
        if hasattr(module, name):
            return name
    raise AssertionError(f"{module.__name__} has no public attribute")


def test_moved_lists_old_paths():
    assert MOVED, "schedreg._moved.MOVED is empty"


@pytest.mark.parametrize("old, new", sorted((old, homes[0]) for old, homes in MOVED.items()))
def test_an_old_module_path_imports_warns_with_the_new_path_and_forwards(old, new, monkeypatch):
    import schedreg  # installs the finder

    assert schedreg
    assert _canonical(new) == new, f"MOVED sends {old} to {new}, which is no module of schedreg"
    new_module = importlib.import_module(new)
    name = _first_public_attribute(new_module)

    # A fresh import of the old path, so that its DeprecationWarning fires again
    # (monkeypatch puts back whatever sys.modules and the parent package held before).
    monkeypatch.delitem(sys.modules, old, raising=False)
    parent, _, child = old.rpartition(".")
    if parent in sys.modules and child in vars(sys.modules[parent]):
        monkeypatch.delattr(sys.modules[parent], child)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_module = importlib.import_module(old)

    names_new = re.compile(rf"(?<![\w.]){re.escape(new)}(?![\w.])")
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any(names_new.search(str(w.message)) for w in deprecations), (
        f"import {old}: no DeprecationWarning naming {new}; got {[str(w.message) for w in caught]}"
    )
    assert old_module.__name__ == old
    assert getattr(old_module, name) is getattr(new_module, name), f"{old}.{name} is not {new}.{name}"
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        exec(f"from {old} import {name} as forwarded", namespace)
    assert namespace["forwarded"] is getattr(new_module, name)


def test_every_package_of_schedreg_is_listed_for_the_wheel():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {
        ".".join(init.parent.relative_to(root).parts) for init in (root / "schedreg").rglob("__init__.py")
    }
    assert packages - listed == set()
