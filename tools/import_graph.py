"""The import graph of vitalwatch and the simulators, built from the code by
grimp (import-linter's graph library).

    .venv/bin/python tools/import_graph.py           # domain-level graph as Mermaid
    .venv/bin/python tools/import_graph.py --below-edge  # the same without routers and deps
    .venv/bin/python tools/import_graph.py --check   # exit 1 on any module-level circle
                                                     # (through a package's __init__ too),
                                                     # on domains importing each other
                                                     # below the edge, or on a domain
                                                     # importing one it must not (APART)

docs/architecture.md pastes the Mermaid output; `make lint` runs `--check`
beside `lint-imports` (whose contracts in pyproject.toml cover the layers but
not circles that cross domains). A node is a domain folder (`alarms.engine` is
shown on its own), a top-level module, or `shared` (config, db, errors, heap,
ids, logging, metrics, migrate, samples, tasks, vitals: the plain modules at
the bottom). Imports under `if TYPE_CHECKING:` count, as they do for the
contracts.

grimp records `from package import module` as an import of the module only, but
Python runs the package's `__init__` for it, so a submodule that names its own
package that way closes a circle when that `__init__` imports it back (the alarm
engine's did). `package_edges` adds those imports from the source; `--check`
counts them, and `PackageCircles` is the import-linter contract type that does
the same (registered in pyproject.toml's `contract_types`).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import grimp
from importlinter.application import output
from importlinter.domain.contract import Contract, ContractCheck

#: The first-party packages (pyproject.toml's root_packages).
ROOTS = ("vitalwatch", "simulators")
SPLIT = ("vitalwatch.alarms.engine",)
#: Plain modules every domain uses (the bottom layer of the contracts), one node.
SHARED = frozenset(
    {
        "config",
        "db",
        "errors",
        "heap",
        "ids",
        "logging",
        "metrics",
        "migrate",
        "samples",
        "tasks",
        "vitals",
    }
)
Graph = dict[str, set[str]]
#: The last part of a module's name that makes it part of the HTTP edge.
EDGE = frozenset({"router", "deps"})
#: Domains that must not import each other directly (through a third domain is
#: fine), with the reason; a forbidden contract in pyproject.toml says the same.
APART: dict[tuple[str, str], str] = {
    ("live", "readings"): "live reads the ward through overview's read model (Ward) and "
    "the vitals through its VitalsSource port",
}


def domain(module: str) -> str:
    """The node a module belongs to: its domain folder, or a top-level module."""
    for prefix in SPLIT:
        if module == prefix or module.startswith(prefix + "."):
            return prefix.removeprefix("vitalwatch.")
    parts = module.split(".")
    if parts[0] != "vitalwatch":
        return parts[0]
    if len(parts) == 1:
        return "vitalwatch"
    return "shared" if parts[1] in SHARED else parts[1]


def module_graph() -> Graph:
    """Module -> the modules it imports (first-party only), with the packages
    named by `from package import ...` (see `package_edges`)."""
    graph = grimp.build_graph(*ROOTS, cache_dir=None)
    modules = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    for module, packages in package_edges(graph.modules).items():
        modules[module] |= packages
    return modules


def source(module: str, roots: Iterable[str] = ROOTS) -> Path | None:
    """The file a first-party module is read from (found without importing it)."""
    root, *rest = module.split(".")
    if root not in roots:
        return None
    spec = importlib.util.find_spec(root)
    if spec is None or spec.origin is None:
        return None
    base = Path(spec.origin).parent.joinpath(*rest)
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _from_target(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module a `from X import ...` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts[: len(parts) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def package_edges(modules: Iterable[str], roots: Iterable[str] = ROOTS) -> Graph:
    """Module -> the packages its `from package import ...` statements name.

    grimp records the submodule such a statement names, not the package whose
    `__init__` Python runs for it; a package importing its own submodules
    (re-exports) then forms a circle with any submodule that names it."""
    known = set(modules)
    found: Graph = defaultdict(set)
    for module in sorted(known):
        path = source(module, roots)
        if path is None:
            continue
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                target = _from_target(module, is_package, node)
                target_path = source(target, roots) if target in known else None
                if target != module and target_path and target_path.name == "__init__.py":
                    found[module].add(target)
    return found


def apart(modules: Graph) -> list[str]:
    """Direct imports between domains listed in APART, each with its reason."""
    return [
        f"{module} imports {target}: {APART[(domain(module), domain(target))]}"
        for module, imported in sorted(modules.items())
        for target in sorted(imported)
        if (domain(module), domain(target)) in APART
    ]


class PackageCircles(Contract):
    """import-linter contract type: no module names a package, by `from package
    import ...`, that imports the module back (a circle grimp's graph leaves out,
    since it records the submodule named rather than the package's `__init__`)."""

    type_name = "package_circles"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        circles_found = [
            chain
            for module, packages in sorted(package_edges(graph.modules, self._roots()).items())
            for package in sorted(packages)
            if (chain := graph.find_shortest_chain(importer=package, imported=module))
        ]
        return ContractCheck(kept=not circles_found, metadata={"circles": circles_found})

    def _roots(self) -> tuple[str, ...]:
        """The root packages the contracts are checked on."""
        roots = self.session_options.get("root_packages") or [
            self.session_options.get("root_package", "vitalwatch")
        ]
        return tuple(roots)

    def render_broken_contract(self, check: ContractCheck) -> None:
        for chain in check.metadata["circles"]:
            output.print_error(
                f"{chain[-1]} imports its package {chain[0]} (from ... import), "
                "which imports it back: " + " -> ".join(chain)
            )
            output.new_line()


def is_edge(module: str) -> bool:
    """A router or a router's dependencies: the HTTP edge, which composes domains."""
    return module.rsplit(".", 1)[-1] in EDGE


def below_edge(modules: Graph) -> Graph:
    """The module graph without the edge's own imports."""
    return {m: imported for m, imported in modules.items() if not is_edge(m)}


def domain_graph(modules: Graph) -> Graph:
    """Domain -> the domains it imports (a domain's own imports left out)."""
    out: Graph = defaultdict(set)
    for module, imported in modules.items():
        for target in imported:
            a, b = domain(module), domain(target)
            if a != b:
                out[a].add(b)
    return out


def mermaid(graph: Graph) -> str:
    """The graph as a Mermaid flowchart, one sorted line per edge."""
    lines = ["graph TD"]
    for source in sorted(graph):
        lines.extend(f"    {source} --> {target}" for target in sorted(graph[source]))
    return "\n".join(lines)


def circles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description="vitalwatch's import graph (grimp)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="fail on module-level circles, or on domains that import each other below the edge",
    )
    parser.add_argument(
        "--below-edge", action="store_true", help="leave out the imports of routers and deps"
    )
    args = parser.parse_args()
    modules = module_graph()
    loops = circles(modules)
    knots = circles(domain_graph(below_edge(modules)))
    if args.check:
        crossings = apart(modules)
        for loop in loops:
            print("import circle among: " + ", ".join(loop), file=sys.stderr)
        for knot in knots:
            print("domains importing each other: " + ", ".join(knot), file=sys.stderr)
        for crossing in crossings:
            print("import across a kept boundary: " + crossing, file=sys.stderr)
        return 1 if loops or knots or crossings else 0
    domains = domain_graph(below_edge(modules) if args.below_edge else modules)
    print(mermaid(domains))
    print(f"%% module-level import circles: {len(loops)}")
    for loop in loops:
        print("%%   " + ", ".join(loop))
    for loop in circles(domains):
        print(f"%% domains that import each other (through modules of their own): {len(loop)}")
        print("%%   " + ", ".join(loop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
