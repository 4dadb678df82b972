"""Anchors published by the worker on a schedule pin the audit log in time, outside the database.

An insider holding the application's own rights can append a well-formed entry and move the case row along:
``verify`` passes (the limit docs/auditing.md states). What the published anchors add: the anchor taken before
the append still shows the chain's head before it, ``verify --anchor`` reports the entry as appended since
(and warns that it is dated before the anchor), and the next anchor holds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from motcua.adapters.anchors import DirectoryPublisher, WebhookPublisher
from motcua.adapters.bootstrap import Motcua, anchor_schedule_from_settings, open_motcua
from motcua.adapters.logging import mask_identifiers
from motcua.adapters.notifiers import verify_signature
from motcua.entrypoints.worker import WorkerOptions, run_worker
from motcua.workers.anchors import AnchorSchedule
from motcua.workflow.auditing.anchor import Anchor, take
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import sealed, verify_chains
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import DeliveryUnavailable, InvalidInput
from tests.conftest import LEADER, OFFICER, SPECIALIST, START

EVERY = timedelta(minutes=15)
SECRET = b"anchor-secret"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[Motcua]:
    motcua = open_motcua(f"sqlite:///{tmp_path / 'shop.db'}", clock=clock, observers=[])
    yield motcua
    motcua.close()


def dossier(app: Motcua, name: str) -> Case:
    case = app.desk.receive("1.004873", "direct", Applicant(name), OFFICER)
    return app.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def insider_append(app: Motcua, code: str) -> Case:
    """What whoever holds the application's database role can do: an approval by the leader, dated back to the
    dossier's last step, with a valid hash, appended by the store as any entry, the case row moved along."""
    case = app.store.load(code)
    entry = sealed(
        case_code=code, sequence=case.version + 1, occurred_at=case.updated_at, actor=LEADER.name, role="leader",
        trigger="approve", state_before=case.state, state_after={**case.state, "lifecycle": "approved"}, data={},
        changes={}, reason=None, definition_key=case.definition_key, definition_version=case.definition_version,
        rule_set=case.rule_set, prev_hash=case.head_hash,
    )
    after = replace(case, state=entry.state_after, version=entry.sequence, head_hash=entry.hash)
    app.store.commit(Decision(after, entry, app.workflows.index_of(after)))  # the row's search columns as written
    return after


def motcua_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def anchors_in(directory: Path) -> list[Path]:
    return sorted(directory.glob("anchor-*.json"))


# -- the schedule ----------------------------------------------------------------------------------------


def test_anchors_are_written_on_schedule_and_pin_an_insiders_append_in_time(
    app: Motcua, clock: ManualClock, tmp_path: Path,
) -> None:
    published = tmp_path / "anchors"
    schedule = AnchorSchedule(app.store.entries, DirectoryPublisher(published), clock, EVERY)
    case = dossier(app, "Trần Văn An")
    dossier(app, "Lê Thị Bình")
    clock.advance(timedelta(hours=1))

    first = schedule.tick()  # at once
    assert first is not None and len(anchors_in(published)) == 1
    clock.advance(timedelta(minutes=5))
    assert schedule.tick() is None and len(anchors_in(published)) == 1  # not due yet

    forged = insider_append(app, case.code)
    assert list(verify_chains(app.store.cases(), app.store.entries())) == []  # the limit: verify cannot tell
    clock.advance(timedelta(minutes=10))
    second = schedule.tick()
    assert second is not None and len(anchors_in(published)) == 2

    before, after = ({head.code: head for head in anchor.heads} for anchor in (first, second))
    assert (before[case.code].sequence, before[case.code].hash) == (forged.version - 1, case.head_hash)
    assert (after[case.code].sequence, after[case.code].hash) == (forged.version, forged.head_hash)

    [file_before, file_after] = anchors_in(published)
    assert Anchor.from_json(json.loads(file_before.read_text(encoding="utf-8"))) == first
    assert not os.access(file_before, os.W_OK) or os.geteuid() == 0  # written read-only
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    ran = motcua_cli("verify", "--anchor", str(file_before), "--db", url)
    assert ran.returncode == 0, ran.stderr
    assert "the log matches it" in ran.stdout
    assert "1 entries appended to 1 anchored chains" in ran.stdout  # appended after the anchor, whatever it claims
    assert f"ANCHOR WARNING {case.code} #{forged.version}: not in the anchor, yet dated" in ran.stderr
    assert "backdated" in ran.stderr
    ran = motcua_cli("verify", "--anchor", str(published), "--db", url)  # the directory: its latest anchor
    assert ran.returncode == 0 and f"anchor file: {file_after.name}" in ran.stdout
    assert "0 entries appended to 0 anchored chains" in ran.stdout
    (tmp_path / "empty").mkdir()
    ran = motcua_cli("verify", "--anchor", str(tmp_path / "empty"), "--db", url)
    assert ran.returncode == 2 and "no anchor-*.json in this directory" in ran.stderr, ran.stderr
    (tmp_path / "deep.json").write_text("[" * 100_000, encoding="utf-8")  # Python's parser would recurse out
    ran = motcua_cli("verify", "--anchor", str(tmp_path / "deep.json"), "--db", url)
    assert ran.returncode == 2 and "nested deeper than a JSON document may be read" in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_failed_publication_is_reported_and_tried_again_soon(app: Motcua, clock: ManualClock) -> None:
    dossier(app, "Trần Văn An")
    errors: list[Exception] = []

    class Away:
        def __init__(self) -> None:
            self.failures = 1

        def publish(self, anchor: Anchor) -> str:
            if self.failures:
                self.failures -= 1
                raise DeliveryUnavailable("audit.anchor", "receiver away")
            return "there"

    published: list[tuple[Anchor, str]] = []
    schedule = AnchorSchedule(app.store.entries, Away(), clock, EVERY, retry=timedelta(minutes=1),
                              on_error=errors.append, on_published=lambda a, where: published.append((a, where)))
    assert schedule.tick() is None and [type(e) for e in errors] == [DeliveryUnavailable]
    assert schedule.seconds_to_next() == 60
    clock.advance(timedelta(minutes=1))
    anchor = schedule.tick()
    assert anchor is not None and published == [(anchor, "there")]
    assert schedule.seconds_to_next() == EVERY.total_seconds()


def test_an_interval_must_be_positive(app: Motcua, clock: ManualClock, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="positive"):
        AnchorSchedule(app.store.entries, DirectoryPublisher(tmp_path), clock, timedelta(0))


def test_a_published_anchor_is_logged_with_its_whole_digest_and_its_directory(
    app: Motcua, clock: ManualClock, tmp_path: Path,
) -> None:
    """The log line's digest and place are the ones to look for: the file is the one named by the digest in that
    directory (before, the file's name lost its instant's digits to the log's mask, and so did many digests)."""
    published = tmp_path / "anchors"
    schedule = anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": str(published)})
    assert schedule is not None
    dossier(app, "Trần Văn An")
    with capture_logs(processors=[mask_identifiers]) as logs:
        anchor = schedule.tick()
    assert anchor is not None
    [line] = [entry for entry in logs if entry["event"] == "audit.anchor.published"]
    assert line["digest"] == anchor.digest and line["to"] == str(published)
    assert [path.name for path in published.glob(f"anchor-*-{line['digest'][:12]}.json")] == \
        [path.name for path in anchors_in(published)]


# -- settings --------------------------------------------------------------------------------------------


def test_the_settings_choose_a_directory_or_a_signed_webhook(app: Motcua, clock: ManualClock, tmp_path: Path) -> None:
    assert anchor_schedule_from_settings(app, clock, {}) is None
    to_directory = anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": str(tmp_path),
                                                              "MOTCUA_ANCHOR_EVERY_MINUTES": "5"})
    assert to_directory is not None and to_directory.every == timedelta(minutes=5)
    assert isinstance(to_directory.publisher, DirectoryPublisher)
    default = anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": str(tmp_path)})
    assert default is not None and default.every == timedelta(hours=1)
    to_webhook = anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": "https://kho.example.vn/anchors",
                                                            "MOTCUA_WEBHOOK_SECRET": "s" * 16})
    assert to_webhook is not None and isinstance(to_webhook.publisher, WebhookPublisher)
    for short in ({"MOTCUA_ANCHOR_SECRET": "s" * 15}, {"MOTCUA_WEBHOOK_SECRET": "s"}):  # a guessable signing key
        with pytest.raises(InvalidInput) as refused:
            anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": "https://kho.example.vn/anchors", **short})
        assert refused.value.field == next(iter(short)) and "16 characters" in refused.value.message
    lab = anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": "https://kho.example.vn/anchors",
                                                     "MOTCUA_ANCHOR_SECRET": "s", "MOTCUA_INSECURE_LAB": "true"})
    assert lab is not None
    for bad in ("0", "-5", "nan", "inf", "mười lăm", ""):
        with pytest.raises(InvalidInput, match="MOTCUA_ANCHOR_EVERY_MINUTES"):
            anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": str(tmp_path),
                                                       "MOTCUA_ANCHOR_EVERY_MINUTES": bad})
    with pytest.raises(InvalidInput, match="MOTCUA_ANCHOR_SECRET"):
        anchor_schedule_from_settings(app, clock, {"MOTCUA_ANCHOR_TO": "https://kho.example.vn/anchors"})


# -- a webhook -------------------------------------------------------------------------------------------


class _Receiver(ThreadingHTTPServer):
    requests: list[tuple[dict[str, str], bytes]]
    statuses: list[int]


def _handler() -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server: _Receiver

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.server.requests.append((dict(self.headers.items()), body))
            self.send_response(self.server.statuses.pop(0) if self.server.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(("127.0.0.1", 0), _handler())
    server.requests, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_webhook_receives_the_anchor_signed(app: Motcua, clock: ManualClock, receiver: _Receiver) -> None:
    dossier(app, "Trần Văn An")
    anchor = take(app.store.entries(), clock.now())
    url = f"http://127.0.0.1:{receiver.server_address[1]}/anchors"
    receiver.statuses.append(503)
    with pytest.raises(DeliveryUnavailable):
        WebhookPublisher(url, SECRET).publish(anchor)
    assert WebhookPublisher(url, SECRET).publish(anchor) == url

    headers, body = receiver.requests[-1]
    assert verify_signature(SECRET, headers["X-Motcua-Timestamp"], body, headers["X-Motcua-Signature"], time.time())
    assert headers["Idempotency-Key"] == f"motcua-anchor-{anchor.digest}"
    assert Anchor.from_json(json.loads(body)) == anchor


# -- the worker ------------------------------------------------------------------------------------------


def test_the_worker_publishes_anchors_that_verify_accepts(
    app: Motcua, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    dossier(app, "Trần Văn An")
    published = tmp_path / "anchors"
    monkeypatch.setenv("MOTCUA_ANCHOR_TO", str(published))
    monkeypatch.setenv("MOTCUA_ANCHOR_EVERY_MINUTES", "0.01")  # 0.6 s
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(WorkerOptions(url, poll=timedelta(milliseconds=100)), stop))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(anchors_in(published)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    files = anchors_in(published)
    assert len(files) >= 2
    ran = motcua_cli("verify", "--anchor", str(files[-1]), "--db", url)
    assert ran.returncode == 0, ran.stderr
    assert "the log matches it" in ran.stdout
