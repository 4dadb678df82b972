"""Notifiers: what delivers the effects the outbox releases (the ``Notifier`` port).

:class:`LogNotifier` is the default. :class:`SmtpNotifier` e-mails notifications to the people of
each role, :class:`WebhookNotifier` posts signed JSON to another system (which checks it with
:func:`verify_signature`); :class:`RoutingNotifier` and :class:`FanOut` combine them, and :class:`ReceiverPause`
holds back every effect to a receiver that asked for a wait (``Retry-After``). Every e-mail and request
carries the effect's :func:`effect_key`, so a receiver can drop the rare repeat.
"""

from __future__ import annotations

from motcua.adapters.notifiers.identity import EFFECT_ID_HEADER, effect_key
from motcua.adapters.notifiers.log import LogNotifier
from motcua.adapters.notifiers.pause import ReceiverPause
from motcua.adapters.notifiers.routing import FanOut, RoutingNotifier
from motcua.adapters.notifiers.smtp import SmtpNotifier, checked_addresses
from motcua.adapters.notifiers.webhook import WebhookNotifier, verify_signature

__all__ = [
    "EFFECT_ID_HEADER", "FanOut", "LogNotifier", "ReceiverPause", "RoutingNotifier", "SmtpNotifier", "WebhookNotifier",
    "checked_addresses", "effect_key", "verify_signature",
]
