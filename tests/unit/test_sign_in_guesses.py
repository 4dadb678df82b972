"""Guesses at a console password: counted before they are checked, so that guesses sent at once cannot outrun the
lock-out; a flood that finds every verification turn taken is refused "busy" without counting anything."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from motcua.adapters.users import (
    PASSWORDS,
    MemoryUserStore,
    Passwords,
    PasswordsBusy,
    SignInPolicy,
    User,
    sign_in,
)

NOW = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
RIGHT = "mat-khau-dung-42"
POLICY = SignInPolicy()  # 5 wrong passwords lock the user out for 15 minutes


@pytest.fixture
def store() -> MemoryUserStore:
    users = MemoryUserStore()
    users.add_user(User("lan", PASSWORDS.hash(RIGHT), ("officer",), NOW, units=("LOCAL-HD-AN-THUONG",)))
    return users


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords checked against the user's hash; each check slowed to widen the race, as Argon2's would."""
    seen: list[str] = []
    real = PASSWORDS.matches

    def matches(password_hash: str | None, password: str) -> bool:
        if password_hash is not None:
            seen.append(password)
        time.sleep(0.02)
        return real(password_hash, password)

    monkeypatch.setattr(PASSWORDS, "matches", matches)
    return seen


def test_guesses_sent_at_once_check_no_more_passwords_than_the_lock_out_allows(
    store: MemoryUserStore, checked: list[str]
) -> None:
    guesses = [f"sai-mat-khau-{n:03d}" for n in range(24)]
    barrier = threading.Barrier(len(guesses))

    def guess(password: str) -> User | None:
        barrier.wait()
        return sign_in(store, "lan", password, NOW, POLICY)

    with ThreadPoolExecutor(len(guesses)) as pool:
        answers = list(pool.map(guess, guesses))
    assert answers == [None] * len(guesses)
    assert len(checked) == POLICY.max_failures  # the 19 after the fifth were never checked
    user = store.user("lan")
    assert user is not None and user.locked(NOW)
    assert sign_in(store, "lan", RIGHT, NOW, POLICY) is None  # the right one, locked out: refused, not checked
    assert RIGHT not in checked


def test_the_right_password_among_the_first_guesses_signs_in_and_resets_the_count(
    store: MemoryUserStore, checked: list[str]
) -> None:
    for n in range(POLICY.max_failures - 1):
        assert sign_in(store, "lan", f"sai-{n}", NOW, POLICY) is None
    assert sign_in(store, "lan", RIGHT, NOW, POLICY) is not None  # the fifth guess is counted, and is the right one
    user = store.user("lan")
    assert user is not None and user.failures == 0 and user.locked_until is None


def test_a_flood_that_finds_every_turn_taken_is_busy_and_counts_nothing(
    store: MemoryUserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowded = Passwords(PASSWORDS.hasher, at_once=1, wait=0.01)
    monkeypatch.setattr("motcua.adapters.users.PASSWORDS", crowded)
    with crowded.turn():  # every turn held by another sign-in
        for _ in range(POLICY.max_failures + 1):
            with pytest.raises(PasswordsBusy):
                sign_in(store, "lan", "sai-mat-khau", NOW, POLICY)
    user = store.user("lan")
    assert user is not None and user.failures == 0 and not user.locked(NOW)
    assert sign_in(store, "lan", RIGHT, NOW, POLICY) is not None
