"""The console's users and their sessions: the small port the console needs, its rules, and its in-memory adapter.

A user is a person of the one-stop (an officer, a specialist, a leader, an inspector, an operator, an auditor) who
signs in to the browser console with a name and a password. The password is never stored: only its Argon2id hash
(``argon2-cffi``'s defaults, the RFC 9106 low-memory profile), verified in constant time by the library. A user
carries roles and one scope exactly as an API key does — units, a province, or every unit said out loud — and the
same rules decide what they may be (:func:`~motcua.adapters.keys.check_grant`) and what they see
(:func:`~motcua.adapters.keys.scope_of`). Beside the roles the workflows declare, a user may hold the console's own
:data:`CONSOLE_ROLES` (``operator``, ``auditor``), which no trigger allows: they open the operations and audit pages.
A user never acts for one applicant (the console is the staff's).

A session is a random 32-byte id in a cookie; the store keeps only its SHA-256 (:func:`session_key`), so a copy of
the database holds no live session. Each session has its CSRF token (every form carries it), an expiry, and is
deleted at sign-out; a new one is made at every sign-in (never the one a browser brought: no fixation).

Repeated failures lock a user out (:class:`SignInPolicy`: after ``max_failures`` wrong passwords in a row, for
``lock_for``); a wrong name and a wrong password are refused alike, and a locked user is refused even with the right
password, so the answer tells a guesser nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Final, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from motcua.adapters.keys import check_grant, key_roles, principal_of, scope_of
from motcua.workflow.access.scope import Scope
from motcua.workflow.engine.bounds import line_problem
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidInput, Retryable
from motcua.workflow.units.directory import UnitDirectory

__all__ = [
    "CONSOLE_ROLES",
    "NAME_MAX",
    "PASSWORDS",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "VERIFYING_AT_ONCE",
    "VERIFY_WAIT",
    "MemoryUserStore",
    "Passwords",
    "PasswordsBusy",
    "Session",
    "SignInPolicy",
    "User",
    "UserStore",
    "check_name",
    "check_password",
    "hash_password",
    "new_session",
    "new_user",
    "policy_from_settings",
    "session_key",
    "sign_in",
    "user_roles",
]

CONSOLE_ROLES: Final = {"operator": "Vận hành hệ thống", "auditor": "Kiểm tra nhật ký, kiểm toán"}
"""The console's own roles (no workflow declares them; no trigger allows them): the operations and audit pages."""
NAME_MAX: Final = 64
PASSWORD_MIN: Final = 10
PASSWORD_MAX: Final = 256
"""Characters of a password worth hashing: a longer one is refused before Argon2 reads it."""
VERIFYING_AT_ONCE: Final = 4
"""Password verifications a process runs at once (each takes 64 MiB and a core for a moment)."""
VERIFY_WAIT: Final = 10.0
"""Seconds a sign-in waits for a turn to verify its password before it is answered "busy, try again"."""
_NAME: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.@-]{0,63}")


def _nfc(password: str) -> str:
    """The password as NFC (Vietnamese typed on one system composed, on another decomposed)."""
    return unicodedata.normalize("NFC", password)


class PasswordsBusy(Retryable):
    """Every turn to verify a password was taken for :data:`VERIFY_WAIT` (a flood of sign-ins): try again soon."""

    def __init__(self) -> None:
        super().__init__("too many passwords are being verified at once")


class Passwords:
    """Argon2id hashing and verification (``argon2-cffi``'s default parameters, RFC 9106's low-memory profile).
    Each verification takes 64 MiB: at most ``at_once`` run together in a process, so that a flood of sign-ins —
    which anyone may send — never takes more than that many times 64 MiB; one that waited ``wait`` seconds for a
    turn is :class:`PasswordsBusy` (a 503 page), never counted as a wrong password."""

    def __init__(self, hasher: PasswordHasher | None = None, *, at_once: int = VERIFYING_AT_ONCE,
                 wait: float = VERIFY_WAIT) -> None:
        self.hasher = hasher or PasswordHasher()
        self._turns = threading.BoundedSemaphore(at_once)
        self._wait = wait

    @cached_property
    def _dummy(self) -> str:
        return self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        check_password(password)
        return self.hasher.hash(_nfc(password))

    def verifies(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` is the one hashed, checked in a turn of its own (:meth:`turn`, :meth:`matches`)."""
        with self.turn():
            return self.matches(password_hash, password)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One of the ``at_once`` turns to verify a password, held while the block runs; :class:`PasswordsBusy` when
        none came within ``wait`` — raised before the block, so that nothing in it (a guess counted) happens."""
        if not self._turns.acquire(timeout=self._wait):
            raise PasswordsBusy
        try:
            yield
        finally:
            self._turns.release()

    def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` is the one hashed (both read as NFC: "mật khẩu" typed composed or decomposed is one
        password); for no hash (an unknown name) a dummy is verified, so that a wrong name costs the same time as a
        wrong password. Call it inside a :meth:`turn`."""
        try:
            return self.hasher.verify(password_hash or self._dummy, _nfc(password)) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


PASSWORDS = Passwords()


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """After ``max_failures`` wrong passwords in a row a user is locked out for ``lock_for``; after
    ``address_failures`` failed sign-ins from one client address within ``lock_for``, that address is refused until
    then (the console's throttle, whatever the names tried — but for the failures of a name that signed in from there
    since, taken back); a session lasts ``session_lifetime``.
    ``secure_cookie``: the session cookie is Secure always (True), never (False), or when the request came over HTTPS
    (None)."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=8)
    secure_cookie: bool | None = None
    address_failures: int = 20


_WHOLE: Final = re.compile(r"[0-9]{1,6}")
_SECURE: Final[Mapping[str, bool | None]] = {"auto": None, "always": True, "never": False}


def policy_from_settings(environ: Mapping[str, str] | None = None) -> SignInPolicy:
    """MOTCUA_CONSOLE_MAX_FAILURES (5), MOTCUA_CONSOLE_LOCK_MINUTES (15), MOTCUA_CONSOLE_ADDRESS_FAILURES (20),
    MOTCUA_CONSOLE_SESSION_HOURS (8), MOTCUA_CONSOLE_SECURE_COOKIE (auto, always or never); InvalidInput naming a
    setting that is not one."""
    env = os.environ if environ is None else environ
    default = SignInPolicy()

    def whole(name: str, fallback: int) -> int:
        text = env.get(name, "").strip()
        if not text:
            return fallback
        if not _WHOLE.fullmatch(text) or int(text) < 1:
            raise InvalidInput(name, "a whole number, at least 1")
        return int(text)

    secure = env.get("MOTCUA_CONSOLE_SECURE_COOKIE", "").strip() or "auto"
    if secure not in _SECURE:
        raise InvalidInput("MOTCUA_CONSOLE_SECURE_COOKIE", "auto, always or never")
    return SignInPolicy(
        max_failures=whole("MOTCUA_CONSOLE_MAX_FAILURES", default.max_failures),
        lock_for=timedelta(minutes=whole("MOTCUA_CONSOLE_LOCK_MINUTES", 15)),
        address_failures=whole("MOTCUA_CONSOLE_ADDRESS_FAILURES", default.address_failures),
        session_lifetime=timedelta(hours=whole("MOTCUA_CONSOLE_SESSION_HOURS", 8)),
        secure_cookie=_SECURE[secure],
    )


@dataclass(frozen=True, slots=True)
class User:
    """A console user: ``name`` signs in and is the actor in the audit log. At most one of ``units`` and
    ``province`` is set (neither: every unit, an operator's)."""

    name: str
    password_hash: str
    roles: tuple[str, ...]
    created_at: datetime
    units: tuple[str, ...] | None = None
    province: str | None = None
    disabled_at: datetime | None = None
    failures: int = 0
    locked_until: datetime | None = None

    @property
    def actor(self) -> Actor:
        return principal_of(self.name, self.roles)

    def scope(self, directory: UnitDirectory, on: date) -> Scope:
        """The cases this user may see on ``on`` (:func:`~motcua.adapters.keys.scope_of`)."""
        return scope_of(self.roles, directory, on, units=self.units, province=self.province)

    @property
    def scope_text(self) -> str:
        if self.province is not None:
            return f"province {self.province}"
        return "every unit" if self.units is None else f"units {', '.join(self.units)}"

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: ``key`` is the SHA-256 of the cookie's id (the id itself is never stored)."""

    key: str
    user: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class UserStore(Protocol):
    def add_user(self, user: User) -> bool:
        """Store a new user; False when the name is taken."""
        ...

    def add_first_user(self, user: User) -> bool:
        """Store ``user`` if there is no user at all (disabled ones count) — one atomic step, so that two first-run
        setups at once make one user —; False when there is one already."""
        ...

    def has_users(self) -> bool:
        """Whether any user (disabled ones included) exists."""
        ...

    def user(self, name: str) -> User | None: ...

    def users(self) -> Sequence[User]:
        """Every user (disabled ones included), by name."""
        ...

    def disable(self, name: str, at: datetime) -> bool:
        """Disable a live user and end their sessions; False when there is no such live user."""
        ...

    def set_failures(self, name: str, failures: int, locked_until: datetime | None) -> None: ...

    def count_guess(self, name: str, now: datetime, max_failures: int, until: datetime) -> bool:
        """Count a password about to be checked for ``name`` as a failure — one atomic step, so that guesses sent at
        once are counted one by one —, unless they are locked out at ``now``; at ``max_failures`` lock them out until
        ``until`` (the count starts afresh). Whether the guess was counted, and so may be checked: False for a user
        locked out (or unknown)."""
        ...

    def add_session(self, session: Session) -> None: ...

    def session(self, key: str) -> Session | None: ...

    def end_session(self, key: str) -> None: ...

    def purge_sessions(self, now: datetime) -> int:
        """Forget the sessions expired at ``now``; how many."""
        ...


def user_roles() -> frozenset[str]:
    """The roles a console user may hold: the workflows' (but ``system``) and the console's own."""
    return key_roles() | frozenset(CONSOLE_ROLES)


def check_name(name: str) -> None:
    if len(name) > NAME_MAX or not _NAME.fullmatch(name):
        raise InvalidInput("--name", f"a user name is 1 to {NAME_MAX} letters, digits, dots, dashes, @ and "
                                     "underscores, starting with a letter or a digit")


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput("password", f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if line_problem(password, PASSWORD_MAX) is not None:  # a NUL, a control character, bytes that were not UTF-8
        raise InvalidInput("password", "a password is text on one line: no control character, no byte that is not "
                                       "UTF-8")


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def new_user(
    name: str, password: str, roles: Sequence[str], now: datetime, *, units: Sequence[str] | None = None,
    province: str | None = None, home: str | None = None,
) -> User:
    """A user with the hash of ``password``, if the name, the roles and the scope are valid (as an API key's;
    ``home``: the server's home unit, taken as configured)."""
    check_name(name)
    if not roles:
        raise InvalidInput("--role", "give at least one role (officer, specialist, leader…)")
    if "applicant" in roles:
        raise InvalidInput("--role", "the console is for the one-stop's staff: a user never holds the role applicant")
    chosen = check_grant(roles, units, province, None, known=user_roles(), home=home)
    return User(name, hash_password(password), chosen, now,
                units=None if units is None else tuple(dict.fromkeys(units)), province=province)


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def new_session(user: str, now: datetime, lifetime: timedelta) -> tuple[str, Session]:
    """A fresh session id (for the cookie) and the session stored under its hash."""
    session_id = secrets.token_urlsafe(32)
    return session_id, Session(session_key(session_id), user, secrets.token_urlsafe(32), now, now + lifetime)


def sign_in(store: UserStore, name: str, password: str, now: datetime, policy: SignInPolicy) -> User | None:
    """The live user ``name`` if ``password`` is theirs and they are not locked out; None otherwise (alike for a
    wrong name, a wrong password, a disabled or a locked user). Every guess is counted as a failure *before* its
    password is checked, in one atomic step: guesses sent at once cannot all be checked before the lock-out is
    written, so no more than ``policy.max_failures`` are checked in a lock-out's window. The right one resets the
    count."""
    shaped = len(name) <= NAME_MAX and _NAME.fullmatch(name) is not None  # no other name exists: none looked up
    user = store.user(name) if shaped and len(password) <= PASSWORD_MAX else None
    if user is None or user.disabled_at is not None:
        PASSWORDS.verifies(None, password)
        return None
    with PASSWORDS.turn():  # busy: refused before the guess is counted (a flood never locks a user out)
        if not store.count_guess(user.name, now, policy.max_failures, now + policy.lock_for):
            PASSWORDS.matches(None, password)  # as long as a wrong password takes: a lock-out is not told by the time
            return None
        if not PASSWORDS.matches(user.password_hash, password):
            return None  # counted already
    store.set_failures(user.name, 0, None)
    return user


@dataclass
class MemoryUserStore:
    """Users and sessions in memory, beside a ``memory://`` store."""

    _users: dict[str, User] = field(default_factory=dict)
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, user: User) -> bool:
        with self._lock:
            if user.name in self._users:
                return False
            self._users[user.name] = user
            return True

    def add_first_user(self, user: User) -> bool:
        with self._lock:
            if self._users:
                return False
            self._users[user.name] = user
            return True

    def has_users(self) -> bool:
        with self._lock:
            return bool(self._users)

    def user(self, name: str) -> User | None:
        with self._lock:
            return self._users.get(name)

    def users(self) -> Sequence[User]:
        with self._lock:
            return sorted(self._users.values(), key=lambda user: user.name)

    def disable(self, name: str, at: datetime) -> bool:
        with self._lock:
            user = self._users.get(name)
            if user is None or user.disabled_at is not None:
                return False
            self._users[name] = replace(user, disabled_at=at)
            self._sessions = {key: kept for key, kept in self._sessions.items() if kept.user != name}
            return True

    def set_failures(self, name: str, failures: int, locked_until: datetime | None) -> None:
        with self._lock:
            if (user := self._users.get(name)) is not None:
                self._users[name] = replace(user, failures=failures, locked_until=locked_until)

    def count_guess(self, name: str, now: datetime, max_failures: int, until: datetime) -> bool:
        with self._lock:
            user = self._users.get(name)
            if user is None or user.locked(now):
                return False
            failures = user.failures + 1
            self._users[name] = replace(user, failures=0, locked_until=until) if failures >= max_failures else replace(
                user, failures=failures)
            return True

    def add_session(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.key] = session

    def session(self, key: str) -> Session | None:
        with self._lock:
            return self._sessions.get(key)

    def end_session(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def purge_sessions(self, now: datetime) -> int:
        with self._lock:
            expired = [key for key, kept in self._sessions.items() if kept.expires_at <= now]
            for key in expired:
                del self._sessions[key]
            return len(expired)
