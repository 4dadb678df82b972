"""The README's embedding example and every Python example of docs/ run as written.

The pages that teach the Python API (the README, the tutorial docs/tutorials/first-dossier.md and the
reference docs/reference/python-api.md) must have examples; any other page's ```python blocks run too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
TEACHING = (README, DOCS / "tutorials" / "first-dossier.md", DOCS / "reference" / "python-api.md")
PAGES = (README, *sorted(DOCS.rglob("*.md")))


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def examples() -> list[object]:
    return [
        pytest.param(path, block, id=f"{name(path)}-{n}")
        for path in PAGES
        for n, block in enumerate(python_blocks(path.read_text(encoding="utf-8")), start=1)
    ]


@pytest.mark.parametrize("path", TEACHING, ids=name)
def test_the_document_has_python_examples(path: Path) -> None:
    assert python_blocks(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("path", "block"), examples())
def test_example_runs(path: Path, block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(path), "exec"), {"__name__": "example"})  # executing our own documentation
