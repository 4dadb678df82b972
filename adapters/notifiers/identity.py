"""The idempotency key of an effect: what every notice and webhook carries, so a receiver can drop a repeat.

An effect is delivered at least once: a worker that delivered it and died (or lost the database) before its
"delivered" mark was written leaves it pending, and it is delivered again. The key is the same on every
attempt and every channel — ``motcua-effect-<outbox id>``, the id of the effect's outbox row, which is never
reused (the outbox keeps its delivered rows, and SQLite's ids are ``AUTOINCREMENT``) — so a receiver that
remembers the keys it stored drops the repeat. Ids are unique within one motcua database: a receiver fed by
several databases keys on the case code (globally unique) and the key together, and an e-mail's ``Message-ID``
adds a digest of both and of the instant the effect was written (:func:`message_key`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Final

from motcua.workflow.engine.model import OutboxItem

__all__ = ["EFFECT_ID_HEADER", "effect_key", "message_key"]

EFFECT_ID_HEADER: Final = "X-Motcua-Effect-Id"  # the key, on an e-mail (whose Message-ID is built from it)
_ORIGIN_DIGITS: Final = 16  # hex digits of the digest that tells one database's effect from another's


def effect_key(item: OutboxItem) -> str:
    """``motcua-effect-<outbox id>``: the same on every attempt to deliver ``item``, on every channel."""
    return f"motcua-effect-{item.id}"


def message_key(item: OutboxItem) -> str:
    """The left part of an e-mail's ``Message-ID``: ``motcua-effect-<outbox id>.<digest>``, the digest (64 bits of
    SHA-256) of the effect's case code and the instant its decision wrote it, to the microsecond, in UTC. Ids are
    unique in one database only: two databases sending from one domain (two installations, a restored copy) wrote
    ``<motcua-effect-42@…>`` both, and a mailbox that keeps one message per Message-ID dropped the second notice.
    The same on every attempt (the row is read again, the instant with it), so such a mailbox still drops a
    repeat. Without the instant (an effect sent by an older dispatcher) the key alone."""
    if item.created_at is None:
        return effect_key(item)
    origin = f"{item.case_code}\n{item.created_at.astimezone(UTC).isoformat()}".encode()
    return f"{effect_key(item)}.{hashlib.sha256(origin).hexdigest()[:_ORIGIN_DIGITS]}"
