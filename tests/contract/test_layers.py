"""Imports point inward: the pure core does no I/O, and the edges stay at the edge."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"
IO_LIBRARIES = frozenset({"asyncpg", "aiohttp", "redis", "starlette", "strawberry", "uvicorn"})
CORE = (
    "service.models",
    "service.eligibility",
    "service.settlement",
    "service.customer_input",
    "service.command_input",
    "service.api.media_types",
    "service.contact",
    "service.admin.cost",
)


def _path(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package = SERVICE / relative / "__init__.py"
    return package if package.exists() else SERVICE / relative.with_suffix(".py")


@cache
def _direct_imports(module: str) -> frozenset[str]:
    tree = ast.parse(_path(module).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from service.storage import audit` imports the module service.storage.audit
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(name for name in names if not name.startswith("service.") or _exists(name))


def _exists(module: str) -> bool:
    return _path(module).exists()


def transitive_imports(module: str) -> set[str]:
    """Every module `module` imports, following ordergate's own modules."""
    seen: set[str] = set()
    stack = [module]
    while stack:
        for name in _direct_imports(stack.pop()):
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("service."):
                stack.append(name)
    return seen


def _libraries(module: str) -> set[str]:
    return {name.split(".")[0] for name in transitive_imports(module)}


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_no_io(module: str) -> None:
    assert not _libraries(module) & IO_LIBRARIES, (
        f"{module} reaches {sorted(_libraries(module) & IO_LIBRARIES)}: keep I/O at the edges"
    )


def test_the_import_check_sees_io_through_service_modules() -> None:
    # The reconciler imports asyncpg only through storage: the check must follow that path.
    assert "asyncpg" in _libraries("service.orders.reconciler")


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in (SERVICE / "orders").glob("*.py") if p.stem != "__init__")
)
def test_use_cases_know_nothing_of_the_http_edge(module: str) -> None:
    edges = transitive_imports(f"service.orders.{module}")
    assert not {name.split(".")[0] for name in edges} & {"starlette", "strawberry"}
    assert not any(name.startswith("service.api") for name in edges)


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in (SERVICE / "storage").glob("*.py") if p.stem != "__init__")
)
def test_storage_depends_on_no_use_case_or_edge(module: str) -> None:
    reached = transitive_imports(f"service.storage.{module}")
    outward = ("service.orders", "service.api", "service.admin", "service.sandbox")
    assert not [name for name in reached if name.startswith(outward)]
