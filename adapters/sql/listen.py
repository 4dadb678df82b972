"""Listen for ``motcua_timer`` notifications on PostgreSQL: a timer armed or re-dated to fall due soon.

Migration 0017 has the ``timer`` table notify that channel at the commit of a transaction that left a timer
armed, unclaimed and due within a minute. :class:`TimerListener` holds one connection of its own (autocommit,
``LISTEN motcua_timer``) in a daemon thread and calls ``wake`` for each notification; the dispatcher then ticks
at once instead of waiting out its poll.

It is an accelerator and nothing more: a notification sent while the listener is away (the database restarted,
the network cut) is lost, and the dispatcher's poll finds that timer anyway. A listener that loses its connection
says so once, wakes the dispatcher (what it missed may be due) and connects again, waiting longer and longer
(up to MAX_BACKOFF) while the database is away; a silent connection is probed every PROBE_EVERY.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import psycopg
import structlog
from sqlalchemy.engine import Engine

from motcua.adapters.logging import error_fields

__all__ = ["CHANNEL", "TimerListener", "timer_listener"]

log = structlog.get_logger("motcua.worker")

CHANNEL: Final = "motcua_timer"
CONNECT_TIMEOUT_S: Final = 5
PROBE_EVERY: Final = timedelta(seconds=5)  # a connection silent this long is asked ``SELECT 1`` (a cut one fails)
FIRST_BACKOFF: Final = timedelta(milliseconds=200)
MAX_BACKOFF: Final = timedelta(seconds=30)
NOTIFIES_WAIT_S: Final = 0.5  # the longest wait for a notification before looking at stop (and at PROBE_EVERY)


def timer_listener(engine: Engine, wake: Callable[[], None]) -> TimerListener | None:
    """A listener on the database of ``engine`` (None on a database without notifications: SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    return TimerListener(engine.url.set(drivername="postgresql").render_as_string(hide_password=False), wake)


class TimerListener:
    """Calls ``wake`` for each ``motcua_timer`` notification, from a daemon thread, until :meth:`stop`."""

    def __init__(self, url: str, wake: Callable[[], None]) -> None:
        self._url = url
        self._wake = wake
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="motcua-timer-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def listening(self, timeout: float) -> bool:
        """Wait until the listener holds a listening connection (True), at most ``timeout`` seconds."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as error:  # whatever ends a connection (psycopg.Error mostly): connect again
                self._listening.clear()
                failures += 1
                if failures == 1:
                    log.warning("dispatch.listener_lost", **error_fields(error))
                self._wake()  # a notification may have been lost meanwhile: look now
                self._stop.wait(min(FIRST_BACKOFF * (1 << min(failures - 1, 16)), MAX_BACKOFF).total_seconds())

    def _listen(self) -> None:
        """One connection: listen until stopped, or until the connection fails (raises)."""
        with psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                             application_name="motcua-listener", keepalives=1, keepalives_idle=10,
                             keepalives_interval=5, keepalives_count=3) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            log.info("dispatch.listening", channel=CHANNEL)
            silent_since = time.monotonic()
            while not self._stop.is_set():
                heard = False
                for _ in connection.notifies(timeout=NOTIFIES_WAIT_S, stop_after=1):
                    heard = True
                    self._wake()
                if heard:
                    silent_since = time.monotonic()
                elif time.monotonic() - silent_since >= PROBE_EVERY.total_seconds():
                    connection.execute("SELECT 1")
                    silent_since = time.monotonic()
