"""Figures on the shape of `service/`: modules, the largest, long functions, import cycles.

.venv/bin/python tools/code_shape.py [SOURCE_ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LONG_FUNCTION = 40


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main(root: Path) -> None:
    files = sorted(p for p in (root / "service").rglob("*.py"))
    names = {_module_name(root, path): path for path in files}
    graph: dict[str, set[str]] = {}
    long_functions: list[tuple[int, str]] = []
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Imports under TYPE_CHECKING count too: they hide a cycle from Python, not from a reader.
        graph[name] = _imports(tree, set(names)) - {name}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONG_FUNCTION:
                    long_functions.append((length, f"{name}.{node.name}"))
    lines = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in names.items()
    }
    largest = max(lines, key=lambda name: lines[name])
    print(f"modules: {len(names)}")  # noqa: T201
    print(f"median module lines: {sorted(lines.values())[len(lines) // 2]}")  # noqa: T201
    print(f"largest module: {largest} ({lines[largest]} lines)")  # noqa: T201
    print(f"functions over {LONG_FUNCTION} lines: {len(long_functions)}")  # noqa: T201
    for length, function in sorted(long_functions, reverse=True):
        print(f"  {length:4d}  {function}")  # noqa: T201
    cycles = _cycles(graph)
    print(f"import cycles: {len(cycles)}")  # noqa: T201
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
