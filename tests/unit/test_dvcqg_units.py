"""An imported dossier belongs to the unit its record names (``DonViXuLy``), when the deployment has that unit: a
unit's staff then see it and the unit's reports count it. It was read nowhere, so every imported dossier belonged to
no unit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from motcua.adapters.bootstrap import PORTAL_PUBLISH, Motcua, open_motcua
from motcua.entrypoints.cli.units_cmd import units_app
from motcua.entrypoints.importer import import_file
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.units.succession import adopt_unitless, apply_successions
from tests.conftest import OFFICER
from tests.integration.test_dvcqg_import import code, rec, write

AN_THUONG = "LOCAL-HD-AN-THUONG"  # a unit of the shipped register (until 30/06/2025)
AT = datetime(2024, 3, 6, 9, 0, tzinfo=VN_TZ)


@pytest.fixture
def app() -> Iterator[Motcua]:
    motcua = open_motcua("memory://", clock=ManualClock(AT), observers=[])
    yield motcua
    motcua.close()


def _units(app: Motcua, number: int) -> tuple[object, object, str | None]:
    case = app.store.load(code(number))
    return (case.attributes.get("receiving_unit"), case.attributes.get("deciding_unit"),
            app.workflows.index_of(case).get("unit"))


def test_a_record_naming_a_unit_of_the_deployment_is_that_units_dossier(app: Motcua, tmp_path: Path) -> None:
    import_file(write(tmp_path / "a.json", [
        rec(1, DonViXuLy=AN_THUONG),
        rec(2),  # the fixture's DonViXuLy is a name, "UBND xã An Thượng": no unit
        rec(3, DonViXuLy="LOCAL-HD-NOWHERE"),  # a code the register does not have
        rec(4, DonViXuLy=app.desk.units.home),  # a standalone desk's home, in no register
    ]), app, at=AT)
    assert _units(app, 1) == (AN_THUONG, AN_THUONG, AN_THUONG)
    assert _units(app, 2) == (None, None, None)
    assert _units(app, 3) == (None, None, None)
    home = app.desk.units.home
    assert _units(app, 4) == (home, home, home)


def test_units_are_set_once_and_then_move_only_by_motcuas_own_decisions(app: Motcua, tmp_path: Path) -> None:
    """A dossier imported without a unit takes the one a later record names; one that has units keeps them (a
    merger moves them, and a record of the old unit must not move them back)."""
    import_file(write(tmp_path / "a.json", [rec(1), rec(2, DonViXuLy=AN_THUONG)]), app, at=AT)
    home = app.desk.units.home
    import_file(write(tmp_path / "b.json", [rec(1, DonViXuLy=AN_THUONG), rec(2, DonViXuLy=home)]), app, at=AT)
    assert _units(app, 1) == (AN_THUONG, AN_THUONG, AN_THUONG)
    assert _units(app, 2) == (AN_THUONG, AN_THUONG, AN_THUONG)
    import_file(write(tmp_path / "c.json", [rec(1)]), app, at=AT)  # no unit given: the unit stays
    assert _units(app, 1) == (AN_THUONG, AN_THUONG, AN_THUONG)


@pytest.mark.parametrize("agency", [12345, {"Ma": AN_THUONG}, "UBND xã\nAn Thượng", "x" * 501],
                         ids=["number", "object", "line-break", "long"])
def test_a_donvixuly_that_is_no_unit_code_never_refuses_the_record(app: Motcua, tmp_path: Path,
                                                                     agency: object) -> None:
    """The field was ignored before it was read: whatever a portal sends there imports the record, with no unit
    (review rv1: a name over two lines refused the whole file)."""
    import_file(write(tmp_path / "a.json", [rec(1, DonViXuLy=agency)]), app, at=AT)
    assert _units(app, 1) == (None, None, None)


def test_a_unit_that_had_ended_on_the_day_of_reception_is_not_given(tmp_path: Path) -> None:
    """An Thượng ended on 30/06/2025: a record received there on 20/07/2025 is no dossier of it, as a desk would
    have refused to receive it there that day (review rv1); it is left without a unit."""
    at = datetime(2025, 8, 1, 9, 0, tzinfo=VN_TZ)
    motcua = open_motcua("memory://", clock=ManualClock(at), observers=[])
    try:
        import_file(write(tmp_path / "a.json", [
            rec(1, DonViXuLy=AN_THUONG, NgayTiepNhan="20250720080000", NgayHenTra="20250725170000"),
            rec(2, DonViXuLy=AN_THUONG, NgayTiepNhan="20250620080000", NgayHenTra="20250625170000"),
        ]), motcua, at=at)
        assert _units(motcua, 1) == (None, None, None)
        assert _units(motcua, 2) == (AN_THUONG, AN_THUONG, AN_THUONG)  # in force then: a merger moves it later
    finally:
        motcua.close()


def test_a_merger_moves_an_imported_dossier_without_posting_the_portals_own_record_back(tmp_path: Path) -> None:
    """With the portal published to, the engine's own decisions on an imported dossier (a merger's transfer, the
    adoption of a dossier without a unit) move it and release nothing: it is the portal's record, and a sync would
    post motcua's copy back over it. A dossier received in motcua beside it is published as before."""
    clock = ManualClock(datetime(2025, 6, 25, 9, 0, tzinfo=VN_TZ))
    app = open_motcua("memory://", clock=clock, observers=[], publish=PORTAL_PUBLISH)
    try:
        received = {"NgayTiepNhan": "20250624080000", "NgayHenTra": "20250710170000"}
        import_file(write(tmp_path / "a.json", [rec(1, DonViXuLy=AN_THUONG, **received),
                                                rec(2, DonViXuLy="UBND xã Không Có", **received)]), app)
        native = app.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER, unit=AN_THUONG).code
        released = {item.case_code for item in app.store.claim_effects(clock.now(), 50, timedelta(minutes=1))}
        assert released == {native}  # an import releases nothing; the native reception is published
        clock.set(datetime(2025, 7, 1, 0, 5, tzinfo=VN_TZ))
        moved = apply_successions(app.service, app.store, app.desk.units.register, clock.now()).moved
        adopted = adopt_unitless(app.service, app.store, app.desk.units.register, "LOCAL-HP-THANH-DONG")
        assert moved == 2 and adopted == (code(2),)  # the imported dossier and the native one; the unitless one
        assert app.store.load(code(1)).version == 2 and app.store.load(code(2)).version == 2  # moved, both
        released = {item.case_code for item in app.store.claim_effects(clock.now(), 50, timedelta(minutes=1))}
        assert released == {native}
    finally:
        app.close()



def test_the_adopt_command_counts_the_imported_dossiers_and_may_leave_them(tmp_path: Path) -> None:
    """A province's database holds records the portal exported for units the register does not know yet: adopting
    them all into one commune would make them that commune's. The command says how many it took, and
    ``--skip-imported`` leaves them (a native dossier without a unit is adopted all the same)."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    motcua = open_motcua(url, clock=ManualClock(AT), observers=[], agency="000.00.00.H23")
    try:
        import_file(write(tmp_path / "a.json", [rec(1, DonViXuLy="000.00.99.H99"), rec(2, DonViXuLy=AN_THUONG)]),
                    motcua)
        native = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER).code
    finally:
        motcua.close()
    runner = CliRunner()
    dry = runner.invoke(units_app, ["adopt", AN_THUONG, "--dry-run", "--db", url])
    assert dry.exit_code == 0, dry.output
    assert ("2 case(s) would be adopted by LOCAL-HD-AN-THUONG (1 of them imported from DVCQG: --skip-imported "
            "leaves those)") in dry.stdout
    left = runner.invoke(units_app, ["adopt", AN_THUONG, "--skip-imported", "--json", "--db", url])
    assert left.exit_code == 0, left.output
    assert json.loads(left.stdout) == {"unit": AN_THUONG, "dry_run": False, "adopted": [native],
                                       "imported_adopted": [], "imported_left": [code(1)]}
    again = runner.invoke(units_app, ["adopt", AN_THUONG, "--skip-imported", "--db", url])
    assert "0 case(s) adopted by LOCAL-HD-AN-THUONG (1 imported from DVCQG left as they are)" in again.stdout
