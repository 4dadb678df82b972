"""Notifiers: what delivers the effects the outbox releases (the ``Notifier`` port).

:class:`LogNotifier` is the default. :class:`SmtpNotifier` e-mails notifications to the people of
each role, :class:`WebhookNotifier` posts signed JSON to another system (which checks it with
:func:`verify_signature`); :class:`RoutingNotifier` and :class:`FanOut` combine them.
"""

from __future__ import annotations

from motcua.adapters.notifiers.log import LogNotifier
from motcua.adapters.notifiers.routing import FanOut, RoutingNotifier
from motcua.adapters.notifiers.smtp import SmtpNotifier
from motcua.adapters.notifiers.webhook import WebhookNotifier, verify_signature

__all__ = ["FanOut", "LogNotifier", "RoutingNotifier", "SmtpNotifier", "WebhookNotifier", "verify_signature"]
