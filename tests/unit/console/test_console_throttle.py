"""The console's per-address throttle of failed sign-ins (:mod:`motcua.entrypoints.console.throttle`): password
spraying from one address is stopped, an office at another address is not."""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient

from motcua.adapters import users
from motcua.adapters.users import VERIFYING_AT_ONCE, Passwords, SignInPolicy
from motcua.entrypoints.console.app import mount_console
from motcua.entrypoints.console.base import SESSION_COOKIE, Console
from motcua.entrypoints.console.throttle import AddressThrottle, address_key
from tests.unit.console.console_a import START, Site

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _from(office: Site, host: str) -> TestClient:
    return TestClient(office.app, follow_redirects=False, client=(host, 50000))


def test_one_address_guessing_at_many_names_is_throttled_not_the_others(office: Site, caplog: pytest.LogCaptureFixture,
                                                                        ) -> None:
    """Password spraying: one guess at each of many users locks none of them out; the address is stopped instead,
    the password not even checked — and an office at another address signs in as usual."""
    limit = SignInPolicy().address_failures
    for number in range(limit + 1):
        office.add_user(f"user{number}", ["officer"])
    sprayer = _from(office, "203.0.113.7")
    with caplog.at_level(logging.INFO):
        for number in range(limit):
            assert office.sign_in(sprayer, f"user{number}", "Mat-khau-pho-bien-1").status_code == 401
        stopped = office.sign_in(sprayer, f"user{limit}")  # the right password: refused all the same
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) == 15 * 60
    assert "quá nhiều lần đăng nhập không thành công từ địa chỉ này" in stopped.text
    assert "Hãy thử lại sau 15 phút" in stopped.text and SESSION_COOKIE not in stopped.cookies
    assert office.users.user(f"user{limit}").failures == 0  # not counted at the user: its password was not checked
    assert all(office.users.user(f"user{number}").failures == 1 for number in range(limit))
    assert "203.0.113.7" not in caplog.text  # an address is personal data: never logged
    assert office.sign_in(_from(office, "198.51.100.20"), f"user{limit}").status_code == 303
    office.clock.advance(SignInPolicy().lock_for)
    assert office.sign_in(sprayer, f"user{limit}").status_code == 303  # the window has ended


def test_an_ipv6_client_is_counted_by_its_64_network() -> None:
    throttle = AddressThrottle(limit=2)
    now = START
    throttle.failed("2001:db8:1:2::10", "lan", now)
    throttle.failed("2001:db8:1:2:ffff::99", "hung", now)  # another address of the same /64
    assert throttle.wait("2001:db8:1:2::abcd", now) == throttle.window
    assert throttle.wait("2001:db8:1:3::10", now) is None  # the next /64
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1" == address_key("192.0.2.1")
    assert address_key(None) == address_key("") == ""


def test_an_ipv6_address_carrying_an_ipv4_one_is_counted_by_that_ipv4_address() -> None:
    """6to4 gives the holder of one IPv4 address a /48 (65,536 networks /64: 65,536 times the limit); Teredo and the
    NAT64 prefix put many IPv4 clients in one /64 (one of them would throttle all). Each is its IPv4 address."""
    assert address_key("2002:c000:201:1::1") == address_key("2002:c000:201:ffff::2") == "192.0.2.1"
    assert address_key("2001:0:4136:e378:8000:63bf:3fff:fdd2") == "192.0.2.45"  # Teredo: the client, not its server
    assert address_key("2001:0:4136:e378:8000:63bf:3fff:fdd3") == "192.0.2.44"
    assert address_key("64:ff9b::192.0.2.7") == "192.0.2.7" != address_key("64:ff9b::192.0.2.8")


def test_sign_ins_sent_at_once_from_one_address_are_checked_no_more_than_its_limit(office: Site) -> None:
    """The server verifies on a thread pool: guesses that all arrive before the first is answered must not all pass
    the throttle (each counted only once refused let a flood through, the limit checked against failures written
    later); each is counted before its password is checked, as the per-user lock-out counts."""
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=3))
    app = FastAPI()
    mount_console(app, console)
    browsers = [TestClient(app, follow_redirects=False, client=("192.0.2.50", 50000 + n)) for n in range(10)]
    forms = [browser.get("/console/sign-in") for browser in browsers]
    tokens = [re.search(r'name="signin_token" value="([^"]+)"', form.text)[1] for form in forms]  # type: ignore[index]
    answers: list[int] = []

    def guess(browser: TestClient, token: str, number: int) -> None:
        answers.append(browser.post("/console/sign-in", data={
            "name": f"user{number}", "password": "Mat-khau-pho-bien-1", "signin_token": token}).status_code)

    with ExitStack() as held:
        for _ in range(VERIFYING_AT_ONCE):  # every turn to verify taken: the guesses wait, all in flight
            held.enter_context(users.PASSWORDS.turn())
        threads = [threading.Thread(target=guess, args=(browser, token, n))
                   for n, (browser, token) in enumerate(zip(browsers, tokens, strict=True))]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [401] * 3 + [429] * 7


def test_a_sign_in_answered_busy_is_not_counted_at_its_address(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """No turn to verify the password came: no guess was made, so its count is taken back."""
    monkeypatch.setattr(users, "PASSWORDS", Passwords(PasswordHasher.from_parameters(CHEAPEST), wait=0.1))
    office.add_user("lan", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=1))
    app = FastAPI()
    mount_console(app, console)
    client = TestClient(app, follow_redirects=False, client=("192.0.2.60", 50000))
    with ExitStack() as held:
        for _ in range(VERIFYING_AT_ONCE):
            held.enter_context(users.PASSWORDS.turn())
        assert office.sign_in(client, "lan", "wrong-password!").status_code == 503
    assert office.sign_in(client, "lan").status_code == 303  # the busy answer was not its one failure


def test_the_throttle_forgets_the_least_recently_failed_address_past_its_capacity() -> None:
    throttle = AddressThrottle(limit=1, capacity=2)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        throttle.failed(host, "lan", START)
    assert throttle.wait("192.0.2.1", START) is None  # forgotten
    assert throttle.wait("192.0.2.2", START) is not None and throttle.wait("192.0.2.3", START) is not None


# -- failures counted with their name: a name that signs in takes its own back ---------------------------------------

OFFICE = "203.0.113.30"  # a commune office: every desk behind one NAT address


def _policed(office: Site, limit: int, host: str = OFFICE) -> TestClient:
    """A browser at ``host`` of a console whose address limit is ``limit``."""
    app = FastAPI()
    mount_console(app, Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=limit)))
    return TestClient(app, follow_redirects=False, client=(host, 50000))


def test_an_office_behind_one_address_whose_users_mistype_then_sign_in_is_never_throttled(
        office: Site, caplog: pytest.LogCaptureFixture) -> None:
    """40 officers behind one address, each mistyping once or twice before signing in: 60 failures in a morning,
    three times the limit, and nobody is refused — a typo followed by the right password is not spraying."""
    limit = SignInPolicy().address_failures
    desks, mistyped = _from(office, OFFICE), 0
    with caplog.at_level(logging.INFO):
        for number in range(40):
            office.add_user(f"can-bo{number}", ["officer"])
            for _ in range(1 + number % 2):
                assert office.sign_in(desks, f"can-bo{number}", "mat-khau-go-nham").status_code == 401
                mistyped += 1
            assert office.sign_in(desks, f"can-bo{number}").status_code == 303
            office.clock.advance(timedelta(seconds=10))  # all within one window
    assert mistyped == 60 > 2 * limit
    assert "can-bo" not in caplog.text and OFFICE not in caplog.text  # neither the name nor the address logged


def test_an_account_of_the_sprayers_own_takes_back_its_own_failures_only(office: Site) -> None:
    """Signing in to an account of one's own between guesses at other names takes back the failures of that one
    name: the guesses at the others stay counted, and the address is stopped at the limit as before."""
    office.add_user("own", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=3))
    assert console.throttle.limit == 3 and console.throttle.window == SignInPolicy().lock_for  # the policy's
    client = _policed(office, limit=3)
    assert office.sign_in(client, "nobody1", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 303  # takes back the failure of "own" — not of "nobody1"
    assert office.sign_in(client, "nobody2", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 303
    assert office.sign_in(client, "nobody3", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 429  # three guesses at names that never signed in


def test_a_name_is_the_one_the_store_looks_up_not_a_variant_of_it(office: Site) -> None:
    """The store knows a name exactly as typed (``Lan`` and ``lan`` may be two users; a full-width ``ｌａｎ`` or one
    with a zero-width space is nobody): a success as ``lan`` takes back none of the guesses at its variants. Spaces
    around a name are not part of it (the form strips them before the store is asked)."""
    office.add_user("lan", ["officer"])
    office.add_user("Lan", ["officer"])
    client = _policed(office, limit=6)
    assert office.sign_in(client, " lan ", "wrong-password!").status_code == 401  # "lan" itself: taken back below
    for variant in ("Lan", "LAN", "ｌａｎ", "lan\u200b"):
        assert office.sign_in(client, variant, "wrong-password!").status_code == 401
    assert office.sign_in(client, "lan").status_code == 303  # four guesses at other names left: two to the limit
    for other in ("nobody1", "nobody2"):
        assert office.sign_in(client, other, "wrong-password!").status_code == 401
    assert office.sign_in(client, "lan").status_code == 429


def test_a_success_takes_back_the_failures_of_its_name_only() -> None:
    throttle = AddressThrottle(limit=4)
    for name in ("lan", "hung", "lan"):
        assert throttle.attempt(OFFICE, name, START) is None  # counted; its password then found wrong
    assert throttle.attempt(OFFICE, "lan", START) is None
    throttle.signed_in(OFFICE, "lan", START)  # both failures of "lan" and its own count taken back: "hung" stays
    for name in ("mai", "tuan", "binh"):
        assert throttle.attempt(OFFICE, name, START) is None
    assert throttle.attempt(OFFICE, "lan", START) == throttle.window  # 1 + 3 failures: the limit
    assert throttle.wait("198.51.100.1", START) is None  # another address counts on its own


def test_a_name_whose_failures_were_taken_back_counts_again_when_it_fails() -> None:
    """A success is no pass for its name: its later failures count toward the limit as any other."""
    throttle = AddressThrottle(limit=3)
    throttle.failed(OFFICE, "lan", START)
    assert throttle.attempt(OFFICE, "lan", START) is None
    throttle.signed_in(OFFICE, "lan", START)
    assert throttle.wait(OFFICE, START) is None
    for _ in range(3):
        assert throttle.attempt(OFFICE, "lan", START) is None
    assert throttle.wait(OFFICE, START) == throttle.window


def test_an_attempt_never_checked_takes_back_one_count_of_its_name() -> None:
    throttle = AddressThrottle(limit=3)
    throttle.failed(OFFICE, "lan", START)
    throttle.failed(OFFICE, "hung", START)
    assert throttle.attempt(OFFICE, "lan", START) is None
    throttle.take_back(OFFICE, "lan", START)  # answered busy: this attempt only, not the failure of "lan" before it
    assert throttle.attempt(OFFICE, "mai", START) is None
    assert throttle.wait(OFFICE, START) == throttle.window


def test_a_success_whose_window_ended_takes_back_nothing_of_the_next() -> None:
    """A sign-in counted in a window that ended while its password was checked: the failures of the next window,
    made after it began, are not its to take back."""
    throttle = AddressThrottle(limit=2)
    throttle.failed(OFFICE, "hung", START)
    later = START + throttle.window - timedelta(seconds=1)
    assert throttle.attempt(OFFICE, "lan", later) is None
    throttle.failed(OFFICE, "lan", later + timedelta(seconds=2))  # a new window, its first failure
    throttle.failed(OFFICE, "lan", later + timedelta(seconds=3))
    throttle.signed_in(OFFICE, "lan", later)
    assert throttle.wait(OFFICE, later + timedelta(seconds=3)) is not None


def test_guesses_sent_at_once_pass_no_more_than_the_limit_while_an_own_account_signs_in_over_and_over() -> None:
    """Threads spraying names while another signs in to an account of the attacker's own as fast as it can: no
    more guesses pass than the limit (each counted before it is checked; a success takes back its own name only)."""
    throttle = AddressThrottle(limit=5)
    passed: list[str] = []
    start = threading.Barrier(9)

    def spray(thread: int) -> None:
        start.wait()
        for number in range(200):
            if throttle.attempt(OFFICE, f"victim{thread}-{number}", START) is None:
                passed.append(f"victim{thread}-{number}")  # its password then found wrong: stays counted

    def own() -> None:
        start.wait()
        for _ in range(500):
            if throttle.attempt(OFFICE, "own", START) is None:
                throttle.signed_in(OFFICE, "own", START)

    threads = [threading.Thread(target=spray, args=(n,)) for n in range(8)] + [threading.Thread(target=own)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert 0 < len(passed) <= 5


def test_an_address_remembers_the_names_of_its_latest_failures_only() -> None:
    """At most ``names_kept`` failures of an address are remembered with their name (the latest): an older one stays
    counted but can no longer be taken back — the memory an address takes is bounded whatever the limit."""
    throttle = AddressThrottle(limit=6, names_kept=4)
    throttle.failed(OFFICE, "lan", START)  # forgotten by name after the next four
    for name in ("hung", "mai", "tuan", "binh"):
        throttle.failed(OFFICE, name, START)
    assert throttle.attempt(OFFICE, "lan", START) is None
    throttle.signed_in(OFFICE, "lan", START)  # its own count only: its first failure is no longer known by name
    assert throttle.wait(OFFICE, START) is None
    throttle.failed(OFFICE, "nobody", START)
    assert throttle.wait(OFFICE, START) == throttle.window


def test_names_are_kept_as_keyed_digests_never_in_clear() -> None:
    """A name is personal data too: the throttle keeps a digest keyed by a secret of its own process, not the name
    (a dump of its memory cannot be matched against a list of names)."""
    throttle = AddressThrottle()
    throttle.failed(OFFICE, "nguyen.van.lan", START)
    throttle.failed(OFFICE, "\ud800lan", START)  # a lone surrogate, as a form may carry: no error
    kept = repr(vars(throttle))
    assert "nguyen" not in kept and "lan" not in kept
    assert AddressThrottle().wait(OFFICE, START) is None
