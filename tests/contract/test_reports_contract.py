"""The contract of :class:`motcua.workflow.engine.ports.Reports`, on the memory projection, SQLite and PostgreSQL.

Dossiers are driven through the real engine on a manual clock (received at the counter, online and by
post, refused, left unreceived, paused for a supplement or a fee, withdrawn, stopped, late, apologised
for, carried over a year's end); then every report of the projection must equal the core's reference
(:func:`motcua.workflow.reports.projection.bieu06`, :func:`motcua.workflow.reports.par766.indicator_counts`) over the
facts folded
from the same audit log, for many periods. An incremental catch-up must end where a rebuild does.
A Hypothesis property drives random dossier histories through the engine (memory and SQLite) and
checks the Biểu 06 identity in every row, and the SQL projection against the reference.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters.bootstrap import PORTAL_PUBLISH, Motcua, open_motcua, portal_notifier
from motcua.adapters.notifiers import LogNotifier, RoutingNotifier
from motcua.adapters.portal.sync import PORTAL_KIND, HttpxTransport
from motcua.adapters.sql.reports import SqlReports
from motcua.adapters.sql.store import SqlStore
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.dossiers.catalogue import Channel
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.model import Actor, JsonValue
from motcua.workflow.errors import MalformedData, TransitionNotAllowed
from motcua.workflow.reports.par766 import SYNC_NOT_MEASURED, indicator_counts, scorecard
from motcua.workflow.reports.periods import parse_period
from motcua.workflow.reports.projection import Bieu06, DossierFacts, bieu06, fold
from tests.contract.conftest import BACKENDS, _database
from tests.fake_portal import TOKEN, fake_portal

EVERYONE = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "applicant", "system")
APPLICANT = Applicant("Trần Văn An", phone="0912345678")
DATA: Mapping[str, dict[str, JsonValue]] = {
    "assign": {"assignee": "Phạm Văn Hùng", "electronic": True},
    "submit_for_approval": {"approver": "Lê Minh Tuấn", "electronic": True},
    "send_back": {"reason": "Bổ sung dự thảo"},
    "mark_result_ready": {"electronic": True},
    "request_supplement": {"reason": "Bản sao giấy khai sinh"},
    "request_payment": {"amount": 50000},
    "payment_received": {"online": True},
    "request_withdrawal": {"reason": "Không còn nhu cầu"},
    "stop": {"reason": "Hồ sơ giả mạo"},
    "refuse": {"reason": "Không thuộc thẩm quyền"},
    "digitize": {"components": 2},
    "apologize": {"reason": "Chờ xác minh", "new_date": "2024-06-28"},
    "rate": {"rating": 5},
}
PERIODS = (
    (date(2023, 12, 1), date(2023, 12, 31)), (date(2024, 1, 1), date(2024, 1, 31)),
    (date(2024, 2, 1), date(2024, 2, 29)), (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 4, 1), date(2024, 4, 30)), (date(2024, 1, 1), date(2024, 3, 31)),
    (date(2024, 1, 1), date(2024, 12, 31)), (date(2024, 3, 14), date(2024, 3, 14)),
    (date(2024, 3, 25), date(2024, 3, 25)), (date(2023, 1, 1), date(2023, 12, 31)),
    *((period.start, period.end) for period in (parse_period("2024-03", 15), parse_period("2024-Q1", 15))),
)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ)


@dataclass
class Office:
    """A one-stop desk on the real engine and a manual clock; the clock only moves forward."""

    app: Motcua
    clock: ManualClock
    codes: list[str] = field(default_factory=list)

    def at(self, day: date, hour: int = 9, minute: int = 0) -> Office:
        self.clock.set(at(day, hour, minute))
        return self

    def submit(self, procedure: str, channel: Channel) -> str:
        code = self.app.desk.submit(procedure, channel, APPLICANT, EVERYONE).code
        self.codes.append(code)
        return code

    def receive(self, procedure: str, channel: Channel = "direct") -> str:
        code = self.submit(procedure, channel)
        self.fire(code, "receive")
        return code

    def fire(self, code: str, trigger: str, **data: JsonValue) -> None:
        self.app.service.fire(code, trigger, EVERYONE, {**DATA.get(trigger, {}), **data})

    def decide(self, code: str) -> None:
        for trigger in ("submit_for_approval", "approve", "mark_result_ready"):
            self.fire(code, trigger)

    def resolve(self, code: str) -> None:
        self.fire(code, "assign")
        self.decide(code)


def folded_facts(app: Motcua) -> list[DossierFacts]:
    """The reference: the whole log folded by position, ordered by dossier code."""
    facts: dict[str, DossierFacts] = {}
    for entry in sorted(app.store.entries(), key=lambda entry: entry.position or 0):
        item = fold(facts.get(entry.case_code), entry, app.workflows.status_of, app.catalogue.full_online_eligible)
        if item is not None:
            facts[entry.case_code] = item
    return [facts[code] for code in sorted(facts)]


@pytest.fixture(params=BACKENDS)
def office(request: pytest.FixtureRequest) -> Iterator[Office]:
    clock = ManualClock(at(date(2023, 12, 1), 7))
    if request.param == "memory":
        app = open_motcua("memory://", clock=clock, observers=[])
        yield Office(app, clock)
        app.close()
        return
    with _database(request.param, request) as url:
        app = open_motcua(url, clock=clock, observers=[])
        try:
            yield Office(app, clock)
        finally:
            app.close()


class Scenario:
    """Four chapters, each later than the one before (the clock never goes back)."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self.codes: dict[str, str] = {}

    def new_year(self) -> None:
        o, c = self.office, self.codes
        c["carried"] = o.at(date(2023, 12, 20)).receive("1.012812")  # land, 30 calendar days: into 2024
        c["early"] = o.at(date(2024, 1, 5)).receive("1.004873")  # 3 working days
        o.fire(c["early"], "digitize")
        o.at(date(2024, 1, 8), 10).resolve(c["early"])
        o.fire(c["early"], "issue_electronic_result")
        o.fire(c["early"], "return_result")
        o.fire(c["early"], "rate", rating=5)

    def january(self) -> None:
        o, c = self.office, self.codes
        c["online"] = o.at(date(2024, 1, 10), 8).submit("1.004873", "online")
        o.at(date(2024, 1, 10), 9).fire(c["online"], "receive")
        o.at(date(2024, 1, 15), 10).resolve(c["online"])  # on its appointment day
        o.fire(c["online"], "rate", rating=2)
        c["fee"] = o.at(date(2024, 1, 15), 14).receive("2.001019", "postal")  # 2 working days, fee 50 000
        o.fire(c["fee"], "assign")
        o.fire(c["fee"], "request_payment")
        o.at(date(2024, 1, 16), 9).fire(c["fee"], "payment_received")
        o.at(date(2024, 1, 22), 10).resolve(c["carried"])  # late
        o.fire(c["carried"], "return_result")
        o.at(date(2024, 1, 25), 15).decide(c["fee"])  # late
        c["paused"] = o.at(date(2024, 1, 29)).receive("1.001776")  # 10 working days
        o.fire(c["paused"], "assign")

    def february(self) -> None:
        o, c = self.office, self.codes
        o.at(date(2024, 2, 1)).fire(c["paused"], "request_supplement")
        c["stopped"] = o.at(date(2024, 2, 5)).receive("1.000419")
        o.at(date(2024, 2, 6)).fire(c["stopped"], "stop")
        o.at(date(2024, 2, 20)).fire(c["paused"], "supplement_received")
        c["withdrawn"] = o.at(date(2024, 2, 26)).receive("1.004845")  # 2 working days
        o.fire(c["withdrawn"], "assign", electronic=False)
        o.at(date(2024, 2, 26), 15).fire(c["withdrawn"], "apologize")  # in time: a working day ahead

    def march(self) -> None:
        o, c = self.office, self.codes
        c["overdue"] = o.at(date(2024, 3, 1)).receive("1.002211")  # 5 working days, never resolved
        o.fire(c["overdue"], "assign")
        c["refused"] = o.at(date(2024, 3, 3), 8).submit("1.000894", "online")
        o.fire(c["refused"], "refuse")
        c["unreceived"] = o.at(date(2024, 3, 4), 8).submit("1.000656", "online")
        o.at(date(2024, 3, 5)).resolve(c["paused"])
        o.at(date(2024, 3, 12)).fire(c["withdrawn"], "request_withdrawal")  # late
        o.fire(c["withdrawn"], "confirm_withdrawal")
        c["same_day"] = o.at(date(2024, 3, 14), 15).receive("2.000884")  # within the day, fee 10 000
        o.at(date(2024, 3, 14), 16).resolve(c["same_day"])
        c["still_paused"] = o.at(date(2024, 3, 25)).receive("1.001022")  # 3 working days (in force in 2024)
        o.fire(c["still_paused"], "assign")
        o.at(date(2024, 3, 27)).fire(c["still_paused"], "request_supplement")  # never supplied
        c["across"] = o.at(date(2024, 3, 29)).receive("1.004837", "postal")
        o.at(date(2024, 4, 2)).resolve(c["across"])
        o.at(date(2024, 4, 20), 7)


def run_scenario(office: Office, *, catch_up: bool = False) -> list[int]:
    """The scenario, optionally catching the projection up after every chapter; how many each read."""
    read = []
    scenario = Scenario(office)
    for chapter in (scenario.new_year, scenario.january, scenario.february, scenario.march):
        chapter()
        if catch_up:
            read.append(office.app.reports.catch_up())
    return read


def test_the_scenario_covers_every_column(office: Office) -> None:
    run_scenario(office)
    office.app.reports.catch_up()

    q1 = office.app.reports.bieu06(date(2024, 1, 1), date(2024, 3, 31)).total.counts()
    march = office.app.reports.bieu06(date(2024, 3, 1), date(2024, 3, 31)).total.counts()

    assert q1["carried_over"] == 1 and q1["online"] == 1 and q1["direct_postal"] == 9
    assert min(q1["resolved_early"], q1["resolved_on_time"], q1["resolved_late"]) >= 1
    assert march["pending_overdue"] == 1  # the mediation never resolved
    assert march["pending_within"] == 2  # the one paused for its supplement, and the one ended 2 April
    assert office.app.reports.bieu06(date(2024, 4, 1), date(2024, 4, 30)).total.pending_within == 1  # still paused
    counts = office.app.reports.indicator_counts(date(2024, 1, 1), date(2024, 3, 31))
    assert (counts.late, counts.late_apologised, counts.rated, counts.satisfied) == (5, 1, 2, 1)
    assert (counts.with_fee, counts.paid_online, counts.electronic_result, counts.digitized) == (2, 1, 1, 1)


def test_reports_equal_the_reference_for_every_period(office: Office) -> None:
    run_scenario(office)
    assert office.app.reports.catch_up() > 0

    facts = folded_facts(office.app)
    for start, end in PERIODS:
        assert office.app.reports.bieu06(start, end).as_json() == bieu06(facts, start, end).as_json(), (start, end)
        assert office.app.reports.indicator_counts(start, end) == indicator_counts(facts, start, end), (start, end)


def test_facts_are_the_fold_of_the_log(office: Office) -> None:
    run_scenario(office)
    office.app.reports.catch_up()

    for item in folded_facts(office.app):
        assert office.app.reports.facts(item.code) == item
    assert office.app.reports.facts("000.00.00.H23-000000-9999") is None
    every = {item.code: item for item in folded_facts(office.app)}
    assert office.app.reports.facts_by_code([*every, "000.00.00.H23-000000-9999"]) == every  # one read


def test_incremental_catch_up_equals_rebuild(office: Office) -> None:
    read = run_scenario(office, catch_up=True)
    incremental = {code: office.app.reports.facts(code) for code in office.codes}
    before = [office.app.reports.bieu06(start, end) for start, end in PERIODS]

    assert office.app.reports.catch_up() == 0
    assert office.app.reports.rebuild() == sum(read)
    assert {code: office.app.reports.facts(code) for code in office.codes} == incremental
    assert [office.app.reports.bieu06(start, end) for start, end in PERIODS] == before


def test_an_empty_log_gives_empty_reports(office: Office) -> None:
    assert office.app.reports.catch_up() == 0
    report = office.app.reports.bieu06(date(2024, 1, 1), date(2024, 12, 31))
    assert report.rows == () and report.total.total == 0
    assert office.app.reports.indicator_counts(date(2024, 1, 1), date(2024, 12, 31)).total == 0


# -- PostgreSQL: an entry still being written is waited for, never skipped -------------------------


@pytest.mark.integration
def test_catch_up_waits_for_an_entry_being_written(request: pytest.FixtureRequest) -> None:
    """Positions come from a sequence: a transaction holding a lower position may commit after a higher
    one. The catch-up must not move its checkpoint past the lower one."""
    clock = ManualClock(at(date(2024, 3, 4)))
    with _database("postgres", request) as url:
        app = open_motcua(url, clock=clock, observers=[])
        try:
            office = Office(app, clock)
            model = office.receive("1.004873")
            assert isinstance(app.store, SqlStore)
            engine = app.store.engine
            with engine.connect() as writer:
                writer.begin()
                _copy_dossier(writer, model, "000.00.00.H23-240304-9999")  # takes positions, uncommitted
                office.at(date(2024, 3, 5)).receive("1.004873")  # commits higher positions meanwhile
                done = threading.Event()

                def catch_up() -> None:
                    app.reports.catch_up()
                    done.set()

                reader = threading.Thread(target=catch_up)
                reader.start()
                time.sleep(0.5)
                assert not done.is_set()  # waiting for the writer, not skipping its entries
                writer.commit()
            reader.join(timeout=30)
            assert done.is_set()
            assert app.reports.facts("000.00.00.H23-240304-9999") is not None
            assert app.reports.bieu06(date(2024, 3, 1), date(2024, 3, 31)).total.total == 3
        finally:
            app.close()


def _copy_dossier(connection: sa.Connection, code: str, copy: str) -> None:
    connection.execute(sa.text(
        'INSERT INTO "case" (code, definition_key, definition_version, rule_set, state, attributes, version, '
        "head_hash, opened_at, updated_at) SELECT :copy, definition_key, definition_version, rule_set, state, "
        'attributes, version, head_hash, opened_at, updated_at FROM "case" WHERE code = :code'
    ), {"code": code, "copy": copy})
    connection.execute(sa.text(
        'INSERT INTO audit_entry (case_code, sequence, occurred_at, actor, role, "trigger", state_before, '
        "state_after, data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, "
        "schema_version) SELECT :copy, sequence, occurred_at, actor, role, \"trigger\", state_before, state_after, "
        "data, changes, reason, definition_key, definition_version, rule_set, prev_hash, hash, schema_version "
        "FROM audit_entry WHERE case_code = :code ORDER BY sequence"
    ), {"code": code, "copy": copy})


def test_sql_reports_share_the_store_engine(office: Office) -> None:
    if isinstance(office.app.store, SqlStore):
        assert isinstance(office.app.reports, SqlReports)


# -- random histories (memory and SQLite) ----------------------------------------------------------

HAPPY_PATH = ("receive", "assign", "submit_for_approval", "approve", "mark_result_ready", "return_result", "rate")
DETOURS = (
    "request_supplement", "supplement_received", "request_payment", "payment_received", "digitize",
    "apologize", "issue_electronic_result", "request_withdrawal", "confirm_withdrawal", "stop", "refuse",
    "send_back", "assign",
)
PROCEDURES = ("1.004873", "2.001019", "1.001776", "1.002211", "2.000884", "1.012812")
CHANNELS: tuple[Channel, ...] = ("direct", "online", "postal")
FIRST_DAY = date(2023, 12, 1)


@dataclass(frozen=True)
class History:
    procedure: str
    channel: Channel
    start_hours: int
    steps: tuple[tuple[str, int], ...]  # (trigger, hours after the previous step)


@st.composite
def histories(draw: st.DrawFn) -> History:
    length = draw(st.integers(0, len(HAPPY_PATH)))
    steps = list(HAPPY_PATH[:length])
    for position, detour in draw(st.lists(st.tuples(st.integers(0, 8), st.sampled_from(DETOURS)), max_size=4)):
        steps.insert(min(position, len(steps)), detour)
    delays = draw(st.lists(st.integers(0, 24 * 12), min_size=len(steps), max_size=len(steps)))
    return History(draw(st.sampled_from(PROCEDURES)), draw(st.sampled_from(CHANNELS)),
                   draw(st.integers(0, 24 * 130)), tuple(zip(steps, delays, strict=True)))


def replay(app: Motcua, clock: ManualClock, stories: list[History]) -> None:
    """Every history's steps, all dossiers interleaved in time order; refused triggers are skipped."""
    begin = at(FIRST_DAY, 7)
    timeline = []
    for index, story in enumerate(stories):
        moment = begin + timedelta(hours=story.start_hours)
        timeline.append((moment, index, -1, "submit"))
        for number, (trigger, delay) in enumerate(story.steps):
            moment += timedelta(hours=delay, minutes=1)
            timeline.append((moment, index, number, trigger))
    codes: dict[int, str] = {}
    for moment, index, _, trigger in sorted(timeline):
        clock.set(max(moment, clock.now()))
        if trigger == "submit":
            story = stories[index]
            codes[index] = app.desk.submit(story.procedure, story.channel, APPLICANT, EVERYONE).code
            continue
        with contextlib.suppress(TransitionNotAllowed, MalformedData):  # GuardRejected too: the history goes on
            app.service.fire(codes[index], trigger, EVERYONE, DATA.get(trigger, {}))


def _identity_holds(report: Bieu06) -> None:
    for row in (*report.rows, report.total):
        c = row.counts()
        assert c["online"] + c["direct_postal"] + c["carried_over"] == c["total"] == c["resolved"] + c["pending"]
        assert c["resolved"] == c["resolved_early"] + c["resolved_on_time"] + c["resolved_late"]
        assert c["pending"] == c["pending_within"] + c["pending_overdue"]


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories=st.lists(histories(), min_size=1, max_size=6),
       start=st.dates(min_value=FIRST_DAY, max_value=date(2024, 5, 31)), length=st.integers(0, 120))
def test_random_histories_keep_the_identity_and_match_the_reference(
    url: str, stories: list[History], start: date, length: int
) -> None:
    clock = ManualClock(at(FIRST_DAY, 7))
    app = open_motcua(url, clock=clock, observers=[])
    try:
        replay(app, clock, stories)
        app.reports.catch_up()
        facts = folded_facts(app)
        for period in ((start, start + timedelta(days=length)), (date(2024, 1, 1), date(2024, 3, 31))):
            report = app.reports.bieu06(*period)
            _identity_holds(report)
            assert report.as_json() == bieu06(facts, *period).as_json()
            assert app.reports.indicator_counts(*period) == indicator_counts(facts, *period)
    finally:
        app.close()


# -- the DVCQG sync indicator --------------------------------------------------------------------


def test_the_sync_counts_equal_the_reference(request: pytest.FixtureRequest, backend: str) -> None:
    """With a portal configured, the scenario's effects go to a fake portal that refuses some dossiers for
    good: the projection's sync counts must equal the reference's over the sync status recorded."""
    clock = ManualClock(at(date(2023, 12, 1), 7))
    url_context = contextlib.nullcontext("memory://") if backend == "memory" else _database(backend, request)
    with fake_portal() as portal, url_context as url:
        app = open_motcua(url, clock=clock, observers=[], publish=PORTAL_PUBLISH)
        try:
            notifier = RoutingNotifier(
                {PORTAL_KIND: portal_notifier(app, HttpxTransport(portal.url, TOKEN, timeout=5), clock)}, LogNotifier())
            runner = InlineRunner(Handlers(app.service, app.store, app.store, notifier, clock), clock)
            office = Office(app, clock)
            scenario = Scenario(office)
            scenario.new_year()
            scenario.january()
            portal.refused.update(office.codes[1::3])  # some dossiers never reach the portal
            runner.deliver_effects()
            scenario.february()
            scenario.march()  # the later changes wait in the outbox: those dossiers are not fully synced
            app.reports.catch_up()
            versions = {case.code: case.version for case in app.store.cases()}
            synced = {code for code, n in app.sync.synced_counts().items() if n == versions[code]}
            assert 0 < len(synced) < len(office.codes)
            published = {code for code in office.codes if any(e.kind == PORTAL_KIND for e in app.store.effects(code))}
            assert published == set(office.codes)  # published from the start
            facts = folded_facts(app)
            for start, end in PERIODS:
                counts = app.reports.indicator_counts(start, end)
                assert counts == indicator_counts(facts, start, end, published=published, synced=synced), (start, end)
                assert counts.sync_measured is (counts.received > 0)  # every dossier was published
        finally:
            app.close()


def publishing(app: Motcua, clock: ManualClock, *, on: bool) -> None:
    """Publishing to DVCQG turned on or off, as restarting the office's processes with or without a portal."""
    app.service.engine = Engine(app.workflows, clock, PORTAL_PUBLISH if on else {})


SYNC_EXPECTED = {  # (from, to): (sync_total, synced) — the published dossiers, and those fully synced
    (date(2024, 2, 1), date(2024, 2, 29)): (0, 0),  # nothing received
    (date(2024, 3, 4), date(2024, 3, 4)): (0, 0),  # "before" only: received before publishing, left out
    (date(2024, 3, 5), date(2024, 3, 5)): (1, 0),  # "straddling": its first changes never reached the portal
    (date(2024, 3, 6), date(2024, 3, 6)): (1, 1),  # "full"
    (date(2024, 3, 7), date(2024, 3, 7)): (1, 0),  # "partial": its last change still in the outbox
    (date(2024, 3, 8), date(2024, 3, 8)): (1, 0),  # "switched off": its last change made with publishing off
    (date(2024, 3, 1), date(2024, 3, 31)): (4, 1),
}


def test_the_sync_indicator_counts_the_published_dossiers(request: pytest.FixtureRequest, backend: str) -> None:
    """Whether the indicator is measured, and over which dossiers, is read from the data (the outbox's
    ``dvcqg.sync`` effects), never from the reporting process's settings: the reports here are opened
    without publishing. Expected numbers are written out; the reference must agree with them too."""
    clock = ManualClock(at(date(2024, 3, 1), 7))
    url_context = contextlib.nullcontext("memory://") if backend == "memory" else _database(backend, request)
    with fake_portal() as portal, url_context as url:
        app = open_motcua(url, clock=clock, observers=[], publish={})
        try:
            notifier = RoutingNotifier(
                {PORTAL_KIND: portal_notifier(app, HttpxTransport(portal.url, TOKEN, timeout=5), clock)}, LogNotifier())
            runner = InlineRunner(Handlers(app.service, app.store, app.store, notifier, clock), clock)
            office = Office(app, clock)
            office.at(date(2024, 3, 4)).receive("1.004873")  # "before": never published
            straddling = office.at(date(2024, 3, 5)).receive("1.004873")
            publishing(app, clock, on=True)
            office.at(date(2024, 3, 6)).fire(straddling, "assign")
            full = office.receive("1.004873")
            partial = office.at(date(2024, 3, 7)).receive("1.004873")
            switched_off = office.at(date(2024, 3, 8)).receive("1.004873")
            runner.deliver_effects()
            office.at(date(2024, 3, 11)).fire(partial, "assign")  # published, never delivered
            publishing(app, clock, on=False)
            office.fire(switched_off, "assign")  # no effect: never synced
            app.reports.catch_up()

            facts = folded_facts(app)
            published, synced = {straddling, full, partial, switched_off}, {full}
            for (start, end), (total, done) in SYNC_EXPECTED.items():
                counts = app.reports.indicator_counts(start, end)
                found = (counts.sync_total, counts.synced, counts.sync_measured)
                assert found == (total, done, total > 0), (start, end)
                assert counts == indicator_counts(facts, start, end, published=published, synced=synced)
            march = scorecard(app.reports.indicator_counts(date(2024, 3, 1), date(2024, 3, 31)),
                              app.rules.in_force(date(2024, 3, 31)), date(2024, 3, 1), date(2024, 3, 31))
            assert next((i.value, i.points) for i in march.indicators if i.key == "sync") == (25.0, 1.5)
            assert SYNC_NOT_MEASURED not in march.notes
            alone = scorecard(app.reports.indicator_counts(date(2024, 3, 4), date(2024, 3, 4)),
                              app.rules.in_force(date(2024, 3, 4)), date(2024, 3, 4), date(2024, 3, 4))
            assert SYNC_NOT_MEASURED in alone.notes
        finally:
            app.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
