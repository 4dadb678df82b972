"""SQLite's writer queue (:mod:`motcua.adapters.sql.writers`): writers of several processes take turns on a lock
file beside the database, handed on without sleeping; a holder that dies frees it; a queue held too long is a typed
``StorageUnavailable``; nothing is lost or half-written when processes write side by side. Real processes, a real
file."""

from __future__ import annotations

import fcntl
import gc
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql import driver as driver_module
from motcua.adapters.sql.driver import Driver
from motcua.adapters.sql.writers import WriterBusy, WriterQueue, may_defer
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import verify_chains
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import StorageUnavailable

OFFICER = Actor.of("Nguyễn Thị Lan", "officer")


def queue_for(database: Path, timeout_s: float = 30) -> tuple[WriterQueue, Callable[[], str]]:
    """A queue for the database file ``database`` and how it learns that file (as SQLite would name it)."""
    return WriterQueue(timeout_s), lambda: str(database)
HOLDER = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)  # a FIFO too
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin (or kills this process)
"""


@contextmanager
def held_by_another_process(lock_file: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the queue's lock file until the block ends (or the test kills it)."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_file)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        yield process
    finally:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        process.stdout.close()
        process.wait(timeout=30)


def test_a_file_database_queues_beside_itself_and_memory_does_not(tmp_path: Path) -> None:
    on_file = Driver.from_url(f"sqlite:///{tmp_path / 'desk.db'}", migrate=True)
    in_memory = Driver.from_url("sqlite://", migrate=True)
    try:
        with on_file.transaction():
            assert (tmp_path / "desk.db-writers").exists()
        assert in_memory.writers.acquire(lambda: "") is None  # one connection taking turns already: nothing to queue
    finally:
        on_file.close()
        in_memory.close()


def test_a_writer_waits_for_another_process_and_goes_on_the_moment_it_lets_go(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db")
    entered: list[float] = []

    def write() -> None:
        turn = queue.acquire(locate)
        entered.append(time.monotonic())
        assert turn is not None
        turn.release()

    with held_by_another_process(tmp_path / "desk.db-writers") as holder:
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert entered == []  # still waiting for the other process
        assert holder.stdin is not None
        holder.stdin.close()  # it reads the end, exits, and the kernel lets its lock go
        holder.wait(timeout=30)
        let_go = time.monotonic()
        writer.join(10)
    assert entered and entered[0] - let_go < 1.0  # it looks again every millisecond at most: long before 30 s
    queue.close()


def test_a_holder_that_dies_frees_the_queue(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db", 30)
    with held_by_another_process(tmp_path / "desk.db-writers") as holder:
        holder.kill()
        holder.wait(timeout=30)
        turn = queue.acquire(locate)
        assert turn is not None
        turn.release()
    queue.close()


def test_a_queue_held_past_the_timeout_is_storage_unavailable_and_the_next_thread_is_not_stuck(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db", 0.2)
    with held_by_another_process(tmp_path / "desk.db-writers"):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match=re.escape("database is locked: another writer held it for 0.2 s")):
            queue.acquire(locate)
        assert 0.2 <= time.monotonic() - started < 5
    turn = queue.acquire(locate)  # the thread lock was given back with the refusal
    assert turn is not None
    turn.release()
    queue.close()


def test_one_thread_of_a_process_queues_at_a_time_the_others_go_to_sqlite_as_before(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db", 30)
    turn = queue.acquire(locate)
    assert turn is not None
    answers: list[object] = []
    other = threading.Thread(target=lambda: answers.append(queue.acquire(locate)))
    other.start()
    other.join(10)
    assert answers == [None]  # not queued (and so nothing to release): SQLite's lock orders it
    assert queue.acquire(locate) is None  # nor the same thread again (a nested transaction)
    turn.release()
    again = queue.acquire(locate)  # and the next writer of the process queues again
    assert again is not None
    again.release()
    queue.close()


def test_a_folder_where_the_lock_file_cannot_be_made_queues_nothing_and_writes_still_work(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "no such folder" / "desk.db")
    turn = queue.acquire(locate)  # this process's turn, without a file to share with others
    assert turn is not None
    turn.release()
    assert not (tmp_path / "no such folder").exists()
    queue.close()


def test_a_link_put_in_place_of_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "desk.db-writers").symlink_to(elsewhere)
    queue, locate = queue_for(tmp_path / "desk.db", 30)
    turn = queue.acquire(locate)  # not queued between processes, but this write goes on
    assert turn is not None
    turn.release()
    queue.close()
    assert not elsewhere.exists()  # nothing created where the link pointed


FORKED_CHILD = """
import os, sys
from motcua.adapters.sql.writers import WriterQueue
from motcua.workflow.errors import StorageUnavailable
queue = WriterQueue(0.3)
locate = lambda: sys.argv[1]
turn = queue.acquire(locate)  # the parent holds the queue, its lock file open, its thread lock taken
child = os.fork()
if child == 0:
    outcome = "failed"
    try:
        outcome = "entered" if queue.acquire(locate) is not None else "not queued"
    except StorageUnavailable:
        outcome = "waited"
    finally:
        print(outcome, flush=True)
        os._exit(0)
os.waitpid(child, 0)
turn.release()
"""


def test_a_forked_child_opens_its_own_lock_file_and_so_waits_for_its_parent(tmp_path: Path) -> None:
    forked = subprocess.run([sys.executable, "-c", FORKED_CHILD, str(tmp_path / "desk.db")], capture_output=True,
                            text=True, timeout=60, check=True)
    # a shared descriptor would have let the child in beside its parent; a copied thread lock, never queue it again
    assert forked.stdout.strip() == "waited"


def test_a_failed_transaction_gives_its_turn_back(tmp_path: Path) -> None:
    driver = Driver.from_url(f"sqlite:///{tmp_path / 'desk.db'}", migrate=True)
    try:
        with pytest.raises(RuntimeError), driver.transaction():
            raise RuntimeError("a decision refused half-way")
        descriptor = os.open(tmp_path / "desk.db-writers", os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: would raise BlockingIOError if kept
        finally:
            os.close(descriptor)
        with driver.transaction():
            pass
    finally:
        driver.close()


def test_a_transaction_refused_by_a_held_queue_writes_nothing_and_leaves_the_driver_usable(tmp_path: Path) -> None:
    database = tmp_path / "desk.db"
    motcua = open_motcua(f"sqlite:///{database}", observers=[])
    try:
        case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
        driver = motcua.store._driver  # the store's driver, its queue's timeout shortened for the test
        assert isinstance(driver, Driver)
        driver.writers.close()
        driver.writers = WriterQueue(0.2)
        with held_by_another_process(tmp_path / "desk.db-writers"), pytest.raises(StorageUnavailable):
            motcua.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        assert motcua.store.load(case.code).version == case.version  # nothing written
        moved = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        assert moved.version == case.version + 1  # the queue free again, the same driver writes
    finally:
        motcua.close()


def test_a_unit_that_may_not_wait_stops_for_sqlites_lock_held_by_a_writer_that_did_not_queue(tmp_path: Path) -> None:
    """Another thread of the process wrote without queueing (the queue was its sibling's) and holds SQLite's lock:
    the unit's turn in the queue is free, but its BEGIN would sleep in the busy handler — WriterBusy instead."""
    driver = Driver.from_url(f"sqlite:///{tmp_path / 'desk.db'}", migrate=True)
    sibling = driver.writers.acquire(lambda: str(tmp_path / "desk.db"))
    assert sibling is not None
    writing, done = threading.Event(), threading.Event()

    def unqueued_writer() -> None:
        with driver.transaction():  # its process's turn is taken: straight to SQLite's lock
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=unqueued_writer)
    thread.start()
    try:
        assert writing.wait(10)
        sibling.release()  # the queue is free now; SQLite's lock is not
        started = time.monotonic()
        with may_defer(), pytest.raises(WriterBusy), driver.transaction():
            pass
        assert time.monotonic() - started < 1  # not the busy timeout
    finally:
        done.set()
        thread.join(10)
    with driver.transaction():  # the timeout put back, the turn given back: the next write goes on
        pass
    connection = driver.connect()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == driver.busy_timeout_ms
    finally:
        connection.close()
        driver.close()


def test_the_turn_is_held_for_the_whole_transaction(tmp_path: Path) -> None:
    driver = Driver.from_url(f"sqlite:///{tmp_path / 'desk.db'}", migrate=True)
    probe = [sys.executable, "-c", "import fcntl, os, sys; d = os.open(sys.argv[1], os.O_RDONLY)\n"
             "try: fcntl.flock(d, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError: print('held')", str(tmp_path / "desk.db-writers")]
    try:
        with driver.transaction():
            during = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
        after = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    finally:
        driver.close()
    assert (during, after) == ("held", "free")


def test_a_unit_that_may_not_wait_stops_before_writing_when_another_process_holds_the_writer(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db", 30)
    with held_by_another_process(tmp_path / "desk.db-writers"), may_defer():
        started = time.monotonic()
        with pytest.raises(WriterBusy):
            queue.acquire(locate)
        assert time.monotonic() - started < 1  # a few milliseconds, not the 30 s timeout
    turn = queue.acquire(locate)  # nothing kept: the next writer queues at once
    assert turn is not None
    turn.release()
    queue.close()


def test_only_the_first_write_of_a_unit_may_stop_its_later_ones_wait(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db", 0.3)
    with may_defer():
        first = queue.acquire(locate)  # free: taken, and from now on something of the unit may be written
        assert first is not None
        first.release()
        with held_by_another_process(tmp_path / "desk.db-writers"), pytest.raises(StorageUnavailable):
            queue.acquire(locate)  # waits its timeout like any writer: never WriterBusy half-way through a unit
    queue.close()


def test_a_unit_that_may_not_wait_stops_when_another_thread_of_its_process_writes(tmp_path: Path) -> None:
    queue, locate = queue_for(tmp_path / "desk.db")
    turn = queue.acquire(locate)
    assert turn is not None
    outcomes: list[str] = []

    def on_the_loop() -> None:
        with may_defer():
            try:
                queue.acquire(locate)
                outcomes.append("went to SQLite's lock")
            except WriterBusy:
                outcomes.append("stopped")

    thread = threading.Thread(target=on_the_loop)
    thread.start()
    thread.join(10)
    turn.release()
    queue.close()
    assert outcomes == ["stopped"]  # SQLite's busy handler would have slept on the loop


def test_a_writer_that_dies_holding_its_turn_frees_it_even_with_forked_children_alive(tmp_path: Path) -> None:
    database = tmp_path / "desk.db"
    script = f"""
import os, time
from motcua.adapters.sql.writers import WriterBusy, WriterQueue, may_defer
queue = WriterQueue(30)
turn = queue.acquire(lambda: {str(database)!r})
if os.fork() == 0:
    os.close(1), os.close(2)  # the test reads its parent's output to the end, not the child's
    time.sleep(5)  # a child that outlives its parent
    os._exit(0)
print("holding", flush=True)
os._exit(0)  # dies holding its turn
"""
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert parent.stdout.strip() == "holding"
    queue, locate = queue_for(database, 2)
    turn = queue.acquire(locate)  # the child closed its copy of the lock file when it was forked
    assert turn is not None
    turn.release()
    queue.close()


def test_the_lock_file_is_only_for_those_who_may_write_the_database(tmp_path: Path) -> None:
    for mode, expected in ((0o600, 0o600), (0o640, 0o600), (0o664, 0o660), (0o666, 0o666)):
        folder = tmp_path / oct(mode)
        folder.mkdir()
        database = folder / "desk.db"
        database.touch()
        database.chmod(mode)
        queue, locate = queue_for(database)
        turn = queue.acquire(locate)
        assert turn is not None
        turn.release()
        queue.close()
        assert stat.S_IMODE((folder / "desk.db-writers").stat().st_mode) == expected, oct(mode)


def test_a_fifo_in_place_of_the_lock_file_is_not_used(tmp_path: Path) -> None:
    fifo = tmp_path / "desk.db-writers"
    os.mkfifo(fifo)
    queue, locate = queue_for(tmp_path / "desk.db", 0.3)
    with held_by_another_process(fifo):  # a lock on the FIFO, which the queue must not wait for
        turn = queue.acquire(locate)  # not queued between processes: neither hung opening it nor refused
    assert turn is not None
    turn.release()
    queue.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="gives files to other users and groups: root only")
def test_the_lock_file_takes_the_databases_group_and_a_strangers_file_is_not_used(tmp_path: Path) -> None:
    database = tmp_path / "desk.db"
    database.touch()
    database.chmod(0o660)
    os.chown(database, -1, 54321)  # a group of desks that may write it
    queue, locate = queue_for(database)
    turn = queue.acquire(locate)
    assert turn is not None
    turn.release()
    queue.close()
    made = (tmp_path / "desk.db-writers").stat()
    assert (made.st_gid, stat.S_IMODE(made.st_mode)) == (54321, 0o660)

    other = tmp_path / "other"
    other.mkdir()
    planted = other / "desk.db-writers"
    planted.touch()
    os.chown(planted, 65534, 65534)  # a stranger's file, open to all, in its place
    planted.chmod(0o666)
    queue, locate = queue_for(other / "desk.db", 0.3)
    with held_by_another_process(planted):  # the stranger holds it: a queue using it would stop every write
        turn = queue.acquire(locate)
    assert turn is not None
    turn.release()
    queue.close()


def test_queues_never_closed_close_their_files_when_collected(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for n in range(50):
        queue, locate = queue_for(tmp_path / f"desk{n}.db")
        turn = queue.acquire(locate)
        assert turn is not None
        turn.release()
        del queue, turn
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def test_the_lock_file_sits_beside_the_file_sqlite_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    relative = Driver.from_url("sqlite:///desk.db", migrate=True)
    monkeypatch.chdir(tmp_path / "elsewhere")  # a relative path is SQLite's, resolved when it opened the file
    try:
        with relative.transaction():
            pass
    finally:
        relative.close()
    assert (tmp_path / "desk.db-writers").exists()
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_the_queue_and_sqlites_lock_share_one_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that waited long in the queue, then finds SQLite's lock held by a writer that does not queue (the
    ``sqlite3`` shell), gives up when the busy timeout has passed in all, not after a second busy timeout."""
    database = tmp_path / "desk.db"
    driver = Driver.from_url(f"sqlite:///{database}", migrate=True)
    monkeypatch.setattr(driver_module, "SHORTEN_AFTER_S", 0.3)
    driver.busy_timeout_ms = 2000
    driver.writers.close()
    driver.writers = WriterQueue(2.0)
    shell = sqlite3.connect(database, isolation_level=None)
    try:
        with held_by_another_process(tmp_path / "desk.db-writers") as holder:
            shell.execute("BEGIN IMMEDIATE")  # SQLite's writer, taken outside the queue

            def let_go_of_the_queue() -> None:
                time.sleep(1.0)
                assert holder.stdin is not None
                holder.stdin.close()

            threading.Thread(target=let_go_of_the_queue).start()
            started = time.monotonic()
            with pytest.raises(StorageUnavailable), driver.transaction():
                pass
            took = time.monotonic() - started
        shell.execute("ROLLBACK")
        connection = driver.connect()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 2000  # put back before the connection went back to the pool
        finally:
            connection.close()
    finally:
        shell.close()
        driver.close()
    assert 1.7 <= took < 3.5, took  # ≈ 2 s in all: without one deadline, 1 s + the connection's 30 s


WRITER = """
import sys
from motcua.adapters.bootstrap import open_motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.model import Actor
officer = Actor.of("Nguyễn Thị Lan", "officer")
motcua = open_motcua(sys.argv[1], observers=[])
for n in range(int(sys.argv[2])):
    case = motcua.desk.receive("1.004873", "direct", Applicant(f"Người nộp {sys.argv[3]} {n}"), officer)
    motcua.service.fire(case.code, "assign", officer, {"assignee": "Phạm Văn Hùng"})
motcua.close()
"""


def test_processes_writing_side_by_side_lose_nothing_and_keep_the_chain_whole(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    open_motcua(url, observers=[]).close()  # the schema, before the writers race to make it
    each = 25
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(each), str(n)]) for n in range(3)]
    motcua = open_motcua(url, observers=[])
    try:
        for n in range(each):  # and this process beside them
            case = motcua.desk.receive("1.004873", "direct", Applicant(f"Người nộp chính {n}"), OFFICER)
            motcua.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
        cases = list(motcua.store.cases())
        assert len(cases) == 4 * each and len({case.version for case in cases}) == 1  # each received, then assigned
        entries = list(motcua.store.entries())
        assert len(entries) == sum(case.version for case in cases)
        assert list(verify_chains(cases, entries)) == []  # every entry sealed in order, none lost or doubled
    finally:
        motcua.close()
