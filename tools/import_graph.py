"""The import graph of vitalwatch and the simulators, built from the code by
grimp (import-linter's graph library).

    .venv/bin/python tools/import_graph.py           # domain-level graph as Mermaid
    .venv/bin/python tools/import_graph.py --below-edge  # the same without routers and deps
    .venv/bin/python tools/import_graph.py --check   # exit 1 on any module-level circle,
                                                     # or domains importing each other
                                                     # below the edge

docs/architecture.md pastes the Mermaid output; `make lint` runs `--check`
beside `lint-imports` (whose contracts in pyproject.toml cover the layers but
not circles that cross domains). A node is a domain folder (`alarms.engine` is
shown on its own), a top-level module, or `shared` (config, db, errors, heap,
ids, logging, metrics, migrate, samples, tasks, vitals: the plain modules at
the bottom). Imports under `if TYPE_CHECKING:` count, as they do for the
contracts.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import grimp

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
    """Module -> the modules it imports (first-party only)."""
    graph = grimp.build_graph("vitalwatch", "simulators", cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


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
        for loop in loops:
            print("import circle among: " + ", ".join(loop), file=sys.stderr)
        for knot in knots:
            print("domains importing each other: " + ", ".join(knot), file=sys.stderr)
        return 1 if loops or knots else 0
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
