"""The Redis broker the workers and the dispatcher share, with connections that time out."""

from __future__ import annotations

from typing import Final

import redis
from dramatiq.brokers.redis import RedisBroker

from motcua.workers.actors import QUEUE

__all__ = ["queued_messages", "redis_broker"]

REDIS_CONNECT_TIMEOUT_S: Final = 5  # a Redis that does not answer must not hang the dispatcher
REDIS_SOCKET_TIMEOUT_S: Final = 10


def redis_broker(url: str) -> RedisBroker:
    """A Redis broker whose connections time out (settings in the URL's query string win)."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S, socket_timeout=REDIS_SOCKET_TIMEOUT_S
    )
    return RedisBroker(client=client)  # type: ignore[no-untyped-call]  # dramatiq leaves RedisBroker.__init__ unannotated


def queued_messages(broker: RedisBroker) -> int:
    """Messages of the motcua queue sent and not yet acknowledged: waiting, being handled, or delayed for a retry."""
    return int(broker.do_qsize(QUEUE))
