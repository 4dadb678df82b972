"""The console's first run: a one-time setup code, printed at the terminal, that lets one person make the first user.

A console on a database without any user cannot be signed in to. As Jenkins does with its initial administrator
password, ``motcua serve`` then makes a **setup code** (:meth:`FirstRun.open`: 160 random bits from
:mod:`secrets`, shown as eight groups of four base32 letters and digits, easy to type) and prints it on its
terminal's standard error — never through the logs, which are shipped and kept far more widely than a terminal —
beside the address of ``/console/setup``. Whoever can read the server's terminal is the person setting it up;
whoever can only reach its port is not. Only on a terminal: when standard error is a file or a pipe (systemd, a
container, a log shipper) the JSON log lines go there too, so no code is made and the first user is made with
``motcua user create`` (:data:`NO_TERMINAL_MESSAGE`).

Only the code's SHA-256 is kept, in this process's memory (a high-entropy code needs no slow hash; a copy of the
database or of the memory holds nothing that opens the page). The memory is the right place: the code is for this
run's terminal, it dies with the process (a restart on a still empty database prints a new one), and nothing about
it is ever written anywhere. With ``--workers N`` no process holds it (each would count wrong codes apart): the
page stays closed there and the first user is made by ``motcua user create`` (:data:`WORKERS_MESSAGE`).

The form that made the first user is remembered (its one-time token's hash, :meth:`FirstRun.make_first`): the same
form posted again — a double click, at once or after — is known (:meth:`FirstRun.made_with`) and sent on to the
console rather than to the 404 of a page gone; the two posts of a double click at once are made one after the other,
the second seeing the first's user.

Wrong codes are counted like wrong passwords (:class:`~motcua.adapters.users.SignInPolicy`: after
``max_failures`` in a row the page refuses every code for ``lock_for``). The code is void as soon as any user
exists — made here, or by ``motcua user create`` meanwhile — and the page then answers 404.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TextIO

from motcua.adapters.users import SignInPolicy, UserStore

__all__ = ["CODE_BYTES", "CODE_MAX", "NO_TERMINAL_IN_MEMORY_MESSAGE", "NO_TERMINAL_MESSAGE", "WORKERS_MESSAGE",
           "FirstRun", "FirstUser", "SetupCheck", "announce", "refuse_with_workers", "setup_address"]

CODE_BYTES: Final = 20
"""Random bytes of a setup code: 160 bits (32 base32 characters)."""
CODE_MAX: Final = 64
"""Characters of a typed code worth reading (32 letters and digits, with spaces or dashes between groups)."""
_GROUP: Final = 4
_TYPED_APART: Final = str.maketrans("", "", " -\t")
WORKERS_MESSAGE: Final = (
    "Chưa có tài khoản bảng điều khiển nào. Với --workers > 1 trang /console/setup không mở (mã thiết lập chỉ "
    "sống trong một tiến trình): tạo tài khoản đầu tiên bằng `motcua user create --name TÊN --role operator "
    "--all-units --db URL`, hoặc chạy `motcua serve` một lần không có --workers.")
NO_TERMINAL_MESSAGE: Final = (
    "Chưa có tài khoản bảng điều khiển nào. Lỗi chuẩn (stderr) không phải là một terminal — nó có thể đi cùng nhật "
    "ký — nên mã thiết lập không được in và trang /console/setup không mở: tạo tài khoản đầu tiên bằng `motcua user "
    "create --name TÊN --role operator --all-units --db URL`, hoặc chạy `motcua serve` một lần tại một terminal.")
NO_TERMINAL_IN_MEMORY_MESSAGE: Final = (
    "Chưa có tài khoản bảng điều khiển nào. Lỗi chuẩn (stderr) không phải là một terminal — nó có thể đi cùng nhật "
    "ký — nên mã thiết lập không được in và trang /console/setup không mở. memory:// chỉ sống trong tiến trình này "
    "(`motcua user create` không tới được): chạy `motcua serve` tại một terminal, hoặc dùng một cơ sở dữ liệu SQL.")


class SetupCheck(enum.Enum):
    """What a typed code opened: the setup (``ACCEPTED``), nothing (``WRONG``, counted), nothing for a while
    (``LOCKED``: too many wrong codes), or nothing ever (``CLOSED``: no code, or a user exists)."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"
    CLOSED = "closed"


def _plain(code: str) -> str:
    """A typed code without its separators, in capitals (typed in small letters, with or without dashes)."""
    return code.translate(_TYPED_APART).upper()


def _digest(code: str) -> bytes:
    return hashlib.sha256(_plain(code).encode("ascii", errors="replace")).digest()


def _token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class FirstUser(enum.Enum):
    """What a setup form's post made: the first user (``MADE``); nothing, another user coming first (``TAKEN``); or
    nothing, this very form having made it before (``AGAIN``: posted twice)."""

    MADE = "made"
    TAKEN = "taken"
    AGAIN = "again"


@dataclass
class FirstRun:
    """The setup code of this process: its hash, the wrong codes counted against it, and the hash of the form token
    that made the first user."""

    _hash: bytes | None = None
    _failures: int = 0
    _locked_until: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _made_by: bytes | None = None
    _making: threading.Lock = field(default_factory=threading.Lock)

    def make_first(self, form_token: str, add: Callable[[], bool]) -> FirstUser:
        """Make the first user with ``add`` (True when it was added: there was still no user) for the setup form of
        ``form_token``, one post at a time; the code is void after, whatever came of it."""
        with self._making:
            if self._made_with(form_token):
                return FirstUser.AGAIN
            made = add()
            if made:
                self._made_by = _token_digest(form_token)
            self.close()
            return FirstUser.MADE if made else FirstUser.TAKEN

    def made_with(self, form_token: str) -> bool:
        """Whether the setup form of ``form_token`` made the first user (waiting for a post making it now)."""
        with self._making:
            return self._made_with(form_token)

    def _made_with(self, form_token: str) -> bool:
        return self._made_by is not None and hmac.compare_digest(_token_digest(form_token), self._made_by)

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._hash is not None

    def open(self) -> str:
        """A new code (the one before is void), as it is shown: ``ABCD-EFGH-…``; only its hash is kept."""
        letters = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
        with self._lock:
            self._hash, self._failures, self._locked_until = _digest(letters), 0, None
        return "-".join(letters[start:start + _GROUP] for start in range(0, len(letters), _GROUP))

    def close(self) -> None:
        """Void the code: the setup page is gone for the life of this process."""
        with self._lock:
            self._hash = None

    def check(self, typed: str, now: datetime, policy: SignInPolicy) -> SetupCheck:
        """Whether ``typed`` is the code; a wrong one counts, and ``policy.max_failures`` in a row lock the page
        for ``policy.lock_for``. The code stays valid when accepted: :meth:`close` it once the user is made."""
        with self._lock:
            if self._hash is None:
                return SetupCheck.CLOSED
            if self._locked_until is not None and now < self._locked_until:
                return SetupCheck.LOCKED
            if len(typed) <= CODE_MAX and hmac.compare_digest(_digest(typed), self._hash):
                self._failures, self._locked_until = 0, None
                return SetupCheck.ACCEPTED
            self._failures += 1
            if self._failures >= policy.max_failures:
                self._failures, self._locked_until = 0, now + policy.lock_for
                return SetupCheck.LOCKED
            return SetupCheck.WRONG


def setup_address(host: str, port: int) -> str:
    """The setup page's address for a server listening on ``host``:``port`` (an IPv6 address in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/console/setup"


def refuse_with_workers(users: UserStore, out: TextIO | None = None) -> bool:
    """With ``--workers N`` no process holds a code: when there is no user, say on ``out`` (standard error) how the
    first one is made instead; whether it did."""
    return _refuse(users, WORKERS_MESSAGE, sys.stderr if out is None else out)


def announce(first_run: FirstRun, users: UserStore, address: str, out: TextIO | None = None, *,
             kept: bool = True) -> bool:
    """Open the setup and print its code on ``out`` (standard error) — one plain line, never a log line — when
    there is no user at all and ``out`` is a terminal; whether it did. Written anywhere else (a file, a pipe to a log
    shipper, a container's log), the code would sit beside the JSON log lines that share standard error: the setup
    stays closed and :data:`NO_TERMINAL_MESSAGE` says how the first user is made instead — or, for a database that
    keeps no user beyond this process (``kept`` False: ``memory://``, which ``motcua user create`` cannot reach),
    :data:`NO_TERMINAL_IN_MEMORY_MESSAGE` that only a terminal opens its console."""
    stream = sys.stderr if out is None else out
    if users.has_users() or not stream.isatty():
        first_run.close()
        _refuse(users, NO_TERMINAL_MESSAGE if kept else NO_TERMINAL_IN_MEMORY_MESSAGE, stream)
        return False
    code = first_run.open()
    stream.write(f"Mã thiết lập bảng điều khiển: {code}  — mở {address}\n")
    stream.flush()
    return True


def _refuse(users: UserStore, message: str, stream: TextIO) -> bool:
    """When there is no user, say ``message`` on ``stream``; whether it did."""
    if users.has_users():
        return False
    stream.write(message + "\n")
    stream.flush()
    return True
