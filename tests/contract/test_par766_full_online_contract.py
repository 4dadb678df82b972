"""The Decision 766 online indicator (issue 15, point 5) on the memory projection, SQLite and PostgreSQL.

A catalogue where one toàn trình procedure (1.004873) became eligible for full-online service on 1 March 2024
(a dated history) beside the shipped ones (1.001193 eligible by its level, 1.000894 một phần, never eligible).
Dossiers are driven through the real engine across the switch, one of them submitted online before it and
received after it. Every backend must record the fact dossier by dossier, count it as the core's reference does,
and score the same indicator with the same numerator and denominator; a rebuild (the SQL rows of dossiers folded
before revision 0014 read ``false``) and the upgrade to 0014 judge old dossiers again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command

from motcua.adapters import bootstrap
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.sql.engine import create_engine
from motcua.adapters.sql.migrate import alembic_config, upgrade
from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dossiers.catalogue import Catalogue, Procedure
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.reports.par766 import IndicatorCounts, indicator_counts, scorecard
from tests.contract.conftest import BACKENDS, SQL_BACKENDS, _database
from tests.contract.test_reports_contract import Office, at, folded_facts

SWITCH = date(2024, 3, 1)
DATED = "1.004873"  # xác nhận tình trạng hôn nhân: toàn trình, eligible from SWITCH in this catalogue
BY_LEVEL = "1.001193"  # khai sinh: toàn trình, no history: eligible every day
PARTIAL = "1.000894"  # đăng ký kết hôn: một phần
FEBRUARY, MARCH, Q1 = (date(2024, 2, 1), date(2024, 2, 29)), (date(2024, 3, 1), date(2024, 3, 31)), (
    date(2024, 1, 1), date(2024, 3, 31))
EXPECTED = {  # period: (received, received online, eligible at reception, of those received online)
    FEBRUARY: (4, 3, 1, 1),
    MARCH: (4, 3, 3, 2),
    Q1: (8, 6, 4, 3),
    (date(2024, 2, 6), date(2024, 2, 6)): (1, 1, 0, 0),  # only a một phần dossier: not applicable
}


def dated_catalogue() -> Catalogue:
    shipped = load_procedures()
    history = [{"since": SWITCH.isoformat(), "eligible": True, "source": "QĐ công bố thử (kiểm thử)"}]
    dated = Procedure.model_validate({**shipped.get(DATED).model_dump(), "full_online": history})
    return Catalogue(dated if p.code == DATED else p for p in shipped)


@pytest.fixture
def dated(monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    """Every app opened in the test loads the dated catalogue instead of the shipped one."""
    catalogue = dated_catalogue()
    monkeypatch.setattr(bootstrap, "load_procedures", lambda: catalogue)
    return catalogue


def run(office: Office) -> dict[str, str]:
    """February before the switch, March after it; the clock only moves forward."""
    o = office
    codes = {
        "feb_dated_online": o.at(date(2024, 2, 5)).receive(DATED, "online"),
        "feb_dated_direct": o.receive(DATED, "direct"),
        "feb_by_level_online": o.receive(BY_LEVEL, "online"),
        "feb_partial_online": o.at(date(2024, 2, 6)).receive(PARTIAL, "online"),
        "crossing": o.at(date(2024, 2, 29), 16).submit(DATED, "online"),  # submitted before, received after
    }
    o.at(SWITCH, 8).fire(codes["crossing"], "receive")
    codes |= {
        "mar_dated_online": o.receive(DATED, "online"),
        "mar_dated_postal": o.receive(DATED, "postal"),
        "mar_partial_online": o.receive(PARTIAL, "online"),
        "refused": o.at(date(2024, 3, 4)).submit(DATED, "online"),
    }
    o.fire(codes["refused"], "refuse")  # never accepted: in no population
    return codes


ELIGIBLE = {"feb_by_level_online", "crossing", "mar_dated_online", "mar_dated_postal"}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, dated: Catalogue) -> Iterator[tuple[Motcua, ManualClock]]:
    clock = ManualClock(at(date(2024, 1, 2), 7))
    if request.param == "memory":
        opened = open_motcua("memory://", clock=clock, observers=[])
        yield opened, clock
        opened.close()
        return
    with _database(request.param, request) as url:
        opened = open_motcua(url, clock=clock, observers=[])
        try:
            yield opened, clock
        finally:
            opened.close()


def observed(counts: IndicatorCounts) -> tuple[int, int, int, int]:
    return counts.received, counts.received_online, counts.full_online_eligible, counts.full_online


def test_the_online_indicator_is_the_same_on_every_backend(app: tuple[Motcua, ManualClock]) -> None:
    motcua, clock = app
    assert motcua.catalogue.full_online_eligible(DATED, SWITCH)
    assert not motcua.catalogue.full_online_eligible(DATED, date(2024, 2, 29))
    codes = run(Office(motcua, clock))
    motcua.reports.catch_up()

    eligible = {name for name, code in codes.items() if motcua.reports.facts(code).full_online_eligible}  # type: ignore[union-attr]
    assert eligible == ELIGIBLE
    facts = folded_facts(motcua)
    for period, expected in EXPECTED.items():
        counts = motcua.reports.indicator_counts(*period)
        assert counts == indicator_counts(facts, *period), period
        assert observed(counts) == expected, period

    march = scorecard(motcua.reports.indicator_counts(*MARCH), motcua.rules.in_force(MARCH[1]), *MARCH)
    online = next(indicator for indicator in march.indicators if indicator.key == "online")
    assert (online.numerator, online.denominator, online.value, online.points) == (2, 3, 66.67, 12.0)
    day = (date(2024, 2, 6), date(2024, 2, 6))
    alone = scorecard(motcua.reports.indicator_counts(*day), motcua.rules.in_force(day[1]), *day)
    online = next(indicator for indicator in alone.indicators if indicator.key == "online")
    assert (online.numerator, online.denominator, online.value, online.points) == (0, 0, None, 0.0)


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request: pytest.FixtureRequest, dated: Catalogue) -> Iterator[str]:
    with _database(request.param, request) as url:
        yield url


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_rebuild_judges_the_rows_folded_before_the_fact_existed(sql_url: str) -> None:
    clock = ManualClock(at(date(2024, 1, 2), 7))
    motcua = open_motcua(sql_url, clock=clock, observers=[])
    try:
        run(Office(motcua, clock))
        assert motcua.reports.catch_up() > 0
        _execute(sql_url, "UPDATE dossier_report SET full_online_eligible = false")  # as revision 0014 left them
        assert observed(motcua.reports.indicator_counts(*Q1))[2:] == (0, 0)
        motcua.reports.rebuild()
        assert observed(motcua.reports.indicator_counts(*Q1)) == EXPECTED[Q1]
    finally:
        motcua.close()


def test_the_upgrade_to_0014_refolds_the_projection(sql_url: str) -> None:
    clock = ManualClock(at(date(2024, 1, 2), 7))
    motcua = open_motcua(sql_url, clock=clock, observers=[])
    try:
        run(Office(motcua, clock))
        motcua.reports.catch_up()
    finally:
        motcua.close()
    engine = create_engine(sql_url)
    try:
        with engine.connect() as connection, connection.begin():
            command.downgrade(alembic_config(connection), "0013")  # the column gone, the projection kept
    finally:
        engine.dispose()

    upgrade(sql_url)  # 0014 empties the projection: the next catch-up folds the whole log again

    motcua = open_motcua(sql_url, clock=clock, observers=[])
    try:
        assert motcua.reports.catch_up() > 0
        assert observed(motcua.reports.indicator_counts(*Q1)) == EXPECTED[Q1]
        assert motcua.reports.indicator_counts(*Q1) == indicator_counts(folded_facts(motcua), *Q1)
    finally:
        motcua.close()
