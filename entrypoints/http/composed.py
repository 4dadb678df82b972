"""The text of a request's address read as NFC, once, before routing: the query's names and values, and the path.

Everything motcua stores is NFC (composed: "ạ" is one character, U+1EA1). A filter typed decomposed — macOS and iOS
input, Unikey's "tổ hợp" mode: "a" then U+0323 — is the same text to its reader and other code points to a
comparison, so ``GET /dossiers?officer=Pha%CC%A3m…`` matched nothing and answered an empty page that reads as "none".
:class:`ComposedAddress`, a pure ASGI middleware in front of the router, rewrites the scope for every route of the
application — the API's and the console's alike — so that every parameter, its validators and its bounds see the text
in NFC and an NFD filter finds exactly what the NFC one finds:

- the query string (:func:`composed_query`): each ``name=value`` pair read as Starlette reads it (split on ``&``,
  ``+`` a space, percent-decoded) but as UTF-8 strictly, put in NFC, and percent-encoded again; a query every pair of
  which is already NFC is passed on byte for byte as it came;
- the path (``scope["path"]``, which the server has percent-decoded already): NFC. ``raw_path`` stays the bytes
  received, as the ASGI specification has it; nothing routes on it.

A length bound (``max_length``) is checked on the NFC text, the text that is compared and stored: a decomposed name
is longer (NFD "Phạm Văn Hùng" is 16 characters, its NFC 13) and is taken when its NFC fits. NFC only, never NFKC,
which would fold what is not the same text (a full-width digit, a ligature).

What is not text is left as it came: the headers — an ``X-API-Key`` is compared byte for byte, ``If-Match`` and
``If-None-Match`` carry opaque tags, ``Idempotency-Key`` is ASCII — and the body, whose texts the engine's data
model puts in NFC (:mod:`motcua.workflow.engine.compiled`).

A pair that is not UTF-8 once percent-decoded (``?officer=%FF``) is not text: it is passed on with U+FFFD in place of
its bad bytes (what Starlette reads for it anyway), and its name is listed in the scope under :data:`UNREADABLE`. Each
edge refuses it where it already checks its query, in its own words: the API ``422 invalid-request`` naming the
parameter, once the key is known (``_strict_query``: a request without a live key is ``401`` whatever its query), the
console a ``400`` page. A route that takes no query (``/healthz``) ignores it, as it ignores any query.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final
from urllib.parse import unquote_to_bytes, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["UNREADABLE", "ComposedAddress", "composed_query", "unreadable_query"]

UNREADABLE: Final = "motcua.unreadable_query"
"""The scope's key listing the names (as read, U+FFFD for bad bytes) of the query's pairs that are not UTF-8."""
_RAW_BYTE: Final = re.compile(rb"[\x80-\xff]")


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _decoded(part: bytes) -> tuple[str, bool, bool]:
    """A name or a value percent-decoded (``+`` a space) as UTF-8 and put in NFC; whether it was UTF-8 at all, and
    whether it was NFC already (read as Starlette reads it)."""
    octets = unquote_to_bytes(part.replace(b"+", b" "))
    try:
        text = octets.decode("utf-8")
    except UnicodeDecodeError:
        return _nfc(octets.decode("utf-8", errors="replace")), False, False
    composed = _nfc(text)
    return composed, True, composed == text


def composed_query(query: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``query`` with every name and value in NFC, and the names of the pairs that are not UTF-8 text.

    Read as Starlette reads a query (``urllib.parse.parse_qsl`` with blank values kept: split on ``&``, empty fields
    skipped, a field without ``=`` an empty value, ``+`` a space), but strictly as UTF-8, a byte outside ASCII sent as
    it is read as UTF-8 too (Starlette would read it as Latin-1). The query is returned as it came when each of its
    pairs already reads as NFC text, else written again as ``urlencode`` writes it, which Starlette reads back into
    the very pairs returned here."""
    if query.isascii() and b"%" not in query:  # ASCII once decoded: NFC already
        return query, ()
    escaped = _RAW_BYTE.sub(lambda byte: b"%%%02X" % byte[0][0], query)
    pairs: list[tuple[str, str]] = []
    unreadable: list[str] = []
    changed = escaped != query
    for field in escaped.split(b"&"):
        if not field:
            continue
        raw_name, _, raw_value = field.partition(b"=")
        name, name_read, name_same = _decoded(raw_name)
        value, value_read, value_same = _decoded(raw_value)
        if not (name_read and value_read):
            unreadable.append(name)
        changed = changed or not (name_same and value_same)
        pairs.append((name, value))
    if not changed:
        return query, ()
    return urlencode(pairs).encode("ascii"), tuple(unreadable)


def unreadable_query(scope: Scope) -> tuple[str, ...]:
    """The names of the request's query pairs that were not UTF-8 text (:class:`ComposedAddress`), if any."""
    names = scope.get(UNREADABLE, ())
    return tuple(names) if isinstance(names, tuple) else ()


class ComposedAddress:
    """ASGI middleware: the request's query and path in NFC before anything routes or reads them (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query, path = scope.get("query_string", b""), scope.get("path", "")
        composed, unreadable = composed_query(query)
        composed_path = path if path.isascii() else _nfc(path)
        if composed != query or composed_path != path:
            scope = {**scope, "query_string": composed, "path": composed_path}
            if unreadable:
                scope[UNREADABLE] = unreadable
        await self.app(scope, receive, send)
