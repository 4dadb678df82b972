"""Deliver effects by HTTP POST to a receiver that checks an HMAC signature.

The request body is the effect as JSON (UTF-8, not ASCII-escaped)::

    {"id": 42, "idempotency_key": "motcua-effect-42", "case": "000.00.06.H56-231027-0361", "kind": "notify",
     "payload": {...}, "attempt": 1}

with these headers:

``X-Motcua-Timestamp``
    Unix seconds when the request was signed.
``X-Motcua-Signature``
    ``sha256=`` and the hex HMAC-SHA256, keyed by the shared secret, of ``<timestamp>.<body>``
    (the timestamp's ASCII digits, a dot, then the raw body bytes).
``Idempotency-Key``
    ``motcua-effect-<id>`` (:func:`~motcua.adapters.notifiers.identity.effect_key`, also ``idempotency_key`` in
    the body): the same on every attempt to deliver one effect, so a receiver can drop repeats.

A receiver checks the request with :func:`verify_signature` before trusting it. Its answer is read by its status
and its ``Retry-After`` header (the body is not read), all within the timeout (:func:`motcua.adapters.posting.post`:
an answer dripped byte by byte holds nothing longer). A 2xx answer means delivered; 408, 429, 5xx, timeouts and
connection errors are worth retrying (not sooner than a ``Retry-After`` asks); any other answer is final. Each
delivery opens its own connection: nothing to close, and safe across worker forks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from http import HTTPStatus

import httpx

from motcua.adapters.notifiers.identity import effect_key
from motcua.adapters.posting import Answer, post
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.errors import DeliveryFailed, DeliveryUnavailable, delivery_failure

__all__ = ["WebhookNotifier", "signed_headers", "verify_signature"]

_SIGNATURE_PREFIX = "sha256="
_RETRYABLE_STATUSES = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
_TIMESTAMP_DIGITS = 20  # more than Unix seconds will need: a longer header is refused before int() reads it


def _sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Motcua-Signature`` value for a body sent at ``timestamp`` (as written in the header)."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def signed_headers(secret: bytes, body: bytes, idempotency_key: str) -> dict[str, str]:
    """The headers of a signed motcua webhook request carrying ``body`` (the contract in this module's docstring):
    every motcua webhook — effects, audit anchors — is signed here."""
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Motcua-Timestamp": timestamp,
        "X-Motcua-Signature": _sign(secret, timestamp, body),
        "Idempotency-Key": idempotency_key,
    }


def verify_signature(
    secret: bytes, timestamp: str | int, body: bytes, signature: str, now: float, *, tolerance: int = 300
) -> bool:
    """Whether a webhook request is authentic and fresh. For receivers.

    ``timestamp`` and ``signature`` are the ``X-Motcua-Timestamp`` and ``X-Motcua-Signature``
    headers, ``body`` the raw request body (before any JSON parsing), ``now`` the receiver's Unix
    time. False when the timestamp is not a number or is more than ``tolerance`` seconds away from
    ``now`` (a replayed request), or when the signature does not match; compared in constant time. Never raises for
    what a request holds: a hostile header is answered False like any other.
    """
    text = str(timestamp)
    if not (len(text) <= _TIMESTAMP_DIGITS and text.isascii() and text.isdigit()) or abs(now - int(text)) > tolerance:
        return False
    if not signature.isascii():  # a signature is ASCII hex: anything else cannot match
        return False
    expected = _sign(secret, text, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))


class WebhookNotifier:
    """POSTs each effect to ``url`` as signed JSON (the contract is in this module's docstring)."""

    channel = "webhook"  # its name in a fan-out

    def __init__(self, url: str, secret: bytes, timeout: float = 10) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def deliver(self, item: OutboxItem) -> None:
        try:
            body = _body(item)
        except (TypeError, ValueError) as error:
            raise DeliveryFailed(item.kind, f"webhook: payload is not JSON: {error}") from error
        headers = signed_headers(self.secret, body, effect_key(item))
        try:
            answer = post(self.url, body, headers, timeout=self.timeout)  # status, Retry-After: no body is read
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as error:
            raise DeliveryFailed(item.kind, f"webhook: {error}") from error
        except httpx.TimeoutException as error:
            raise DeliveryUnavailable(item.kind, f"webhook: timed out after {self.timeout}s") from error
        except httpx.RequestError as error:
            raise DeliveryUnavailable(item.kind, f"webhook: {type(error).__name__}: {error}") from error
        _check(item, answer)


def _body(item: OutboxItem) -> bytes:
    document = {
        "id": item.id, "idempotency_key": effect_key(item), "case": item.case_code, "kind": item.kind,
        "payload": item.payload, "attempt": item.attempts + 1,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode("utf-8")


def _json_default(value: object) -> object:
    """Payloads hold JSON values, but may arrive as read-only mappings or tuples."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, tuple | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _check(item: OutboxItem, answer: Answer) -> None:
    status = answer.status
    if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        return
    retryable = status in _RETRYABLE_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR
    raise delivery_failure(item.kind, f"webhook: HTTP {status} {answer.reason}".rstrip(), transient=retryable,
                           retry_after=answer.retry_after)
