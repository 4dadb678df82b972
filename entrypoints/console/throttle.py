"""Failed sign-ins counted per client address, beside the per-user lock-out.

The lock-out of :func:`~motcua.adapters.users.sign_in` stops guesses at one user; a guess at each of many users (one
common password tried on every name of a province, *password spraying*) locks none of them out. So the console also
counts the failed sign-ins of each client address: after ``limit`` of them within ``window`` of the address's first
one, the address's sign-ins are refused, without checking the password, until the window ends (``429``, with
``Retry-After``). Each sign-in is counted before its password is checked (the server verifies on a thread pool:
guesses sent at once would otherwise all pass before the first failure is written), and its count taken back when it
was never checked.

A failure is counted together with the name it was for, and when a name signs in from the address, the failures of
*that name* from there in the window are taken back with its own count: a mistyped password followed by the right one
is not spraying. A commune office puts its 20 to 40 officers behind one address; their typos of a morning would
otherwise add up and lock every desk out. Taking back a name's failures needs that name's password: an account of the
attacker's own takes back its own name's only, never the guesses at the others, which stay counted to the limit. A
name is the one the user store is asked for (the form's, spaces around it stripped), compared exactly as the store
compares it: ``Lan`` is not ``lan`` (they may be two users), a full-width or a zero-width variant is nobody.

The address is the one uvicorn gives the request: the peer's, or the client a trusted proxy names in
``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``). IPv6 addresses count by their /64 network, the block one machine is
usually given — those standing for an IPv4 address (mapped, NAT64, Teredo, 6to4) by that IPv4 address. The counts
are kept in the process's memory, at most ``capacity`` addresses (the least recently failed one is forgotten first),
each remembering the names of its latest ``names_kept`` failures (an older failure stays counted, but can no longer
be taken back); never written to a log: an address is personal data, and so is a name, kept only as a digest keyed by
a secret of the process's own (a copy of the memory cannot be matched against a list of names). With
``motcua serve --workers N`` each process counts on its own, and a success takes back only the failures its own
process counted (a typo and the right password may reach two processes: the typo then stays counted in its).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

__all__ = ["AddressThrottle", "address_key"]


@dataclass(frozen=True, slots=True)
class _Count:
    """An address's failures since its first of the window; the names of the latest (keyed digests, oldest first)."""

    since: datetime
    failures: int
    names: tuple[bytes, ...]


def address_key(host: str | None) -> str:
    """The key an address is counted under: an IPv6 address's /64 network, any other address as given (a client
    without an address — a test client, a Unix socket — is one key, ``""``)."""
    if not host:
        return ""
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        carried = _carried_ipv4(parsed)
        return str(carried) if carried is not None else str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: an IPv4 client on a dual-stack socket (::ffff:a.b.c.d), behind NAT64
    (64:ff9b::a.b.c.d), by Teredo (the client's, not its server's), or by 6to4 (2002:aabb:ccdd::/48: a /48 for each
    IPv4 address, 65,536 networks /64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return address.sixtofour


@dataclass
class AddressThrottle:
    """At most ``limit`` failed sign-ins from one address within ``window`` of its first, the failures of a name that
    signed in from there since taken back; at most ``capacity`` addresses, each remembering the names of its latest
    ``names_kept`` failures (see the module doc)."""

    limit: int = 20
    window: timedelta = timedelta(minutes=15)
    capacity: int = 10_000
    names_kept: int = 32
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), init=False, repr=False)
    _counts: OrderedDict[str, _Count] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def wait(self, host: str | None, now: datetime) -> timedelta | None:
        """How long sign-ins from ``host`` are still refused at ``now``; None when they are not."""
        key = address_key(host)
        with self._lock:
            count = self._current(key, now)
            if count is None or count.failures < self.limit:
                return None
            return count.since + self.window - now

    def attempt(self, host: str | None, name: str, now: datetime) -> timedelta | None:
        """A sign-in as ``name`` from ``host`` at ``now``, counted as failed *before* its password is checked, in one
        step with the check of the limit: sign-ins sent at once cannot all pass before the first of them is answered.
        The wait when refused (then not counted); None when it may go on — then :meth:`signed_in` if it succeeds,
        :meth:`take_back` if its password is not checked."""
        key, digest = address_key(host), self._digest(name)
        with self._lock:
            count = self._current(key, now)
            if count is not None and count.failures >= self.limit:
                return count.since + self.window - now
            self._count(key, digest, now, count)
            return None

    def take_back(self, host: str | None, name: str, now: datetime) -> None:
        """Uncount the :meth:`attempt` made as ``name`` at ``now`` from ``host``, its password never checked (no turn
        to verify it): that one count only."""
        self._uncount(address_key(host), self._digest(name), now, every=False)

    def signed_in(self, host: str | None, name: str, now: datetime) -> None:
        """The :meth:`attempt` made as ``name`` at ``now`` from ``host`` signed in: its count and the failures of the
        same name from there in the window are taken back (mistyped passwords, not guesses at other names). The
        failures of any other name stay counted."""
        self._uncount(address_key(host), self._digest(name), now, every=True)

    def failed(self, host: str | None, name: str, now: datetime) -> None:
        """Count a failed sign-in as ``name`` from ``host`` at ``now``."""
        key, digest = address_key(host), self._digest(name)
        with self._lock:
            self._count(key, digest, now, self._current(key, now))

    def _digest(self, name: str) -> bytes:
        """``name`` as kept: a digest keyed by this throttle's secret (never the name; not to be matched against a
        list of names without the secret), as exact as the store's look-up (``Lan`` is not ``lan``)."""
        return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), key=self._secret, digest_size=16).digest()

    def _count(self, key: str, digest: bytes, now: datetime, count: _Count | None) -> None:
        if count is None:
            self._counts[key] = _Count(now, 1, (digest,))
        else:
            names = (*count.names, digest)[-self.names_kept:]  # the oldest name forgotten: its failure still counted
            self._counts[key] = _Count(count.since, count.failures + 1, names)
        self._counts.move_to_end(key)
        while len(self._counts) > self.capacity:
            self._counts.popitem(last=False)

    def _uncount(self, key: str, digest: bytes, now: datetime, *, every: bool) -> None:
        """Take back the failures of ``digest`` at ``key`` (every one of them, or the latest), if counted in the
        window the attempt made at ``now`` was."""
        with self._lock:
            count = self._counts.get(key)
            if count is None or count.since > now:  # forgotten, or counted in a window that ended since
                return
            names = _without(count.names, digest, every=every)
            failures = count.failures - (len(count.names) - len(names))
            if failures <= 0:
                del self._counts[key]
            else:
                self._counts[key] = _Count(count.since, failures, names)

    def _current(self, key: str, now: datetime) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now >= count.since + self.window:
            del self._counts[key]
            return None
        return count


def _without(names: tuple[bytes, ...], digest: bytes, *, every: bool) -> tuple[bytes, ...]:
    """``names`` without ``digest``: every time it is there, or its latest time only."""
    if every:
        return tuple(name for name in names if name != digest)
    if digest not in names:
        return names
    latest = len(names) - 1 - names[::-1].index(digest)
    return names[:latest] + names[latest + 1:]
