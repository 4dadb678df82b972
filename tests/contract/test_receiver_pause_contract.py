"""A receiver's ``Retry-After`` holds back every effect to it, not the one it answered only; on every store.

The webhook is a real HTTP receiver on this machine, the notifier the one ``motcua worker`` composes from its settings
(the log, then the webhook). It answers the first request 503 with ``Retry-After: 120``. Before, each of the batch's
other effects was sent all the same and met the same answer: the busy receiver got the whole backlog. Now it gets
one request until the wait is over; the effects held back are not sent, not counted as an attempt (so never parked
for a wait asked on another's behalf), and are delivered once when it ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from motcua.adapters.bootstrap import notifier_from_settings
from motcua.workers.handlers import Handlers
from motcua.workflow.engine.ports import Claim
from motcua.workflow.engine.retry import RetryPolicy
from motcua.workflow.engine.service import CaseService
from tests.contract.conftest import LEASE, Desk

CODES = [f"000.00.12.H01-250303-{n:04d}" for n in range(5)]
WAIT = timedelta(seconds=120)


@dataclass
class Busy:
    """Answers the first ``busy`` requests 503 with a Retry-After, then 200; counts the requests by key."""

    busy: int = 1
    keys: list[str] = field(default_factory=list)
    port: int = 0

    def settings(self) -> dict[str, str]:
        return {"MOTCUA_WEBHOOK_URL": f"http://127.0.0.1:{self.port}/effects",
                "MOTCUA_WEBHOOK_SECRET": "a-secret-of-the-contract-tests"}


@pytest.fixture
def receiver() -> Iterator[Busy]:
    busy = Busy()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            busy.keys.append(self.headers["Idempotency-Key"])
            refused = len(busy.keys) <= busy.busy
            self.send_response(503 if refused else 200)
            if refused:
                self.send_header("Retry-After", str(int(WAIT.total_seconds())))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    busy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield busy
    server.shutdown()
    server.server_close()
    thread.join()


def _handlers(desk: Desk, receiver: Busy, policy: RetryPolicy | None = None) -> Handlers:
    """A worker process's handlers, its notifier built from the settings as ``motcua worker`` builds it."""
    notifier = notifier_from_settings(receiver.settings())
    return Handlers(CaseService(desk.engine, desk.store), desk.store, desk.store, notifier, desk.clock,
                    policy=policy or RetryPolicy())


def _batch(desk: Desk) -> tuple[list[Any], Claim]:
    for code in CODES:
        desk.open(code)
    claim = Claim.new(desk.clock.now(), LEASE)
    return desk.store.claim_effects(desk.clock.now(), 10, LEASE, claim.token), claim


def test_a_receivers_wait_holds_back_the_other_effects_to_it(desk: Desk, receiver: Busy) -> None:
    items, claim = _batch(desk)
    assert len(items) == len(CODES)

    assert _handlers(desk, receiver).handle_effects(items, claim) == 0

    assert len(receiver.keys) == 1  # the receiver asked for a wait: the others were not sent
    assert desk.store.claim_effects(desk.clock.now() + WAIT - timedelta(seconds=1), 10, LEASE) == []
    desk.clock.advance(WAIT * 1.3)  # past the wait and its spread
    again = {item.id: item for item in desk.store.claim_effects(desk.clock.now(), 10, LEASE)}
    assert sorted(again) == sorted(item.id for item in items)  # none lost, none parked
    answered = items[0].id
    assert {item_id: item.attempts for item_id, item in again.items()} == {
        item.id: int(item.id == answered) for item in items}  # a deferral is no attempt
    assert all(item.delivered == {"log"} for item in again.values())  # the log had them: not again

    claim = Claim.new(desk.clock.now(), LEASE)
    held = desk.store.claim_effects(desk.clock.now() + LEASE, 10, LEASE, claim.token)  # taken over: a new claim
    assert _handlers(desk, receiver).handle_effects(held, claim) == len(CODES)  # a new process: it knows no pause
    assert sorted(receiver.keys[1:]) == sorted(f"motcua-effect-{item.id}" for item in items)  # each once
    assert desk.store.backlog() == 0 and desk.store.parked() == []


def test_an_effect_held_back_is_never_parked_for_it(desk: Desk, receiver: Busy) -> None:
    items, claim = _batch(desk)

    _handlers(desk, receiver, RetryPolicy(max_attempts=1)).handle_effects(items, claim)

    assert [item.id for item in desk.store.parked()] == [items[0].id]  # its own attempt: parked at the first
    assert desk.store.backlog() == len(CODES) - 1  # the others wait for the receiver, unsent and uncounted
