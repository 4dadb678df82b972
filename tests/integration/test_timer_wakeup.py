"""A timer armed or re-dated to fall due soon wakes the dispatcher on PostgreSQL (migration 0017, LISTEN/NOTIFY).

The dispatcher runs here with a poll of ten minutes: a timer it fires within the test's bound was brought forward by
the notification, not found by the poll. The listener survives its connection being cut, and notifications are
kept to what matters (a timer armed days ahead notifies nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.listen import CHANNEL, TimerListener, timer_listener
from motcua.adapters.sql.store import SqlStore
from motcua.entrypoints.worker import WorkerOptions, run_worker
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from tests.conftest import OFFICER
from tests.services import postgres_database, postgres_url, require_postgres

pytestmark = pytest.mark.integration

LONG_POLL = timedelta(minutes=10)
BOUND_S = 30.0  # far under the poll: what happens within it was not the poll's doing
SENTINEL = "motcua_test_sentinel"
CODE = "WAKE-1"


@pytest.fixture
def url(postgres_template: str) -> Iterator[str]:
    require_postgres()
    with postgres_database(template=postgres_template) as name:
        yield postgres_url(name)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _received_now(url: str) -> None:
    """One dossier received at the real instant: its timers fall due days from now."""
    app = open_motcua(url, clock=ManualClock(datetime.now(VN_TZ)), observers=[])
    try:
        app.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER, code=CODE)
    finally:
        app.close()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _listening(url: str) -> bool:
    """The listener's session on this database has run its LISTEN."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'motcua-listener' AND query IN (%s, 'SELECT 1')", (f"LISTEN {CHANNEL}",)
        ).fetchone()
    return row is not None and int(row[0]) > 0


def _redate_first(url: str) -> None:
    """What the benchmark does: re-date a timer by SQL to fall due now."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("UPDATE timer SET due_at = now() WHERE case_code = %s AND name = 'due_soon'", (CODE,))


def _fired(url: str) -> int:
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM audit_entry WHERE actor = 'motcua' AND case_code = %s",
                                 (CODE,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_notification_wakes_the_worker_before_its_poll(url: str) -> None:
    _received_now(url)
    with SqlStore.from_url(url) as store:
        first = min(timer.due_at for timer in store.timers(CODE))
        assert store.next_due(datetime.now(VN_TZ)) == first  # days away: the idle worker sleeps its whole poll
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(WorkerOptions(url, poll=LONG_POLL), stop), daemon=True)
    worker.start()
    try:
        _until(lambda: _listening(url), "the worker's listener never ran LISTEN")
        assert _fired(url) == 0
        _redate_first(url)
        _until(lambda: _fired(url) == 1, "the re-dated timer waited for the ten-minute poll")
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def test_the_listener_comes_back_after_its_connection_is_cut(url: str) -> None:
    _received_now(url)
    wakes = threading.Semaphore(0)
    with SqlStore.from_url(url) as store:
        listener = timer_listener(store.engine, wakes.release)
    assert isinstance(listener, TimerListener)
    listener.start()
    try:
        assert listener.listening(BOUND_S)
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND application_name = 'motcua-listener'")
        assert wakes.acquire(timeout=BOUND_S), "a lost connection wakes the dispatcher: it may have missed one"
        _until(lambda: _listening(url), "the listener did not connect again")
        _redate_first(url)
        assert wakes.acquire(timeout=BOUND_S), "no wake-up after the listener came back"
    finally:
        listener.stop()


def test_only_a_timer_due_soon_and_unclaimed_notifies(url: str) -> None:
    _received_now(url)  # arming timers days ahead: no notification (sent before the LISTEN below anyway)
    with psycopg.connect(_libpq(url), autocommit=True) as listening, \
            psycopg.connect(_libpq(url), autocommit=True) as writing:
        listening.execute(f"LISTEN {CHANNEL}")
        listening.execute(f"LISTEN {SENTINEL}")
        writing.execute("UPDATE timer SET due_at = due_at + interval '1 day' WHERE case_code = %s", (CODE,))
        writing.execute("UPDATE timer SET claimed_until = now() + interval '2 minutes', due_at = now()"
                        " WHERE case_code = %s AND name = 'due_soon'", (CODE,))  # a claim: no wake-up
        writing.execute(f"NOTIFY {SENTINEL}")
        writing.execute("UPDATE timer SET claimed_until = NULL WHERE case_code = %s", (CODE,))  # the lease is given up
        writing.execute(f"NOTIFY {SENTINEL}")
        heard = [note.channel for note in listening.notifies(timeout=BOUND_S, stop_after=3)]
    assert heard == [SENTINEL, CHANNEL, SENTINEL]
