"""The README's two console screenshots, made from a year of An Thượng as the README's commands make it.

    .venv/bin/python -m tests.browser.readme_screenshots            # runs `motcua demo` into a scratch folder
    .venv/bin/python -m tests.browser.readme_screenshots --from demo-output/motcua.db   # a copy of a demo's database

The README's user (`an`: officer, specialist and leader of every unit) is created in the scratch copy (never in
the given database), ``motcua serve`` serves it, Chromium signs in, and the desk and Biểu 06 for 2023 are written
to docs/img/console-desk.png and docs/img/console-bieu06.png, reduced to a palette so each stays well under 200 KB.
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PIL import Image

from tests.browser.harness import ROOT, User, create_users, launch, motcua, serving

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

IMAGES: Final = ROOT / "docs" / "img"
SIZE: ViewportSize = {"width": 1200, "height": 820}
TALL: ViewportSize = {"width": 1200, "height": 1110}
MAX_BYTES: Final = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="a demo's motcua.db to copy (default: run the demo)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="motcua-screens-") as scratch:
        folder = Path(scratch)
        database = folder / "motcua.db"
        if arguments.source is None:
            motcua("demo", "--out", str(folder), "--quiet")
        else:
            _copy(arguments.source, database)
        db = f"sqlite:///{database}"
        officer = User("an", ("officer", "specialist", "leader"), (), secrets.token_urlsafe(16))  # the README's user
        create_users(db, [officer])
        with serving(db, folder / "serve.log") as server:
            for path in _photograph(server.url, officer):
                print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1000} KB")


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    original.close()
    copy.close()


def _photograph(base: str, user: User) -> list[Path]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - a dev tool

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport=SIZE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        page.goto(f"{base}/console/sign-in")
        page.get_by_label("Tên đăng nhập").fill(user.name)
        page.get_by_label("Mật khẩu").fill(user.password)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{base}/console/")
        desk = _shot(page, "console-desk")
        page.set_viewport_size(TALL)  # the question, then the whole form down to its total line
        page.goto(f"{base}/console/reports/bieu06?period=2023")
        page.wait_for_load_state("networkidle")
        bieu06 = _shot(page, "console-bieu06")
        browser.close()
    return [desk, bieu06]


def _shot(page: Page, name: str) -> Path:
    path = IMAGES / f"{name}.png"
    page.screenshot(path=str(path))  # the viewport, as a person sees it
    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)
    assert path.stat().st_size < MAX_BYTES, f"{path} is {path.stat().st_size} bytes"
    return path


if __name__ == "__main__":
    main()
