"""Imports flow one way, and everything is imported through the one installed package, ``motcua``.

The layers, bottom up: ``workflow`` (the core) → ``definitions`` → ``workers`` → ``adapters`` (the driven
side) → the public API (``motcua/*.py``) → ``simulation`` → ``entrypoints`` (the driving side). Inside the
core, ``workflow.engine`` imports none of the families beside it. The core loads no infrastructure.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("workflow", "definitions", "workers", "adapters", "simulation", "entrypoints")
API = "api"  # the modules directly in motcua/
LAYERS = ("workflow", "definitions", "workers", "adapters", API, "simulation", "entrypoints")
FAMILIES = ("worktime", "auditing", "dossiers", "plan", "reports", "dvcqg", "units", "feedback")
# Loaded at all (by us or by a library the core uses): infrastructure the core must never pull in.
NEVER_LOADED_BY_CORE = ("sqlalchemy", "sqlmodel", "dramatiq", "redis", "yaml", "structlog", "psycopg",
                        "fastapi", "typer", "rich", "alembic", "openpyxl")
# Named in the core's own source. The stdlib `logging` is here too: `transitions` imports it, we do not.
FORBIDDEN_IN_CORE = (*NEVER_LOADED_BY_CORE, "logging")


def imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def layer_of(module: str) -> str | None:
    """The layer a ``motcua.…`` module belongs to (``None`` for anything else)."""
    parts = module.split(".")
    if parts[0] != "motcua":
        return None
    if len(parts) == 1 or parts[1] not in FOLDERS:
        return API
    return parts[1]


def sources(folder: str) -> list[Path]:
    if folder == API:
        return sorted((ROOT / "motcua").glob("*.py"))
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_layers_below(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1:])
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sources(layer)
        if (bad := sorted(m for m in imported_modules(path) if layer_of(m) in above))
    }
    assert offenders == {}


def test_everything_is_imported_through_motcua() -> None:
    """``workflow.x`` and ``motcua.workflow.x`` would be two copies of one module: only the second exists."""
    bare = set(FOLDERS)
    offenders = {
        str(path.relative_to(ROOT)): bad
        for folder in (*LAYERS, "tests", "bench")
        for path in (sources(folder) if folder in LAYERS else sorted((ROOT / folder).rglob("*.py")))
        if (bad := sorted(m for m in imported_modules(path) if m.split(".")[0] in bare))
    }
    assert offenders == {}


def test_engine_imports_no_family() -> None:
    families = {f"motcua.workflow.{family}" for family in FAMILIES}
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sorted((ROOT / "workflow" / "engine").rglob("*.py"))
        if (bad := sorted(m for m in imported_modules(path) if ".".join(m.split(".")[:3]) in families))
    }
    assert offenders == {}


def test_core_source_names_no_infrastructure() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sources("workflow")
        if (bad := sorted({m.split(".")[0] for m in imported_modules(path)} & set(FORBIDDEN_IN_CORE)))
    }
    assert offenders == {}


def test_importing_the_core_loads_no_infrastructure() -> None:
    probe = (
        "import sys, importlib, pkgutil, motcua.workflow as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'motcua.workflow.'): importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {NEVER_LOADED_BY_CORE!r})\n"
        "print(','.join(bad))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == ""
