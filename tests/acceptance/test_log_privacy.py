"""No personal value reaches a log line (issue 14, point 4): logs by allowlist.

Distinctive personal values are seeded in every data field a person can give that the workflow definitions declare
personal (the applicant's name, identity number, phone, e-mail and address, the summary, every reason, note, comment,
officer and receiver name…), and in the names of the officers who act. A representative flow then runs through every
door motcua has — the Python API, the HTTP API, the command line, the worker (the inline runner firing timers and the
dramatiq actors delivering effects, with the log notifier) — with every logger at DEBUG (structlog's and the standard
library's, so SQLAlchemy, dramatiq and httpx speak too), rendered as ``configure_logging`` renders them, JSON lines
and console lines both. Every captured line is then searched for every seeded value (as typed, JSON-escaped and
URL-encoded): none may appear. The non-personal fields still reach the log, so the test cannot pass by logging
nothing.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import dramatiq
import pytest
import structlog
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import motcua
from motcua.adapters.keys import new_key
from motcua.adapters.logging import configure_logging
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.cli.main import app as motcua_cli
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.worker import handlers_for
from motcua.workers.actors import QUEUE, declare_actors
from motcua.workers.dispatcher import Dispatcher
from motcua.workers.inline import InlineRunner
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import DataField
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import GuardRejected, MalformedData, RoleNotAllowed, TransitionNotAllowed

START: Final = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday, office open
PROCEDURE: Final = "1.004873"  # Xác nhận tình trạng hôn nhân
UNIT: Final = "000.00.00.H23"  # the standalone desk's own code

# -- the people, as distinctive as possible ------------------------------------------------------------------------

APPLICANT_NAME: Final = "Quách Thị Mỹ Duyên"
ID_NUMBER: Final = "079188012345"
PHONE: Final = "0987654321"
PHONE_SPACED: Final = "0987 654 321"  # the way a phone is typed into free text: no digit-run masking catches it
EMAIL: Final = "myduyen.quach@example.vn"
ADDRESS: Final = "Số 17 ngõ Hoè Nhai, thôn Đông Xuyên"
OFFICER: Final = Actor.of("Trương Văn Lực", "officer")
SPECIALIST: Final = Actor.of("Bế Thị Hồng Nhung", "specialist")
LEADER: Final = Actor.of("Lò Văn Pành", "leader")
APPLICANT: Final = Actor.of(APPLICANT_NAME, "applicant")
TASK_OWNER: Final = Actor.of("Vi Thị Sáu", "owner")
HTTP_OFFICER: Final = "Ma Seo Chứ"  # the actor of the HTTP API's officer key
HTTP_LEADER: Final = "Hầu A Lử"
AMOUNT: Final = 2718281  # a fee owed: what a person owes is theirs
# free text names someone else, and carries an identity number, a phone and an e-mail inside it
THIRD_PERSON_ID: Final = "001305009876"
THIRD_PERSON_EMAIL: Final = "xuan.luc@thu.example.vn"
SURNAMES: Final = ("Lục", "Ninh", "Khổng", "Giáp", "Mạc", "Thân", "Kha", "Âu", "Cù", "Lã")
PEOPLE: Final = tuple(  # one per personal value, so that a leak names the field it came from
    f"{surname} {middle} {given}" for surname in SURNAMES
    for middle, given in (("Thị", "Xuân"), ("Văn", "Đoàn"), ("Thị", "Nguyệt"), ("Văn", "Thuấn"), ("Thị", "Gấm"))
)
SAFE_VALUES: Final[Mapping[str, object]] = {  # the non-personal fields: codes, choices, counts, flags, dates
    "procedure": PROCEDURE, "channel": "direct", "applicant_kind": "citizen", "receiving_unit": UNIT,
    "deciding_unit": UNIT, "electronic": True, "online": True, "components": 3, "new_date": "2024-03-29",
    "from_units": ["LOCAL-HD-CU-01"], "plan": "ke-hoach-cchc-2024", "task": "T-07", "due": "2024-03-08",
    "period": "2024-Q1", "unit": UNIT, "payment_channel": "national",
}


@dataclass
class Seeds:
    """The personal value given to each (trigger, field), and every value that must never be logged."""

    given: dict[tuple[str, str, str], object] = field(default_factory=dict)  # (workflow, trigger, field) → value
    forbidden: set[str] = field(default_factory=lambda: {
        APPLICANT_NAME, ID_NUMBER, PHONE, PHONE_SPACED, EMAIL, ADDRESS, THIRD_PERSON_ID, THIRD_PERSON_EMAIL,
        OFFICER.name, SPECIALIST.name, LEADER.name, TASK_OWNER.name, HTTP_OFFICER, HTTP_LEADER, str(AMOUNT)})
    _next: int = 0

    def text(self, trigger: str, name: str, workflow: str = "tthc-dossier") -> str:
        person = PEOPLE[self._next]
        self._next += 1
        value = (f"{name}: bà {person} (CCCD {THIRD_PERSON_ID}, ĐT {PHONE_SPACED}, {THIRD_PERSON_EMAIL}) "
                 f"ở {ADDRESS}")
        self.forbidden.add(person)
        self.given[(workflow, trigger, name)] = value
        return value

    def data(self, trigger: str, workflow: str = "tthc-dossier", **fixed: object) -> dict[str, object]:
        """The trigger's data: a seeded text in every personal text field, a safe value in every other one."""
        data: dict[str, object] = {}
        for name, spec in _fields(workflow, trigger).items():
            if name in fixed:
                data[name] = fixed[name]
                self.given[(workflow, trigger, name)] = fixed[name]
            elif name in SAFE_VALUES:
                data[name] = SAFE_VALUES[name]
            elif spec.type == "text":
                data[name] = self.text(trigger, name, workflow)
        return data


def _fields(workflow: str, trigger: str) -> Mapping[str, DataField]:
    definition = load_definition(WORKFLOWS_DIR / f"{workflow}.v1.yaml")
    return definition.opening.data if trigger == OPEN_TRIGGER else definition.triggers[trigger].data


def _personal_fields_people_give() -> set[tuple[str, str, str]]:
    """(workflow, trigger, field) of every field a person may give that is not one of the safe ones above (the system's
    own triggers — timers, transfers, adoptions — carry what motcua itself wrote)."""
    found = set()
    for path in sorted(WORKFLOWS_DIR.glob("*.yaml")):
        definition = load_definition(path)
        triggers = {OPEN_TRIGGER: (definition.opening.roles, definition.opening.data),
                    **{name: (spec.roles, spec.data) for name, spec in definition.triggers.items()}}
        for trigger, (roles, data) in triggers.items():
            if set(roles) - {"system"}:
                found |= {(definition.key, trigger, name) for name in data if name not in SAFE_VALUES}
    return found


# -- capture ------------------------------------------------------------------------------------------------------


@contextmanager
def captured_logs(*, as_json: bool) -> Iterator[io.StringIO]:
    """Every logger at DEBUG, rendered by motcua's own configuration into one buffer; the logging state restored."""
    buffer = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    named = {name: logger.level for name, logger in logging.root.manager.loggerDict.items()
             if isinstance(logger, logging.Logger)}
    try:
        with redirect_stderr(buffer):
            configure_logging(json=as_json, level=logging.DEBUG)
            root.setLevel(logging.DEBUG)
            for name in named:
                logging.getLogger(name).setLevel(logging.DEBUG)
            yield buffer
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in named.items():
            logging.getLogger(name).setLevel(level)


def _variants(value: str) -> set[str]:
    """A value as it may be written: as typed, escaped in JSON, percent-encoded in a URL."""
    return {value, json.dumps(value)[1:-1], quote(value), quote(value, safe=""), quote(value).replace("%20", "+")}


def _readable(line: str) -> str:
    """A JSON line with its escapes decoded (``\\u1ef3`` → ``ỳ``), any other line as it is."""
    try:
        return json.dumps(json.loads(line), ensure_ascii=False)
    except ValueError:
        return line


# -- the flow -----------------------------------------------------------------------------------------------------


def _python_api(shop: motcua.OneStop, seeds: Seeds, clock: ManualClock) -> list[str]:
    """Every trigger a person fires, with seeded data; refusals of every kind. Returns the dossiers left open."""
    applicant = Applicant(APPLICANT_NAME, "citizen", ID_NUMBER, PHONE, EMAIL, ADDRESS)
    for name, value in {"applicant_name": APPLICANT_NAME, "applicant_id": ID_NUMBER, "phone": PHONE,
                        "email": EMAIL, "address": ADDRESS}.items():
        seeds.given[("tthc-dossier", OPEN_TRIGGER, name)] = value
    summary = seeds.text(OPEN_TRIGGER, "summary")
    main = shop.receive(PROCEDURE, applicant, OFFICER, summary=summary).code

    def fire(code: str, trigger: str, actor: Actor, **fixed: object) -> None:
        shop.fire(code, trigger, actor, seeds.data(trigger, **fixed))

    fire(main, "assign", OFFICER, assignee=seeds.text("assign", "assignee"))
    fire(main, "request_supplement", SPECIALIST)
    fire(main, "authorise_extra_supplement", LEADER)  # one more request allowed, with a (personal) reason
    fire(main, "supplement_received", APPLICANT)
    fire(main, "request_payment", SPECIALIST, amount=AMOUNT)
    fire(main, "payment_received", OFFICER)
    fire(main, "submit_for_approval", SPECIALIST, approver=seeds.text("submit_for_approval", "approver"))
    fire(main, "send_back", LEADER)
    fire(main, "submit_for_approval", SPECIALIST, approver=seeds.text("submit_for_approval", "approver"))
    fire(main, "approve", LEADER)
    files = [{"component": "Bản sao CCCD", "file": seeds.text("digitize", "component_files"), "digitized": True}]
    fire(main, "digitize", OFFICER, component_files=files)  # a file's name may name a person: never logged
    fire(main, "issue_electronic_result", OFFICER)
    fire(main, "mark_result_ready", OFFICER)
    fire(main, "return_result", OFFICER, receiver=seeds.text("return_result", "receiver"))
    fire(main, "rate", APPLICANT, rating=2)

    online = shop.submit(PROCEDURE, applicant, APPLICANT, summary=seeds.text(OPEN_TRIGGER, "summary")).code
    fire(online, "request_completion", OFFICER)
    with pytest.raises(GuardRejected):
        fire(online, "request_completion", OFFICER)  # once only
    fire(online, "receive", OFFICER)
    fire(online, "apologize", LEADER)
    fire(online, "request_withdrawal", APPLICANT)
    fire(online, "confirm_withdrawal", OFFICER)

    stopped = shop.receive(PROCEDURE, applicant, OFFICER).code
    fire(stopped, "stop", LEADER)
    refused = shop.submit(PROCEDURE, applicant, APPLICANT).code
    fire(refused, "refuse", OFFICER)

    waiting = shop.receive(PROCEDURE, applicant, OFFICER, summary=seeds.text(OPEN_TRIGGER, "summary")).code
    fire(waiting, "assign", OFFICER, assignee=seeds.text("assign", "assignee"))
    with pytest.raises(RoleNotAllowed):  # its message names the actor
        shop.fire(waiting, "approve", APPLICANT, {"decision_number": seeds.text("approve", "decision_number")})
    with pytest.raises(MalformedData):
        shop.fire(waiting, "assign", OFFICER, {"assignee": 7, "nickname": seeds.text("assign", "nickname")})
    with pytest.raises(TransitionNotAllowed):
        shop.fire(main, "receive", OFFICER, seeds.data("receive"))

    service = shop.parts.service
    task_data = seeds.data(OPEN_TRIGGER, "plan-task", owner=TASK_OWNER.name)
    for code in ("KH-LOG-01", "KH-LOG-02", "KH-LOG-03"):
        service.open("plan-task", code, LEADER, task_data, rule_set="nd61-2018")
    service.fire("KH-LOG-01", "start", TASK_OWNER, {})
    service.fire("KH-LOG-01", "file_evidence", TASK_OWNER, seeds.data("file_evidence", "plan-task"))
    service.fire("KH-LOG-01", "complete", TASK_OWNER, seeds.data("complete", "plan-task"))
    service.fire("KH-LOG-02", "cancel", LEADER, seeds.data("cancel", "plan-task"))

    # citizens' feedback: the sender's name, contact and content, the answer, reasons and assignee are personal
    for code in ("PAKN-LOG-01", "PAKN-LOG-02"):
        opening = seeds.data(OPEN_TRIGGER, "pakn", dossier=main, private=False, applicant_id=ID_NUMBER)
        service.open("pakn", code, OFFICER, opening, rule_set="nd61-2018")
    service.fire("PAKN-LOG-01", "assign", OFFICER, seeds.data("assign", "pakn", category="khac"))
    service.fire("PAKN-LOG-01", "extend", LEADER, seeds.data("extend", "pakn", working_days=2))
    service.fire("PAKN-LOG-01", "answer", SPECIALIST, seeds.data("answer", "pakn", private=False))
    service.fire("PAKN-LOG-01", "publish", OFFICER, seeds.data("publish", "pakn", where="Cổng thông tin điện tử xã"))
    service.fire("PAKN-LOG-01", "rate", APPLICANT, seeds.data("rate", "pakn", satisfied=False))
    service.fire("PAKN-LOG-02", "decline", OFFICER, seeds.data("decline", "pakn", transferred_to="UBND huyện"))
    clock.advance(timedelta(minutes=5))
    return [waiting, "KH-LOG-03"]


def _http_api(shop: motcua.OneStop, seeds: Seeds, clock: ManualClock) -> str:
    keys = shop.parts.backend.keys
    secrets = {}
    for role, actor in {"officer": HTTP_OFFICER, "leader": HTTP_LEADER}.items():
        made = new_key(actor, [role], clock.now())
        keys.add_key(made.stored)
        secrets[role] = made.secret_text
    with TestClient(create_app(shop.parts, keys, clock=clock)) as client:
        def post(path: str, body: Mapping[str, Any], role: str = "officer") -> Any:
            headers = {"X-API-Key": secrets[role]}
            if path.endswith("/events"):  # at the version the dossier is at now
                headers["If-Match"] = client.get(path.removesuffix("/events"), headers=headers).headers["etag"]
            return client.post(path, json=body, headers=headers)

        answer = post("/dossiers", {
            "procedure": PROCEDURE, "channel": "direct", "summary": seeds.text(OPEN_TRIGGER, "summary"),
            "applicant": {"name": APPLICANT_NAME, "id_number": ID_NUMBER, "phone": PHONE, "email": EMAIL,
                          "address": ADDRESS}})
        assert answer.status_code == 201, answer.text
        code: str = answer.json()["code"]
        assignee = seeds.text("assign", "assignee")
        assert post(f"/dossiers/{code}/events", {"trigger": "assign", "data": seeds.data(
            "assign", assignee=assignee)}).status_code == 200
        refused = post(f"/dossiers/{code}/events", {"trigger": "approve", "data": {
            "decision_number": seeds.text("approve", "decision_number")}})
        assert refused.status_code == 403, refused.text  # the officer may not approve: RoleNotAllowed
        malformed = post(f"/dossiers/{code}/events", {"trigger": "request_supplement", "data": {
            "reason": 42, "who": seeds.text("request_supplement", "who")}})
        assert malformed.status_code == 422, malformed.text
        assert post("/dossiers", {"procedure": PROCEDURE, "channel": "carrier pigeon", "applicant": {
            "name": APPLICANT_NAME, "phone": ["not", PHONE]}}).status_code == 422
        headers = {"X-API-Key": secrets["officer"]}
        assert client.get("/dossiers", params={"officer": assignee}, headers=headers).status_code == 200
        assert client.get(f"/dossiers/{quote(APPLICANT_NAME)}", headers=headers).status_code in (404, 422)
        assert client.get(f"/dossiers/{code}/history", headers=headers).status_code == 200
    return code


def _worker(shop: motcua.OneStop, clock: ManualClock) -> None:
    """The effects waiting now through dramatiq's actors (a stub broker, a real worker), then months of timers
    fired by the inline runner, each effect delivered to the log notifier."""
    handlers = handlers_for(shop.parts, clock)
    broker = StubBroker()
    broker.emit_after("process_boot")
    sink = declare_actors(broker, lambda: handlers)
    report = Dispatcher(shop.parts.store, shop.parts.store, sink, clock).tick()
    assert report.effects > 0
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join(QUEUE, fail_fast=True)
        worker.join()
    finally:
        worker.stop()
        broker.close()
    fired = InlineRunner(handlers, clock).run_until(clock.now() + timedelta(days=60))
    assert fired >= 6  # due soon, overdue and escalations, of the dossier and the plan task left open


def _cli(url: str, code: str, tmp_path: Path) -> list[str]:
    """A few commands; returns what they wrote to stderr (their own messages, and any log line sent there)."""
    dvcqg = tmp_path / "dvcqg.json"
    dvcqg.write_text(json.dumps({"service": "DongBoHoSoMC", "isUpdating": False, "data": [{
        "MaHoSo": "000.00.06.H23-240301-0001", "MaTTHC": "1.001193", "TenTTHC": "Thủ tục đăng ký khai sinh",
        "MaLinhVuc": "HT", "TenLinhVuc": "Hộ tịch", "ChuHoSo": APPLICANT_NAME, "LoaiDoiTuong": "1",
        "SoDienThoai": PHONE, "Email": EMAIL, "TrichYeuHoSo": f"Khai sinh cho con của {APPLICANT_NAME}, {ADDRESS}",
        "NgayTiepNhan": "20240301080000", "NgayHenTra": "20240305170000", "TrangThaiHoSo": "4", "NgayTra": "",
        "HinhThuc": "0", "NgayKetThucXuLy": "", "DonViXuLy": "UBND xã An Thượng", "KenhThucHien": "1",
        "HoSoCoThanhPhanSoHoa": "0", "DuocThanhToanTrucTuyen": "0", "TaiLieuNop": [], "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [], "DanhSachGiayToKetQua": [], "TaiKhoanDuocXacThucVoiVNeID": "1"}]},
        ensure_ascii=False), encoding="utf-8")
    commands = [
        ["import", "dvcqg", str(dvcqg)], ["history", code, "--format", "json"], ["control-sheet", code],
        ["subject", "export", ID_NUMBER, "--out", str(tmp_path / "subject.json")], ["replay"],
        ["anchor", "--out", str(tmp_path / "anchor.json")], ["verify", "--anchor", str(tmp_path / "anchor.json")],
        ["outbox", "failed"],
    ]
    written = []
    for command in commands:
        ran = CliRunner().invoke(motcua_cli, [*command, "--db", url])
        assert ran.exit_code == 0, (command, ran.output)
        written.append(ran.stderr)
    return written


# -- the test -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_no_seeded_personal_value_appears_in_any_log_line(
    as_json: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MOTCUA_SMTP_HOST", "MOTCUA_WEBHOOK_URL", "MOTCUA_DVCQG_URL", "MOTCUA_AGENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_LOG_PSEUDONYM_KEY", "a per-deployment secret of the test")
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    clock = ManualClock(START)
    seeds = Seeds()
    with captured_logs(as_json=as_json) as buffer:
        with motcua.connect(url, clock=clock) as shop:  # the default observers: one log line per decision
            _python_api(shop, seeds, clock)
            code = _http_api(shop, seeds, clock)
            _worker(shop, clock)
        cli_stderr = _cli(url, code, tmp_path)
    lines = [_readable(line) for text in (buffer.getvalue(), *cli_stderr) for line in text.splitlines()]

    missing = _personal_fields_people_give() - set(seeds.given)
    assert not missing, f"fields no value was seeded in: {sorted(missing)}"
    leaks = sorted({(value, line) for value in seeds.forbidden for variant in _variants(value)
                    for line in lines if variant in line})
    assert not leaks, "\n".join(f"{value!r} in: {line[:300]}" for value, line in leaks[:20])

    text = "\n".join(lines)
    for expected in ("transition.committed", "transition.rejected", "effect.released", "audit.history",
                     "RoleNotAllowed", "MalformedData", "mark_overdue", "escalate", PROCEDURE, "Received message",
                     "alembic", "httpx"):
        assert expected in text, f"{expected!r} is logged nowhere: the capture missed something"
    if as_json:
        _only_non_personal_data(lines)


def _only_non_personal_data(lines: list[str]) -> None:
    """No decision's line carries a field its definition declares personal (the grep above checks the values)."""
    committed = [event for event in map(json.loads, (line for line in lines if line.startswith("{")))
                 if event["event"] == "transition.committed"]
    assert len(committed) > 40
    for event in committed:
        workflow = event["definition"].split("@")[0]
        declared = _fields(workflow, event["trigger"])
        assert {name for name in event.get("data", {}) if declared[name].personal} == set(), event
