"""A commune's database from before the province's one system: its cases get a unit of the register
(``motcua units adopt``), then continue under the successor like any other (``motcua units apply``).

Two kinds of such cases: written before units existed (no unit attribute at all), and received by a standalone
desk under its own agency code, which the register does not know.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Final

import pytest
from typer.testing import CliRunner

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.units import load_units
from motcua.entrypoints.cli.units_cmd import units_app
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import CaseNotFound, InvalidInput
from motcua.workflow.units.succession import adopt_unitless, apply_successions

JUNE: Final = datetime(2025, 6, 2, 9, 0, tzinfo=VN_TZ)
MERGER: Final = datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ)
AN_THUONG: Final = "LOCAL-HD-AN-THUONG"
THANH_DONG: Final = "LOCAL-HP-THANH-DONG"
STANDALONE: Final = "000.00.00.H23"
OFFICER: Final = Actor.of("Nguyễn Thị Lan", "officer")
MARRIAGE: Final = "1.004873"


def _seed(url: str, clock: ManualClock) -> list[str]:
    """Three dossiers of a standalone desk (one assigned), and one written before units (no unit attribute)."""
    app = open_motcua(url, clock=clock, observers=[], agency=STANDALONE)
    try:
        codes = [app.desk.receive(MARRIAGE, "direct", Applicant(f"Công dân {n}"), OFFICER).code for n in range(3)]
        app.service.fire(codes[0], "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
        rule_set = app.rules.in_force(JUNE.date()).key
        legacy = app.service.open("tthc-dossier", "OLD-240101-0001", OFFICER,
                                  {"procedure": MARRIAGE, "channel": "direct", "applicant_name": "Công dân cũ"},
                                  rule_set=rule_set, then=("receive",))
        return [*codes, legacy.code]
    finally:
        app.close()


@pytest.fixture
def province(tmp_path: Path, clock: ManualClock) -> Motcua:
    clock.set(JUNE)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _seed(url, clock)
    return open_motcua(url, clock=clock, observers=[], agency=AN_THUONG)


def _units(app: Motcua, code: str) -> tuple[object, object]:
    attributes = app.service.get(code).attributes
    return attributes.get("receiving_unit"), attributes.get("deciding_unit")


def test_the_old_cases_are_adopted_once_then_carried_over_by_the_merger(province: Motcua, clock: ManualClock) -> None:
    codes = sorted(case.code for case in province.store.cases())
    an_thuong = ScopedCases(province.service, province.store, province.desk, Scope.of_units({AN_THUONG}))
    with pytest.raises(CaseNotFound):
        an_thuong.case(codes[0])  # before adoption no unit key sees them
    register = load_units()
    lengths = {code: len(province.store.history(code)) for code in codes}

    assert adopt_unitless(province.service, province.store, register, AN_THUONG, dry_run=True) == tuple(codes)
    assert {code: len(province.store.history(code)) for code in codes} == lengths  # a dry run writes nothing

    assert adopt_unitless(province.service, province.store, register, AN_THUONG) == tuple(codes)
    assert {_units(province, code) for code in codes} == {(AN_THUONG, AN_THUONG)}
    adoption = province.store.history(codes[0])[-1]
    assert (adoption.trigger, adoption.actor, adoption.role) == ("adopt_unit", "motcua", "system")
    legacy = province.service.get("OLD-240101-0001").attributes["unit_history"]
    assert legacy == [{"at": JUNE.isoformat(), "from": [], "to": AN_THUONG,
                       "attributes": ["receiving_unit", "deciding_unit"], "resolution": None, "effective": None,
                       "reason": "Hồ sơ, nhiệm vụ lập trước khi hệ thống có danh mục đơn vị hành chính"}]
    standalone = next(code for code in codes if code.startswith(STANDALONE))
    assert province.service.get(standalone).attributes["unit_history"][0]["from"] == [STANDALONE]
    assert [case.code for case in an_thuong.find(CaseFilter()).items] == codes
    assert adopt_unitless(province.service, province.store, register, AN_THUONG) == ()  # idempotent

    clock.set(MERGER)
    report = apply_successions(province.service, province.store, register, MERGER)
    assert sorted(code for result in report.results for code in result.moved) == codes
    assert {_units(province, code) for code in codes} == {(THANH_DONG, THANH_DONG)}
    province.close()


def test_adoption_refuses_a_unit_the_register_does_not_know(province: Motcua) -> None:
    entries = sum(len(province.store.history(case.code)) for case in province.store.cases())
    with pytest.raises(InvalidInput, match="unknown unit 'LOCAL-XX'"):
        adopt_unitless(province.service, province.store, load_units(), "LOCAL-XX")
    assert sum(len(province.store.history(case.code)) for case in province.store.cases()) == entries
    province.close()


def test_the_adopt_command(tmp_path: Path, clock: ManualClock) -> None:
    clock.set(JUNE)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    codes = _seed(url, clock)
    runner = CliRunner()
    refused = runner.invoke(units_app, ["adopt", "LOCAL-XX", "--db", url])
    assert (refused.exit_code, refused.stderr.count("\n")) == (2, 1)
    assert "unknown unit 'LOCAL-XX'" in refused.stderr
    too_long = runner.invoke(units_app, ["adopt", "X" * 10_000, "--db", url])
    assert too_long.exit_code == 2 and len(too_long.stderr) < 300
    dry = runner.invoke(units_app, ["adopt", AN_THUONG, "--dry-run", "--json", "--db", url])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {"unit": AN_THUONG, "dry_run": True, "adopted": sorted(codes),
                                      "imported_adopted": [], "imported_left": []}
    done = runner.invoke(units_app, ["adopt", AN_THUONG, "--db", url])
    assert done.exit_code == 0 and "4 case(s) adopted by LOCAL-HD-AN-THUONG" in done.stdout
    again = runner.invoke(units_app, ["adopt", AN_THUONG, "--json", "--db", url])
    assert json.loads(again.stdout)["adopted"] == []
    app = open_motcua(url, clock=clock, observers=[])
    try:
        assert app.reports.catch_up() > 0
        assert app.reports.bieu06(date(2025, 6, 1), date(2025, 6, 30), units=frozenset({AN_THUONG})) == \
            app.reports.bieu06(date(2025, 6, 1), date(2025, 6, 30))  # the province is the sum of its units again
    finally:
        app.close()
