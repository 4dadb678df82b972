"""A console on the memory backend with dossiers of two communes, and signed-in browsers: for the report, workflow
and operations page tests.

Users are put in the store with a session directly (no password is checked here: signing in has its own tests),
so each test signs in as many users as it needs without paying for Argon2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.users import MemoryUserStore, User, new_session
from motcua.entrypoints.console.app import mount_console
from motcua.entrypoints.console.base import SESSION_COOKIE, Console
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, JsonValue

AN_THUONG, CAM_THUONG = "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG"
EVERYONE = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "system")
APPLICANT = Applicant("Trần Văn An")
DATA: dict[str, dict[str, JsonValue]] = {
    "assign": {"assignee": "Phạm Văn Hùng", "electronic": True},
    "submit_for_approval": {"approver": "Lê Minh Tuấn", "electronic": True},
    "mark_result_ready": {"electronic": True},
}


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


@dataclass
class Office:
    """The engine, the console and its app on one memory database, on a manual clock."""

    motcua: Motcua
    console: Console
    app: FastAPI
    clock: ManualClock
    codes: dict[str, str] = field(default_factory=dict)

    def receive(self, name: str, unit: str, day: date, *, channel: Channel = "direct",
                procedure: str = "1.004873") -> str:
        self.clock.set(at(day))
        code = self.motcua.desk.submit(procedure, channel, APPLICANT, EVERYONE, unit=unit).code
        self.fire(code, "receive")
        self.codes[name] = code
        return code

    def fire(self, code: str, trigger: str) -> None:
        self.motcua.service.fire(code, trigger, EVERYONE, DATA.get(trigger, {}))

    def resolve(self, code: str, day: date) -> None:
        self.clock.set(at(day))
        for trigger in ("assign", "submit_for_approval", "approve", "mark_result_ready"):
            self.fire(code, trigger)

    def browser(self, name: str, roles: Sequence[str], *, units: Sequence[str] | None = None,
                province: str | None = None) -> TestClient:
        """A browser signed in as a new user ``name``."""
        now = self.clock.now()
        users = self.console.users
        users.add_user(User(name, "not-checked-here", tuple(roles), now,
                            units=None if units is None else tuple(units), province=province))
        session_id, session = new_session(name, now, timedelta(hours=8))
        users.add_session(session)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, session_id)
        return client


def csrf_of(client: TestClient, page: str) -> str:
    """The CSRF token the console put in ``page``'s forms for this browser's session."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found is not None, f"{page} has no form with a CSRF token"
    return found[1]


def cells(html: str, row_class: str) -> list[int]:
    """The numbers of the table row of class ``row_class`` (the form's total line)."""
    found = re.search(rf'<tr class="{row_class}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row {row_class!r}"
    return [int(number) for number in re.findall(r'<td class="num">(\d+)</td>', found[1])]


def office(url: str = "memory://") -> Office:
    """Three dossiers of An Thượng (received in June 2025: one resolved, one open, one online), one of
    Cẩm Thượng (June): what the pages of each unit and of the province must tell apart; on the empty, migrated
    database ``url``."""
    clock = ManualClock(at(date(2025, 6, 2)))
    motcua = open_motcua(url, clock=clock, observers=[], agency=AN_THUONG)
    console = Console(motcua, MemoryUserStore(), clock=clock)
    app = FastAPI()
    mount_console(app, console)
    built = Office(motcua, console, app, clock)
    built.resolve(built.receive("an_done", AN_THUONG, date(2025, 6, 2)), date(2025, 6, 4))
    built.receive("an_open", AN_THUONG, date(2025, 6, 9))
    built.receive("cam_open", CAM_THUONG, date(2025, 6, 10))
    built.receive("an_online", AN_THUONG, date(2025, 6, 20), channel="online")
    built.clock.set(at(date(2025, 6, 30)))
    return built
