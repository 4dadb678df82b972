"""One HTTP POST bounded in time and in size: what the webhook notifier and the DVCQG portal's transport send.

httpx's timeouts bound each phase of an exchange (connecting, each read, each write), not the exchange: a receiver
that drips its answer a byte at a time, each byte within the timeout, held a delivery (and, in ``motcua serve``, the
dispatcher's thread) for hours. :func:`post` ends the whole exchange — connecting, sending, the answer's headers and
the part of its body it reads — within ``timeout`` seconds, else raises ``httpx.ReadTimeout``; it reads at most
``read`` bytes of the body and never asks for the rest (it reads the wait a ``Retry-After`` header asks for too).
One connection per POST: nothing to close, and safe across worker forks. The exchange runs on an event loop of its
own: a caller's thread has none. That loop is closed without waiting for its threads: the receiver's name is resolved
on one, and a resolver that hangs (its DNS away: seconds per try, per server) would hold the caller past the deadline
(:func:`asyncio.run` waits for them); it ends on its own.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["Answer", "post", "retry_after"]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # the HTTP status
    reason: str  # its reason phrase, as the receiver wrote it
    body: bytes  # the first bytes of the body, as many as were asked for
    retry_after: timedelta | None = None  # the wait its Retry-After header asks for (:func:`retry_after`)


_RETRY_AFTER_LONGEST = 40  # characters of a Retry-After header read: an HTTP-date is 29
_RETRY_AFTER_DIGITS = 10  # digits of a Retry-After in seconds: 300 years; the retry policy caps what it asks anyway
_ASCTIME = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}", re.ASCII)  # RFC 9110 §5.6.7


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (RFC 9110 §10.2.3): whole seconds, or an HTTP-date in any of its
    three forms (0 when it is gone by); None when there is none, or it is neither (a longer value is not read)."""
    text = (value or "").strip()
    if not text or len(text) > _RETRY_AFTER_LONGEST:
        return None
    if text.isascii() and text.isdigit():
        return timedelta(seconds=int(text)) if len(text) <= _RETRY_AFTER_DIGITS else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # no zone: an HTTP-date only in asctime's form, in GMT ("-0000" is not one)
        if not _ASCTIME.fullmatch(text):
            return None
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - now)


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, read: int = 0) -> Answer:
    """POST ``body`` to ``url``; the answer's status and up to ``read`` bytes of its body, all within ``timeout``
    seconds. httpx's errors are raised as they are (``httpx.TimeoutException`` for a timeout, the whole exchange's
    included)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_within(url, body, dict(headers), timeout, read))
    finally:
        _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` as :func:`asyncio.run` does (its tasks cancelled, its generators closed), but leave its threads
    to end on their own: ``close`` shuts its executor down without waiting."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


async def _within(url: str, body: bytes, headers: dict[str, str], timeout: float, read: int) -> Answer:
    try:
        async with asyncio.timeout(timeout):
            return await _exchange(url, body, headers, timeout, read)
    except TimeoutError as error:  # the deadline of the whole exchange
        raise httpx.ReadTimeout(f"the exchange took longer than {timeout}s") from error


async def _exchange(url: str, body: bytes, headers: dict[str, str], timeout: float, read: int) -> Answer:
    asked_for = {"Accept-Encoding": "identity", **headers}  # an answer as it is: nothing to inflate
    async with httpx.AsyncClient(timeout=timeout) as client, \
            client.stream("POST", url, content=body, headers=asked_for) as response:
        asked = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        return Answer(response.status_code, response.reason_phrase, await _first(response, read), asked)


async def _first(response: httpx.Response, limit: int) -> bytes:
    """The first ``limit`` bytes of the answer's body (none asked for when ``limit`` is 0), inflated when it is gzip or
    deflate — at most ``limit`` bytes of it, however far the receiver's bytes would expand (httpx inflates all it
    reads, on the loop, beyond any deadline: a few kilobytes of nested gzip are gigabytes). Any other encoding, or two
    stacked, is read as it came: the caller finds it malformed."""
    body = bytearray()
    if limit <= 0:
        return b""
    inflate = _inflater(response.headers.get("content-encoding", ""))
    try:
        async for chunk in response.aiter_raw():
            body += inflate.decompress(chunk, limit - len(body)) if inflate is not None else chunk
            if len(body) >= limit:
                break
    except zlib.error:  # not what its header says: what was inflated so far, which the caller finds malformed
        pass
    return bytes(body[:limit])


def _inflater(encoding: str) -> zlib._Decompress | None:
    """What inflates one ``Content-Encoding`` layer (``None``: the body is read as it came)."""
    name = encoding.strip().lower()
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.decompressobj()
    return None
