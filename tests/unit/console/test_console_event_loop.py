"""The console's posted forms do their work on the thread pool, never on the event loop.

A route that reads its form (``async def``: the dossier's actions, the reception, the anchor check) once ran the
work after it — a transition, a dossier opened, the whole audit log read against an anchor — on the event loop, so
every other request of the process (the API's, ``/healthz``) waited for it: the HTTP API keeps such work on the pool
(``entrypoints/http/offload.py``). Each test slows the route's work down and asks ``/healthz`` meanwhile.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from motcua.entrypoints.console import operations
from motcua.entrypoints.console.base import SESSION_COOKIE
from motcua.workflow.access.cases import ScopedCases
from tests.unit.console.console_a import AN_THUONG, PROCEDURE, Site, csrf_of, session_of

SLOW = 0.6  # seconds the slowed work takes
QUICK = 0.4  # seconds /healthz may take meanwhile, from the post (on the loop it waits for the whole of SLOW)


def _slowed(work: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW)
        return work(*args, **kwargs)

    return slow


def _health_while(office: Site, session: str, post: dict[str, Any]) -> tuple[float, int]:
    """How long ``/healthz`` took while ``post`` (a console request, a POST unless it names its method) ran, and
    the console's status."""
    async def both() -> tuple[float, int]:
        transport = httpx2.ASGITransport(app=office.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            asked = {"method": "post", "headers": {"cookie": f"{SESSION_COOKIE}={session}"}, **post}
            posting = asyncio.create_task(client.request(**asked))
            started = time.monotonic()
            await asyncio.sleep(0.1)  # the form is being worked on (on the loop: this wakes once it is done)
            health = await client.get("/healthz")
            took = time.monotonic() - started
            assert health.status_code == 200
            return took, (await posting).status_code

    return asyncio.run(both())


def _session(browser: Any) -> str:
    session = session_of(browser)
    assert session is not None
    return session


def test_an_action_of_a_dossier_runs_off_the_event_loop(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    code = office.codes["an_open"]
    page = browser.get(f"/console/dossiers/{code}").text
    version = re.findall(r'name="version" value="(\d+)"', page)[0]
    monkeypatch.setattr(ScopedCases, "fire", _slowed(ScopedCases.fire))
    form = {"csrf_token": csrf_of(page), "trigger": "assign", "version": version, "data.assignee": "Phạm Văn Hùng"}
    took, status = _health_while(office, _session(browser), {"url": f"/console/dossiers/{code}/fire", "data": form})
    assert status == 303 and took < QUICK, took


def test_a_reception_runs_off_the_event_loop(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    page = browser.get("/console/dossiers/new").text
    monkeypatch.setattr(ScopedCases, "register", _slowed(ScopedCases.register))
    form = {"csrf_token": csrf_of(page), "data.procedure": PROCEDURE, "data.channel": "direct",
            "data.applicant_name": "Lê Thị Hoa"}
    took, status = _health_while(office, _session(browser), {"url": "/console/dossiers/new", "data": form})
    assert status == 303 and took < QUICK, took


def test_an_anchor_check_runs_off_the_event_loop(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = office.browser("kiem-tra", ["auditor"])
    token = csrf_of(browser.get("/console/audit/anchors").text)
    kept = browser.get("/console/audit/anchor.json").content
    monkeypatch.setattr(operations, "check", _slowed(operations.check))
    post = {"url": "/console/audit/anchors/check", "data": {"csrf_token": token},
            "files": {"anchor": ("anchor.json", kept, "application/json")}}
    took, status = _health_while(office, _session(browser), post)
    assert status == 200 and took < QUICK, took


@pytest.mark.parametrize(("method", "url"), [("post", "/console/sign-out"), ("get", "/console/no-such-page"),
                                             ("get", "/console/dossiers/NO-SUCH-CODE-000")])
def test_the_session_behind_a_form_or_an_error_page_is_read_off_the_event_loop(
    office: Site, monkeypatch: pytest.MonkeyPatch, method: str, url: str,
) -> None:
    """The session of a posted form (``console.posted``) and the user an error page names in its header are read
    from the database: on the pool, as every other page's."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    token = csrf_of(browser.get("/console/").text)
    store = type(office.users)
    monkeypatch.setattr(store, "session", _slowed(store.session))
    request = {"method": method, "url": url} | ({"data": {"csrf_token": token}} if method == "post" else {})
    took, status = _health_while(office, _session(browser), request)
    assert status in {303, 404} and took < QUICK, took
