"""The benchmarks' HTTP/1.1 client against a scripted server on a real socket: what it sends, what it reads, what it
refuses. A benchmark whose client misread an answer would measure something else."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from bench._client import ClientError, KeepAlive
from tests.servers import read_request, tcp_server


@contextmanager
def scripted(answers: Sequence[Sequence[bytes]]) -> Iterator[tuple[int, list[bytes]]]:
    """A server that reads one request per entry of ``answers`` on a connection and writes that entry's pieces one
    by one (an answer split over several TCP writes); yields its port and the requests it received."""
    received: list[bytes] = []

    def answer(connection: socket.socket) -> None:
        for pieces in answers:
            received.append(read_request(connection))
            for piece in pieces:
                connection.sendall(piece)

    with tcp_server(answer) as port:
        yield port, received


def test_two_answers_are_read_whole_on_one_connection_each_as_the_server_split_it() -> None:
    first = [b"HTTP/1.1 200 OK\r\nETag: \"8\"\r\nContent-", b"Length: 13\r\n\r\n{\"version\"", b":8}"]
    second = [b"HTTP/1.1 412 Precondition Failed\r\ncontent-length: 2\r\nX-Twice: a\r\nX-Twice: b\r\n\r\n{}"]
    with scripted([first, second]) as (port, received), KeepAlive("127.0.0.1", port) as client:
        body = '{"trigger":"assign","data":{"assignee":"Lê Thị Mai"}}'.encode()
        answer = client.request("POST", "/dossiers/X/events", {"If-Match": '"7"', "X-API-Key": "k"}, body)
        assert (answer.status, answer.headers["etag"], answer.body) == (200, '"8"', b'{"version":8}')
        again = client.request("POST", "/dossiers/X/events", {"If-Match": '"7"'}, b"{}")
        assert (again.status, again.body, again.headers["x-twice"]) == (412, b"{}", "b")
    head, _, sent = received[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /dossiers/X/events HTTP/1.1" and sent == body
    assert {b"Host: 127.0.0.1:%d" % port, b"Content-Length: %d" % len(body), b'If-Match: "7"', b"X-API-Key: k"} \
        <= set(lines[1:])


def test_an_answer_without_a_body_is_not_waited_for() -> None:
    with scripted([[b"HTTP/1.1 304 Not Modified\r\nETag: \"3\"\r\n\r\n"]]) as (port, _), \
            KeepAlive("127.0.0.1", port) as client:
        answer = client.request("GET", "/dossiers/X", {"If-None-Match": '"3"'})
    assert (answer.status, answer.body) == (304, b"")


@pytest.mark.parametrize(("pieces", "named"), [
    ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"], "without Content-Length"),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"], "closed the connection"),
    ([b"HTTP/1.1 200 OK\r\nContent-"], "closed the connection"),
    ([b"SSH-2.0-OpenSSH\r\n\r\n"], "not an HTTP/1.x status line"),
    ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"], "without a colon"),
])
def test_an_answer_it_cannot_read_is_refused_naming_why(pieces: list[bytes], named: str) -> None:
    with scripted([pieces]) as (port, _), KeepAlive("127.0.0.1", port, timeout=10) as client, \
            pytest.raises(ClientError, match=named):
        client.request("POST", "/x", {}, b"{}")


def test_a_head_over_its_bound_is_refused() -> None:
    endless = [b"HTTP/1.1 200 OK\r\n"] + [b"X-Filler: " + b"a" * 1000 + b"\r\n"] * 70
    with scripted([endless]) as (port, _), KeepAlive("127.0.0.1", port, timeout=10) as client, \
            pytest.raises(ClientError, match="head over 65536 bytes"):
        client.request("GET", "/x", {})
