"""motcua — the workflow engine of a commune's one-stop shop (Bộ phận Một cửa), for host programs.

The public surface is this module: everything a host needs is importable from ``motcua`` and
listed in ``__all__``; the packages below it (``workflow``, ``definitions``, ``workers``,
``adapters``) are the implementation and may change between releases.

    import motcua

    with motcua.connect("sqlite:///motcua.db") as shop:
        officer = motcua.Actor.of("Nguyễn Thị Lan", "officer")
        dossier = shop.receive("1.001193", motcua.Applicant("Trần Văn An"), officer)
        dossier = shop.fire(dossier.code, "assign", officer, {"assignee": "Phạm Văn Hùng"})

See ``docs/embedding.md``.
"""

from __future__ import annotations

from motcua.shop import OneStop, connect
from workflow.audit import AuditEntry
from workflow.catalogue import Channel, Procedure
from workflow.clock import Clock, ManualClock, SystemClock
from workflow.desk import Applicant
from workflow.engine import Decision
from workflow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    DeliveryFailed,
    GuardRejected,
    InvalidDefinition,
    InvalidInput,
    MalformedData,
    MotcuaError,
    NoRuleSetInForce,
    Retryable,
    RoleNotAllowed,
    StorageFailure,
    StorageUnavailable,
    TransitionNotAllowed,
    UnknownDefinition,
    UnknownProcedure,
    UnknownRuleSet,
    UnknownTrigger,
)
from workflow.metrics import Indicator, Scorecard
from workflow.model import Actor, Case, JsonValue
from workflow.ports import Observer
from workflow.queries import CaseFilter, Page
from workflow.reporting import Bieu06, Bieu06Row
from workflow.worktime import VN_TZ

__all__ = [
    "VN_TZ",
    "Actor",
    "Applicant",
    "AuditEntry",
    "Bieu06",
    "Bieu06Row",
    "Case",
    "CaseAlreadyExists",
    "CaseFilter",
    "CaseNotFound",
    "Channel",
    "Clock",
    "ConcurrencyConflict",
    "Decision",
    "DeliveryFailed",
    "GuardRejected",
    "Indicator",
    "InvalidDefinition",
    "InvalidInput",
    "JsonValue",
    "MalformedData",
    "ManualClock",
    "MotcuaError",
    "NoRuleSetInForce",
    "Observer",
    "OneStop",
    "Page",
    "Procedure",
    "Retryable",
    "RoleNotAllowed",
    "Scorecard",
    "StorageFailure",
    "StorageUnavailable",
    "SystemClock",
    "TransitionNotAllowed",
    "UnknownDefinition",
    "UnknownProcedure",
    "UnknownRuleSet",
    "UnknownTrigger",
    "connect",
]
