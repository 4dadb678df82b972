"""structlog configuration and the observer that logs every decision.

Configured once, at the entry point (never on import). JSON lines when not on a terminal (or when
``json=True``), readable console output otherwise. A processor masks personal identifiers — citizen
ID numbers (9 or 12 digits) and phone numbers — wherever they appear in an event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from motcua.workflow.engine.decisions import Decision

__all__ = ["LoggingObserver", "configure_logging", "mask_identifiers", "mask_text"]

_ID_OR_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)?\d{8,11}(?!\d)")
_PERSONAL_KEYS = frozenset({"applicant_id", "id_number", "phone", "email", "applicant_name"})


def mask_text(text: str) -> str:
    """Keep the last three digits of anything that looks like an ID or phone number."""
    return _ID_OR_PHONE.sub(lambda match: "*" * (len(match.group()) - 3) + match.group()[-3:], text)


def _mask(value: object) -> object:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: "***" if key in _PERSONAL_KEYS else _mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(item) for item in value]
    return value


def mask_identifiers(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: no unmasked identifier ever reaches a log line."""
    for key in list(event):
        event[key] = "***" if key in _PERSONAL_KEYS else _mask(event[key])
    return event


def configure_logging(json: bool | None = None, level: int = logging.INFO) -> None:
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_identifiers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write() per line: processes sharing a stderr (the worker's children) never run two lines
        # into one, as print()'s separate write of the newline lets them under PYTHONUNBUFFERED.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class LoggingObserver:
    """Logs each committed decision and each rejection, with the case code (key `case`), trigger and actor bound."""

    def __init__(self) -> None:
        self.log = structlog.get_logger("motcua.engine")

    def committed(self, decision: Decision) -> None:
        entry = decision.entry
        self.log.info(
            "transition.committed", case=entry.case_code, trigger=entry.trigger, actor=entry.actor,
            role=entry.role, sequence=entry.sequence, state=dict(entry.state_after), data=dict(entry.data),
            timers=len(decision.timers), effects=len(decision.effects),
        )

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        self.log.warning("transition.rejected", case=code, trigger=trigger, error=type(error).__name__,
                         detail=str(error))
