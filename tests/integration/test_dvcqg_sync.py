"""Dossiers synced to a local fake DVCQG portal (a real HTTP server) through the outbox and the inline worker,
on memory, SQLite and PostgreSQL: records received, sync status per entry and per dossier, retries with
backoff on a manual clock, parking and requeue, and the ``sync`` indicator of ``report par766``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import PORTAL_PUBLISH, Motcua, notifier_from_settings, open_motcua, portal_notifier
from motcua.adapters.notifiers import LogNotifier, RoutingNotifier
from motcua.adapters.portal.sync import PORTAL_KIND, HttpxTransport, PortalAnswer, read_answer
from motcua.adapters.sql.migrate import upgrade
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dvcqg.portal import summarize
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.engine.retry import RetryPolicy
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable, Retryable
from motcua.workflow.reports.par766 import scorecard
from tests import services
from tests.conftest import OFFICER, SPECIALIST, START
from tests.fake_portal import TOKEN, FakePortal, fake_portal

APPLICANT = Applicant("Trần Văn An", phone="0912345678")
POLICY = RetryPolicy(random=lambda: 0.0)  # no jitter: each wait its whole step, as the test counts them


@dataclass
class Office:
    app: Motcua
    clock: ManualClock
    portal: FakePortal
    runner: InlineRunner

    def receive(self) -> str:
        code = self.app.desk.receive("1.004873", "direct", APPLICANT, OFFICER).code
        self.clock.advance(timedelta(minutes=30))
        self.app.service.fire(code, "assign", OFFICER, {"assignee": SPECIALIST.name})
        return code

    def deliver(self) -> int:
        return self.runner.deliver_effects()

    def statuses(self, code: str) -> list[tuple[int, str, int]]:
        return [(item.sequence, item.status, item.attempts) for item in self.app.sync.statuses(code)]

    def parked(self) -> list[int]:
        return [item.id for item in self.app.store.parked() if item.kind == PORTAL_KIND]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Office]:
    clock = ManualClock(START)
    with fake_portal() as portal, _url(request.param, tmp_path) as url:
        app = open_motcua(url, clock=clock, observers=[], publish=PORTAL_PUBLISH)
        portal_side = portal_notifier(app, HttpxTransport(portal.url, TOKEN, timeout=5), clock, policy=POLICY)
        notifier = RoutingNotifier({PORTAL_KIND: portal_side}, LogNotifier())
        handlers = Handlers(app.service, app.store, app.store, notifier, clock, POLICY)
        try:
            yield Office(app, clock, portal, InlineRunner(handlers, clock))
        finally:
            app.close()


@contextmanager
def _url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "memory":
        yield "memory://"
    elif backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'motcua.db'}"
    else:
        services.require_postgres()
        with services.postgres_database() as name:
            url = services.postgres_url(name)
            upgrade(url)
            yield url


def test_every_change_reaches_the_portal(office: Office) -> None:
    code = office.receive()
    assert office.deliver() == 4  # open, receive (and its receipt form), assign

    assert office.portal.services() == [
        ("DongBoHoSoMC", False), ("CapNhatTienDoHoSoMC", False),
        ("DongBoHoSoMC", True), ("CapNhatTienDoHoSoMC", False),
        ("DongBoHoSoMC", True), ("CapNhatTienDoHoSoMC", False),
    ]
    record = office.portal.dossiers[code]
    assert (record["TrangThaiHoSo"], record["KenhThucHien"], record["ChuHoSo"]) == (4, 1, "Trần Văn An")
    assert [(p["NoiDungXuLy"], p["TrangThai"]) for p in office.portal.progress] == [
        ("Đăng ký hồ sơ", 1), ("Tiếp nhận hồ sơ", 2), ("Chuyển hồ sơ cho người xử lý", 4)]
    assert office.statuses(code) == [(1, "synced", 1), (2, "synced", 1), (3, "synced", 1)]
    summary = summarize(office.app.store.load(code), office.app.sync.statuses(code))
    assert summary.complete and summary.first_sync_delay == timedelta(minutes=30)  # delivered after assign


def test_a_dossier_the_portal_already_holds_is_sent_as_an_update(office: Office) -> None:
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.portal.dossiers[code] = {"MaHoSo": code}  # synced by another system before
    office.deliver()

    assert office.portal.services() == [
        ("DongBoHoSoMC", False), ("DongBoHoSoMC", True), ("CapNhatTienDoHoSoMC", False)]
    assert office.portal.dossiers[code]["TrangThaiHoSo"] == 1
    assert office.statuses(code) == [(1, "synced", 1)]


def test_an_update_answered_already_exists_is_a_refusal_not_a_sync(office: Office) -> None:
    """"Already exists" says a new dossier record was not taken; said to the update, it says the update was not taken
    either: the dossier's state never reached the portal, so the change is parked, never counted synced."""
    duplicate = {"error_code": "-1", "message": "Hồ sơ đã tồn tại trên hệ thống"}
    office.portal.then(200, duplicate).then(200, duplicate)
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.deliver()

    assert office.portal.services() == [("DongBoHoSoMC", False), ("DongBoHoSoMC", True)]
    assert office.statuses(code) == [(1, "parked", 1)] and code not in office.portal.dossiers
    assert "đã tồn tại" in (office.app.sync.statuses(code)[0].last_error or "")


def test_transient_failures_are_retried_with_backoff(office: Office) -> None:
    office.portal.then(503, b"Service Unavailable").then(500, {"error_code": "500", "message": "Lỗi hệ thống"})
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.deliver()
    assert office.statuses(code) == [(1, "failed", 1)]
    assert "HTTP 503" in (office.app.sync.statuses(code)[0].last_error or "")

    office.clock.advance(timedelta(seconds=9))
    assert office.deliver() == 0  # 10 s after the first failure
    office.clock.advance(timedelta(seconds=1))
    assert office.deliver() == 1 and office.statuses(code) == [(1, "failed", 2)]
    office.clock.advance(timedelta(seconds=20))  # then 20 s
    assert office.deliver() == 1
    assert office.statuses(code) == [(1, "synced", 3)]
    assert office.portal.dossiers[code]["TrangThaiHoSo"] == 1 and office.parked() == []


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[" * 100_000], ids=["html", "nested-100000-deep"])
def test_malformed_answers_park_at_once_and_a_requeue_delivers(office: Office, body: bytes) -> None:
    office.portal.then(200, body)
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.deliver()

    assert office.statuses(code) == [(1, "parked", 1)]
    error = office.app.sync.statuses(code)[0].last_error or ""
    assert "malformed answer (not JSON)" in error
    assert office.app.store.requeue(office.parked(), office.clock.now()) == 1
    office.deliver()
    assert office.statuses(code) == [(1, "synced", 1)] and code in office.portal.dossiers  # counted since the requeue


def test_refusals_park_and_nothing_is_lost(office: Office) -> None:
    refused = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.portal.refused.add(refused)
    kept = office.receive()
    office.deliver()

    assert office.statuses(refused) == [(1, "parked", 1)]
    assert "không hợp lệ" in (office.app.sync.statuses(refused)[0].last_error or "")
    assert [status for _, status, _ in office.statuses(kept)] == ["synced"] * 3
    office.portal.refused.clear()
    office.app.store.requeue(None, office.clock.now())
    office.deliver()
    assert office.statuses(refused) == [(1, "synced", 1)]  # the attempts since the requeue


def test_an_unreachable_portal_fails_retryably(office: Office) -> None:
    transport = HttpxTransport("http://127.0.0.1:9/", TOKEN, timeout=1)  # discard port: refused
    notifier = portal_notifier(office.app, transport, office.clock, policy=POLICY)
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    item = next(i for i in office.app.store.claim_effects(office.clock.now(), 10, timedelta(minutes=1))
                if i.kind == PORTAL_KIND)
    with pytest.raises(DeliveryFailed) as failed:
        notifier.deliver(item)
    assert isinstance(failed.value, Retryable)
    assert office.statuses(code) == [(1, "failed", 1)]


def test_the_sync_indicator_of_par766(office: Office) -> None:
    synced = office.receive()
    failing = office.receive()
    office.portal.refused.add(failing)
    office.deliver()
    office.app.reports.catch_up()

    counts = office.app.reports.indicator_counts(date(2024, 3, 1), date(2024, 3, 31))
    assert (counts.sync_measured, counts.sync_total, counts.synced) == (True, 2, 1)
    card = scorecard(counts, office.app.rules.in_force(date(2024, 3, 31)), date(2024, 3, 1), date(2024, 3, 31))
    sync = next(indicator for indicator in card.indicators if indicator.key == "sync")
    assert (sync.value, sync.points) == (50.0, 3.0)
    assert not any(note.startswith("sync: not measured") for note in card.notes)
    assert synced != failing


@pytest.mark.parametrize("message", ["a\ud800b", "a\x00b", "Sai MaTTHC " * 100_000], ids=["surrogate", "nul", "1-MB"])
def test_a_refusal_is_quoted_within_bounds_and_parks(office: Office, message: str) -> None:
    """A portal's refusal message is kept as it came when it is one short line, else as an excerpt: a lone surrogate
    or a NUL failed the sync log's write (the effect was handed out again at every lease), a megabyte filled it."""
    office.portal.then(200, b'{"error_code": "7", "message": ' + json.dumps(message).encode() + b"}")
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.deliver()

    assert office.statuses(code) == [(1, "parked", 1)]
    error = office.app.sync.statuses(code)[0].last_error or ""
    assert "refused (HTTP 200, error_code 7)" in error and len(error) < 500, error[:500]


def test_answers_are_read_strictly() -> None:
    assert read_answer("DongBoHoSoMC", PortalAnswer(200, b'{"error_code": 0, "message": "OK"}')) == "done"
    quoting = '{"error_code": "7", "message": "CCCD 030190000001 không khớp, SĐT 0912345678"}'.encode()
    with pytest.raises(DeliveryFailed) as refused:  # kept in the sync log, shown by the console: masked
        read_answer("DongBoHoSoMC", PortalAnswer(200, quoting))
    assert "030190000001" not in str(refused.value) and "*********001" in str(refused.value)
    assert "0912345678" not in str(refused.value)
    bom = "\ufeff".encode()  # what an IIS gateway in front of the portal may put first: had parked every sync
    assert read_answer("DongBoHoSoMC", PortalAnswer(200, bom + b'{"error_code": "0", "message": "OK"}')) == "done"
    for status, body, retryable in ((429, b"", True), (400, b"bad", False), (200, b'{"message": "x"}', False),
                                    (200, b'{"error_code": "7", "message": "Sai MaTTHC"}', False)):
        with pytest.raises(DeliveryFailed) as failed:
            read_answer("DongBoHoSoMC", PortalAnswer(status, body))
        assert isinstance(failed.value, Retryable) is retryable


def test_settings_route_sync_effects_to_the_portal(motcua: Motcua) -> None:
    with pytest.raises(Exception, match="MOTCUA_DVCQG_TOKEN"):
        notifier_from_settings({"MOTCUA_DVCQG_URL": "http://portal.invalid/"})
    unconfigured = notifier_from_settings({}, motcua=motcua)
    code = motcua.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    assert motcua.store.effects(code) == []  # not published: the portal is not configured
    item = OutboxItem(1, code, PORTAL_KIND, {"sequence": 1}, 0, "pending", START)
    with pytest.raises(DeliveryFailed) as failed:
        unconfigured.deliver(item)
    assert not isinstance(failed.value, Retryable) and "MOTCUA_DVCQG_URL" in failed.value.detail


def test_the_sync_status_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - the CLI's test client

    from motcua.entrypoints.cli.main import app as cli  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    clock = ManualClock(START)
    with fake_portal() as portal:
        motcua = open_motcua(url, clock=clock, observers=[], publish=PORTAL_PUBLISH)
        notifier = RoutingNotifier({PORTAL_KIND: portal_notifier(motcua, HttpxTransport(portal.url, TOKEN), clock)},
                                   LogNotifier())
        code = motcua.desk.receive("1.004873", "direct", APPLICANT, OFFICER).code
        portal.then(503, b"")
        InlineRunner(Handlers(motcua.service, motcua.store, motcua.store, notifier, clock), clock).deliver_effects()
        motcua.close()

    listed = CliRunner().invoke(cli, ["sync", "status", "--db", url])
    one = CliRunner().invoke(cli, ["sync", "status", code, "--db", url])
    assert listed.exit_code == 0 and code in listed.output and "failed" in listed.output
    assert one.exit_code == 0 and "HTTP 503" in one.output and "synced" in one.output


@pytest.mark.parametrize(("status", "body"), [(503, b"\x00busy"), (200, b"\x00<html>"), (403, b"\xff\x00denied")],
                         ids=["503", "200-not-json", "403"])
def test_an_answer_holding_a_nul_is_quoted_and_recorded(office: Office, status: int, body: bytes) -> None:
    """The body an error quotes when the answer is not a refusal in JSON (a 5xx, a non-JSON answer, another 4xx)
    holds a NUL: recorded all the same (PostgreSQL's text refused it, and the attempt went unrecorded)."""
    office.portal.then(status, body)
    code = office.app.desk.submit("1.004873", "online", APPLICANT, OFFICER).code
    office.deliver()

    [entry] = office.app.sync.statuses(code)
    assert entry.attempts == 1 and entry.status in {"failed", "parked"}
    assert "\x00" not in (entry.last_error or "") and f"HTTP {status}" in (entry.last_error or "")
    assert [item.last_error for item in office.app.store.parked()] in ([], [entry.last_error])


def test_the_sync_status_command_leaves_out_dossiers_imported_from_the_portal(tmp_path: Path) -> None:
    """An imported dossier comes from the portal and releases no sync effect — neither its import nor a decision of
    motcua's own on it (a merger's transfer; people may not move it at all): listed, it stood "pending" for ever, a
    sync the operator would chase; the ``sync`` indicator leaves it out too (only dossiers with a sync effect)."""
    from typer.testing import CliRunner  # noqa: PLC0415 - the CLI's test client

    from motcua.entrypoints.cli.main import app as cli  # noqa: PLC0415
    from motcua.entrypoints.importer import import_file  # noqa: PLC0415
    from tests.integration.test_dvcqg_import import code, rec, write  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    clock = ManualClock(START)
    with fake_portal() as portal:
        motcua = open_motcua(url, clock=clock, observers=[], publish=PORTAL_PUBLISH)
        import_file(write(tmp_path / "dvcqg.json", [rec(1), rec(2)]), motcua)
        native = motcua.desk.receive("1.004873", "direct", APPLICANT, OFFICER).code
        motcua.service.fire(code(2), "assign", OFFICER, {"assignee": SPECIALIST.name})  # the engine's: not published
        notifier = RoutingNotifier({PORTAL_KIND: portal_notifier(motcua, HttpxTransport(portal.url, TOKEN), clock)},
                                   LogNotifier())
        InlineRunner(Handlers(motcua.service, motcua.store, motcua.store, notifier, clock), clock).deliver_effects()
        moved = summarize(motcua.store.load(code(2)), motcua.sync.statuses(code(2)))
        motcua.close()

    listed = CliRunner().invoke(cli, ["sync", "status", "--db", url])
    assert listed.exit_code == 0 and native in listed.output
    assert code(1) not in listed.output and code(2) not in listed.output
    assert (moved.synced, moved.entries) == (0, 0)  # its entries are the portal's or the engine's: none is owed
    assert set(portal.dossiers) == {native}  # the portal got the native dossier only, never its own back


def test_the_wait_a_busy_portal_asks_for_comes_with_the_failure() -> None:
    with pytest.raises(DeliveryUnavailable) as raised:
        read_answer("DongBoHoSoMC", PortalAnswer(503, b"", retry_after=timedelta(seconds=90)))
    assert raised.value.retry_after == timedelta(seconds=90)
