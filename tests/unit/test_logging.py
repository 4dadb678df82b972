"""Logs by allowlist: a decision's line carries its identifiers, role, states and the non-personal data only; an
error its type and the names it carries; the standard library's records their templates; identifiers masked."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr

import httpx
import pytest
import structlog
import uvicorn
from structlog.testing import capture_logs

from motcua.adapters.bootstrap import Motcua, log_pseudonyms, open_motcua
from motcua.adapters.logging import (
    WITHHELD,
    LoggingObserver,
    configure_logging,
    error_fields,
    mask_identifiers,
    mask_text,
    shown,
)
from motcua.entrypoints.http.serve import ServeOptions, built_app, server_config
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import (
    CaseNotFound,
    InvalidInput,
    MalformedData,
    RoleNotAllowed,
    StorageFailure,
    TransitionNotAllowed,
)
from tests.conftest import LEADER, OFFICER, SPECIALIST


def test_mask_text_keeps_only_the_last_digits() -> None:
    assert mask_text("CCCD 030201001234, ĐT 0912345678") == "CCCD *********234, ĐT *******678"
    assert mask_text("hồ sơ 000.00.06.H56-231027-0361") == "hồ sơ 000.00.06.H56-231027-0361"


def test_a_digest_is_logged_whole_though_it_holds_a_run_of_digits() -> None:
    """A SHA-256 in hex is no one's number: an anchor's digest in its log line is the one to compare (before, about
    two digests in three lost a run of 8 to 11 digits to the mask)."""
    digest = "ab" + "0912345678" + "c" * 52
    with capture_logs(processors=[mask_identifiers]) as logs:
        structlog.get_logger().info("audit.anchor.published", digest=digest, note=f"ĐT 0912345678 {digest[:12]}")
    assert logs[0]["digest"] == digest
    assert logs[0]["note"] == "***"  # a personal key: withheld whole
    assert mask_text(f"ĐT 0912345678 {digest[:12]}") == "ĐT *******678 ab*******678"  # a part of one: masked


def test_committed_and_rejected_transitions_are_logged_by_allowlist(clock: ManualClock) -> None:
    motcua: Motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver()])
    applicant = Applicant("Trần Văn An", id_number="030201001234", phone="0912345678", address="12 Hàng Bạc")
    with capture_logs(processors=[mask_identifiers]) as logs:
        case = motcua.desk.receive("1.004873", "direct", applicant, OFFICER, summary="Xác nhận cho Trần Văn An")
        with pytest.raises(TransitionNotAllowed):
            motcua.service.fire(case.code, "approve", LEADER)
    committed = [event for event in logs if event["event"] == "transition.committed"]
    assert [(e["case"], e["trigger"], e["role"], e["definition"]) for e in committed] == [
        (case.code, "open", "officer", "tthc-dossier@1"), (case.code, "receive", "officer", "tthc-dossier@1")]
    assert all("actor" not in e and "actor_ref" not in e for e in committed)  # no key: the role alone
    opened = committed[0]
    assert opened["data"] == {"procedure": "1.004873", "channel": "direct", "applicant_kind": "citizen",
                              "receiving_unit": "000.00.00.H23", "deciding_unit": "000.00.00.H23"}
    assert opened["withheld"] == ["address", "applicant_id", "applicant_name", "phone", "summary"]
    [rejected] = [event for event in logs if event["event"] == "transition.rejected"]
    assert rejected == {"event": "transition.rejected", "log_level": "warning", "case": case.code,
                        "trigger": "approve", "error": "TransitionNotAllowed", "state": dict(case.state)}
    text = json.dumps(logs, ensure_ascii=False, default=str)
    for value in ("030201001234", "0912345678", "Trần Văn An", "Hàng Bạc", OFFICER.name, LEADER.name):
        assert value not in text


def test_json_lines_in_production(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    try:
        structlog.get_logger("t").info("hello", dossier="X-1", phone="0912345678")
    finally:
        structlog.reset_defaults()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "hello" and line["dossier"] == "X-1" and line["phone"] == "***"


# -- the actor: a keyed pseudonym, or nothing ---------------------------------------------------------------------


def test_an_actor_is_a_keyed_pseudonym_never_a_name(clock: ManualClock) -> None:
    key = "khóa bí mật của tỉnh, 32 ký tự trở lên"
    pseudonyms = log_pseudonyms({"MOTCUA_LOG_PSEUDONYM_KEY": key})
    assert pseudonyms is not None
    motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver(pseudonyms=pseudonyms)])
    with capture_logs() as logs:
        case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
        motcua.service.fire(case.code, "assign", LEADER, {"assignee": SPECIALIST.name})
    refs = [event["actor_ref"] for event in logs if event["event"] == "transition.committed"]
    expected = hmac.new(key.encode(), OFFICER.name.encode(), hashlib.sha256).hexdigest()[:12]
    assert refs[:2] == [expected, expected]  # stable: one officer's lines can be followed
    assert refs[2] != expected and len(refs[2]) == 12
    assert OFFICER.name not in repr(logs) and LEADER.name not in repr(logs)


def test_the_pseudonym_key_is_a_setting_refused_when_short(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_pseudonyms({}) is None
    with pytest.raises(InvalidInput) as raised:
        log_pseudonyms({"MOTCUA_LOG_PSEUDONYM_KEY": "ngắn"})
    assert raised.value.field == "MOTCUA_LOG_PSEUDONYM_KEY"
    monkeypatch.setenv("MOTCUA_LOG_PSEUDONYM_KEY", "ngắn")
    with pytest.raises(InvalidInput):
        open_motcua("memory://")  # the default observers read it: refused before anything is opened


# -- errors: their type and what they name, never their message ---------------------------------------------------


@pytest.mark.parametrize(("error", "fields"), [
    pytest.param(RoleNotAllowed("Trần Văn An", ["applicant"], "approve", ["leader"]),
                 {"error": "RoleNotAllowed", "roles": ["applicant"], "allowed": ["leader"]}, id="role"),
    pytest.param(MalformedData("assign", {"assignee": "Input should be a valid string", "ghi_chu": "extra"}),
                 {"error": "MalformedData", "fields": ["assignee", "ghi_chu"]}, id="malformed"),
    pytest.param(InvalidInput("applicant.id_number", "'Trần Văn An' is not an identity number"),
                 {"error": "InvalidInput", "field": "applicant.id_number"}, id="input"),
    pytest.param(StorageFailure('invalid input syntax for type json: "Trần Văn An"'),
                 {"error": "StorageFailure"}, id="driver-message"),
    pytest.param(CaseNotFound("Trần Văn An"), {"error": "CaseNotFound", "code": WITHHELD}, id="typed-code"),
    pytest.param(ConnectionError("Error 111 connecting to redis:6379"), {"error": "ConnectionError"}, id="foreign"),
])
def test_an_error_is_logged_by_its_type_and_the_names_it_carries(error: Exception, fields: dict[str, object]) -> None:
    assert error_fields(error) == fields


def test_a_refusal_names_no_actor_and_quotes_no_value(clock: ManualClock) -> None:
    motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver()])
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    with capture_logs() as logs, pytest.raises(RoleNotAllowed):
        motcua.service.fire(case.code, "approve", Actor.of("Lê Thị Hoa", "applicant"), {"decision_number": "Hoa"})
    assert logs == [{"event": "transition.rejected", "log_level": "warning", "case": case.code, "trigger": "approve",
                     "error": "RoleNotAllowed", "roles": ["applicant"], "allowed": ["leader"]}]


@pytest.mark.parametrize(("value", "expected"), [
    ("000.00.06.H56-231027-0361", "000.00.06.H56-231027-0361"),
    ("2024-03-29", "2024-03-29"),
    ("1669/NQ-UBTVQH15", "1669/NQ-UBTVQH15"),
    ("Nguyễn Văn A", WITHHELD),
    ("an@example.vn", WITHHELD),
    ("Nguyen Van A", WITHHELD),  # a space: not a code
    ("x" * 65, WITHHELD),
    ("/dossiers?officer=Nguy%E1%BB%85n", "/dossiers"),
    ("http://testserver/dossiers/X-1/events?x=1", "http://testserver/dossiers/X-1/events"),
    ("/dossiers/Nguy%E1%BB%85n", WITHHELD),
    ("10.1.2.3:50314", WITHHELD),  # a client's address and port
    (["HD-01", "Lê Thị B"], ["HD-01", WITHHELD]),
    (7, 7), (True, True), (None, None),
])
def test_only_code_shaped_values_are_shown(value: object, expected: object) -> None:
    assert shown(value) == expected


# -- the standard library's records: templates, shown arguments, outlines ------------------------------------------


@contextmanager
def _configured(*, as_json: bool = True) -> Iterator[io.StringIO]:
    """motcua's logging into a buffer, as in a fresh process (a uvicorn started by an earlier test may have given
    its loggers handlers of their own); everything restored after."""
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    kept = [(logger, list(logger.handlers), logger.propagate) for logger in uvicorn_loggers]
    try:
        for logger in uvicorn_loggers:
            logger.handlers.clear()
            logger.propagate = True
        with redirect_stderr(buffer):
            configure_logging(json=as_json)
            yield buffer
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for logger, handlers, propagate in kept:
            logger.handlers[:] = handlers
            logger.propagate = propagate


class _Message:
    """What dramatiq hands its logger: a message whose text is its arguments."""

    def __str__(self) -> str:
        return "motcua.deliver_effect({'payload': {'by': 'Nguyễn Thị Lan'}})"


def test_a_foreign_record_shows_its_template_and_only_code_shaped_arguments() -> None:
    with _configured() as buffer:
        logging.getLogger("dramatiq.worker.WorkerThread").warning("Received message %s with id %r.", _Message(), "m-1")
        logging.getLogger("uvicorn.access").warning('%s - "%s %s HTTP/%s" %d', "10.1.2.3:50314", "GET",
                                                    "/dossiers?officer=Nguy%E1%BB%85n", "1.1", 200)
        logging.getLogger("third.party").warning({"phone": "0912345678"})
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [(line["logger"], line["event"], line["level"]) for line in lines] == [
        ("dramatiq.worker.WorkerThread", "Received message [withheld] with id 'm-1'.", "warning"),
        ("uvicorn.access", '[withheld] - "GET /dossiers HTTP/1.1" 200', "warning"),
        ("third.party", "dict", "warning"),
    ]


def test_a_traceback_is_outlined_without_its_messages() -> None:
    def fail() -> None:
        try:
            raise KeyError("Trần Văn An")
        except KeyError as error:
            raise StorageFailure("value 'an@example.vn' refused") from error

    with _configured(as_json=False) as buffer:
        try:
            fail()
        except StorageFailure as error:
            logging.getLogger("motcua.http").error("http.error", exc_info=error)
            structlog.get_logger("t").error("oops", exc_info=True)
    text = buffer.getvalue()
    assert "http.error" in text and "oops" in text and "StorageFailure" in text and "KeyError" in text
    assert "in fail" in text  # the frames stay: where it failed
    assert "Trần Văn An" not in text and "an@example.vn" not in text


def test_configured_twice_one_handler() -> None:
    with _configured():
        configure_logging(json=True)
        assert sum(type(handler).__name__ == "_StandardError" for handler in logging.getLogger().handlers) == 1


def test_the_served_access_log_shows_no_query_and_no_client(capfd: pytest.CaptureFixture[str]) -> None:
    """``motcua serve --access-log``'s uvicorn with its own configuration: access lines through motcua's logging."""
    with _configured() as buffer, built_app("memory://") as (app, _, _):
        server = uvicorn.Server(server_config(app, ServeOptions("memory://", port=0, access_log=True)))
        thread = threading.Thread(target=server.run)
        thread.start()
        try:
            while not server.started:
                time.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            answer = httpx.get(f"http://127.0.0.1:{port}/dossiers", params={"officer": "Nguyễn Thị Lan"})
            assert answer.status_code == 401
        finally:
            server.should_exit = True
            thread.join(10)
    access = [json.loads(line) for line in buffer.getvalue().splitlines() if '"uvicorn.access"' in line]
    assert [line["event"] for line in access] == ['[withheld] - "GET /dossiers HTTP/1.1" 401']
    everything = buffer.getvalue() + "".join(capfd.readouterr())
    assert "Nguy" not in everything and "officer=" not in everything
    assert not re.search(r"127\.0\.0\.1:\d+ -", everything)  # the client's address (the server's own is shown)
