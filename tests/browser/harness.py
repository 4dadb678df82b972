"""What the browser tests (and the README's screenshot script) run on: a real ``motcua serve`` in a subprocess over
a scratch SQLite database, its console users made with ``motcua user create``, and Debian's Chromium driven by
Playwright.

Playwright's own browser download is not reachable here: Chromium is launched by its path
(``MOTCUA_TEST_CHROMIUM``, default ``/usr/bin/chromium``; ``.ci/run`` installs Debian's package when it is
absent). :func:`require_browser` skips a test when Chromium or Playwright is missing, unless ``CI`` is ``true``,
where it fails — the rule of tests/services.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import pytest

from tests.servers import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright

ROOT: Final = Path(__file__).resolve().parents[2]
SCREENSHOTS: Final = ROOT / "test-output" / "screenshots"  # git-ignored; CI keeps it in its clone
MOTCUA: Final = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]
CHROMIUM_ARGS: Final = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
STARTUP_S: Final = 90.0
PASSWORD: Final = "Mật-khẩu-thử-2026!"  # every test user's: the scratch database dies with the test session


def chromium_path() -> str:
    return os.environ.get("MOTCUA_TEST_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> str:
    """The path of Chromium, or skip (fail under ``CI=true``) when it or Playwright is not installed."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only probing that it is installed
    except ImportError as error:
        _unavailable(f"Playwright for Python is not installed ({error}): `make .venv/.installed` installs it")
    path = chromium_path()
    if not os.access(path, os.X_OK):
        _unavailable(f"no Chromium at {path} (`apt-get install chromium`, or set MOTCUA_TEST_CHROMIUM)")
    return path


def _unavailable(why: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}, and CI=true, where the browser tests must run")
    pytest.skip(f"{why} — browser test skipped (CI=true makes this a failure)")


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium by its path; Playwright gives it a fresh, temporary profile (user-data-dir)."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS))


def motcua(*args: str, stdin: str | None = None) -> str:
    """Run a ``motcua`` command to its end; its standard output, or AssertionError with its error output."""
    done = subprocess.run([*MOTCUA, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"motcua {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]
    units: tuple[str, ...] = ()
    password: str = PASSWORD

    def create_args(self, db: str) -> list[str]:
        roles = [arg for role in self.roles for arg in ("--role", role)]
        scope = [arg for unit in self.units for arg in ("--unit", unit)] or ["--all-units"]
        return ["user", "create", "--name", self.name, *roles, *scope, "--db", db]


def create_users(db: str, users: Sequence[User]) -> None:
    """``motcua user create`` for each of ``users``: the first as a person runs it (its own process, the password on
    standard input; it also creates the schema), the others by the same command in one more process (typer's
    runner, each password on its standard input), which spares a Python start and motcua's imports per user."""
    first, *others = users
    motcua(*first.create_args(db), stdin=first.password + "\n")
    if others:
        batch = [[user.create_args(db), user.password + "\n"] for user in others]
        done = subprocess.run([sys.executable, "-c", _CREATE_USERS], input=json.dumps(batch), capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, f"motcua user create failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"


_CREATE_USERS: Final = """
import json, sys
from typer.testing import CliRunner
from motcua.entrypoints.cli.main import app
for args, password in json.load(sys.stdin):
    result = CliRunner().invoke(app, args, input=password)
    if result.exit_code != 0:
        sys.exit(f"{args[3]}: {result.output}")
"""


@dataclass
class Server:
    """A running ``motcua serve``; ``log`` holds what it printed."""

    url: str
    db: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def printed(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(db: str, log: Path) -> Iterator[Server]:
    """``motcua serve`` on a free port over ``db`` until the block ends (then SIGTERM, then SIGKILL)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:  # the child writes to its own copy of the descriptor
        process = subprocess.Popen([*MOTCUA, "serve", "--port", str(port), "--db", db], stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", db, log, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"motcua serve exited ({server.process.returncode}):\n{server.printed()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"motcua serve did not answer /healthz within {STARTUP_S:.0f} s:\n{server.printed()[-3000:]}")


@dataclass
class PageWatch:
    """What a page reported that a console page must never cause: Content-Security-Policy violations in the
    browser's console and uncaught script errors."""

    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._page_error)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"{message.location.get('url', '?')}: {message.text}")

    def _page_error(self, error: Error) -> None:
        self.script_errors.append(f"{error.name}: {error.message}")

    def assert_clean(self) -> None:
        assert not self.csp_violations, "Content-Security-Policy violations:\n" + "\n".join(self.csp_violations)
        assert not self.script_errors, "uncaught script errors:\n" + "\n".join(self.script_errors)


# What a page's markup must not hold under the console's CSP (script-src 'self'; style-src 'self'): the browser
# would refuse it, so a feature built on it silently does not work.
INLINE_CODE_PROBE: Final = """() => {
  const found = [];
  for (const script of document.querySelectorAll('script:not([src])')) found.push('inline <script>');
  for (const element of document.querySelectorAll('[style]')) found.push('style="…" on <' + element.localName + '>');
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) found.push(attribute.name + '= on <' + element.localName + '>');
      if (/^\\s*javascript:/i.test(attribute.value)) found.push('javascript: URL on <' + element.localName + '>');
    }
  }
  for (const sheet of document.querySelectorAll('style')) found.push('inline <style>');
  return found;
}"""


def inline_code(page: Page) -> list[str]:
    """Every inline script, style attribute, event-handler attribute or ``javascript:`` URL of the page."""
    found: list[str] = page.evaluate(INLINE_CODE_PROBE)
    return found


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """The page as a PNG under test-output/screenshots/ (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


FAILING_IMPACTS: Final = frozenset({"serious", "critical"})
AXE_TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_OPTIONS: Final = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": AXE_TAGS}}


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (labelled fields, contrast, names, landmarks…), each
    as "rule (impact): help — the first elements"; axe is evaluated in the page by Playwright, past its CSP."""
    from axe_playwright_python.sync_playwright import (  # type: ignore[import-untyped]  # noqa: PLC0415 - tests only
        Axe,
    )

    results = Axe().run(page, options=dict(AXE_OPTIONS))
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found
