"""The default notifier: one structlog event per effect, nothing sent anywhere.

Personal identifiers in the payload are masked by the pipeline that
:func:`motcua.adapters.logging.configure_logging` sets up; the payload is handed over as plain dicts and
lists so that the masking processor reaches every nested value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from motcua.workflow.engine.model import OutboxItem

__all__ = ["LogNotifier"]


class LogNotifier:
    """Logs ``effect.released`` with the case code bound (key ``case``); never fails for an effect's content."""

    def __init__(self, logger_name: str = "motcua.effects") -> None:
        self.log = structlog.get_logger(logger_name)

    def deliver(self, item: OutboxItem) -> None:
        self.log.bind(case=item.case_code).info(
            "effect.released", effect_id=item.id, kind=item.kind, attempt=item.attempts + 1,
            payload=_plain(item.payload),
        )


def _plain(value: object) -> object:
    """Mappings as dicts, sequences as lists, all the way down (what the masking processor walks)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(item) for item in value]
    return value
