"""The Redis broker the workers and the dispatcher share, with connections that time out."""

from __future__ import annotations

from typing import Final

import redis
from dramatiq.brokers.redis import RedisBroker

from motcua.workers.actors import QUEUE
from motcua.workflow.errors import InvalidInput

__all__ = ["DEAD_MESSAGE_TTL_MS", "checked_url", "queued_messages", "redis_broker"]

REDIS_CONNECT_TIMEOUT_S: Final = 5  # a Redis that does not answer must not hang the dispatcher
REDIS_SOCKET_TIMEOUT_S: Final = 10
DEAD_MESSAGE_TTL_MS: Final = 60 * 60 * 1000
"""How long Redis keeps a message that failed for good (dramatiq's dead letters; its default is a week). An effect's
message carries its payload — an officer's name on a form, a dossier's record for the portal — and the work it
carried is not lost with it: the database keeps the timer or the effect, which comes back after its lease or is
parked there (``motcua outbox``, ``motcua timers``). An hour leaves a failure visible while it is looked into."""


def checked_url(url: str) -> str:
    """``url`` if it is a Redis URL that parses (``redis://``, ``rediss://``, ``unix://``; nothing is connected to);
    :class:`InvalidInput` naming ``--broker`` otherwise, before a worker or a dispatcher starts on it."""
    try:
        redis.Redis.from_url(url)
    except ValueError as error:  # no scheme or another one, a port that is no number, an unclosed [ …
        raise InvalidInput("--broker", f"not a Redis URL ({str(error)[:120]}): give redis://HOST:PORT/DB") from None
    return url


def redis_broker(url: str) -> RedisBroker:
    """A Redis broker whose connections time out (settings in the URL's query string win), keeping its dead letters
    an hour (:data:`DEAD_MESSAGE_TTL_MS`)."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S, socket_timeout=REDIS_SOCKET_TIMEOUT_S
    )
    return RedisBroker(client=client, dead_message_ttl=DEAD_MESSAGE_TTL_MS)  # type: ignore[no-untyped-call]  # dramatiq leaves RedisBroker.__init__ unannotated


def queued_messages(broker: RedisBroker) -> int:
    """Messages of the motcua queue sent and not yet acknowledged: waiting, being handled, or delayed for a retry."""
    return int(broker.do_qsize(QUEUE))
