"""Real moving parts for the reliability tests, and the ledger that judges a run.

- :class:`RedisServer`: a private ``redis-server`` on a free port (no persistence), killed and started
  again at will; the shared Redis is never touched.
- :class:`WorkerCommand`: one ``motcua worker`` command in its own process group, its JSON log in a
  file; its dramatiq worker processes can be listed and killed one by one.
- :class:`TcpProxy`: a thread with sockets between the workers and PostgreSQL, which can be cut (every
  connection closed, new ones refused) and restored.
- :class:`Ledger`: counts, by SQL, the audit entries each timer produced, and checks the chains.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import psycopg
import redis

from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.audit import verify_chains
from tests.servers import free_port

__all__ = [
    "TIMER_TRIGGERS",
    "Ledger",
    "Outcome",
    "RedisServer",
    "TcpProxy",
    "WorkerCommand",
    "free_port",
    "running",
    "wait_for",
]

TIMER_TRIGGERS: Final = ("mark_due_soon", "mark_overdue", "escalate")  # each dossier arms one timer of each
NOTICE_OF: Final = {"mark_due_soon": "due_soon", "mark_overdue": "overdue", "escalate": "escalation"}  # notify event
SYSTEM_ACTOR: Final = "motcua"
_NOTIFIER_SETTINGS: Final = ("MOTCUA_SMTP_", "MOTCUA_WEBHOOK_", "MOTCUA_NOTIFY_")


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# -- processes ---------------------------------------------------------------------------------


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the process is its group's leader (start_new_session)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


class RedisServer:
    """A private Redis without persistence: killed, it comes back empty, as after a crash."""

    def __init__(self, binary: str, port: int, log: Path) -> None:
        self.binary, self.port, self.log = binary, port, log
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._output = self.log.open("ab")
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--daemonize", "no"]
        self._process = subprocess.Popen(command, stdout=self._output, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        if not wait_for(self.answers, timeout=10, interval=0.05):
            raise RuntimeError(f"redis-server did not answer on port {self.port}: see {self.log}")

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: whatever it held (queued messages, acks, heartbeats) is gone."""
        if self._process is not None:
            _kill_group(self._process)
            self._process = None
        if self._output is not None:
            self._output.close()
            self._output = None


@dataclass
class WorkerCommand:
    """``motcua worker ARGS…`` in its own process group, stdout and stderr in ``log``."""

    name: str
    args: Sequence[str]
    log: Path
    environment: Mapping[str, str] = field(default_factory=dict)  # settings added to the cleaned environment
    process: subprocess.Popen[bytes] | None = None
    _output: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._output = self.log.open("ab")
        env = {key: value for key, value in os.environ.items() if not key.startswith(_NOTIFIER_SETTINGS)}
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.environment)
        self.process = subprocess.Popen([*_motcua(), "worker", *self.args], stdout=self._output,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The dramatiq worker processes the command spawned (not multiprocessing's resource tracker)."""
        found = []
        for child in _children(self.pid):
            command = _cmdline(child)
            if "multiprocessing.spawn" in command and "resource_tracker" not in command:
                found.append(child)
        return found

    def ready(self, processes: int) -> bool:
        started = self.events()["worker.process.started"]
        return len(self.worker_pids()) >= processes and started >= processes

    def kill_worker_process(self) -> int:
        """SIGKILL one dramatiq worker process (the first one); returns its pid."""
        victim = self.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and a wait for a clean exit; then SIGKILL to the whole process group regardless."""
        if self.process is None:
            return None
        code: int | None = None
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.process.wait(timeout)
        else:
            code = self.process.returncode
        self.kill()
        return code

    def kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process)
        if self._output is not None:
            self._output.close()
            self._output = None

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines() if self.log.exists() else []

    def events(self) -> Counter[str]:
        """How many times each structlog event was logged (non-JSON lines are ignored)."""
        counts: Counter[str] = Counter()
        for line in self.lines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    counts[str(json.loads(line).get("event"))] += 1
        return counts

    def deliveries(self) -> Counter[int]:
        """How many times each effect (by outbox id) was handed to the log notifier."""
        counts: Counter[int] = Counter()
        for line in self.lines():
            if '"effect.released"' in line:
                with contextlib.suppress(ValueError, KeyError):
                    counts[int(json.loads(line)["effect_id"])] += 1
        return counts

    def broken_lines(self) -> list[str]:
        """structlog lines that are not one JSON object each (two processes' lines run together)."""
        broken = []
        for line in self.lines():
            if line.startswith("{"):
                try:
                    json.loads(line)
                except ValueError:
                    broken.append(line)
        return broken

    def summary(self, tail: int = 15) -> str:
        interesting = {name: n for name, n in self.events().items() if not name.startswith(("transition.", "effect."))}
        shown = [line[:300] for line in self.lines() if line.strip()][-tail:]
        return f"--- {self.name} ({self.log}) events {interesting}\n" + "\n".join(shown)


def _motcua() -> list[str]:
    script = Path(sys.executable).parent / "motcua"
    return [str(script)] if script.exists() else [sys.executable, "-m", "motcua.entrypoints.cli"]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# -- the proxy ---------------------------------------------------------------------------------


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target``; :meth:`cut` closes every connection and refuses new ones
    (the database is unreachable), :meth:`restore` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True).start()

    def cut(self) -> int:
        """Stop listening and close every open connection; returns how many were open."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._sockets = list(self._sockets), set()
        if listener is not None:
            _close(listener)
        for sock in open_sockets:
            _close(sock)
        return len(open_sockets) // 2

    restore = start

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut: the listener was closed
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client)
                    _close(server)
                    return
                self._sockets.update((client, server))
                self.accepted += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


# -- the ledger --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a run left in the database, against what it should have."""

    expected: int
    fired: Counter[tuple[str, str]]
    missing: list[tuple[str, str]]
    duplicated: dict[tuple[str, str], int]
    unexpected: list[tuple[str, str]]
    timers_left: int
    notice_mismatches: list[tuple[str, str, int, int]]  # (dossier, event, notices expected, notices written)
    chain_breaks: list[str]

    @property
    def exactly_once(self) -> bool:
        """One entry per expected (dossier, trigger), nothing else, no timer row left, and as many notices
        written as timers fired (a notice is written in the transaction of its entry)."""
        return not (self.missing or self.duplicated or self.unexpected or self.timers_left or self.notice_mismatches)

    def describe(self) -> str:
        return (
            f"expected {self.expected} timer entries, found {sum(self.fired.values())}: "
            f"{len(self.missing)} missing {self.missing[:5]}, {len(self.duplicated)} fired more than once "
            f"{list(self.duplicated.items())[:5]}, {len(self.unexpected)} unexpected {self.unexpected[:5]}; "
            f"{self.timers_left} timer rows left; {len(self.notice_mismatches)} notice counts differ from the "
            f"entries' {self.notice_mismatches[:5]}; {len(self.chain_breaks)} broken chains {self.chain_breaks[:3]}"
        )


def _notice_mismatches(
    fired: Counter[tuple[str, str]], notices: Counter[tuple[str, str]]
) -> list[tuple[str, str, int, int]]:
    wanted = Counter({(code, NOTICE_OF[trigger]): n for (code, trigger), n in fired.items() if trigger in NOTICE_OF})
    keys = sorted(set(wanted) | set(notices))
    return [(code, event, wanted[code, event], notices[code, event]) for code, event in keys
            if wanted[code, event] != notices[code, event]]


_FIRED = 'SELECT case_code, "trigger", count(*) FROM audit_entry WHERE actor = %s GROUP BY 1, 2'
_NOTICES = "SELECT case_code, payload->>'event', count(*) FROM outbox WHERE kind = 'notify' GROUP BY 1, 2"


class Ledger:
    """Reads a run's database directly (libpq), never through the workers' path."""

    def __init__(self, url: str) -> None:
        self.url = url

    def progress(self) -> tuple[int, int]:
        """(timer entries written, timer rows left)."""
        with psycopg.connect(self.url, connect_timeout=5) as connection:
            fired = connection.execute("SELECT count(*) FROM audit_entry WHERE actor = %s", (SYSTEM_ACTOR,))
            left = connection.execute("SELECT count(*) FROM timer")
            return int(_one(fired)), int(_one(left))

    def outcome(self, expected: Iterable[tuple[str, str]], *, chains: bool = True) -> Outcome:
        wanted = set(expected)
        with psycopg.connect(self.url, connect_timeout=5) as connection:
            fired = Counter({(code, trigger): n for code, trigger, n in connection.execute(_FIRED, (SYSTEM_ACTOR,))})
            notices = Counter({(code, event): n for code, event, n in connection.execute(_NOTICES)})
            left = int(_one(connection.execute("SELECT count(*) FROM timer")))
        return Outcome(
            expected=len(wanted), fired=fired, missing=sorted(wanted - set(fired)),
            duplicated={key: n for key, n in sorted(fired.items()) if n > 1},
            unexpected=sorted(set(fired) - wanted), timers_left=left,
            notice_mismatches=_notice_mismatches(fired, notices),
            chain_breaks=self.chain_breaks() if chains else [],
        )

    def chain_breaks(self) -> list[str]:
        with SqlStore.from_url(self.url) as store:
            return [str(found) for found in verify_chains(store.cases(), store.entries())]


def _one(cursor: psycopg.Cursor[Any]) -> int:
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


@contextlib.contextmanager
def running(commands: Iterable[WorkerCommand]) -> Iterator[list[WorkerCommand]]:
    """Start the commands; stop (and kill the process groups of) all of them on the way out."""
    started: list[WorkerCommand] = []
    try:
        for command in commands:
            command.start()
            started.append(command)
        yield started
    finally:
        for command in started:
            command.stop()
