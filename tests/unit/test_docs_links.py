"""The documentation holds together: every relative link of README.md and docs/ points to a file of the
repository (and an anchor, when it names one, to a heading of that file), every `docs/….md` path the prose
names exists, and no page points outside the repository for what it needs to say."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = (ROOT / "README.md", *sorted(DOCS.rglob("*.md")))
KINDS = ("tutorials", "how-to", "reference", "explanation")
ROOT_PAGES = ("operations.md", "auditing.md", "benchmarks.md")  # at the root of docs/, where one looks first

FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", flags=re.MULTILINE)
DOCS_PATH = re.compile(r"(?<![\w./-])docs/[\w./-]+\.md\b")
OUTSIDE = re.compile(r"\.\./shared|(?<![\w.-])shared/|domain\.md")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", flags=re.IGNORECASE)  # http:, https:, mailto:…


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def prose(text: str) -> str:
    """The page without its fenced blocks (examples quote program output verbatim)."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    without_code = INLINE_CODE.sub("", prose(text))
    return [*LINK.findall(without_code), *REFERENCE_LINK.findall(without_code)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = unicodedata.normalize("NFC", heading.strip().lower())
    text = re.sub(r"[`*_]", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.*)$", prose(path.read_text(encoding="utf-8")), flags=re.MULTILINE)
    return {slug(h) for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_relative_links_point_to_files(page: Path) -> None:
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = page if not path_part else (page.parent / unquote(path_part)).resolve()
        if not linked.exists() or ROOT not in (linked, *linked.parents):
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_no_link_leaves_the_repository(page: Path) -> None:
    external = [t for t in links(page.read_text(encoding="utf-8")) if EXTERNAL.match(t)]
    assert external == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_named_doc_paths_exist(page: Path) -> None:
    named = set(DOCS_PATH.findall(prose(page.read_text(encoding="utf-8"))))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_no_page_points_to_background_documents_outside_the_repository(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    outside = [f"{n}: {line.strip()}" for n, line in enumerate(lines, start=1) if OUTSIDE.search(line)]
    assert outside == []


def test_every_page_is_of_one_kind_and_listed_in_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    listed = {(DOCS / target).resolve() for target in links(index) if not EXTERNAL.match(target)}
    pages = [p for p in DOCS.rglob("*.md") if p.name != "index.md"]
    assert sorted(name(p) for p in pages if p.relative_to(DOCS).parts[0] not in (*KINDS, *ROOT_PAGES)) == []
    assert sorted(name(p) for p in pages if p.resolve() not in listed) == []
