"""Failed sign-ins counted per client address, beside the per-user lock-out.

The lock-out of :func:`~motcua.adapters.users.sign_in` stops guesses at one user; a guess at each of many users (one
common password tried on every name of a province, *password spraying*) locks none of them out. So the console also
counts the failed sign-ins of each client address: after ``limit`` of them within ``window`` of the address's first
one, the address's sign-ins are refused, without checking the password, until the window ends (``429``, with
``Retry-After``). Each sign-in is counted before its password is checked (the server verifies on a thread pool:
guesses sent at once would otherwise all pass before the first failure is written), and its count taken back when it
succeeds or was never checked. A success does not clear the count (an account of the attacker's own would otherwise
reset it).

The address is the one uvicorn gives the request: the peer's, or the client a trusted proxy names in
``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``). IPv6 addresses count by their /64 network, the block one machine is
usually given — those standing for an IPv4 address (mapped, NAT64, Teredo, 6to4) by that IPv4 address. The counts
are kept in the process's memory, at most ``capacity`` addresses (the least recently failed one is forgotten first),
and never written to a log: an address is personal data. With ``motcua serve --workers N``
each process counts on its own.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

__all__ = ["AddressThrottle", "address_key"]


@dataclass(frozen=True, slots=True)
class _Count:
    since: datetime
    failures: int


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
    """At most ``limit`` failed sign-ins from one address within ``window`` of its first (see the module doc)."""

    limit: int = 20
    window: timedelta = timedelta(minutes=15)
    capacity: int = 10_000
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

    def attempt(self, host: str | None, now: datetime) -> timedelta | None:
        """A sign-in from ``host`` at ``now``, counted as failed *before* its password is checked, in one step with
        the check of the limit: sign-ins sent at once cannot all pass before the first of them is answered. The wait
        when refused (then not counted); None when it may go on — :meth:`take_back` its count if it succeeds."""
        key = address_key(host)
        with self._lock:
            count = self._current(key, now)
            if count is not None and count.failures >= self.limit:
                return count.since + self.window - now
            self._count(key, now, count)
            return None

    def take_back(self, host: str | None, now: datetime) -> None:
        """Uncount the :meth:`attempt` made at ``now`` from ``host``: it signed in, or its password was never checked
        (no turn to verify it). A success takes back its own count only, never the failures before it."""
        key = address_key(host)
        with self._lock:
            count = self._counts.get(key)
            if count is None or count.since > now:  # forgotten, or counted in a window that ended since
                return
            if count.failures <= 1:
                del self._counts[key]
            else:
                self._counts[key] = _Count(count.since, count.failures - 1)

    def failed(self, host: str | None, now: datetime) -> None:
        """Count a failed sign-in from ``host`` at ``now``."""
        key = address_key(host)
        with self._lock:
            self._count(key, now, self._current(key, now))

    def _count(self, key: str, now: datetime, count: _Count | None) -> None:
        self._counts[key] = _Count(now, 1) if count is None else _Count(count.since, count.failures + 1)
        self._counts.move_to_end(key)
        while len(self._counts) > self.capacity:
            self._counts.popitem(last=False)

    def _current(self, key: str, now: datetime) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now >= count.since + self.window:
            del self._counts[key]
            return None
        return count
