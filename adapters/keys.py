"""API keys and idempotency records: the small port the HTTP API needs, and its in-memory adapter.

A key reads ``mc_<key_id>_<secret>``: ``key_id`` (12 hex digits) is the public lookup prefix, the
secret is 32 random bytes (``secrets.token_urlsafe``). Only ``SHA-256(salt ‖ secret)`` is stored, with
a random per-key salt: for a high-entropy random secret a fast hash is enough (nothing to brute-force),
and the comparison is constant-time (:func:`hmac.compare_digest`).

A key carries its *scope*, what it may see (:meth:`ApiKey.scope`): the units of a commune's staff, a whole
province (provincial staff, inspectors: their roles still decide what they may move), or one applicant's
own dossiers. A staff key with none of them — made before keys had scopes, or an operator's ``--all-units``
key — sees every unit; a key made before scopes whose only role is ``applicant`` acts for no one in particular
and sees nothing (fail closed: it could otherwise read and withdraw anyone's dossier).

No key holds the role ``system``: it belongs to motcua's own processes (timers, imports, successions), whose
triggers move deadlines and units. :func:`new_key` refuses it, and :attr:`ApiKey.principal` drops it from a
key stored before it did. Nor does a key hold a role no workflow declares (:func:`key_roles`, read from the
definitions' ``roles:``): a typo or an invented ``superadmin`` would be a key that moves nothing, or one a later
definition silently empowers. A provincial inspector's role, ``inspector``, is declared by both workflows and
allowed by no trigger: it reads. What a key names is bounded and shaped before anything looks it up: unit codes as
the unit files write them (:data:`~motcua.definitions.units.UNIT_CODE_PATTERN`, at most 64 characters), a
province's code likewise, an applicant's identity number as every identity number is
(:func:`~motcua.workflow.engine.bounds.id_number_problem`: 1 to 32 letters and digits).

An idempotency record is scoped by the API key that sent the request. :meth:`IdempotencyStore.claim`
inserts it *in flight* (no response yet) or returns what is already there; :meth:`complete` stores the
first response; :meth:`release` forgets a claim whose request failed unexpectedly (5xx) so that a retry
runs again. :meth:`reserve` notes, before the action writes anything, what the action is about to create
(a dossier's code, the version a trigger will make): a retry that takes over an abandoned claim is handed
that note back, and finishes the first run's work instead of doing it twice.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Final, Protocol

import structlog

from motcua.definitions.units import PROVINCE_CODE_PATTERN, UNIT_CODE_MAX_LENGTH, UNIT_CODE_PATTERN
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.definitions.yamlsafe import yaml_files
from motcua.workflow.access.scope import EVERYTHING, Scope
from motcua.workflow.engine.bounds import NAME_MAX, id_number_problem, line_problem
from motcua.workflow.engine.clock import Clock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import unit_codes
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.units.directory import UnitDirectory

__all__ = [
    "APPLICANT_ROLE",
    "IN_FLIGHT_LEASE",
    "KEY_CACHE_SIZE",
    "KEY_CACHE_TTL",
    "KEY_PREFIX",
    "RECORDS_KEPT",
    "SWEEP_EVERY",
    "SYSTEM_ROLE",
    "ApiKey",
    "ApiKeyStore",
    "Claimed",
    "HttpStore",
    "IdempotencyStore",
    "MemoryHttpStore",
    "NewKey",
    "RecordSweep",
    "StoredResponse",
    "VerifiedKeys",
    "authenticate",
    "check_grant",
    "key_roles",
    "new_key",
    "principal_of",
    "scope_of",
]

KEY_PREFIX: Final = "mc"
APPLICANT_ROLE: Final = "applicant"
SYSTEM_ROLE: Final = "system"
"""The role of motcua's own processes (timers, imports, successions): never a key's."""
_UNIT_CODE: Final = re.compile(UNIT_CODE_PATTERN)
_PROVINCE_CODE: Final = re.compile(PROVINCE_CODE_PATTERN)
"""A citizen's 12 digits, a passport number, a tax code — a branch's with its one dash (0101234567-001)."""
_NOTHING: Final = Scope(units=frozenset(), label="nothing: a key for applicants made without --applicant-id")
_SHOWN: Final = 3  # the characters of an applicant's identity number a listing shows
_ROLE_SHOWN: Final = 40  # the characters of an unknown role an error quotes
_log = structlog.get_logger("motcua.http")
IN_FLIGHT_LEASE: Final = timedelta(seconds=60)
"""A claim with no response after this long is taken as abandoned (its server died): a retry runs again."""
RECORDS_KEPT: Final = timedelta(days=1)
"""How long an idempotency record is kept at least: a retry within it gets the first answer; older records are
deleted (:class:`RecordSweep`), and the same key then acts as a new request."""
SWEEP_EVERY: Final = timedelta(hours=1)
"""How often a server process deletes the records older than :data:`RECORDS_KEPT` (one indexed DELETE)."""
KEY_CACHE_TTL: Final = timedelta(seconds=5)
"""How long a server process trusts a key it verified without reading it again: a key revoked is refused by every
server at most this long after ``motcua apikey revoke`` (:class:`VerifiedKeys`)."""
KEY_CACHE_SIZE: Final = 4096
"""Keys a server process keeps verified at most (a province's calling programs are a few hundred)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key: never the key itself, only its salted hash. At most one of ``units`` (unit codes),
    ``province`` (a province code) and ``applicant`` (an applicant's identity number) is set: the scope."""

    key_id: str
    key_hash: str
    salt: str
    actor: str
    roles: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    units: tuple[str, ...] | None = None
    province: str | None = None
    applicant: str | None = None

    @property
    def principal(self) -> Actor:
        """The actor the key fires as: its roles but ``system``, which a key stored before keys refused it may hold."""
        return principal_of(self.actor, self.roles)

    def scope(self, units: UnitDirectory, on: date) -> Scope:
        """The cases this key may see on ``on``, with the province's units read from ``units``."""
        return scope_of(self.roles, units, on, units=self.units, province=self.province, applicant=self.applicant)

    @property
    def for_no_one(self) -> bool:
        """Whether this is a key with no staff role and no applicant (made before keys had scopes): it sees nothing."""
        return _for_no_one(self.roles, self.applicant)

    @property
    def scope_text(self) -> str:
        """The scope in one line, the applicant's identity number masked (its last 3 characters only)."""
        if self.applicant is not None:
            shown = self.applicant[-_SHOWN:] if len(self.applicant) > _SHOWN else ""
            return f"applicant ***{shown}"
        if self.province is not None:
            return f"province {self.province}"
        if self.units is not None:
            return f"units {', '.join(self.units)}"
        return "nothing (no --applicant-id: re-issue it)" if self.for_no_one else "every unit"


def principal_of(name: str, roles: Sequence[str]) -> Actor:
    """The actor a key or a console user acts as: its roles but ``system`` (motcua's own, never a person's)."""
    return Actor.of(name, *(role for role in roles if role != SYSTEM_ROLE))


def scope_of(
    roles: Sequence[str], directory: UnitDirectory, on: date, *, units: Sequence[str] | None = None,
    province: str | None = None, applicant: str | None = None,
) -> Scope:
    """The cases a key or a console user with these ``roles`` and this grant may see (the one rule for both): one
    applicant's own dossiers, a province's units (read from ``directory``), some units, else every unit — but
    nothing at all for an unscoped grant whose only role is ``applicant``. A unit or a province granted holds the
    cases of the units and provinces merged into it, from the day ``on`` that merger has taken effect
    (:meth:`UnitDirectory.held_by`): from 1 July 2025 Thành Đông's people see An Thượng's dossiers, Hải Phòng's those
    of Hải Dương's communes, ended before the merger included; not on 20 June, when An Thượng was still in force."""
    if applicant is not None:
        return Scope.of_applicant(applicant)
    if province is not None:
        return Scope.of_units(directory.province_codes(province, on), label=f"tỉnh/thành phố {province}")
    if units is not None:
        granted = unit_codes(units, "units")
        return Scope.of_units(directory.held_by(granted, on), label=", ".join(sorted(granted)))
    return _NOTHING if _for_no_one(roles, applicant) else EVERYTHING


def held_besides(
    directory: UnitDirectory, *, units: Sequence[str] | None = None, province: str | None = None,
) -> tuple[str, ...]:
    """The units whose cases a grant of ``units`` or ``province`` sees besides those it names, now or once a merger the
    register declares takes effect: the units and provinces merged into them (:func:`scope_of`), for the one line
    that tells whoever issues the grant."""
    if units is not None:
        return tuple(sorted(directory.held_by(units, date.max) - set(units)))
    if province is not None:
        own = {unit.code for unit in directory.register.province(province).units}
        return tuple(sorted(directory.province_codes(province, date.max) - own))
    return ()


def held_note(held: Sequence[str]) -> str:
    """"; also the dossiers of 4 unit(s) merged into it, each from its merger's effective day: …" (at most 10
    named), or nothing."""
    if not held:
        return ""
    named = ", ".join(held[:_HELD_NAMED]) + (f" and {len(held) - _HELD_NAMED} more" if len(held) > _HELD_NAMED else "")
    return f"; also the dossiers of {len(held)} unit(s) merged into it, each from its merger's effective day: {named}"


_HELD_NAMED: Final = 10


def _for_no_one(roles: Sequence[str], applicant: str | None) -> bool:
    return applicant is None and not set(roles) - {APPLICANT_ROLE, SYSTEM_ROLE}


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``secret_text`` is shown once, ``stored`` is what is kept."""

    secret_text: str
    stored: ApiKey


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: Mapping[str, str]
    body: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """The outcome of a claim: ``fresh`` (run the request), else the record found, maybe still in flight."""

    fresh: bool
    fingerprint: str = ""
    response: StoredResponse | None = None
    reserved: str | None = None  # what an abandoned first run noted it was creating


class ApiKeyStore(Protocol):
    def add_key(self, key: ApiKey) -> None: ...

    def key(self, key_id: str) -> ApiKey | None: ...

    def api_keys(self) -> Sequence[ApiKey]:
        """Every key (revoked ones included), oldest first."""
        ...

    def revoke(self, key_id: str, at: datetime) -> bool:
        """Mark a live key revoked; False when there is no such live key."""
        ...


class IdempotencyStore(Protocol):
    """Records claimed at an instant (``claimed_at``, the ``now`` of :meth:`claim`): the later calls name
    it, and do nothing when the claim was taken over meanwhile (a run slower than the lease is fenced off)."""

    def claim(self, scope: str, key: str, fingerprint: str, now: datetime) -> Claimed:
        """Insert an in-flight record, or return the one there. An abandoned claim of the same request
        (same fingerprint) is taken over: fresh, with what it reserved."""
        ...

    def reserve(self, scope: str, key: str, claimed_at: datetime, reserved: str) -> None:
        """Note on an in-flight claim what its action is about to create (kept if the claim is taken over)."""
        ...

    def complete(self, scope: str, key: str, claimed_at: datetime, response: StoredResponse) -> None: ...

    def release(self, scope: str, key: str, claimed_at: datetime) -> None:
        """Give a claim up after a server error: forgotten, or — when it reserved something — left for the
        next try to take over at once, reservation included."""
        ...


    def purge(self, before: datetime) -> int:
        """Delete the records claimed before ``before`` (answered, refused or abandoned); how many."""
        ...


@dataclass(slots=True)
class RecordSweep:
    """Deletes the idempotency records older than :data:`RECORDS_KEPT`, at most once every :data:`SWEEP_EVERY`:
    what keeps the table from growing without end. Each server process's claims call :meth:`after_claim`; a sweep
    twice in a row from two processes deletes nothing the second time. A sweep that fails (the database busy or
    away) is logged (``idempotency.sweep_failed``) and tried again an hour later: it is housekeeping, and never fails
    the request whose claim ran it (that claim would stay in flight, its retries refused as still running)."""

    records: IdempotencyStore
    every: timedelta = SWEEP_EVERY
    kept: timedelta = RECORDS_KEPT
    _next: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def after_claim(self, now: datetime) -> None:
        with self._lock:
            if self._next is not None and now < self._next:
                return
            self._next = now + self.every
        try:
            self.records.purge(now - self.kept)
        except MotcuaError as error:  # the store's errors, translated (StorageUnavailable, ConcurrencyConflict)
            _log.warning("idempotency.sweep_failed", error=type(error).__name__)


class HttpStore(ApiKeyStore, IdempotencyStore, Protocol):
    """Both ports on one database: what the HTTP API is given."""


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


@cache
def key_roles() -> frozenset[str]:
    """The roles a key may hold: those some workflow definition declares (its ``roles:``), but ``system``."""
    declared = (load_definition(path).roles for path in yaml_files(WORKFLOWS_DIR))
    return frozenset(role for roles in declared for role in roles) - {SYSTEM_ROLE}


def new_key(
    actor: str, roles: Sequence[str], now: datetime, *, units: Sequence[str] | None = None,
    province: str | None = None, applicant: str | None = None, home: str | None = None,
) -> NewKey:
    """A fresh random key for ``actor`` with ``roles``, scoped to ``units``, a ``province`` or one ``applicant``
    (none of them: every unit). ``home``: the server's home unit, taken as configured (:func:`check_grant`)."""
    if not actor.strip():
        raise InvalidInput("--actor", "an API key stands for a named actor")
    if (problem := line_problem(actor, NAME_MAX)) is not None:  # its decisions are sealed and listed under it
        raise InvalidInput("--actor", problem)
    if not roles or any(not role.strip() for role in roles):
        raise InvalidInput("--role", "give at least one role (officer, specialist, leader…)")
    chosen = check_grant(roles, units, province, applicant, home=home)
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
    name = unicodedata.normalize("NFC", actor.strip())  # the name its decisions are sealed under: NFC, as all text
    stored = ApiKey(key_id, _hash(salt, secret), salt, name, chosen, now,
                    units=None if units is None else tuple(dict.fromkeys(units)), province=province,
                    applicant=applicant)
    return NewKey(f"{KEY_PREFIX}_{key_id}_{secret}", stored)


def check_grant(
    roles: Sequence[str], units: Sequence[str] | None, province: str | None, applicant: str | None,
    *, known: frozenset[str] | None = None, home: str | None = None,
) -> tuple[str, ...]:
    """``roles`` without repeats, if they and the scope are a grant a key (or a console user) may hold: no
    ``system``, only the ``known`` roles (default: those the workflows declare), one scope of a valid shape — unit
    codes as the register writes them, or ``home``, the server's home unit as configured (``MOTCUA_AGENCY``): a
    standalone desk's code is in no register, and its dossiers are held under it as it is written."""
    if any(role.strip().casefold() == SYSTEM_ROLE for role in roles):
        raise InvalidInput("--role", "no key may hold the role system: it belongs to motcua's own processes (timers, "
                                     "imports, successions)")
    _check_declared(roles, key_roles() if known is None else known)
    chosen = tuple(dict.fromkeys(roles))
    _check_scope(chosen, units, province, applicant, home)
    return chosen


def _check_declared(roles: Sequence[str], known: frozenset[str]) -> None:
    for role in roles:
        if role not in known:
            shown = role if len(role) <= _ROLE_SHOWN else f"{role[:_ROLE_SHOWN]}…"
            raise InvalidInput("--role", f"unknown role {shown!r}: a key's roles are those the workflows declare "
                                         f"({', '.join(sorted(known))})")


def _check_scope(
    roles: tuple[str, ...], units: Sequence[str] | None, province: str | None, applicant: str | None,
    home: str | None = None,
) -> None:
    if sum(kind is not None for kind in (units, province, applicant)) > 1:
        raise InvalidInput("--unit", "a key has one scope: units, a province or an applicant, not several")
    if units is not None and not units:
        raise InvalidInput("--unit", "give at least one unit code")
    if units is not None and not all(_shaped(_UNIT_CODE, code) or code == home for code in units):
        raise InvalidInput("--unit", f"a unit code is 1 to {UNIT_CODE_MAX_LENGTH} capital letters, digits, dots and "
                                     "dashes (`motcua units list` shows them)")
    if province is not None and not _shaped(_PROVINCE_CODE, province):
        raise InvalidInput("--province", f"a province code is 1 to {UNIT_CODE_MAX_LENGTH} lowercase letters, digits "
                                         "and dashes (hai-phong)")
    problem = None if applicant is None else id_number_problem(applicant)
    if problem is not None:
        raise InvalidInput("--applicant-id", problem)
    if applicant is not None and roles != (APPLICANT_ROLE,):
        raise InvalidInput("--applicant-id", "a key acting for one applicant has the role applicant and no other")


def _shaped(pattern: re.Pattern[str], code: str) -> bool:
    """Whether ``code`` is one whole ``pattern`` of at most the length a code may have (never read in full)."""
    return len(code) <= UNIT_CODE_MAX_LENGTH and pattern.fullmatch(code) is not None


def authenticate(keys: ApiKeyStore, presented: str) -> ApiKey | None:
    """The live key ``presented`` is, or None (malformed, unknown, wrong secret or revoked)."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    stored = keys.key(key_id)
    if stored is None or stored.revoked_at is not None:
        return None
    return stored if hmac.compare_digest(_hash(stored.salt, secret), stored.key_hash) else None


class VerifiedKeys:
    """The keys a server process verified in the last ``ttl`` (:data:`KEY_CACHE_TTL`), so that a request with a key
    seen a moment ago costs no database read and no hash: :meth:`recent` answers from memory only, :meth:`verify`
    reads the store and remembers a live key it verified. What is remembered is the SHA-256 of the text presented,
    never the text; a refusal is never remembered (a key created a moment ago works at once, a wrong one is looked up
    every time, as before). A key revoked is refused once its entry is ``ttl`` old: revocation takes effect within
    ``ttl``. An entry from a clock's future (the clock was set back) is not trusted either. At most ``size`` entries:
    when full, all are forgotten and verified again."""

    def __init__(self, keys: ApiKeyStore, clock: Clock, *, ttl: timedelta = KEY_CACHE_TTL,
                 size: int = KEY_CACHE_SIZE) -> None:
        self._keys = keys
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._verified: dict[bytes, tuple[ApiKey, datetime]] = {}

    def recent(self, presented: str) -> ApiKey | None:
        """The key ``presented`` is, if it was verified less than ``ttl`` ago; None: ask :meth:`verify`."""
        entry = self._verified.get(hashlib.sha256(presented.encode()).digest())
        if entry is None:
            return None
        key, verified_at = entry
        return key if verified_at <= self._clock.now() < verified_at + self._ttl else None

    def verify(self, presented: str) -> ApiKey | None:
        """The live key ``presented`` is, read from the store (:func:`authenticate`), or None."""
        verified_at = self._clock.now()
        key = authenticate(self._keys, presented)
        if key is not None:
            if len(self._verified) >= self._size:
                self._verified.clear()
            self._verified[hashlib.sha256(presented.encode()).digest()] = (key, verified_at)
        return key


@dataclass(slots=True)
class _Record:
    fingerprint: str
    created_at: datetime
    response: StoredResponse | None = None
    reserved: str | None = None


@dataclass
class MemoryHttpStore:
    """Keys and idempotency records in memory, beside a ``memory://`` store."""

    _keys: dict[str, ApiKey] = field(default_factory=dict)
    _records: dict[tuple[str, str], _Record] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_key(self, key: ApiKey) -> None:
        with self._lock:
            self._keys[key.key_id] = key

    def key(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def api_keys(self) -> Sequence[ApiKey]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda key: key.created_at)

    def revoke(self, key_id: str, at: datetime) -> bool:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None or key.revoked_at is not None:
                return False
            self._keys[key_id] = replace(key, revoked_at=at)
            return True

    def claim(self, scope: str, key: str, fingerprint: str, now: datetime) -> Claimed:
        with self._lock:
            record = self._records.get((scope, key))
            if record is None:
                self._records[(scope, key)] = _Record(fingerprint, now)
                return Claimed(fresh=True)
            if _abandoned(record.response, record.created_at, now) and record.fingerprint == fingerprint:
                self._records[(scope, key)] = _Record(fingerprint, now, reserved=record.reserved)
                return Claimed(fresh=True, reserved=record.reserved)
            return Claimed(fresh=False, fingerprint=record.fingerprint, response=record.response)

    def reserve(self, scope: str, key: str, claimed_at: datetime, reserved: str) -> None:
        with self._lock:
            if (record := self._held(scope, key, claimed_at)) is not None:
                record.reserved = reserved

    def _held(self, scope: str, key: str, claimed_at: datetime) -> _Record | None:
        record = self._records.get((scope, key))
        return record if record is not None and record.created_at == claimed_at else None

    def complete(self, scope: str, key: str, claimed_at: datetime, response: StoredResponse) -> None:
        with self._lock:
            if (record := self._held(scope, key, claimed_at)) is not None:
                record.response = response

    def release(self, scope: str, key: str, claimed_at: datetime) -> None:
        with self._lock:
            if (record := self._held(scope, key, claimed_at)) is None:
                return
            if record.reserved is None:
                del self._records[(scope, key)]
            else:
                record.created_at = claimed_at - IN_FLIGHT_LEASE  # abandoned now: the next try takes it over


    def purge(self, before: datetime) -> int:
        with self._lock:
            old = [place for place, record in self._records.items() if record.created_at < before]
            for place in old:
                del self._records[place]
            return len(old)


def _abandoned(response: StoredResponse | None, created_at: datetime, now: datetime) -> bool:
    return response is None and created_at + IN_FLIGHT_LEASE <= now
