"""A console inside the whole HTTP application (memory backend, manual clock) with dossiers of two communes, and
browsers signed in as users of each role and scope: for the sign-in, desk and dossier page tests.

``Site.browser`` puts a user and a session in the store directly (no Argon2: signing in has its own tests);
``Site.sign_in`` goes through the form, as a person does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx2
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.users import Passwords, User, UserStore, new_session, new_user
from motcua.entrypoints.console.base import SESSION_COOKIE
from motcua.entrypoints.http.app import create_app
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, JsonValue

AN_THUONG, CAM_THUONG = "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG"
PROVINCE = "hai-duong"
PROCEDURE = "1.004873"
STAFF = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader")
APPLICANT = Applicant("Trần Văn An", id_number="001203004567", phone="0912345678")
PASSWORD = "mật-khẩu-đủ-dài-42"
START = datetime(2025, 6, 2, 9, 0, tzinfo=VN_TZ)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SIGN_IN = re.compile(r'name="signin_token" value="([^"]+)"')


def plant(client: TestClient, session_id: str) -> None:
    """Put ``session_id`` in the browser's cookie jar, where the server's own cookie goes."""
    client.cookies.set(SESSION_COOKIE, session_id, domain="testserver.local", path="/console")


def session_of(client: TestClient) -> str | None:
    return client.cookies.get(SESSION_COOKIE, domain="testserver.local", path="/console")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page carries its CSRF token"
    return found[1]


@dataclass
class Site:
    motcua: Motcua
    app: FastAPI
    clock: ManualClock
    codes: dict[str, str] = field(default_factory=dict)

    @property
    def users(self) -> UserStore:
        return self.motcua.backend.users

    def receive(self, name: str, unit: str, *, assignee: str | None = None) -> str:
        code = self.motcua.desk.receive(PROCEDURE, "direct", APPLICANT, STAFF, unit=unit).code
        if assignee is not None:
            self.fire(code, "assign", {"assignee": assignee})
        self.codes[name] = code
        return code

    def fire(self, code: str, trigger: str, data: dict[str, JsonValue] | None = None) -> None:
        self.motcua.service.fire(code, trigger, STAFF, data or {})

    def browser(self, name: str, roles: Sequence[str], *, units: Sequence[str] | None = None,
                province: str | None = None, https: bool = False) -> TestClient:
        """A browser signed in as a new user ``name`` (no password checked)."""
        now = self.clock.now()
        self.users.add_user(User(name, "not-checked-here", tuple(roles), now,
                                 units=None if units is None else tuple(units), province=province))
        session_id, session = new_session(name, now, timedelta(hours=8))
        self.users.add_session(session)
        client = self.anonymous(https=https)
        plant(client, session_id)
        return client

    def anonymous(self, *, https: bool = False) -> TestClient:
        return TestClient(self.app, follow_redirects=False,
                          base_url="https://testserver" if https else "http://testserver")

    def add_user(self, name: str, roles: Sequence[str], units: Sequence[str] | None = (AN_THUONG,)) -> User:
        user = new_user(name, PASSWORD, roles, self.clock.now(), units=units)
        assert self.users.add_user(user)
        return user

    def sign_in(self, client: TestClient, name: str, password: str = PASSWORD,
                next_url: str = "/console/") -> httpx2.Response:
        form = client.get("/console/sign-in", params={"next": next_url})
        token = _SIGN_IN.search(form.text)
        assert token is not None
        return client.post("/console/sign-in", data={"name": name, "password": password, "signin_token": token[1],
                                                      "next": next_url})


def site(url: str = "memory://") -> Site:
    """Two dossiers of An Thượng (one assigned to Phạm Văn Hùng) and one of Cẩm Thượng, received on 2 June 2025, on
    the database at ``url`` (close ``site.motcua`` after a SQL one)."""
    clock = ManualClock(START)
    motcua = open_motcua(url, clock=clock, observers=[], agency=AN_THUONG)
    app = create_app(motcua, motcua.backend.keys, clock=clock)
    built = Site(motcua, app, clock)
    built.receive("an_open", AN_THUONG)
    built.receive("an_assigned", AN_THUONG, assignee="Phạm Văn Hùng")
    built.receive("cam_open", CAM_THUONG)
    return built


def cheap_passwords() -> Passwords:
    """Argon2id at its cheapest parameters: the same code path, a fraction of the time (tests only)."""
    return Passwords(PasswordHasher.from_parameters(CHEAPEST))
