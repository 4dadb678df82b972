"""The typed-usage file runs: its annotations are checked by mypy, its behaviour here."""

from __future__ import annotations

from pathlib import Path

import motcua
from tests.typing import usage


def test_the_usage_file_runs_on_memory() -> None:
    observer = usage.run("memory://")
    first, online = "000.00.00.H23-240304-0001", "000.00.00.H23-240304-0002"
    assert observer.committed_codes == [f"{first}#1", f"{first}#2", f"{online}#1", f"{first}#3"]
    assert observer.refusals == [motcua.TransitionNotAllowed, motcua.MalformedData, motcua.ConcurrencyConflict]


def test_the_usage_file_runs_on_sqlite(tmp_path: Path) -> None:
    assert usage.run(f"sqlite:///{tmp_path / 'usage.db'}").committed_codes


def test_every_public_name_is_importable() -> None:
    missing = [name for name in motcua.__all__ if not hasattr(motcua, name)]
    assert missing == []
    assert motcua.__all__ == sorted(motcua.__all__, key=lambda n: (not n.isupper(), n))
