"""SQLite's writers handed on at once: the queue a write transaction takes before its ``BEGIN IMMEDIATE``.

SQLite lets one connection write at a time. A ``BEGIN IMMEDIATE`` that finds the writer taken waits in SQLite's
busy handler, which *sleeps* — 1, 2, 5, 10 … ms — and looks again: a commit that takes a third of a millisecond
keeps its waiters asleep for several. With desks moving dossiers through several threads of one process, or through
the processes of ``motcua serve --workers N``, the writer stood idle most of the time it was taken.

:class:`WriterQueue` hands it on between processes — the processes of ``motcua serve --workers N``, a ``motcua
worker``, a command — instead. A write transaction takes an exclusive ``flock`` on a file beside the database
(``<database>-writers``) before its ``BEGIN IMMEDIATE``, and gives it back once it has committed or rolled back; a
process waiting for it looks again after 50 µs, then at most every millisecond. One thread of a process queues at a
time: a second thread of the same process writing meanwhile goes straight to SQLite's lock, as before. (A lock
between threads was measured: with four threads of one process moving dossiers it cost 10 % — the thread woken for
its turn must then wait for the GIL, and the writer stands idle meanwhile.)

The queue only orders motcua's own writers: SQLite's lock stays what keeps writes apart (a writer that does not
queue — the ``sqlite3`` shell, a migration — is still waited for by the busy handler). A queue not entered within
the busy timeout is :class:`~motcua.workflow.errors.StorageUnavailable`, as SQLite's own lock would be, and a
writer that waited long for its turn waits for SQLite's lock only the rest of it (one deadline for both:
driver.py). The lock file is opened once per process, never through a link, readable and writable only by those who
may write the database (a lock anyone could take would let anyone stop the writes); a forked child closes its
parent's and opens its own.
Where it cannot be opened (a read-only folder, a platform without ``flock``) nothing is queued. An ``flock`` is
released by the kernel when its process dies: a crashed writer never holds the queue.

**A writer that may not wait** (:func:`may_defer`): a unit of work run on the HTTP server's event loop must not
wait for a writer it cannot see — a sibling process rebuilding projections, a worker's batch — since every request
of its process would wait with it. Within :func:`may_defer`, the unit's *first* write transaction looks for its turn
for at most :data:`DEFER_AFTER_S`, then raises :class:`WriterBusy` before anything is written: the caller runs the
whole unit again where it may wait (the thread pool). Its later write transactions wait as usual (something is
written by then).
"""

from __future__ import annotations

import os
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from motcua.workflow.errors import StorageUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - no flock (Windows): nothing is queued
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFER_AFTER_S", "Turn", "WriterBusy", "WriterQueue", "may_defer"]

DEFER_AFTER_S: Final = 0.005
"""Seconds a unit that may not wait looks for its first turn before :class:`WriterBusy` (a commit takes a third of a
millisecond)."""
_FIRST_LOOK_S: Final = 0.00005
_LONGEST_LOOK_S: Final = 0.001
_SUFFIX: Final = "-writers"
_RETRY_OPEN_S: Final = 1.0


class WriterBusy(Exception):
    """The writer was held elsewhere when a unit that may not wait (:func:`may_defer`) asked for its first turn:
    nothing was written; run the unit again where it may wait."""


class _Deferral:
    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first = True  # no write transaction of the unit has begun yet


_DEFERRAL: ContextVar[_Deferral | None] = ContextVar("motcua_writer_deferral", default=None)


@contextmanager
def may_defer() -> Iterator[None]:
    """The block's first write transaction raises :class:`WriterBusy` rather than wait for a writer held elsewhere."""
    token = _DEFERRAL.set(_Deferral())
    try:
        yield
    finally:
        _DEFERRAL.reset(token)


class WriterQueue:
    """One database's queue of write transactions (see the module's documentation); shared by every thread of a
    process. ``queued=False``: nothing is queued (an in-memory database, whose one connection already takes turns)."""

    def __init__(self, timeout_s: float, *, queued: bool = True) -> None:
        self._queued = queued and fcntl is not None
        self._path: str | None = None  # the lock file, once the database's file is known (first write)
        self._database: str | None = None
        self._timeout_s = timeout_s
        self._place = _Place(os.getpid())
        self._making = threading.Lock()
        _QUEUES.add(self)

    def acquire(self, locate: Callable[[], str]) -> Turn | None:
        """Wait for the database's turn, unless another thread of this process holds it (``None``: this thread did
        not queue, SQLite's lock orders it as before); :class:`StorageUnavailable` after the timeout,
        :class:`WriterBusy` for a first write within :func:`may_defer`. Give the turn back with :meth:`Turn.release`
        once the transaction has ended. ``locate``: the database's file as SQLite opened it (asked once; ``""`` for a
        database in memory, which queues nothing)."""
        if not self._queued or (self._path is None and not self._located(locate)):
            return None
        deferral = _DEFERRAL.get()
        deferring = deferral is not None and deferral.first
        if deferral is not None:
            deferral.first = False
        place = self._here()
        if not place.threads.acquire(blocking=False):
            if deferring:  # another thread of this process writes: SQLite's busy handler would hold up the loop
                raise WriterBusy
            return None
        try:
            assert self._path is not None
            descriptor = place.opened(self._path, self._database)
            started = time.monotonic()
            if descriptor >= 0:
                _lock(descriptor, DEFER_AFTER_S if deferring else self._timeout_s, self._timeout_s, deferring)
            return Turn(place, time.monotonic() - started, deferring=deferring)
        except BaseException:
            place.release()  # an interrupt right after the lock was taken must not keep it
            raise

    def close(self) -> None:
        """Close this process's lock file (a queue used afterwards opens it again)."""
        self._place.close()

    def _located(self, locate: Callable[[], str]) -> bool:
        """Learn the database's file — absolute, links resolved, as SQLite names it — and so the lock file beside it;
        whether there is one."""
        with self._making:
            if self._path is None and self._queued:
                database = locate()
                if not database:  # in memory, or a temporary database: nothing to share with other processes
                    self._queued = False
                    return False
                self._database, self._path = database, database + _SUFFIX
        return self._path is not None

    def _here(self) -> _Place:
        """This process's place (a forked child's is made when it forks: :func:`_after_fork`)."""
        if self._place.pid != os.getpid():  # forked without the hook (os.fork from C): never the parent's place
            with self._making:
                if self._place.pid != os.getpid():
                    self._place = _Place(os.getpid())
        return self._place

    def _forked(self) -> None:
        """In a forked child: close the parent's lock file here (a dead parent's lock would otherwise live on in its
        children) and start afresh."""
        self._place.close(inherited=True)
        self._place = _Place(os.getpid())
        self._making = threading.Lock()


class _Place:
    """A process's place in the queue: one thread at a time, and the lock file it takes (``None``: not opened yet,
    ``-1``: could not be used, tried again after :data:`_RETRY_OPEN_S`)."""

    __slots__ = ("__weakref__", "_closing", "_retry_at", "descriptor", "pid", "threads")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.threads = threading.Lock()
        self.descriptor: int | None = None
        self._closing: weakref.finalize[[int], _Place] | None = None
        self._retry_at = 0.0  # a lock file that could not be used is tried again from then (a failure may pass)

    def opened(self, path: str, database: str | None) -> int:
        if self.descriptor is None or (self.descriptor < 0 and time.monotonic() >= self._retry_at):
            descriptor = _opened(path, database)
            self._retry_at = time.monotonic() + _RETRY_OPEN_S
            if descriptor >= 0:  # a queue never closed (a driver dropped) closes its file when collected
                self._closing = weakref.finalize(self, os.close, descriptor)
            self.descriptor = descriptor
        return self.descriptor

    def release(self) -> None:
        try:
            if self.descriptor is not None and self.descriptor >= 0 and fcntl is not None:
                fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def close(self, *, inherited: bool = False) -> None:
        if self._closing is not None:
            self._closing()  # closes the descriptor, once
        elif inherited and self.descriptor is not None and self.descriptor >= 0:
            os.close(self.descriptor)
        self.descriptor, self._closing = None, None


class Turn:
    """A writer's turn, held from its ``BEGIN IMMEDIATE`` until it has committed or rolled back. ``waited_s``: how
    long the writer waited for it (the rest of the busy timeout is what it may still wait for SQLite's lock);
    ``deferring``: the first write of a unit that may not wait (:func:`may_defer`) — SQLite's lock held by a writer
    that did not queue is :class:`WriterBusy` for it too (driver.py); ``timeout_changed``: the connection's busy
    timeout was changed for this transaction, and is put back before the connection returns to the pool."""

    __slots__ = ("_place", "deferring", "timeout_changed", "waited_s")

    def __init__(self, place: _Place, waited_s: float, *, deferring: bool = False) -> None:
        self._place = place
        self.waited_s = waited_s
        self.deferring = deferring
        self.timeout_changed = False

    def release(self) -> None:
        """Give the turn on: to the next process waiting, and to this process's next writer."""
        self._place.release()


_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()


def _after_fork() -> None:
    for queue in list(_QUEUES):
        queue._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _opened(path: str, database: str | None) -> int:
    """The lock file, opened (created if need be) — never through a link, never anything but a plain file, never one
    a stranger made — with the database's group and write permissions as its only permissions. -1 where it cannot be
    used (a read-only folder, too many files open, a link, a FIFO or another user's file in its place): the process
    then writes without queueing, and tries again a second later."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return -1
    try:
        if _usable(descriptor, database):
            return descriptor
    except OSError:
        pass
    os.close(descriptor)
    return -1


def _usable(descriptor: int, database: str | None) -> bool:
    """A plain file, this process's own (made the database's writers' only: its group, its write bits) or the
    database owner's with no more permissions than those."""
    held = os.fstat(descriptor)
    if not stat.S_ISREG(held.st_mode):
        return False
    try:
        owner = os.stat(database) if database else None
    except OSError:  # not made yet: the lock is the owner's alone
        owner = None
    if held.st_uid == os.geteuid():
        mode = _writers_mode(owner.st_mode if owner else stat.S_IWUSR)
        if owner is not None and held.st_gid != owner.st_gid:
            try:
                os.fchown(descriptor, -1, owner.st_gid)
            except OSError:  # not a member of the database's group: the group gets nothing
                mode &= ~(stat.S_IRGRP | stat.S_IWGRP)
        os.fchmod(descriptor, mode)
        return True
    return owner is not None and held.st_uid == owner.st_uid and held.st_gid == owner.st_gid \
        and stat.S_IMODE(held.st_mode) & ~_writers_mode(owner.st_mode) == 0


def _writers_mode(database_mode: int) -> int:
    """Read and write for each class of users (owner, group, others) that may write the database, nothing else."""
    allowed = 0
    for write, read in ((stat.S_IWUSR, stat.S_IRUSR), (stat.S_IWGRP, stat.S_IRGRP), (stat.S_IWOTH, stat.S_IROTH)):
        if database_mode & write:
            allowed |= write | read
    return allowed or stat.S_IRUSR | stat.S_IWUSR


def _lock(descriptor: int, patience_s: float, timeout_s: float, deferring: bool) -> None:
    """The exclusive ``flock``, looked for again and again until ``patience_s`` has passed: then
    :class:`WriterBusy` (``deferring``) or :class:`StorageUnavailable`."""
    assert fcntl is not None
    deadline, wait = time.monotonic() + patience_s, _FIRST_LOOK_S
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                if deferring:
                    raise WriterBusy from None
                raise _busy(timeout_s) from None
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_LOOK_S)


def _busy(timeout_s: float) -> StorageUnavailable:
    return StorageUnavailable(f"database is locked: another writer held it for {timeout_s:g} s")
