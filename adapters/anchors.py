"""Where the worker publishes its anchors: a directory, or a webhook (:mod:`motcua.workers.anchors`).

An anchor is worth what its keeping place is worth: it must be out of reach of whoever can write the
database. :class:`DirectoryPublisher` writes each anchor as its own read-only file, named by the instant
and the digest — point it at a directory of another machine (a mount, a folder synchronised elsewhere,
write-once storage), not at the database server's disk. :class:`WebhookPublisher` POSTs the document to
a receiver that keeps it with its own arrival time, signed like every motcua webhook (``X-Motcua-Timestamp``,
``X-Motcua-Signature``: HMAC-SHA256 of ``<timestamp>.<body>``, :func:`motcua.adapters.notifiers.verify_signature`
checks it) and with ``Idempotency-Key: motcua-anchor-<digest>``. The document is the one
``motcua anchor`` writes, and ``motcua verify --anchor FILE`` reads either.
"""

from __future__ import annotations

import json
import os
from http import HTTPStatus
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from motcua.adapters.notifiers.webhook import signed_headers
from motcua.adapters.posting import post
from motcua.workflow.auditing.anchor import Anchor
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import delivery_failure

__all__ = ["ANCHOR_KIND", "DirectoryPublisher", "WebhookPublisher", "document_text", "log_failure", "log_published",
           "shown"]

ANCHOR_KIND: Final = "audit.anchor"  # what a failed publication is named in errors and logs
_READ_ONLY: Final = 0o444
_log = structlog.get_logger("motcua.audit")


def document_text(anchor: Anchor) -> str:
    """The anchor document as ``motcua anchor`` writes it."""
    return json.dumps(anchor.as_json(), ensure_ascii=False, indent=2) + "\n"


class DirectoryPublisher:
    """Each anchor a new read-only file ``anchor-<Vietnam time>-<digest prefix>.json`` in ``directory``
    (created if missing), written whole under a temporary name first, so a reader never sees half of one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def publish(self, anchor: Anchor) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        instant = to_vietnam_time(anchor.taken_at).strftime("%Y%m%dT%H%M%S.%f%z")
        target = self.directory / f"anchor-{instant}-{anchor.digest[:12]}.json"
        partial = self.directory / f".{target.name}.partial"
        partial.write_text(document_text(anchor), encoding="utf-8")
        partial.chmod(_READ_ONLY)
        os.replace(partial, target)
        return str(self.directory)  # for the log: the file's name holds the instant's digits, which the log would mask


class WebhookPublisher:
    """POSTs each anchor document to ``url``, signed with ``secret`` (see the module doc)."""

    def __init__(self, url: str, secret: bytes, timeout: float = 10) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def publish(self, anchor: Anchor) -> str:
        """POST the document, signed; its answer read by its status alone, all within the timeout
        (:func:`motcua.adapters.posting.post`: a receiver dripping its answer holds the worker no longer)."""
        body = document_text(anchor).encode("utf-8")
        headers = signed_headers(self.secret, body, f"motcua-anchor-{anchor.digest}")
        try:
            answer = post(self.url, body, headers, timeout=self.timeout)
        except httpx.RequestError as error:  # the whole exchange's timeout included
            raise delivery_failure(ANCHOR_KIND, f"webhook: {type(error).__name__}", transient=True) from error
        if not HTTPStatus.OK <= answer.status < HTTPStatus.MULTIPLE_CHOICES:
            raise delivery_failure(ANCHOR_KIND, f"webhook: HTTP {answer.status}", transient=True)
        return shown(self.url)


def shown(url: str) -> str:
    """A URL for a log line: no credentials, no query."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))


def log_published(anchor: Anchor, where: str) -> None:
    _log.info("audit.anchor.published", digest=anchor.digest, chains=len(anchor.heads), count=anchor.count,
              max_position=anchor.max_position, to=where)


def log_failure(error: Exception) -> None:
    """The failure's type only: a message may quote a path or an answer (logs by allowlist, docs/operations.md)."""
    _log.warning("audit.anchor.failed", error=type(error).__name__)
