"""The idempotency key of an effect: what every notice and webhook carries, so a receiver can drop a repeat.

An effect is delivered at least once: a worker that delivered it and died (or lost the database) before its
"delivered" mark was written leaves it pending, and it is delivered again. The key is the same on every
attempt and every channel — ``motcua-effect-<outbox id>``, the id of the effect's outbox row, which is never
reused (the outbox keeps its delivered rows, and SQLite's ids are ``AUTOINCREMENT``) — so a receiver that
remembers the keys it stored drops the repeat. Ids are unique within one motcua database: a receiver fed by
several databases keys on the case code (globally unique) and the key together.
"""

from __future__ import annotations

from typing import Final

from motcua.workflow.engine.model import OutboxItem

__all__ = ["EFFECT_ID_HEADER", "effect_key"]

EFFECT_ID_HEADER: Final = "X-Motcua-Effect-Id"  # the key, on an e-mail (whose Message-ID is built from it)


def effect_key(item: OutboxItem) -> str:
    """``motcua-effect-<outbox id>``: the same on every attempt to deliver ``item``, on every channel."""
    return f"motcua-effect-{item.id}"
