"""Fixtures of the store contract: one suite, run on every :class:`~motcua.workflow.engine.ports.Storage`.

``store`` is the memory store, a SQL store on a SQLite file, and a SQL store on a fresh
PostgreSQL database cloned from a template migrated once per session. ``desk`` drives a real
engine (a small definition built in Python, a manual clock) against that store: every decision
the tests commit is one the engine really made, timers fired included (the worker's way: the
decision of the timer's trigger, consuming the claimed timer).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from motcua.adapters.memory.store import MemoryStore
from motcua.adapters.sql.migrate import upgrade
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision, Engine
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, CancelTimer, Case, DueTimer, Effect, JsonValue, SetTimer
from motcua.workflow.engine.ports import CaseStore, Storage
from motcua.workflow.engine.registry import Context, Outcome, Registry
from motcua.workflow.errors import CaseNotFound
from tests import services

KEY = "ho-so-thu"
RULE_SET = "nd-118-2025"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
LEASE = timedelta(minutes=5)
START = datetime(2025, 3, 3, 8, 15, 30, 123456, tzinfo=HANOI)
OFFICER = Actor.of("Nguyễn Thị Ngọc Ánh", "officer")
APPLICANT = "Trần Văn Đức"
OPENING = {"applicant": APPLICANT, "address": "Xã Đông Hưng, tỉnh Thái Bình", "fee": 15000.5, "pages": 3,
           "urgent": False, "filed_on": "2025-03-01"}

SQL_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
]
BACKENDS = [pytest.param("memory", id="memory"), *SQL_BACKENDS]


def _welcome(context: Context) -> Outcome:
    applicant = context.data["applicant"]
    papers: list[JsonValue] = [{"tên": "Căn cước công dân", "bản": 1}, {"tên": "Đơn đề nghị", "ghi chú": None}]
    profile: dict[str, JsonValue] = {"người nộp": applicant, "phí": context.data.get("fee"), "giấy tờ": papers}
    reminder = SetTimer("reminder", "remind", context.now + timedelta(days=3), {"level": "nhắc", "round": 1})
    notice = Effect("notify", {"to": applicant, "text": "Hồ sơ đã được tiếp nhận", "at": context.now.isoformat()})
    return Outcome(attributes={"profile": profile}, timers=(reminder,), effects=(notice,))


def _arm_deadline(context: Context) -> Outcome:
    deadline = SetTimer("deadline", "expire", context.now + timedelta(days=10), {"kind": "hạn xử lý"})
    return Outcome(timers=(deadline,), effects=(Effect("portal_sync", {"status": 3}),))


def _extend_deadline(context: Context) -> Outcome:
    days = context.data["days"]
    assert isinstance(days, int)
    deadline = SetTimer("deadline", "expire", context.now + timedelta(days=days), {"kind": "gia hạn"})
    return Outcome(attributes={"extended_by": days}, timers=(deadline,))


def _count_note(context: Context) -> Outcome:
    notes = context.attributes.get("notes", 0)
    assert isinstance(notes, int)
    return Outcome(attributes={"notes": notes + 1},
                   effects=(Effect("noted", {"by": context.actor.name, "n": notes + 1}),))


def _close_file(context: Context) -> Outcome:
    return Outcome(timers=(CancelTimer("deadline"), CancelTimer("reminder")),
                   effects=(Effect("notify", {"text": "Đã trả kết quả"}),))


def registry() -> Registry:
    actions = Registry()
    actions.add_action("welcome", _welcome, frozenset({"remind"}))
    actions.add_action("arm_deadline", _arm_deadline, frozenset({"expire"}))
    actions.add_action("extend_deadline", _extend_deadline, frozenset({"expire"}))
    actions.add_action("count_note", _count_note)
    actions.add_action("close_file", _close_file)
    return actions


def definition() -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "key": KEY, "version": 1, "title": "Hồ sơ thử nghiệm", "rule_sets": [RULE_SET],
        "roles": {"officer": "Cán bộ một cửa", "system": "Hệ thống"},
        "regions": {
            "lifecycle": {"label": "Vòng đời", "states": {
                "received": {"label": "Đã tiếp nhận", "initial": True},
                "processing": {"label": "Đang xử lý"},
                "returned": {"label": "Đã trả kết quả", "final": True},
            }},
            "deadline": {"label": "Thời hạn", "states": {
                "on_time": {"label": "Trong hạn", "initial": True}, "overdue": {"label": "Quá hạn"},
            }},
        },
        "triggers": {
            "start": _trigger("Chuyển xử lý", "received", "processing", ["arm_deadline"]),
            "note": _trigger("Ghi chú", "processing", None, ["count_note"], data={"text": {"type": "text"}}),
            "extend": _trigger("Gia hạn", "processing", None, ["extend_deadline"],
                               data={"days": {"type": "integer", "required": True}}),
            "return_result": _trigger("Trả kết quả", "processing", "returned", ["close_file"]),
            "expire": {"label": "Hết hạn", "roles": ["system"], "timer": True, "data": {"kind": {"type": "text"}},
                       "transitions": [{"region": "deadline", "source": "on_time", "dest": "overdue"}]},
            "remind": {"label": "Nhắc việc", "roles": ["system"], "timer": True,  # allowed again and again
                       "data": {"level": {"type": "text"}, "round": {"type": "integer"}},
                       "transitions": [{"region": "lifecycle", "source": ["received", "processing"]}]},
        },
        "opening": {"label": "Tiếp nhận hồ sơ", "roles": ["officer"], "actions": ["welcome"], "data": {
            "applicant": {"type": "text", "required": True}, "address": {"type": "text"},
            "fee": {"type": "number"}, "pages": {"type": "integer"}, "urgent": {"type": "boolean"},
            "filed_on": {"type": "date"},
        }},
    })


def _trigger(
    label: str, source: str, dest: str | None, actions: list[str], data: Mapping[str, object] | None = None
) -> dict[str, object]:
    transition = {"region": "lifecycle", "source": source, "dest": dest, "actions": actions}
    return {"label": label, "roles": ["officer"], "data": dict(data or {}), "transitions": [transition]}


@dataclass(frozen=True)
class Snapshot:
    """Everything a failed commit must leave untouched."""

    case: Case | None
    history: list[AuditEntry]
    timers: list[SetTimer]
    effects: list[Effect]
    cases: list[Case]


def snapshot(store: CaseStore, code: str) -> Snapshot:
    try:
        case: Case | None = store.load(code)
    except CaseNotFound:
        case = None
    history, timers, effects = store.history(code), store.timers(code), store.effects(code)
    return Snapshot(case, list(history), list(timers), list(effects), list(store.cases()))


@dataclass
class Desk:
    """A one-stop desk: the real engine deciding, the store under test committing."""

    store: Storage
    engine: Engine
    clock: ManualClock

    def open(self, code: str, data: Mapping[str, object] = OPENING) -> Decision:
        decision = self.engine.open(KEY, code, OFFICER, data, rule_set=RULE_SET)
        self.store.commit(decision)
        return decision

    def decide(self, code: str, trigger: str, data: Mapping[str, object] | None = None) -> Decision:
        """A decision on the case as stored now, not committed."""
        self.clock.advance(timedelta(minutes=7, microseconds=1))
        return self.engine.fire(self.store.load(code), trigger, OFFICER, data or {})

    def fire(self, code: str, trigger: str, data: Mapping[str, object] | None = None) -> Decision:
        decision = self.decide(code, trigger, data)
        self.store.commit(decision)
        return decision

    def claim(self, after: timedelta, limit: int = 100, lease: timedelta = LEASE) -> list[DueTimer]:
        """Let ``after`` pass, then claim what is due, as a dispatcher would."""
        self.clock.advance(after)
        return self.store.claim_due(self.clock.now(), limit, lease)

    def consume(self, timer: DueTimer) -> Decision:
        """The decision of a claimed timer's trigger on the case as stored now, consuming the timer."""
        self.clock.advance(timedelta(seconds=1))
        case = self.store.load(timer.case_code)
        return replace(self.engine.fire(case, timer.trigger, SYSTEM_ACTOR, timer.data), consumes=timer)


@pytest.fixture(scope="session")
def workflows() -> WorkflowSet:
    compiled = WorkflowSet()
    compiled.add(definition(), registry(), "tests/contract/conftest.py")
    return compiled


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A database migrated once per session, cloned for every PostgreSQL test."""
    services.require_postgres()
    with services.postgres_database() as name:
        upgrade(services.postgres_url(name))
        yield name


@contextmanager
def _database(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty, migrated database of ``backend``; yields its URL."""
    if backend == "sqlite":
        tmp_path: Path = request.getfixturevalue("tmp_path")
        url = f"sqlite:///{tmp_path / 'motcua.db'}"
        upgrade(url)
        yield url
        return
    services.require_postgres()
    with services.postgres_database(template=request.getfixturevalue("postgres_template")) as name:
        yield services.postgres_url(name)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of an empty, migrated database of each backend (``memory://`` for the memory store)."""
    if request.param == "memory":
        yield "memory://"
        return
    with _database(request.param, request) as database:
        yield database


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """For the SQL-only checks: the URL of a fresh database of each SQL backend."""
    with _database(request.param, request) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with _database(request.param, request) as url, SqlStore.from_url(url) as sql:
        yield sql


@pytest.fixture
def desk(store: Storage, workflows: WorkflowSet) -> Desk:
    clock = ManualClock(START)
    return Desk(store, Engine(workflows, clock), clock)
