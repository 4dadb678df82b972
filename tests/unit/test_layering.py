"""Imports flow one way: motcua → adapters → workers → definitions → workflow. The core loads no infrastructure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("workflow", "definitions", "workers", "adapters", "motcua")  # each may import only those before it
# Loaded at all (by us or by a library the core uses): infrastructure the core must never pull in.
NEVER_LOADED_BY_CORE = ("sqlalchemy", "sqlmodel", "dramatiq", "redis", "yaml", "structlog", "psycopg",
                        "fastapi", "typer", "rich", "alembic", "openpyxl")
# Named in the core's own source. The stdlib `logging` is here too: `transitions` imports it, we do not.
FORBIDDEN_IN_CORE = (*NEVER_LOADED_BY_CORE, "logging")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_layers_below(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1:])
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & above)
        for path in (ROOT / layer).rglob("*.py")
        if imported_packages(path) & above
    }
    assert offenders == {}


def test_core_source_names_no_infrastructure() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & set(FORBIDDEN_IN_CORE))
        for path in (ROOT / "workflow").rglob("*.py")
        if imported_packages(path) & set(FORBIDDEN_IN_CORE)
    }
    assert offenders == {}


def test_importing_the_core_loads_no_infrastructure() -> None:
    probe = (
        "import sys, importlib, pkgutil, workflow\n"
        "for m in pkgutil.iter_modules(workflow.__path__): importlib.import_module('workflow.' + m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {NEVER_LOADED_BY_CORE!r})\n"
        "print(','.join(bad))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == ""
