"""The limits on a dossier's letters on every store (memory, SQLite, PostgreSQL), on both rule sets.

A second re-dating and a supplement request past the limit are refused by their rule and write nothing — no case
version, entry, timer or effect; what the limits record (the letters, the supplement history, a leader's
authorisation) reads back as written, and the reporting projection folds the same facts from it as the core's
reference, the Decision 766 progress counting the twice-supplemented dossier as not on time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.errors import RuleRefused
from motcua.workflow.reports.par766 import indicator_counts
from tests.contract.test_reports_contract import folded_facts

OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
SPECIALIST = Actor.of("Phạm Văn Hùng", "specialist")
LEADER = Actor.of("Lê Minh Tuấn", "leader")
ALLOWANCE = "1.001776"  # 10 working days
MONDAYS = {"nd61-2018": date(2024, 3, 4), "nd118-2025": date(2025, 8, 4)}


@dataclass
class Office:
    app: Motcua
    clock: ManualClock

    def at(self, monday: date, days: int, hour: int = 9) -> None:
        moment = monday + timedelta(days=days)
        self.clock.set(datetime(moment.year, moment.month, moment.day, hour, tzinfo=VN_TZ))

    def fire(self, code: str, trigger: str, actor: Actor, **data: JsonValue) -> Case:
        return self.app.service.fire(code, trigger, actor, data)

    def stored(self, code: str) -> tuple[object, ...]:
        store = self.app.store
        return (store.load(code), tuple(store.history(code)), tuple(store.timers(code)), tuple(store.effects(code)),
                len(list(store.entries())))

    def refused(self, code: str, trigger: str, actor: Actor, **data: JsonValue) -> RuleRefused:
        before = self.stored(code)
        with pytest.raises(RuleRefused) as caught:
            self.fire(code, trigger, actor, **data)
        assert self.stored(code) == before
        return caught.value


@pytest.fixture
def office(url: str) -> Iterator[Office]:
    clock = ManualClock(datetime(2024, 3, 4, 7, tzinfo=VN_TZ))
    app = open_motcua(url, clock=clock, observers=[])
    try:
        yield Office(app, clock)
    finally:
        app.close()


def run(office: Office, rule_set: str) -> tuple[str, str]:
    """A dossier asked twice (the second authorised) and re-dated once, resolved early; another resolved early."""
    monday, o = MONDAYS[rule_set], office
    o.at(monday, 0, 8)
    codes = [o.app.desk.receive(ALLOWANCE, "direct", Applicant("Trần Văn An"), OFFICER).code for _ in range(2)]
    limited, plain = codes
    assert o.app.store.load(limited).rule_set == rule_set
    for code in codes:
        o.fire(code, "assign", OFFICER, assignee=SPECIALIST.name)
    o.at(monday, 1)
    o.fire(limited, "request_supplement", SPECIALIST, reason="Bản sao CCCD")
    o.fire(limited, "apologize", LEADER, reason="Chờ xác minh", new_date=(monday + timedelta(days=17)).isoformat())
    o.at(monday, 2)
    o.fire(limited, "supplement_received", OFFICER)
    assert o.refused(limited, "request_supplement", SPECIALIST, reason="Lần hai").rule == "supplement_request_limit"
    assert o.refused(limited, "apologize", LEADER, reason="Lần hai",
                     new_date=(monday + timedelta(days=21)).isoformat()).rule == "redating_limit"
    o.fire(limited, "apologize", LEADER, reason="Vẫn chờ xác minh")
    o.fire(limited, "authorise_extra_supplement", LEADER, reason="Cần xác nhận của trưởng thôn")
    o.at(monday, 3)
    o.fire(limited, "request_supplement", SPECIALIST, reason="Xác nhận của trưởng thôn")
    o.at(monday, 4)
    o.fire(limited, "supplement_received", OFFICER)
    for code in codes:
        o.fire(code, "submit_for_approval", SPECIALIST, approver=LEADER.name)
        o.fire(code, "approve", LEADER)
        o.fire(code, "mark_result_ready", SPECIALIST)
    return limited, plain


def records(case: Case, name: str) -> list[dict[str, JsonValue]]:
    value = case.attributes.get(name)
    assert isinstance(value, list)
    return [item for item in value if isinstance(item, dict)]




@pytest.mark.parametrize("rule_set", list(MONDAYS))
def test_refusals_write_nothing_and_the_records_round_trip(office: Office, rule_set: str) -> None:
    limited, _ = run(office, rule_set)

    case = office.app.store.load(limited)
    history = records(case, "supplement_history")
    # Tuesday, then Thursday 09:00: past Thursday 08:00, three working days after the reception
    assert [entry["within_limit"] for entry in history] == [True, False]
    assert [entry.get("authorised_by") for entry in history] == [None, LEADER.name]
    assert case.attributes["supplement_authorisation"] is None and case.attributes["supplement_requests"] == 2
    promised = (MONDAYS[rule_set] + timedelta(days=17)).isoformat()
    assert [letter["new_date"] for letter in records(case, "apologies")] == [promised, None]
    triggers = [entry.trigger for entry in office.app.store.history(limited)]
    assert triggers.count("request_supplement") == 2 and triggers.count("apologize") == 2


def test_the_projection_folds_the_facts_of_the_limits(office: Office) -> None:
    limited = [run(office, rule_set)[0] for rule_set in MONDAYS]
    reports = office.app.reports
    reports.catch_up()

    reference = {item.code: item for item in folded_facts(office.app)}
    for code in limited:
        facts = reports.facts(code)
        assert facts == reference[code]
        assert facts is not None and (facts.supplement_requests, facts.redated_in_time) == (2, True)
    for monday in MONDAYS.values():
        period = (monday, monday + timedelta(days=30))
        counts = reports.indicator_counts(*period)
        assert counts == indicator_counts(reference.values(), *period)
        assert (counts.total, counts.resolved_early, counts.resupplemented) == (2, 2, 1)
    assert reports.rebuild() > 0
    assert [reports.facts(code) for code in limited] == [reference[code] for code in limited]
