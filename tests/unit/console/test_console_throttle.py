"""The console's per-address throttle of failed sign-ins (:mod:`motcua.entrypoints.console.throttle`): password
spraying from one address is stopped, an office at another address is not."""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import ExitStack

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
    throttle.failed("2001:db8:1:2::10", now)
    throttle.failed("2001:db8:1:2:ffff::99", now)  # another address of the same /64
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


def test_a_success_does_not_clear_the_address_count(office: Site) -> None:
    """An account of the attacker's own, signed into now and then, must not reset the count; the limit is the
    policy's (MOTCUA_CONSOLE_ADDRESS_FAILURES), the window its lock-out's."""
    office.add_user("own", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=3))
    assert console.throttle.limit == 3 and console.throttle.window == SignInPolicy().lock_for
    app = FastAPI()
    mount_console(app, console)
    client = TestClient(app, follow_redirects=False, client=("192.0.2.9", 50000))
    for _ in range(2):
        assert office.sign_in(client, "own", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 303  # a success in between …
    assert office.sign_in(client, "nobody", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 429  # … did not reset the count: three failures


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
        throttle.failed(host, START)
    assert throttle.wait("192.0.2.1", START) is None  # forgotten
    assert throttle.wait("192.0.2.2", START) is not None and throttle.wait("192.0.2.3", START) is not None
