"""The default notifier: one structlog event per effect, nothing sent anywhere.

Logs by allowlist: of an effect's payload, the line shows the keys that carry codes, instants and counts
(:data:`PUBLIC_PAYLOAD`: the event, the role notified, the case, the form's key…), each value as
:func:`motcua.adapters.logging.shown` shows it, and only the *names* of the others (``withheld``): a form's
``by`` and a task's ``owner`` name people, and a payload key added later is withheld until it is listed here.
"""

from __future__ import annotations

from typing import Final

import structlog

from motcua.adapters.logging import shown
from motcua.workflow.engine.model import OutboxItem

__all__ = ["PUBLIC_PAYLOAD", "LogNotifier"]

PUBLIC_PAYLOAD: Final = frozenset({
    "event", "role", "dossier", "task", "at", "form", "number", "received", "step", "sequence", "process_step",
    "step_due", "outrun",
})
"""The payload keys of the effects motcua emits that carry no person: a notice's event, role, case and instant, a
form's key and number and whether the desk received it, a warning outrun by its deadline, an escalation's step, a
sync's entry sequence, a step warning's step and limit."""


class LogNotifier:
    """Logs ``effect.released`` with the case code bound (key ``case``); never fails for an effect's content."""

    channel = "log"  # its name in a fan-out

    def __init__(self, logger_name: str = "motcua.effects") -> None:
        self.log = structlog.get_logger(logger_name)

    def deliver(self, item: OutboxItem) -> None:
        payload = {key: shown(value) for key, value in item.payload.items() if key in PUBLIC_PAYLOAD}
        withheld = sorted(key for key in item.payload if key not in PUBLIC_PAYLOAD)
        self.log.bind(case=item.case_code).info(
            "effect.released", effect_id=item.id, kind=item.kind, attempt=item.attempts + 1, payload=payload,
            **({"withheld": withheld} if withheld else {}),
        )
