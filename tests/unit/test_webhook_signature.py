"""``verify_signature`` runs on a receiver before it trusts anything of a request: whatever the headers hold, it
answers False, never raises (a raise there is a 500 an unauthenticated caller can cause at will)."""

from __future__ import annotations

import time

import pytest

from motcua.adapters.notifiers import verify_signature

SECRET = b"khoa-bi-mat-cua-xa"


@pytest.mark.parametrize(("timestamp", "signature"), [
    ("9" * 5000, "sha256=00"),  # more digits than int() converts
    ("1" * 4301, "sha256=00"),
    ("0" * 100_000, "sha256=00"),
    (str(int(time.time())), "sha256=\udc80"),  # a header decoded with surrogateescape
    (str(int(time.time())), "sha256=é"),
])
def test_a_hostile_header_is_refused_not_raised(timestamp: str, signature: str) -> None:
    assert verify_signature(SECRET, timestamp, b"{}", signature, time.time()) is False
