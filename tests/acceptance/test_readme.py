"""The README's embedding example and the Python examples of docs/embedding.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EMBEDDING = ROOT / "docs" / "embedding.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def examples() -> list[object]:
    return [
        pytest.param(path, block, id=f"{path.name}-{n}")
        for path in (README, EMBEDDING)
        for n, block in enumerate(python_blocks(path.read_text(encoding="utf-8")), start=1)
    ]


@pytest.mark.parametrize("path", [README, EMBEDDING], ids=lambda p: p.name)
def test_the_document_has_python_examples(path: Path) -> None:
    assert python_blocks(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("path", "block"), examples())
def test_example_runs(path: Path, block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(path), "exec"), {"__name__": "example"})  # executing our own documentation
