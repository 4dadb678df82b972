"""motcua — the workflow engine of a commune's one-stop shop (Bộ phận Một cửa), for host programs.

The public surface is this module: everything a host needs is importable from ``motcua`` and
listed in ``__all__``; the subpackages (``motcua.workflow``, ``motcua.definitions``, ``motcua.workers``,
``motcua.adapters``, ``motcua.simulation``, ``motcua.entrypoints``) are the implementation and may change
between releases.

The names are resolved on first use (PEP 562), so that importing a subpackage — the engine alone, say —
does not load the database and HTTP layers that :func:`connect` needs.

    import motcua

    with motcua.connect("sqlite:///motcua.db") as shop:
        officer = motcua.Actor.of("Nguyễn Thị Lan", "officer")
        dossier = shop.receive("1.001193", motcua.Applicant("Trần Văn An"), officer)
        dossier = shop.fire(dossier.code, "assign", officer, {"assignee": "Phạm Văn Hùng"})

See ``docs/reference/python-api.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motcua.shop import OneStop, connect
    from motcua.workflow.access.scope import EVERYTHING, Scope
    from motcua.workflow.dossiers.catalogue import Channel, Procedure
    from motcua.workflow.dossiers.desk import Applicant
    from motcua.workflow.engine.audit import AuditEntry
    from motcua.workflow.engine.clock import VN_TZ, Clock, ManualClock, SystemClock
    from motcua.workflow.engine.decisions import Decision
    from motcua.workflow.engine.model import Actor, Case, JsonValue
    from motcua.workflow.engine.ports import Observer
    from motcua.workflow.engine.queries import CaseFilter, Page
    from motcua.workflow.errors import (
        CaseAlreadyExists,
        CaseNotFound,
        ConcurrencyConflict,
        DefinitionChanged,
        DeliveryFailed,
        DeliveryUnavailable,
        GuardRejected,
        ImportedDossier,
        InvalidDefinition,
        InvalidInput,
        MalformedData,
        MotcuaError,
        NoRuleSetInForce,
        NotFound,
        OutsideScope,
        Retryable,
        RoleNotAllowed,
        RuleRefused,
        StorageFailure,
        StorageUnavailable,
        TransitionNotAllowed,
        UnknownDefinition,
        UnknownProcedure,
        UnknownRuleSet,
        UnknownTrigger,
    )
    from motcua.workflow.feedback.intake import Feedback
    from motcua.workflow.reports.par766 import Indicator, Scorecard
    from motcua.workflow.reports.projection import Bieu06, Bieu06Row

__all__ = [
    "EVERYTHING",
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
    "DefinitionChanged",
    "DeliveryFailed",
    "DeliveryUnavailable",
    "Feedback",
    "GuardRejected",
    "ImportedDossier",
    "Indicator",
    "InvalidDefinition",
    "InvalidInput",
    "JsonValue",
    "MalformedData",
    "ManualClock",
    "MotcuaError",
    "NoRuleSetInForce",
    "NotFound",
    "Observer",
    "OneStop",
    "OutsideScope",
    "Page",
    "Procedure",
    "Retryable",
    "RoleNotAllowed",
    "RuleRefused",
    "Scope",
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

# Where each public name is defined.
_HOMES: dict[str, str] = {
    "Actor": "motcua.workflow.engine.model",
    "Applicant": "motcua.workflow.dossiers.desk",
    "AuditEntry": "motcua.workflow.engine.audit",
    "Bieu06": "motcua.workflow.reports.projection",
    "Bieu06Row": "motcua.workflow.reports.projection",
    "Case": "motcua.workflow.engine.model",
    "CaseAlreadyExists": "motcua.workflow.errors",
    "CaseFilter": "motcua.workflow.engine.queries",
    "CaseNotFound": "motcua.workflow.errors",
    "Channel": "motcua.workflow.dossiers.catalogue",
    "Clock": "motcua.workflow.engine.clock",
    "ConcurrencyConflict": "motcua.workflow.errors",
    "Decision": "motcua.workflow.engine.decisions",
    "DefinitionChanged": "motcua.workflow.errors",
    "DeliveryFailed": "motcua.workflow.errors",
    "DeliveryUnavailable": "motcua.workflow.errors",
    "EVERYTHING": "motcua.workflow.access.scope",
    "Feedback": "motcua.workflow.feedback.intake",
    "GuardRejected": "motcua.workflow.errors",
    "ImportedDossier": "motcua.workflow.errors",
    "Indicator": "motcua.workflow.reports.par766",
    "InvalidDefinition": "motcua.workflow.errors",
    "InvalidInput": "motcua.workflow.errors",
    "JsonValue": "motcua.workflow.engine.model",
    "MalformedData": "motcua.workflow.errors",
    "ManualClock": "motcua.workflow.engine.clock",
    "MotcuaError": "motcua.workflow.errors",
    "NoRuleSetInForce": "motcua.workflow.errors",
    "NotFound": "motcua.workflow.errors",
    "Observer": "motcua.workflow.engine.ports",
    "OneStop": "motcua.shop",
    "OutsideScope": "motcua.workflow.errors",
    "Page": "motcua.workflow.engine.queries",
    "Procedure": "motcua.workflow.dossiers.catalogue",
    "Retryable": "motcua.workflow.errors",
    "RoleNotAllowed": "motcua.workflow.errors",
    "RuleRefused": "motcua.workflow.errors",
    "Scope": "motcua.workflow.access.scope",
    "Scorecard": "motcua.workflow.reports.par766",
    "StorageFailure": "motcua.workflow.errors",
    "StorageUnavailable": "motcua.workflow.errors",
    "SystemClock": "motcua.workflow.engine.clock",
    "TransitionNotAllowed": "motcua.workflow.errors",
    "UnknownDefinition": "motcua.workflow.errors",
    "UnknownProcedure": "motcua.workflow.errors",
    "UnknownRuleSet": "motcua.workflow.errors",
    "UnknownTrigger": "motcua.workflow.errors",
    "VN_TZ": "motcua.workflow.engine.clock",
    "connect": "motcua.shop",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and so flag a misspelt name

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'motcua' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
