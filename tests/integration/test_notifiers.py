"""The notifiers against real local servers: an aiosmtpd SMTP server and an HTTP receiver.

Both listen on 127.0.0.1 on a free port, so these tests need nothing installed beyond the dev
extra. Nothing of smtplib or httpx is replaced: what is checked is what arrives on the wire.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from structlog.testing import capture_logs

from motcua.adapters.logging import mask_identifiers
from motcua.adapters.notifiers import (
    FanOut,
    LogNotifier,
    ReceiverPause,
    RoutingNotifier,
    SmtpNotifier,
    WebhookNotifier,
    verify_signature,
)
from motcua.adapters.notifiers.smtp import SERVER_PAUSE
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.model import JsonValue, OutboxItem
from motcua.workflow.errors import DeliveryDeferred, DeliveryFailed, DeliveryUnavailable, Retryable
from tests.servers import free_port, tcp_server

DOSSIER = "000.00.06.H56-231027-0361"
TASK = "KH-CCHC-2025-017"
SECRET = b"khoa-bi-mat-cua-xa"
SENDER = "Bộ phận Một cửa xã Tân Lập <motcua@tanlap.gov.vn>"
RECIPIENTS = {
    "officer": ["lan@tanlap.gov.vn", "Phạm Văn Hùng <hung@tanlap.gov.vn>"],
    "leader": ["tuan@tanlap.gov.vn"],
    "chairman": ["chutich@tanlap.gov.vn"],
}
AT = "2023-10-27T10:00:00+07:00"


def effect(kind: str = "notify", *, attempts: int = 0, **payload: JsonValue) -> OutboxItem:
    body: dict[str, JsonValue] = {"event": "due_soon", "role": "officer", "dossier": DOSSIER, "at": AT}
    if kind == "form":
        body = {"form": "receipt", "number": "01", "name": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                "dossier": DOSSIER, "at": AT, "by": "Nguyễn Thị Lan"}
    body.update(payload)
    return OutboxItem(id=42, case_code=DOSSIER, kind=kind, payload=body, attempts=attempts, status="pending",
                      next_attempt_at=datetime.now(VN_TZ))


def failure(notifier: SmtpNotifier | WebhookNotifier | FanOut, item: OutboxItem) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as raised:
        notifier.deliver(item)
    return raised.value


# -- SMTP ------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts, answers scripted replies to RCPT and DATA."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    received: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.data_reply is not None:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.received:
            assert isinstance(envelope.content, bytes)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


@dataclass
class SmtpService:
    mailbox: Mailbox
    port: int

    def notifier(self, **options: Any) -> SmtpNotifier:
        return SmtpNotifier("127.0.0.1", self.port, SENDER, options.pop("recipients", RECIPIENTS), timeout=5,
                            **options)


@contextmanager
def running_smtp(**server_options: Any) -> Iterator[SmtpService]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **server_options)
    controller.start()
    try:
        yield SmtpService(mailbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpService]:
    with running_smtp() as service:
        yield service


def test_due_soon_mail_arrives_in_vietnamese_to_the_officers(smtp: SmtpService) -> None:
    smtp.notifier().deliver(effect())

    [envelope] = smtp.mailbox.received
    assert envelope.rcpt_tos == ["lan@tanlap.gov.vn", "hung@tanlap.gov.vn"]
    assert envelope.mail_from == "motcua@tanlap.gov.vn"
    assert isinstance(envelope.content, bytes)
    envelope.content.decode("ascii")  # 7-bit clean: encoded words in headers, quoted-printable body
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == f"[motcua] Hồ sơ {DOSSIER} sắp đến hạn trả kết quả"
    assert message["From"] == SENDER
    assert message["To"] == "lan@tanlap.gov.vn, Phạm Văn Hùng <hung@tanlap.gov.vn>"
    assert message["Message-ID"] == "<motcua-effect-42@tanlap.gov.vn>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Kính gửi: Công chức Bộ phận Một cửa,\n")
    assert f"Hồ sơ {DOSSIER} sắp đến hạn trả kết quả." in body
    assert "Thời điểm: 10:00 ngày 27/10/2023" in body
    assert unicodedata.is_normalized("NFC", body)


def test_escalated_task_mail_goes_to_the_role_the_effect_names(smtp: SmtpService) -> None:
    payload: dict[str, JsonValue] = {"event": "escalation", "role": "chairman", "task": TASK, "step": 2,
                                     "owner": "Trần Văn Bình", "at": "2025-03-04T03:30:00+00:00"}
    item = replace(effect(), case_code=TASK, payload=payload)

    smtp.notifier().deliver(item)

    [envelope] = smtp.mailbox.received
    assert envelope.rcpt_tos == ["chutich@tanlap.gov.vn"]
    [message] = smtp.mailbox.messages()
    # Long enough to be folded right between "đã" and "quá": the space must survive (CPython gh-144156).
    assert message["Subject"] == f"[motcua] Nhiệm vụ {TASK} đã quá hạn hoàn thành, báo cáo cấp trên"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Kính gửi: Chủ tịch Ủy ban nhân dân,\n")
    assert "Lần báo cáo cấp trên: 2" in body
    assert "Người chủ trì: Trần Văn Bình" in body
    assert "Thời điểm: 10:30 ngày 04/03/2025" in body  # shown in Vietnam time


def test_a_role_without_recipients_sends_nothing_and_says_so(smtp: SmtpService) -> None:
    with capture_logs() as logs:
        smtp.notifier().deliver(effect(role="owner"))

    assert smtp.mailbox.received == []
    [skipped] = [entry for entry in logs if entry["event"] == "email.skipped"]
    assert skipped["role"] == "owner"
    assert skipped["case"] == DOSSIER
    assert skipped["log_level"] == "warning"


def test_forms_are_mailed_only_to_a_configured_role(smtp: SmtpService) -> None:
    smtp.notifier().deliver(effect("form"))
    assert smtp.mailbox.received == []

    smtp.notifier(form_role="leader").deliver(effect("form"))

    [envelope] = smtp.mailbox.received
    assert envelope.rcpt_tos == ["tuan@tanlap.gov.vn"]
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == f"[motcua] Hồ sơ {DOSSIER}: đã lập Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    assert "Người lập: Nguyễn Thị Lan" in message.get_content()


@pytest.mark.parametrize(
    ("rcpt_reply", "data_reply", "retryable", "pause"),
    [
        pytest.param("451 4.3.0 Mailbox busy, try later", None, True, None, id="rcpt-451"),  # the recipient's
        pytest.param("550 5.1.1 No such user", None, False, None, id="rcpt-550"),
        pytest.param("421 4.3.2 Shutting down", None, True, SERVER_PAUSE, id="rcpt-421"),  # the server closing
        pytest.param(None, "451 4.7.1 Content scan deferred", True, None, id="data-451"),  # this message's
        pytest.param(None, "421 4.3.2 Shutting down", True, SERVER_PAUSE, id="data-421"),
        pytest.param(None, "554 5.6.0 Message rejected", False, None, id="data-554"),
    ],
)
def test_smtp_replies_are_classified_by_their_class(
    smtp: SmtpService, rcpt_reply: str | None, data_reply: str | None, retryable: bool, pause: timedelta | None,
) -> None:
    if rcpt_reply is not None:
        smtp.mailbox.rcpt_replies = {"tuan@tanlap.gov.vn": rcpt_reply}
    smtp.mailbox.data_reply = data_reply

    failed = failure(smtp.notifier(), effect(role="leader"))

    assert isinstance(failed, Retryable) is retryable
    assert (failed.retry_after if isinstance(failed, DeliveryUnavailable) else None) == pause
    assert failed.kind == "notify"
    assert (rcpt_reply or data_reply or "").split()[0] in failed.detail
    assert smtp.mailbox.received == []


def test_a_warning_outrun_by_its_deadline_is_mailed_to_its_own_role_as_what_it_now_is(smtp: SmtpService) -> None:
    smtp.notifier().deliver(effect(outrun=True))  # due_soon to the officers, fired after the appointment

    [envelope] = smtp.mailbox.received
    assert envelope.rcpt_tos == ["lan@tanlap.gov.vn", "hung@tanlap.gov.vn"]  # the warning's recipients, not the leader
    [message] = smtp.mailbox.messages()
    assert message["Subject"] == f"[motcua] Hồ sơ {DOSSIER} đã quá hạn trả kết quả"
    assert "không gửi được trước thời hạn" in message.get_content()


def test_one_message_the_server_defers_holds_back_no_other() -> None:
    with running_smtp() as service:
        channel = ReceiverPause(service.notifier())
        service.mailbox.data_reply = "451 4.7.1 Content scan deferred"
        failed = failure(channel, effect())
        service.mailbox.data_reply = None
        channel.deliver(effect(dossier="000.00.06.H56-231027-0362"))  # sent at once: nothing paused

    assert isinstance(failed, DeliveryUnavailable) and failed.retry_after is None
    assert len(service.mailbox.received) == 1


def test_one_refused_recipient_does_not_hold_back_the_others(smtp: SmtpService) -> None:
    smtp.mailbox.rcpt_replies = {"lan@tanlap.gov.vn": "550 5.1.1 No such user"}

    with capture_logs() as logs:
        smtp.notifier().deliver(effect())

    [envelope] = smtp.mailbox.received
    assert envelope.rcpt_tos == ["hung@tanlap.gov.vn"]
    [warning] = [entry for entry in logs if entry["event"] == "email.partly_refused"]
    assert warning["refused"] == 1  # counted: an address names a person
    assert "lan@tanlap.gov.vn" not in repr(logs)


@pytest.mark.parametrize("address", ["khong-co-ten-mien", "hai cach@tanlap.gov.vn", "a@b.vn\r\nBcc: x@y.vn", ""])
def test_a_malformed_address_is_a_permanent_failure(smtp: SmtpService, address: str) -> None:
    failed = failure(smtp.notifier(recipients={"officer": [address]}), effect())

    assert not isinstance(failed, Retryable)
    assert "malformed address" in failed.detail
    assert smtp.mailbox.received == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # plain text on 127.0.0.1 only
def test_refused_credentials_are_a_permanent_failure() -> None:
    def authenticator(*args: Any) -> AuthResult:
        mechanism, data = args[3], args[4]
        accepted = mechanism in {"LOGIN", "PLAIN"} and data.password == b"dung-mat-khau"
        return AuthResult(success=accepted, handled=False)  # handled=False: the server answers 535

    with running_smtp(authenticator=authenticator, auth_require_tls=False, auth_required=True) as service:
        failed = failure(service.notifier(username="motcua", password="sai-mat-khau"), effect())
        service.notifier(username="motcua", password="dung-mat-khau").deliver(effect())

        assert not isinstance(failed, Retryable)
        assert "535" in failed.detail
        assert len(service.mailbox.received) == 1


def test_starttls_asked_of_a_server_without_it_is_a_permanent_failure(smtp: SmtpService) -> None:
    failed = failure(smtp.notifier(starttls=True), effect())

    assert not isinstance(failed, Retryable)
    assert "STARTTLS" in failed.detail


def test_smtp_connection_refused_is_retryable_and_pauses_the_channel() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), SENDER, RECIPIENTS, timeout=2)

    failed = failure(notifier, effect())

    assert isinstance(failed, DeliveryUnavailable) and failed.retry_after == SERVER_PAUSE
    assert "ConnectionRefusedError" in failed.detail


@contextmanager
def greeting_server(greeting: bytes) -> Iterator[tuple[int, list[int]]]:
    """A server that answers every connection with ``greeting`` and hangs up; yields its port and the connections
    it took (counted, to see what a pause spared it)."""
    taken: list[int] = []

    def greet(connection: socket.socket) -> None:
        taken.append(1)
        connection.sendall(greeting)

    with tcp_server(greet) as port:
        yield port, taken


def test_a_server_too_busy_to_greet_pauses_the_channel_and_the_next_mails_wait_unsent() -> None:
    with greeting_server(b"421 4.3.2 Too many connections, try later\r\n") as (port, taken):
        channel = ReceiverPause(SmtpNotifier("127.0.0.1", port, SENDER, RECIPIENTS, timeout=2))
        failed = failure(channel, effect())
        assert isinstance(failed, DeliveryUnavailable) and failed.retry_after == SERVER_PAUSE
        assert "421" in failed.detail
        for _ in range(3):
            held = failure(channel, effect())
            assert isinstance(held, DeliveryDeferred) and held.retry_after is not None
            assert SERVER_PAUSE - timedelta(seconds=5) < held.retry_after <= SERVER_PAUSE
        assert len(taken) == 1  # only the first mail reached the server
        channel.deliver(effect("form"))  # a form no role is mailed: skipped as ever, not held back by the pause


def test_smtp_server_that_never_greets_times_out_retryably() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        notifier = SmtpNotifier("127.0.0.1", silent.getsockname()[1], SENDER, RECIPIENTS, timeout=0.3)
        started = time.monotonic()

        failed = failure(notifier, effect())

    assert isinstance(failed, Retryable)
    assert time.monotonic() - started < 3


def test_a_server_that_offers_no_service_is_a_permanent_failure() -> None:
    with greeting_server(b"554 5.3.2 No SMTP service here\r\n") as (port, _):
        failed = failure(SmtpNotifier("127.0.0.1", port, SENDER, RECIPIENTS, timeout=2), effect())
    assert not isinstance(failed, Retryable)
    assert "554" in failed.detail


# -- Webhook ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """What the HTTP receiver answers, request after request (200 once the script runs out)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    retry_after: str | None = None  # the Retry-After header of every answer, when set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/motcua/effects"

    def notifier(self, timeout: float = 5) -> WebhookNotifier:
        return WebhookNotifier(self.url, SECRET, timeout=timeout)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            verified = verify_signature(SECRET, headers.get("X-Motcua-Timestamp", ""), body,
                                        headers.get("X-Motcua-Signature", ""), now=time.time())
            receiver.requests.append(Request(headers, body, verified))
            time.sleep(receiver.delay)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            if not verified:
                status = 401
            self.send_response(status)
            if receiver.retry_after is not None:
                self.send_header("Retry-After", receiver.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads ``receiver.requests``."""

    return Handler


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """The client gave up on a slow answer (the timeout test): nothing to report."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    scripted = Receiver()
    server = QuietServer(("127.0.0.1", 0), _handler(scripted))
    scripted.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()
    thread.join()


def test_webhook_posts_the_effect_as_signed_utf8_json(receiver: Receiver) -> None:
    receiver.notifier().deliver(effect(attempts=2, note="Công dân đã bổ sung giấy tờ"))

    [request] = receiver.requests
    assert request.verified
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "motcua-effect-42"
    assert abs(int(request.headers["X-Motcua-Timestamp"]) - time.time()) < 60
    assert request.headers["X-Motcua-Signature"].startswith("sha256=")
    assert "Công dân đã bổ sung giấy tờ".encode() in request.body  # not \\u-escaped
    assert json.loads(request.body) == {
        "id": 42, "idempotency_key": "motcua-effect-42", "case": DOSSIER, "kind": "notify", "attempt": 3,
        "payload": {"event": "due_soon", "role": "officer", "dossier": DOSSIER, "at": AT,
                    "note": "Công dân đã bổ sung giấy tờ"},
    }


def test_a_tampered_body_a_wrong_secret_or_an_old_timestamp_does_not_verify(receiver: Receiver) -> None:
    receiver.notifier().deliver(effect())
    [request] = receiver.requests
    timestamp, signature = request.headers["X-Motcua-Timestamp"], request.headers["X-Motcua-Signature"]
    now = float(timestamp)

    assert verify_signature(SECRET, timestamp, request.body, signature, now)
    tampered = request.body.replace(b"officer", b"chairman")
    assert not verify_signature(SECRET, timestamp, tampered, signature, now)
    assert not verify_signature(b"another-secret", timestamp, request.body, signature, now)
    assert not verify_signature(SECRET, str(int(timestamp) + 1), request.body, signature, now)
    assert not verify_signature(SECRET, timestamp, request.body, signature, now + 301)
    assert verify_signature(SECRET, timestamp, request.body, signature, now + 600, tolerance=900)
    assert not verify_signature(SECRET, "not-a-number", request.body, signature, now)
    assert not verify_signature(SECRET, timestamp, request.body, "sha256=chữ-ký-giả", now)


def test_a_retry_carries_the_same_idempotency_key(receiver: Receiver) -> None:
    receiver.statuses = [503]
    notifier = receiver.notifier()

    assert isinstance(failure(notifier, effect()), Retryable)
    notifier.deliver(effect(attempts=1))

    first, second = receiver.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "motcua-effect-42"
    assert [json.loads(request.body)["attempt"] for request in receiver.requests] == [1, 2]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(503, True), (500, True), (502, True), (429, True), (408, True), (400, False), (404, False), (422, False),
     (301, False)],
)
def test_webhook_answers_are_classified(receiver: Receiver, status: int, retryable: bool) -> None:
    receiver.statuses = [status]

    failed = failure(receiver.notifier(), effect())

    assert isinstance(failed, Retryable) is retryable
    assert f"HTTP {status}" in failed.detail


@pytest.mark.parametrize("status", [429, 503])
def test_the_wait_a_busy_receiver_asks_for_comes_with_the_failure(receiver: Receiver, status: int) -> None:
    receiver.statuses, receiver.retry_after = [status, status], "120"
    assert getattr(failure(receiver.notifier(), effect()), "retry_after", None) == timedelta(seconds=120)

    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=61), usegmt=True)
    receiver.retry_after = in_a_minute
    asked = getattr(failure(receiver.notifier(), effect()), "retry_after", None)
    assert asked is not None and timedelta(seconds=50) < asked <= timedelta(seconds=61)


def test_a_channel_failing_with_a_wait_asked_passes_it_on(smtp: SmtpService, receiver: Receiver) -> None:
    receiver.statuses, receiver.retry_after = [503], "300"
    failed = failure(FanOut([receiver.notifier(), smtp.notifier()]), effect())
    assert isinstance(failed, DeliveryUnavailable) and failed.retry_after == timedelta(seconds=300)


def test_webhook_2xx_answers_are_deliveries(receiver: Receiver) -> None:
    receiver.statuses = [200, 202, 204]
    for _ in range(3):
        receiver.notifier().deliver(effect())
    assert len(receiver.requests) == 3


def test_a_slow_receiver_times_out_retryably(receiver: Receiver) -> None:
    receiver.delay = 1.0
    started = time.monotonic()

    failed = failure(receiver.notifier(timeout=0.2), effect())

    assert isinstance(failed, Retryable)
    assert "timed out" in failed.detail
    assert time.monotonic() - started < 1.0


def test_webhook_connection_refused_is_retryable() -> None:
    failed = failure(WebhookNotifier(f"http://127.0.0.1:{free_port()}/", SECRET, timeout=2), effect())

    assert isinstance(failed, Retryable)
    assert "ConnectError" in failed.detail


def test_a_url_that_cannot_work_is_a_permanent_failure() -> None:
    failed = failure(WebhookNotifier("ftp://127.0.0.1/effects", SECRET), effect())

    assert not isinstance(failed, Retryable)


# -- Log, routing ----------------------------------------------------------------------------------


def test_the_log_notifier_binds_the_dossier_and_shows_the_payload_by_allowlist() -> None:
    contact = MappingProxyType({"note": "gọi lại số 0912345678", "phones": ["+84987654321"]})
    item = effect(contact=contact, owner="Trần Văn Bình", outrun=True)  # type: ignore[arg-type]  # read-only, as stored

    with capture_logs(processors=[mask_identifiers]) as logs:
        LogNotifier().deliver(item)

    [event] = logs
    assert event["event"] == "effect.released"
    assert event["case"] == DOSSIER
    assert event["kind"] == "notify"
    assert event["effect_id"] == 42
    assert event["payload"]["event"] == "due_soon" and event["payload"]["dossier"] == DOSSIER
    assert event["payload"]["outrun"] is True  # names no one: shown
    assert "contact" not in event["payload"] and "owner" not in event["payload"]
    assert event["withheld"] == ["contact", "owner"]  # named, never shown
    assert "0912345678" not in repr(event) and "Bình" not in repr(event)


def test_routing_by_kind_and_fanning_out_over_real_channels(smtp: SmtpService, receiver: Receiver) -> None:
    routing = RoutingNotifier({"notify": smtp.notifier()}, default=receiver.notifier())

    routing.deliver(effect())
    routing.deliver(effect("form"))

    assert len(smtp.mailbox.received) == 1
    assert [json.loads(request.body)["kind"] for request in receiver.requests] == ["form"]

    receiver.statuses = [503]
    failed = failure(FanOut([receiver.notifier(), smtp.notifier()]), effect())

    assert isinstance(failed, Retryable)
    assert "HTTP 503" in failed.detail
    assert len(smtp.mailbox.received) == 2  # the e-mail went out although the webhook failed


def test_a_retry_goes_only_to_the_channels_not_yet_delivered(smtp: SmtpService, receiver: Receiver) -> None:
    receiver.statuses = [503]
    fanout = FanOut([LogNotifier(), smtp.notifier(), receiver.notifier()])

    failed = failure(fanout, effect())
    assert failed.delivered == frozenset({"log", "email"})
    fanout.deliver(replace(effect(attempts=1), delivered=failed.delivered))

    assert len(smtp.mailbox.received) == 1  # the officials got the notice once
    assert [json.loads(request.body)["attempt"] for request in receiver.requests] == [1, 2]


def test_every_attempt_on_every_channel_carries_the_effects_key(smtp: SmtpService, receiver: Receiver) -> None:
    """So a receiver drops a repeat (a worker that delivered and died before its mark was written)."""
    for attempts in (0, 1):  # the first attempt, and the one after a crash
        FanOut([smtp.notifier(), receiver.notifier()]).deliver(effect(attempts=attempts))
    FanOut([smtp.notifier(), receiver.notifier()]).deliver(replace(effect(), id=43))  # another effect

    mails, requests = smtp.mailbox.messages(), receiver.requests
    keys = [(mail["X-Motcua-Effect-Id"], mail["Message-ID"]) for mail in mails]
    assert keys == [("motcua-effect-42", "<motcua-effect-42@tanlap.gov.vn>")] * 2 + [
        ("motcua-effect-43", "<motcua-effect-43@tanlap.gov.vn>")]
    assert [request.headers["Idempotency-Key"] for request in requests] == [
        "motcua-effect-42", "motcua-effect-42", "motcua-effect-43"]
    assert [json.loads(request.body)["idempotency_key"] for request in requests] == [
        "motcua-effect-42", "motcua-effect-42", "motcua-effect-43"]


def test_message_ids_differ_between_databases_sharing_a_domain_and_hold_across_attempts(smtp: SmtpService) -> None:
    """Effect 42 of case X in two databases (a restored copy, a second installation) sending from one domain were
    both ``<motcua-effect-42@…>``: a mailbox that keeps one message per Message-ID dropped the second notice."""
    one = replace(effect(), created_at=datetime(2026, 12, 7, 1, 0, 0, 123456, tzinfo=UTC))
    created = one.created_at
    assert created is not None
    other = replace(one, created_at=created + timedelta(microseconds=1))  # the same id and case, elsewhere
    notifier = smtp.notifier()

    for item in (one, replace(one, attempts=1, created_at=created.astimezone(VN_TZ)), other):
        notifier.deliver(item)

    first, retried, elsewhere = (mail["Message-ID"] for mail in smtp.mailbox.messages())
    assert first == retried != elsewhere
    assert re.fullmatch(r"<motcua-effect-42\.[0-9a-f]{16}@tanlap\.gov\.vn>", first)
    assert [mail["X-Motcua-Effect-Id"] for mail in smtp.mailbox.messages()] == ["motcua-effect-42"] * 3


def test_a_channel_failing_for_good_does_not_park_one_that_may_succeed_later(
    smtp: SmtpService, receiver: Receiver
) -> None:
    """E-mail refused for good, the webhook's receiver away: the effect is retried (else it was parked at once, and
    the receiver never got it without an operator), and the error names both failures."""
    smtp.mailbox.data_reply = "554 5.6.0 Message rejected"
    receiver.statuses = [503]

    failed = failure(FanOut([smtp.notifier(), receiver.notifier()]), effect())

    assert isinstance(failed, Retryable)
    assert "554" in failed.detail and "HTTP 503" in failed.detail


def test_names_in_the_addresses_arrive_in_nfc(smtp: SmtpService) -> None:
    """A display name typed decomposed (NFD, as some keyboards and macOS write it) is sent composed, as every other
    Vietnamese text motcua writes."""
    nfd = unicodedata.normalize("NFD", SENDER)
    officer = unicodedata.normalize("NFD", RECIPIENTS["officer"][1])
    notifier = SmtpNotifier("127.0.0.1", smtp.port, nfd, {"officer": [officer]}, timeout=5)

    notifier.deliver(effect())

    [message] = smtp.mailbox.messages()
    assert message["From"] == SENDER and unicodedata.is_normalized("NFC", str(message["From"]))
    assert message["To"] == "Phạm Văn Hùng <hung@tanlap.gov.vn>"
    assert unicodedata.is_normalized("NFC", str(message["To"]))


def test_the_longest_addresses_taken_fit_the_lines_of_a_message(smtp: SmtpService) -> None:
    """A display name of 100 characters without a space, an address of 254: every line stays within the 998 bytes
    SMTP allows (a longer name made the server refuse every message, 500 Line too long, and each notice was parked)."""
    name, local = "Ộ" * 100, "a" * 64
    address = f"{local}@{'b' * 60}.{'c' * 60}.{'d' * 60}.{'e' * (254 - 64 - 1 - 183)}.vn"[:254]
    entry = f"{name} <{address}>"
    notifier = SmtpNotifier("127.0.0.1", smtp.port, entry, {"officer": [entry, entry, entry]}, timeout=5)

    notifier.deliver(effect())

    [envelope] = smtp.mailbox.received
    assert isinstance(envelope.content, bytes)
    assert max(len(line) for line in envelope.content.split(b"\r\n")) <= 998
    assert smtp.mailbox.messages()[0]["From"].addresses[0].display_name == name


def test_a_channel_that_raises_unexpectedly_holds_back_no_other(receiver: Receiver) -> None:
    """A channel's bug (anything but DeliveryFailed) fails the attempt once every channel was tried — the webhook after
    a broken e-mail channel was never tried, on any attempt, until the effect was parked."""

    class Broken:
        def deliver(self, item: OutboxItem) -> None:
            raise KeyError("step_label")

    failed = failure(FanOut([LogNotifier(), Broken(), receiver.notifier()]), effect())

    assert isinstance(failed, Retryable) and "KeyError" in failed.detail  # recorded, retried as any bug of a notifier
    assert failed.delivered == frozenset({"log", "webhook"})  # kept: the retry goes to the broken channel only
    assert [json.loads(request.body)["kind"] for request in receiver.requests] == ["notify"]
