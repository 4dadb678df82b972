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
the busy timeout is :class:`~motcua.workflow.errors.StorageUnavailable`, as SQLite's own lock would be. The lock file
is opened once per process (a process forked with it open gets its own); where it cannot be created (a read-only
folder) nothing is queued. An ``flock`` is released by the kernel when its process dies: a crashed writer never
holds the queue.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Final

from motcua.workflow.errors import StorageUnavailable

__all__ = ["Turn", "WriterQueue"]

_FIRST_LOOK_S: Final = 0.00005
_LONGEST_LOOK_S: Final = 0.001
_SUFFIX: Final = "-writers"


class WriterQueue:
    """One database's queue of write transactions (see the module's documentation); shared by every thread of a
    process. ``path``: the database file (``None``: an in-memory database, whose one connection already takes
    turns — nothing is queued)."""

    def __init__(self, path: str | None, timeout_s: float) -> None:
        self._path = None if path is None else path + _SUFFIX
        self._timeout_s = timeout_s
        self._place = _Place(os.getpid())

    def acquire(self) -> Turn | None:
        """Wait for the database's turn, unless another thread of this process holds it (``None``: this thread did
        not queue, SQLite's lock orders it as before); :class:`StorageUnavailable` after the timeout. The turn is
        given back with :meth:`Turn.release` once the transaction has ended."""
        if self._path is None:
            return None
        place = self._here()
        if not place.threads.acquire(blocking=False):
            return None
        try:
            if place.descriptor is None:
                place.descriptor = _opened(self._path)
            if place.descriptor >= 0:
                _lock(place.descriptor, time.monotonic() + self._timeout_s, self._timeout_s)
        except BaseException:
            place.threads.release()
            raise
        return Turn(place)

    def close(self) -> None:
        """Close this process's lock file (a queue used afterwards opens it again)."""
        place = self._place
        if place.pid == os.getpid() and place.descriptor is not None and place.descriptor >= 0:
            os.close(place.descriptor)
        place.descriptor = None

    def _here(self) -> _Place:
        """This process's place: a forked child makes its own (its parent's lock file is the parent's place in the
        queue, and its thread lock may have been copied taken)."""
        pid = os.getpid()
        if self._place.pid != pid:
            self._place = _Place(pid)
        return self._place


class _Place:
    """A process's place in the queue: one thread at a time, and the lock file it takes (``None``: not opened yet,
    ``-1``: cannot be)."""

    __slots__ = ("descriptor", "pid", "threads")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.threads = threading.Lock()
        self.descriptor: int | None = None


class Turn:
    """A writer's turn, held from its ``BEGIN IMMEDIATE`` until it has committed or rolled back."""

    __slots__ = ("_place",)

    def __init__(self, place: _Place) -> None:
        self._place = place

    def release(self) -> None:
        """Give the turn on: to the next process waiting, and to this process's next writer."""
        try:
            if self._place.descriptor is not None and self._place.descriptor >= 0:
                fcntl.flock(self._place.descriptor, fcntl.LOCK_UN)
        finally:
            self._place.threads.release()


def _opened(path: str) -> int:
    """The lock file, opened (created if need be, never through a symbolic link); -1 where it cannot be (a
    read-only folder, a link put in its place)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError:
        return -1


def _lock(descriptor: int, deadline: float, timeout_s: float) -> None:
    wait = _FIRST_LOOK_S
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy(timeout_s) from None
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_LOOK_S)


def _busy(timeout_s: float) -> StorageUnavailable:
    return StorageUnavailable(f"database is locked: another writer held it for {timeout_s:g} s")
