"""Fixtures the unit tests of several modules share."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk's home comes from MOTCUA_AGENCY: none (the demo's standalone code) unless a test sets one. A module
    of CLI tests run in an environment that may set it asks for this one with ``pytestmark``."""
    monkeypatch.delenv("MOTCUA_AGENCY", raising=False)
