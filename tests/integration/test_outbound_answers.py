"""What a receiver answers is read within bounds: a webhook's answer by its status alone, the portal's up to a size
and within the timeout. A receiver that drips its answer's body, or sends one without end, neither holds a worker
past the timeout, nor fills its memory, nor turns a delivered notice into a retried one.

The receiver is a raw socket on 127.0.0.1: it says exactly what the test scripts, at the pace it scripts.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

import pytest

from motcua.adapters.anchors import WebhookPublisher
from motcua.adapters.notifiers import SmtpNotifier, WebhookNotifier
from motcua.adapters.portal.sync import MAX_ANSWER, HttpxTransport, PortalUnreachable
from motcua.workflow.auditing.anchor import take
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.errors import DeliveryUnavailable
from tests.servers import read_request, tcp_server

MIB = 1 << 20
ANCHOR = take([], datetime(2026, 12, 7, 8, 0, tzinfo=VN_TZ))  # an empty log's anchor: the document is all it needs
ITEM = OutboxItem(id=7, case_code="000.00.06.H56-231027-0361", kind="notify", payload={"event": "due_soon"},
                  attempts=0, status="pending", next_attempt_at=datetime.now(VN_TZ))


@contextmanager
def answering(status: int, length: int, chunk: bytes, pause: float, *,
              head_pause: float = 0) -> Iterator[tuple[str, list[int]]]:
    """A receiver that reads one request, then answers ``status`` with a ``Content-Length`` of ``length`` (its head a
    byte every ``head_pause`` seconds, when given) and sends ``chunk`` after ``chunk``, ``pause`` seconds apart, until
    the client hangs up or ``length`` is sent. Yields its URL and [bytes of the body sent]."""
    sent = [0]

    def answer(connection: socket.socket) -> None:
        read_request(connection)
        head = f"HTTP/1.1 {status} X\r\nX-Pad: {'a' * 40}\r\nContent-Length: {length}\r\n\r\n".encode("ascii")
        for byte in head if head_pause else [head]:
            time.sleep(head_pause)
            connection.sendall(bytes([byte]) if isinstance(byte, int) else byte)
        while sent[0] < length:
            time.sleep(pause)
            connection.sendall(chunk)
            sent[0] += len(chunk)

    with tcp_server(answer) as port:
        yield f"http://127.0.0.1:{port}/hook", sent


def test_a_webhook_answer_is_read_by_its_status_however_slow_its_body() -> None:
    with answering(200, 40, b"x", pause=0.25) as (url, _):  # 10 s of body, a byte at a time: no read times out
        started = time.monotonic()
        WebhookNotifier(url, b"khoa", timeout=1).deliver(ITEM)  # delivered: the receiver said 200
        assert time.monotonic() - started < 3


def test_a_webhook_answer_whose_body_never_ends_is_still_a_delivery() -> None:
    with answering(200, 512 * MIB, b"x" * MIB, pause=0) as (url, sent):
        WebhookNotifier(url, b"khoa", timeout=1).deliver(ITEM)
    assert sent[0] < 256 * MIB  # not read to its end (nor into memory)


def test_a_webhook_answer_whose_head_is_dripped_times_out_within_the_timeout() -> None:
    with answering(200, 0, b"", pause=0, head_pause=0.25) as (url, _):  # 20 s of head, each byte within the timeout
        started = time.monotonic()
        with pytest.raises(DeliveryUnavailable, match="timed out"):
            WebhookNotifier(url, b"khoa", timeout=1).deliver(ITEM)
        assert time.monotonic() - started < 3


def test_an_anchor_webhook_answer_whose_head_is_dripped_times_out_within_the_timeout() -> None:
    with answering(200, 0, b"", pause=0, head_pause=0.25) as (url, _):
        started = time.monotonic()
        with pytest.raises(DeliveryUnavailable, match="ReadTimeout"):
            WebhookPublisher(url, b"khoa", timeout=1).publish(ANCHOR)
        assert time.monotonic() - started < 3


def test_an_anchor_webhook_answer_whose_body_never_ends_is_still_published() -> None:
    with answering(200, 512 * MIB, b"x" * MIB, pause=0) as (url, sent):
        assert WebhookPublisher(url, b"khoa", timeout=1).publish(ANCHOR) == url
    assert sent[0] < 256 * MIB


def test_a_portal_answer_whose_head_is_dripped_times_out_within_the_timeout() -> None:
    with answering(200, 0, b"", pause=0, head_pause=0.25) as (url, _):
        started = time.monotonic()
        with pytest.raises(PortalUnreachable, match="timed out"):
            HttpxTransport(url, "tok", timeout=1).send({"service": "DongBoHoSoMC"})
        assert time.monotonic() - started < 3


def test_a_portal_answer_dripped_past_the_timeout_is_a_timeout() -> None:
    with answering(200, 40, b" ", pause=0.25) as (url, _):
        started = time.monotonic()
        with pytest.raises(PortalUnreachable, match="timed out"):
            HttpxTransport(url, "tok", timeout=1).send({"service": "DongBoHoSoMC"})
        assert time.monotonic() - started < 3


def test_a_portal_answer_is_read_up_to_a_bound() -> None:
    with answering(200, 512 * MIB, b" " * MIB, pause=0) as (url, sent):
        answer = HttpxTransport(url, "tok", timeout=5).send({"service": "DongBoHoSoMC"})
    assert answer.status == 200
    assert len(answer.body) <= MAX_ANSWER
    assert sent[0] < 256 * MIB


def test_a_name_resolution_that_hangs_is_cut_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving the receiver's name runs on a thread of the exchange's event loop: a resolver that hangs (a province's
    DNS away: seconds per try, per server) is left to end on its own, not waited for past the timeout — the loop's
    shutdown waited for it (asyncio.run), 4 s with a 0.5 s timeout here."""
    resolve = socket.getaddrinfo

    def hanging(*args: object, **kwargs: object) -> object:
        time.sleep(3)
        return resolve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    started = time.monotonic()
    with pytest.raises(DeliveryUnavailable, match="timed out"):
        WebhookNotifier("http://receiver.invalid:9/hook", b"secret", timeout=0.5).deliver(ITEM)
    assert time.monotonic() - started < 2


@contextmanager
def dripping_smtp(pause: float) -> Iterator[int]:
    """An SMTP server that greets, then answers EHLO with ``250-`` lines ``pause`` seconds apart, without end (each
    within a read's timeout) until the client hangs up. Yields its port."""

    def drip(connection: socket.socket) -> None:
        connection.sendall(b"220 slow.example ESMTP\r\n")
        connection.recv(1024)  # EHLO
        while True:
            time.sleep(pause)
            connection.sendall(b"250-still thinking\r\n")

    with tcp_server(drip) as port:
        yield port


def test_an_smtp_server_dripping_its_replies_is_cut_at_the_timeout() -> None:
    with dripping_smtp(pause=0.2) as port:
        notifier = SmtpNotifier("127.0.0.1", port, "motcua@example.vn", {"officer": ["lan@example.vn"]}, timeout=1)
        started = time.monotonic()
        with pytest.raises(DeliveryUnavailable, match="longer than 1s"):
            notifier.deliver(replace(ITEM, payload={"event": "due_soon", "role": "officer"}))
        assert time.monotonic() - started < 3
