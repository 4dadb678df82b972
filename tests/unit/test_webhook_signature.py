"""``verify_signature`` runs on a receiver before it trusts anything of a request: whatever the headers hold, it
answers False, never raises (a raise there is a 500 an unauthenticated caller can cause at will)."""

from __future__ import annotations

import time

import pytest

from motcua.adapters.notifiers import verify_signature

SECRET = b"khoa-bi-mat-cua-xa"


NOW = str(int(time.time()))  # read once: a test's id must be the same in every process collecting it (xdist)


@pytest.mark.parametrize(("timestamp", "signature"), [
    pytest.param("9" * 5000, "sha256=00", id="5000-digits"),  # more digits than int() converts
    pytest.param("1" * 4301, "sha256=00", id="4301-digits"),
    pytest.param("0" * 100_000, "sha256=00", id="100000-zeros"),
    pytest.param(NOW, "sha256=\udc80", id="now-surrogate"),  # a header decoded with surrogateescape
    pytest.param(NOW, "sha256=é", id="now-latin"),
])
def test_a_hostile_header_is_refused_not_raised(timestamp: str, signature: str) -> None:
    assert verify_signature(SECRET, timestamp, b"{}", signature, time.time()) is False
