"""What keeps a request close to the engine, and what it must not cost: keys verified a moment ago are not read again
(a revoked key is refused within :data:`KEY_CACHE_TTL`), and a short route runs on the event loop only when every
request in flight is a short one, none of them on the pool, and none was slow on the loop a moment ago."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import KEY_CACHE_TTL, MemoryHttpStore, VerifiedKeys, new_key
from motcua.adapters.sql.writers import WriterQueue
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.http.offload import POOL_AFTER_SLOW, SLOW_ON_LOOP, WAITING_ON_POOL, InFlight, Offload
from motcua.entrypoints.http.serve import ServeOptions, server_config
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING, Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import CaseNotFound, ConcurrencyConflict


@dataclass
class Served:
    client: TestClient
    store: MemoryHttpStore
    key: str
    key_id: str


@pytest.fixture
def served(clock: ManualClock) -> Iterator[Served]:
    motcua: Motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    created = new_key("Phần mềm một cửa", ["officer"], clock.now())
    store.add_key(created.stored)
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield Served(client, store, created.secret_text, created.stored.key_id)
    motcua.close()


def _status(served: Served, key: str) -> int:
    return served.client.get("/procedures", headers={"X-API-Key": key}).status_code


def test_a_revoked_key_is_refused_once_its_verification_is_older_than_the_bound(
    served: Served, clock: ManualClock
) -> None:
    assert _status(served, served.key) == 200  # verified: remembered for KEY_CACHE_TTL
    assert served.store.revoke(served.key_id, clock.now())
    clock.advance(KEY_CACHE_TTL / 2)
    assert _status(served, served.key) == 200  # within the bound the process still trusts it, as documented
    clock.advance(KEY_CACHE_TTL / 2)
    answer = served.client.get("/procedures", headers={"X-API-Key": served.key})
    assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"


def test_a_refusal_is_never_remembered_so_a_new_key_works_at_once(served: Served, clock: ManualClock) -> None:
    late = new_key("Cổng dịch vụ công", ["officer"], clock.now())
    assert _status(served, late.secret_text) == 401
    served.store.add_key(late.stored)
    assert _status(served, late.secret_text) == 200


@dataclass
class _Settable:
    """A clock an operator may set back (a ManualClock only moves forward)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


def test_an_entry_from_the_clocks_future_is_read_again(clock: ManualClock) -> None:
    store, settable = MemoryHttpStore(), _Settable(clock.now())
    created = new_key("Phần mềm một cửa", ["officer"], clock.now())
    store.add_key(created.stored)
    keys = VerifiedKeys(store, settable)
    assert keys.verify(created.secret_text) == created.stored
    assert keys.recent(created.secret_text) == created.stored
    settable.instant -= KEY_CACHE_TTL / 5  # the clock was set back: the entry is not trusted
    assert keys.recent(created.secret_text) is None


def test_a_full_cache_forgets_and_verifies_again(clock: ManualClock) -> None:
    store = MemoryHttpStore()
    made = [new_key(f"Phần mềm {n}", ["officer"], clock.now()) for n in range(3)]
    for created in made:
        store.add_key(created.stored)
    keys = VerifiedKeys(store, clock, size=2)
    assert [keys.verify(created.secret_text) for created in made] == [created.stored for created in made]
    assert keys.recent(made[0].secret_text) is None and keys.recent(made[2].secret_text) == made[2].stored
    assert keys.verify(made[0].secret_text) == made[0].stored  # read again from the store, still live


def test_a_short_route_runs_on_the_loop_alone_and_on_the_pool_beside_another_request() -> None:
    offload = Offload()
    route = offload.short(threading.get_ident)

    async def where(in_flight: int) -> tuple[int, int]:
        offload.in_flight = in_flight
        return threading.get_ident(), await route()

    loop_thread, ran_on = asyncio.run(where(1))
    assert ran_on == loop_thread
    loop_thread, ran_on = asyncio.run(where(2))
    assert ran_on != loop_thread


def test_a_unit_whose_first_write_would_wait_on_the_loop_runs_again_on_the_pool(tmp_path: Path) -> None:
    """The writer queue held by another process: the unit on the loop stops before writing (WriterBusy) and runs
    again, whole, on the pool, where it waits; nothing is written twice."""
    queue = WriterQueue(30)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys\n"
                               "d = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.flock(d, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
                               str(tmp_path / "desk.db-writers")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    tries: list[int] = []
    written: list[int] = []

    def unit() -> str:
        tries.append(threading.get_ident())
        if len(tries) == 2:  # on the pool now: the other process lets go while this one waits for it
            assert holder.stdin is not None
            holder.stdin.close()
        turn = queue.acquire(lambda: str(tmp_path / "desk.db"))
        written.append(threading.get_ident())
        assert turn is not None
        turn.release()
        return "done"

    offload = Offload()
    route = offload.short(unit)

    async def scenario() -> tuple[int, str]:
        offload.in_flight = 1
        return threading.get_ident(), await route()

    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        loop_thread, answer = asyncio.run(scenario())
    finally:
        if holder.stdin is not None and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
        queue.close()
    assert answer == "done"
    assert tries[0] == loop_thread and tries[1] != loop_thread and len(tries) == 2  # the loop, then the pool
    assert written == [tries[1]]  # written once, on the pool


def test_a_unit_with_an_idempotency_key_runs_on_the_pool() -> None:
    """Its record is written around the transition: only a unit's first write could step aside, so the loop must
    not run one that writes several times."""
    offload = Offload()
    route = offload.short(lambda idempotency_key=None: threading.get_ident())

    async def where(key: str | None) -> tuple[int, int]:
        offload.in_flight = 1
        return threading.get_ident(), await route(idempotency_key=key)

    loop_thread, ran_on = asyncio.run(where(None))
    assert ran_on == loop_thread
    loop_thread, ran_on = asyncio.run(where("don-2026-0001"))
    assert ran_on != loop_thread


def test_short_routes_take_turns_on_the_loop_and_step_aside_for_any_other_request() -> None:
    offload = Offload()
    short = offload.short(threading.get_ident)
    ran_on: dict[str, int] = {}
    release = asyncio.Event()

    async def app(scope: AsgiScope, receive: Receive, send: Send) -> None:
        name = scope["path"].strip("/")
        if name != "report":  # a report never reaches a short route
            ran_on[name] = await short()
        if name in ("report", "sending"):  # still in flight: a report on the pool, an answer being written
            await release.wait()

    request = _requests(InFlight(app, offload=offload))

    async def scenario() -> int:
        sending = asyncio.create_task(request("sending"))
        await asyncio.sleep(0)
        await request("beside-a-short-one")  # the other request in flight reached a short route too: the loop
        report = asyncio.create_task(request("report"))
        await asyncio.sleep(0)
        await request("beside-a-report")  # a report is in flight: the pool
        release.set()
        await asyncio.gather(sending, report)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert ran_on["sending"] == ran_on["beside-a-short-one"] == loop_thread
    assert ran_on["beside-a-report"] != loop_thread
    assert (offload.in_flight, offload.short_in_flight) == (0, 0)


def test_a_short_unit_stays_off_the_loop_while_another_waits_on_the_pool() -> None:
    now = [100.0]
    offload = Offload(monotonic=lambda: now[0])
    holding = threading.Event()  # the unit on the pool waits (as for SQLite's writer held elsewhere) until set
    ran_on: dict[str, int] = {}

    def unit(name: str) -> None:
        ran_on[name] = threading.get_ident()
        if name == "on-the-pool":
            holding.wait(10)

    short = offload.short(unit)
    report_done = asyncio.Event()

    async def app(scope: AsgiScope, receive: Receive, send: Send) -> None:
        name = scope["path"].strip("/")
        if name == "report":
            await report_done.wait()
            return
        await short(name)

    request = _requests(InFlight(app, offload=offload))

    async def scenario() -> int:
        report = asyncio.create_task(request("report"))
        await asyncio.sleep(0)
        pooled = asyncio.create_task(request("on-the-pool"))  # beside a report: the pool
        while "on-the-pool" not in ran_on:
            await asyncio.sleep(0.001)
        report_done.set()
        await report
        assert (offload.in_flight, offload.short_in_flight, offload.short_on_pool) == (1, 1, 1)
        now[0] += WAITING_ON_POOL / 2
        await request("beside-a-unit-just-pooled")  # a commit's time: the loop may wait for it
        now[0] += WAITING_ON_POOL / 2
        beside = asyncio.create_task(request("beside-a-waiting-one"))  # it waits for something: not the loop
        while "beside-a-waiting-one" not in ran_on:
            await asyncio.sleep(0.001)
        holding.set()
        await asyncio.gather(pooled, beside)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert ran_on["beside-a-unit-just-pooled"] == loop_thread
    assert ran_on["beside-a-waiting-one"] != loop_thread
    assert (offload.in_flight, offload.short_in_flight, offload.short_on_pool) == (0, 0, 0)


def test_a_unit_slow_on_the_loop_sends_the_next_ones_to_the_pool_for_a_while() -> None:
    now = [100.0]
    offload = Offload(monotonic=lambda: now[0])

    def unit(waited: float) -> int:
        now[0] += waited  # the unit waited this long (for another writer) where it ran
        return threading.get_ident()

    short = offload.short(unit)

    async def where(waited: float = 0.0) -> bool:
        return await short(waited) == threading.get_ident()  # True: it ran on the loop

    assert asyncio.run(where(SLOW_ON_LOOP - 0.01))  # slow, but under the bound: nothing changes
    assert asyncio.run(where())
    assert asyncio.run(where(SLOW_ON_LOOP))  # ran on the loop and held it too long
    assert not asyncio.run(where())  # the next ones go to the pool
    now[0] += POOL_AFTER_SLOW - 0.01
    assert not asyncio.run(where())
    now[0] += 0.01
    assert asyncio.run(where())  # back on the loop


def test_a_short_route_counts_only_in_its_own_offload() -> None:
    served, other = Offload(), Offload()
    short = other.short(threading.get_ident)

    async def app(scope: AsgiScope, receive: Receive, send: Send) -> None:
        await short()

    asyncio.run(InFlight(app, offload=served)({"type": "http", "path": "/"}, _asgi_receive, _asgi_send))
    assert (served.in_flight, served.short_in_flight, other.short_in_flight) == (0, 0, 0)


def _requests(server: InFlight) -> Callable[[str], Awaitable[None]]:
    """A request to ``server`` for the path ``/name``, with no body and no answer."""

    async def request(name: str) -> None:
        await server({"type": "http", "path": f"/{name}"}, _asgi_receive, _asgi_send)

    return request


async def _asgi_receive() -> dict[str, object]:
    raise AssertionError("never called: the test's requests have no body")


async def _asgi_send(message: object) -> None:
    raise AssertionError("never called: the test's requests answer nothing")


def test_without_on_loop_a_short_route_always_runs_on_the_pool() -> None:
    offload = Offload(on_loop=False)
    route = offload.short(threading.get_ident)

    async def where() -> tuple[int, int]:
        offload.in_flight = 1
        return threading.get_ident(), await route()

    loop_thread, ran_on = asyncio.run(where())
    assert ran_on != loop_thread


def test_the_access_log_is_off_unless_asked_for() -> None:
    assert server_config(_asgi, ServeOptions("memory://")).access_log is False
    assert server_config(_asgi, ServeOptions("memory://", access_log=True)).access_log is True


async def _asgi(scope: AsgiScope, receive: Receive, send: Send) -> None:
    raise AssertionError("never called: only the configuration is read")


def test_a_scoped_fire_checks_the_scope_on_the_case_it_moves_reading_it_once(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    motcua = open_motcua("memory://", clock=clock, observers=[])
    try:
        officer = Actor.of("Nguyễn Thị Lan", "officer")
        code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), officer).code
        before = motcua.service.get(code)
        reads: list[str] = []
        load = motcua.store.load
        monkeypatch.setattr(motcua.store, "load", lambda read: reads.append(read) or load(read))
        cases = ScopedCases(motcua.service, motcua.store, motcua.desk, EVERYTHING)
        moved = cases.fire(code, "assign", officer, {"assignee": "Phạm Văn Hùng"}, expected_version=before.version)
        assert (moved.version, reads) == (before.version + 1, [code])  # one read: the engine's own
        nowhere = ScopedCases(motcua.service, motcua.store, motcua.desk, Scope.of_units(["NOWHERE"]))
        for version in (moved.version, before.version):  # outside the scope: 404 before the version is compared
            with pytest.raises(CaseNotFound):
                nowhere.fire(code, "assign", officer, {"assignee": "Lê Thị Mai"}, expected_version=version)
        with pytest.raises(CaseNotFound):  # of another workflow: as unknown
            cases.fire(code, "assign", officer, {"assignee": "Lê Thị Mai"}, expected_version=moved.version,
                       workflow="feedback")
        with pytest.raises(ConcurrencyConflict):  # in scope, changed since: refused, never moved unchecked
            cases.fire(code, "assign", officer, {"assignee": "Lê Thị Mai"}, expected_version=before.version)
        assert motcua.service.get(code) == moved  # nothing refused was written
    finally:
        motcua.close()
