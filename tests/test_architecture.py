"""The shape of the code (issue 19 item 5): apps do not import each other in a circle, and no
function hides an import of another app.

An import cycle between modules of two apps ties the apps together: neither can be loaded,
tested or moved without the other, and which module finishes loading first depends on who
imported first. A function-level import of another app hides such a dependency from a reader
(and from import-linter's layers); the import goes at the top of the module, and where that
would close a circle the shared code moves lower instead.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import deque
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
# our top-level packages: each is an "app" here (ipbx_project is the project's wiring)
APPS = (
    "accounts",
    "agents",
    "fax",
    "icm",
    "ipbx_project",
    "ivr",
    "outbound",
    "recording",
    "stats",
    "supervision",
    "switchsim",
    "voicemail",
)


def app_of(module: str) -> str:
    return module.split(".", 1)[0]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of `graph` (module -> modules it imports),
    iteratively (a recursive walk would overflow on long import chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def cross_app_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest import cycle (`a -> b -> … -> a`) per group of modules of different apps
    that import each other in a circle; [] when there is none."""
    cycles = []
    for component in strongly_connected(graph):
        if len({app_of(m) for m in component}) < 2:
            continue
        sub = {m: graph[m] & component for m in component}
        edges = [(a, b) for a in sorted(sub) for b in sorted(sub[a]) if app_of(a) != app_of(b)]
        paths = [_shortest_path(sub, b, a) for a, b in edges]
        cycles.append(min(([a, *p] for (a, _b), p in zip(edges, paths, strict=True)), key=len))
    return cycles


def _shortest_path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """start … goal by breadth-first search (it exists: both are in one component)."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while goal not in came_from:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    path = [goal]
    while (previous := came_from[path[-1]]) is not None:
        path.append(previous)
    return path[::-1]


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (at any level, function bodies included)."""
    grimp_graph = grimp.build_graph(*APPS, cache_dir=None)
    return {
        module: set(grimp_graph.find_modules_directly_imported_by(module))
        for module in grimp_graph.modules
    }


def function_level_imports_across_apps(root: Path = ROOT) -> list[str]:
    """`path:line: statement` for each import inside a function body whose target is another
    of our apps than the module's own."""
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and not node.level:
                        targets = [node.module or ""]
                    elif isinstance(node, ast.Import):
                        targets = [alias.name for alias in node.names]
                    else:
                        continue  # a relative import stays inside its package
                    if any(app_of(t) in APPS and app_of(t) != app for t in targets):
                        where = path.relative_to(root)
                        found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(found))


# --- the checks themselves are checked on small made-up graphs ----------------------------


def test_a_cycle_between_two_apps_is_found_and_spelled_out():
    graph = {
        "agents.callbacks": {"agents.desktop"},
        "agents.desktop": {"agents.callbacks", "supervision.bulletins"},
        "supervision.bulletins": {"supervision.actions"},
        "supervision.actions": {"agents.desktop", "icm.models"},
        "icm.models": set(),
    }
    assert cross_app_cycles(graph) == [
        ["agents.desktop", "supervision.bulletins", "supervision.actions", "agents.desktop"]
    ]


def test_a_cycle_inside_one_app_and_a_one_way_dependency_are_allowed():
    graph = {
        "outbound.dialer": {"outbound.control", "icm.models"},
        "outbound.control": {"outbound.dialer", "supervision.actions"},
        "supervision.actions": {"icm.models"},
        "icm.models": set(),
    }
    assert cross_app_cycles(graph) == []


def test_a_function_level_import_of_another_app_is_found(tmp_path):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "views.py").write_text(
        "from agents.models import Agent\n\n"
        "def page():\n"
        "    from agents.desktop import snapshot  # same app: allowed\n"
        "    from supervision.scope import scope_of\n"
        "    import icm.bus.keys\n"
        "    from . import forms  # relative: same package\n"
        "    import json\n"
    )
    assert function_level_imports_across_apps(tmp_path) == [
        "agents/views.py:5: from supervision.scope import scope_of",
        "agents/views.py:6: import icm.bus.keys",
    ]


# --- the code base -------------------------------------------------------------------------


def test_no_import_cycle_crosses_apps():
    cycles = cross_app_cycles(import_graph())
    assert not cycles, "import cycles between modules of different apps:\n" + "\n".join(
        "  " + " -> ".join(cycle) for cycle in cycles
    )


def test_no_function_imports_another_app():
    found = function_level_imports_across_apps()
    assert not found, (
        "function-level imports across apps (import at the top of the module; where that "
        "would close a cycle, move the shared code lower):\n  " + "\n  ".join(found)
    )


def contract_layers(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The layers of the import-linter layers contract (`a : b` or `a | b` each)."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return list(next(c["layers"] for c in contracts if c["type"] == "layers"))


def unlayered(modules: list[str], layers: list[str]) -> list[str]:
    """The modules no layer covers: neither named, nor inside a named package, nor a package
    holding named modules (the apps themselves, `icm.management` …). Migrations are left
    out: they only ever describe their own app's tables."""
    named = {name.strip() for layer in layers for name in re.split(r"[:|]", layer)} - {""}
    return sorted(
        module
        for module in modules
        if ".migrations" not in module
        and not any(module == n or module.startswith(n + ".") for n in named)
        and not any(n.startswith(module + ".") for n in named)
    )


def test_a_module_outside_every_layer_is_found():
    layered = ["agents.models : agents.views", "icm.domain | switchsim"]
    modules = ["agents", "agents.models", "agents.views", "agents.new_thing", "icm.domain.acd"]
    assert unlayered(modules, layered) == ["agents.new_thing"]


def test_every_module_is_in_a_layer_of_the_contract():
    """A new module must be placed in a layer of pyproject.toml's layers contract (else
    import-linter would not check it)."""
    missing = unlayered(sorted(import_graph()), contract_layers())
    assert not missing, "modules in no layer of the layers contract:\n  " + "\n  ".join(missing)
