"""Where a short route's blocking work runs: on the event loop when every request in flight is a short one, else
on the thread pool.

FastAPI runs a ``def`` route on a thread of anyio's pool: the event loop hands the call to a worker thread and waits
to be woken with its result — two thread switches per request. On an idle machine they cost ≈ 0.1 ms; on a loaded
one each switch waits for the scheduler, and the hop cost more than the transition it carried (profile and figures
in ``docs/reference/benchmarks.md``). :class:`Offload` removes it where that is safe:

- :class:`InFlight` (a plain ASGI middleware) counts the HTTP requests the process is answering, and which of them
  have reached a short route;
- a route marked :meth:`Offload.short` — one dossier read, or one transition: one write at most (with an
  ``Idempotency-Key``, whose record is written around it, the unit runs on the pool; receiving a dossier, which draws
  its number first, is not short) — runs straight on the event loop when every request in flight is a short one
  (itself alone, or desks each moving or reading a dossier) and none of them runs on the pool, and on the thread pool as
  soon as any other request is in flight: a report, a listing, an import, a console page, or a request not yet
  routed. Those are not held up by it.

So one client, or several clients each moving dossiers, never pay the hop. Short requests on the loop take turns:
each holds it for its unit, its wait for SQLite's one writer included, and the next waits that long — as a write
would anyway, behind the same writer; only a dossier's read, which WAL would let run beside a write on the pool,
waits for it (a few milliseconds: one commit). With four clients moving dossiers, the pool's hops cost about a
third of the server's rate (``bench.http`` ``ratio_4`` 0.41–0.54 with them, 0.59–0.60 without, in one hour).

The loop must not wait long for a writer it cannot see. On an SQLite file, a unit on the loop (it writes once at
most) looks for its write's turn in the writer queue (:mod:`motcua.adapters.sql.writers`), then for SQLite's lock,
for a few milliseconds each; held longer elsewhere — a sibling process of ``--workers N`` rebuilding projections, a
``motcua worker`` batch, another thread of this process, the ``sqlite3`` shell — the unit stops before writing
anything (``WriterBusy``) and runs again on the pool, where its wait holds up no one else. Other waits stay on the
loop (a read behind a slow disk; ``memory://``'s one connection held by a thread on the pool), and a write run there
would wait for them up to the busy timeout, 30 s, every request of this process with it, the reads and ``/healthz``
that WAL would let through on the pool included. So a short unit never runs on the
loop while another has been on the pool :data:`WAITING_ON_POOL` seconds (it is waiting for something; one that went
there a moment ago — a key verified on the pool had kept a request unrouted — is a commit away from done, and
keeping the loop from it would keep every desk on the pool as long as one of them is there), and once a unit has held
the loop :data:`SLOW_ON_LOOP` seconds (a commit takes milliseconds), every short unit runs on the pool for
:data:`POOL_AFTER_SLOW` seconds (``http.loop_stalled`` is logged): such a stall happens once, not once per desk in the
queue behind it.

Only where a unit of work has nothing worth overlapping: SQLite (one writer at a time, in this process) and
``memory://``. On PostgreSQL a unit of work waits on the network and on the server's commit, and the requests of
several clients overlap those waits on the pool's threads — run on the loop they would queue behind each other (4
clients measured at a third of the pool's rate): there ``Offload(on_loop=False)`` keeps every route on the pool.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from motcua.adapters.sql.writers import WriterBusy, may_defer

__all__ = ["InFlight", "Offload", "run_on_pool"]

log = structlog.get_logger("motcua.http")

P = ParamSpec("P")
R = TypeVar("R")


SEVERAL_WRITES = "idempotency_key"
"""A short route's argument that, given, makes its unit write several times (an Idempotency-Key's record is claimed,
then completed, around the transition): such a unit runs on the pool, since only its first write could step aside
for a writer held elsewhere (:func:`~motcua.adapters.sql.writers.may_defer`) and the loop must not wait for the
others."""
SLOW_ON_LOOP = 0.25
"""Seconds: a short unit that held the event loop this long waited for something — another writer, a slow disk."""
POOL_AFTER_SLOW = 5.0
"""Seconds every short unit runs on the thread pool after one was slow on the loop: a writer that kept one waiting may
keep the next one waiting too, and on the pool that wait holds up no one else."""
WAITING_ON_POOL = 0.05
"""Seconds: a short unit on the pool this long is waiting for something (a commit takes milliseconds); while one is,
no short unit runs on the loop, which would wait behind it."""


class _Request:
    """What :class:`InFlight` knows of one request in flight: whether it has reached a short route of its own
    :class:`Offload`."""

    __slots__ = ("offload", "short")

    def __init__(self, offload: Offload) -> None:
        self.offload = offload
        self.short = False


_current: ContextVar[_Request | None] = ContextVar("motcua_http_request", default=None)


class Offload:
    """The count of requests in flight in this app (``in_flight``), of those that reached a short route
    (``short_in_flight``), the short units running on the pool and since when; the way to mark a route short."""

    def __init__(self, *, on_loop: bool = True, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.on_loop = on_loop
        self.in_flight = 0
        self.short_in_flight = 0
        self._monotonic = monotonic
        self._pool_until = 0.0
        self._on_pool: dict[object, float] = {}  # each short unit on the pool: when it went there

    def short(self, work: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        """``work`` (a route's function, its signature kept for FastAPI) run on the event loop when :meth:`loop_free`,
        on the thread pool otherwise."""
        if not self.on_loop:
            return run_on_pool(work)

        @functools.wraps(work)
        async def route(*args: P.args, **kwargs: P.kwargs) -> R:
            self._mark_short()
            if self.loop_free() and kwargs.get(SEVERAL_WRITES) is None:
                try:
                    return self._on_loop(work, *args, **kwargs)
                except WriterBusy:  # SQLite's writer held elsewhere: nothing written; the unit waits on the pool
                    pass
            token = object()
            self._on_pool[token] = self._monotonic()
            try:
                return await run_in_threadpool(work, *args, **kwargs)
            finally:
                del self._on_pool[token]

        return route

    @property
    def short_on_pool(self) -> int:
        """How many short units run on the pool now."""
        return len(self._on_pool)

    def loop_free(self) -> bool:
        """Whether a short unit may run on the event loop now: every request in flight reached a short route, none of
        their units has been on the pool :data:`WAITING_ON_POOL` seconds (it waits for something — SQLite's writer
        held elsewhere —, and the loop would wait behind it), and no unit was slow on the loop in the last
        :data:`POOL_AFTER_SLOW` seconds."""
        if self.in_flight > max(1, self.short_in_flight):
            return False
        now = self._monotonic()
        return now >= self._pool_until and all(now - went < WAITING_ON_POOL for went in self._on_pool.values())

    def _on_loop(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        started = self._monotonic()
        try:
            with may_defer():  # its first write raises WriterBusy rather than wait for another writer
                return work(*args, **kwargs)
        finally:
            ended = self._monotonic()
            if ended - started >= SLOW_ON_LOOP:
                self._pool_until = ended + POOL_AFTER_SLOW
                log.warning("http.loop_stalled", held_s=round(ended - started, 3), pool_s=POOL_AFTER_SLOW)

    def _mark_short(self) -> None:
        request = _current.get()
        if request is not None and request.offload is self and not request.short:
            request.short = True
            self.short_in_flight += 1


def run_on_pool(work: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``work`` on the thread pool, always (what FastAPI does with a ``def`` route)."""

    @functools.wraps(work)
    async def route(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_threadpool(work, *args, **kwargs)

    return route


class InFlight:
    """ASGI middleware: counts the HTTP requests of ``offload`` from their start to their last byte, and those of
    them that reached a short route."""

    def __init__(self, app: ASGIApp, *, offload: Offload) -> None:
        self.app = app
        self.offload = offload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Request(self.offload)
        token = _current.set(request)
        self.offload.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.offload.in_flight -= 1
            self.offload.short_in_flight -= request.short
            _current.reset(token)
