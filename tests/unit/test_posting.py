""":func:`motcua.adapters.posting.post` against a real socket: an answer compressed (nested gzip: a few kilobytes that
inflate to gigabytes) is inflated to the bytes asked for and no further, within the deadline."""

from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from contextlib import AbstractContextManager

from motcua.adapters.posting import post
from tests.servers import read_request, tcp_server

LIMIT = 64 * 1024


def _answer(body: bytes, encoding: str) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def _serving(body: bytes, encoding: str, asked: list[bytes]) -> AbstractContextManager[int]:
    def handle(connection: socket.socket) -> None:
        asked.append(read_request(connection))
        connection.sendall(_answer(body, encoding))

    return tcp_server(handle)


def _bomb() -> bytes:
    """128 MiB of spaces, gzipped twice: a few hundred bytes on the wire."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    once = b"".join(inner.compress(chunk) for _ in range(128)) + inner.flush()
    return gzip.compress(once, 9)


def test_a_compressed_answer_is_inflated_no_further_than_asked() -> None:
    bomb, asked = _bomb(), []
    assert len(bomb) < 100_000
    with _serving(bomb, "gzip", asked) as port:
        started = time.monotonic()
        answer = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=10, read=LIMIT)
        took = time.monotonic() - started
    assert answer.status == 200 and len(answer.body) == LIMIT  # the outer layer inflated, to the limit
    assert answer.body[:2] == b"\x1f\x8b"  # the inner layer left as it came: the caller finds it no JSON
    assert took < 10
    assert b"accept-encoding: identity" in asked[0].lower()  # and it asked for none
    with _serving(bomb, "gzip, gzip", asked) as port:  # two layers named: httpx had inflated both, all of them
        stacked = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=10, read=LIMIT)
    assert stacked.body == bomb  # read as it came


def test_a_gzip_answer_within_the_limit_is_read_whole() -> None:
    document, asked = json.dumps({"error_code": "0", "message": "Thành công"}).encode(), []
    with _serving(gzip.compress(document), "gzip", asked) as port:
        answer = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=10, read=LIMIT)
    assert answer.body == document


def test_an_encoding_not_read_or_a_broken_one_is_handed_on_as_it_came() -> None:
    asked: list[bytes] = []
    with _serving(b"\x1f\x8bnot gzip at all", "gzip", asked) as port:
        broken = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=10, read=LIMIT)
    with _serving(b"{}", "br", asked) as port:
        brotli = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=10, read=LIMIT)
    assert broken.body == b"" and brotli.body == b"{}"
