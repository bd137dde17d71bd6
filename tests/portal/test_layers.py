"""Data flows one way: members ← claims ← settlement ← portal. A lower app never imports a higher one,
so the household page, which shows charges, lives in portal/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HIGHER = {"members": {"claims", "settlement", "portal"}, "claims": {"settlement", "portal"}, "settlement": {"portal"}}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", sorted(HIGHER))
def test_an_app_never_imports_a_higher_one(app: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path) & HIGHER[app])
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: apps for path, apps in wrong.items() if apps} == {}
