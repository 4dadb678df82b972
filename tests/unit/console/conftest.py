"""Fixtures the console's unit tests share: the site they browse, and cheap password hashing for those that ask."""

from __future__ import annotations

import pytest

from motcua.adapters import users
from tests.unit.console.console_a import Site, cheap_passwords, site


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords hashed cheaply (the tests are not about Argon2's cost): ``pytestmark =
    pytest.mark.usefixtures("cheap_hashing")`` in a module whose every test signs in."""
    monkeypatch.setattr(users, "PASSWORDS", cheap_passwords())


@pytest.fixture
def office() -> Site:
    """The console's site on memory:// (:func:`site`)."""
    return site()
