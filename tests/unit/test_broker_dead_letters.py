"""The Redis broker keeps messages that failed for good an hour, not dramatiq's week (workers/broker.py): a message
carries its effect's payload, and the database, not the message, keeps the work."""

from __future__ import annotations

from motcua.workers.broker import DEAD_MESSAGE_TTL_MS, redis_broker


def test_dead_letters_are_kept_an_hour() -> None:
    broker = redis_broker("redis://127.0.0.1:6379/15?socket_timeout=3")  # nothing is connected to yet
    try:
        assert broker.dead_message_ttl == DEAD_MESSAGE_TTL_MS == 3_600_000
        assert broker.client.connection_pool.connection_kwargs["socket_timeout"] == 3.0  # the URL's setting won
    finally:
        broker.close()
