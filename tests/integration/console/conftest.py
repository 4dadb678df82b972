"""The console's site on each backend the ``url`` fixture gives (memory, an SQLite file, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from motcua.adapters import users
from tests.unit.console.console_a import Site, cheap_passwords, site


@pytest.fixture
def office(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A console over ``url``, passwords hashed cheaply (the tests are not about Argon2's cost)."""
    monkeypatch.setattr(users, "PASSWORDS", cheap_passwords())
    built = site(url)
    yield built
    built.motcua.close()
