"""The layout's rules that import-linter cannot see: module sizes, and who writes the registry.

The dependency direction itself is import-linter's (`[tool.importlinter]` in pyproject.toml,
run by `make test` before the suite).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# DESIGN.md "Layout": one concept per module, a few hundred lines at most.
LINE_LIMITS = {"partners": 450, "console": 450, "handlers": 450, "infra": 500}

# What only the domain's use cases may call: the console reads a form, calls one use case,
# renders. (Cognito sign-up and login in console/auth are identity, not the registry.)
REGISTRY_WRITES = {
    "registry": {"save_partner", "transition", "create_partner", "put_routing_status",
                 "delete_routing_status"},
    "tokens": {"issue", "rotate", "revoke"},
    "credentials": {"put", "delete"},
    "audit": {"record"},
}


def modules(folder: str) -> list[Path]:
    return sorted(path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("folder, limit", sorted(LINE_LIMITS.items()))
def test_no_module_is_over_its_folders_line_limit(folder: str, limit: int) -> None:
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
             for path in modules(folder)}
    assert sizes, f"no modules found under {folder}/"
    assert {name: lines for name, lines in sizes.items() if lines > limit} == {}


def registry_writes(source: str) -> list[str]:
    """`<store>.<write>(...)` calls in `source`, as `store.write` (store = the last name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        store = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if node.func.attr in REGISTRY_WRITES.get(store, ()):
            found.append(f"{store}.{node.func.attr} (line {node.lineno})")
    return found


@pytest.mark.parametrize("source, expected", [
    ("services().registry.save_partner(p)", ["registry.save_partner (line 1)"]),
    ("registry.transition(p, s)", ["registry.transition (line 1)"]),
    ("services().tokens.revoke(prefix)", ["tokens.revoke (line 1)"]),
    ("services().audit.record(actor=a)", ["audit.record (line 1)"]),
    ("services().registry.get_partner(pid)", []),
    ("services().audit.for_target(t, limit=10)", []),
    ("onboarding.save_environment(p, e)", []),
])
def test_registry_writes_are_found_by_store_and_method(source: str, expected: list[str]) -> None:
    assert registry_writes(source) == expected


def test_the_console_never_writes_the_registry_itself() -> None:
    writes = {path.relative_to(ROOT).as_posix(): registry_writes(path.read_text())
              for path in modules("console")}
    assert {name: calls for name, calls in writes.items() if calls} == {}
