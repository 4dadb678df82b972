"""The console's users and sessions behave alike in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from motcua.adapters.backends import open_backend
from motcua.adapters.users import Session, User, UserStore

NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
LAN = User("lan", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", ("officer", "specialist"), NOW,
           units=("LOCAL-HD-AN-THUONG",))
OPS = User("ops", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", ("operator",), NOW)


@pytest.fixture
def users(url: str) -> Iterator[UserStore]:
    backend = open_backend(url)
    yield backend.users
    backend.close()


def _session(key: str, user: str = "lan", lifetime: timedelta = timedelta(hours=8)) -> Session:
    return Session(key, user, f"csrf-{key}", NOW, NOW + lifetime)


def test_users_are_stored_and_read_back_whole(users: UserStore) -> None:
    assert users.add_user(OPS) and users.add_user(LAN)
    assert not users.add_user(replace(LAN, roles=("leader",)))  # a name is taken once
    assert users.user("lan") == LAN and users.user("ops") == OPS and users.user("nobody") is None
    assert [user.name for user in users.users()] == ["lan", "ops"]
    users.add_user(User("tinh", "h", ("inspector",), NOW, province="hai-duong"))
    assert users.user("tinh").province == "hai-duong"  # type: ignore[union-attr]


def test_failures_and_lock_out_are_kept(users: UserStore) -> None:
    users.add_user(LAN)
    until = NOW + timedelta(minutes=15)
    users.set_failures("lan", 0, until)
    stored = users.user("lan")
    assert stored is not None and stored.locked_until == until and stored.locked(NOW)
    users.set_failures("lan", 2, None)
    assert users.user("lan").failures == 2 and users.user("lan").locked_until is None  # type: ignore[union-attr]


def test_a_guess_is_counted_then_locks_and_a_locked_user_counts_none(users: UserStore) -> None:
    users.add_user(LAN)
    until = NOW + timedelta(minutes=15)
    assert users.count_guess("lan", NOW, 3, until) and users.count_guess("lan", NOW, 3, until)
    assert users.user("lan").failures == 2  # type: ignore[union-attr]
    assert users.count_guess("lan", NOW, 3, until)  # the third is counted, and locks: the count starts afresh
    locked = users.user("lan")
    assert locked is not None and locked.failures == 0 and locked.locked_until == until
    assert not users.count_guess("lan", NOW + timedelta(minutes=1), 3, NOW + timedelta(hours=1))  # locked: none
    assert users.user("lan") == locked
    later = until + timedelta(seconds=1)  # the lock ran out: counting starts again
    assert users.count_guess("lan", later, 3, later + timedelta(minutes=15))
    assert users.user("lan").failures == 1  # type: ignore[union-attr]
    assert not users.count_guess("nobody", NOW, 3, until)


def test_guesses_sent_at_once_are_counted_one_by_one_and_no_more_than_allowed_pass(users: UserStore) -> None:
    users.add_user(LAN)
    until = NOW + timedelta(minutes=15)
    barrier = threading.Barrier(12)

    def guess() -> bool:
        barrier.wait()
        return users.count_guess("lan", NOW, 5, until)

    with ThreadPoolExecutor(12) as pool:
        counted = list(pool.map(lambda _: guess(), range(12)))
    assert counted.count(True) == 5  # the fifth locks: the seven after it are never checked
    assert users.user("lan").locked(NOW)  # type: ignore[union-attr]


def test_sessions_are_found_ended_and_purged(users: UserStore) -> None:
    users.add_user(LAN)
    users.add_session(_session("a"))
    users.add_session(_session("b", lifetime=timedelta(minutes=1)))
    assert users.session("a") == _session("a") and users.session("zzz") is None
    users.end_session("a")
    assert users.session("a") is None
    assert users.purge_sessions(NOW + timedelta(minutes=2)) == 1
    assert users.session("b") is None


def test_disabling_a_user_ends_their_sessions(users: UserStore) -> None:
    users.add_user(LAN)
    users.add_user(OPS)
    users.add_session(_session("a"))
    users.add_session(_session("o", user="ops"))
    assert users.disable("lan", NOW)
    assert not users.disable("lan", NOW) and not users.disable("nobody", NOW)
    assert users.user("lan").disabled_at == NOW  # type: ignore[union-attr]
    assert users.session("a") is None and users.session("o") is not None


def test_only_one_first_user_however_many_ask_at_once(url: str) -> None:
    """Six stores on the same database (six connections, as six processes) ask at once: one first user."""
    import threading  # noqa: PLC0415 - this test alone

    backends = [open_backend(url)]
    shared = not backends[0].durable  # memory:// is one process's: every thread shares it
    backends += [backends[0] if shared else open_backend(url) for _ in range(5)]
    start = threading.Barrier(len(backends))
    made: list[str] = []

    def ask(index: int) -> None:
        start.wait()
        if backends[index].users.add_first_user(replace(OPS, name=f"ops-{index}")):
            made.append(f"ops-{index}")

    try:
        threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(backends))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(made) == 1 and [user.name for user in backends[0].users.users()] == made
        assert backends[0].users.has_users()
        assert not backends[0].users.add_first_user(replace(OPS, name="late"))
    finally:
        for backend in {id(backend): backend for backend in backends}.values():
            backend.close()


def test_has_users_counts_disabled_ones(users: UserStore) -> None:
    assert not users.has_users()
    assert users.add_first_user(LAN) and users.has_users()
    users.disable("lan", NOW)
    assert users.has_users() and not users.add_first_user(OPS)
