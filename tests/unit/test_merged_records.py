"""A merged unit's records pass to the unit it was merged into, and a merged province's to its successor: who sees
what after the mergers of 1 July 2025 (:meth:`UnitRegister.held_by`, :func:`motcua.adapters.keys.scope_of`).

Thành Đông's people see An Thượng's dossiers, ended before the merger included; Hải Phòng's province key sees Hải
Dương's; no one sees more than that: not a neighbour's, not the successor's from the merged unit's old key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from motcua import connect
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import MemoryHttpStore, new_key, scope_of
from motcua.definitions.units import load_units
from motcua.entrypoints.cli.main import app as cli
from motcua.entrypoints.http.app import create_app
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import CaseNotFound, InvalidDefinition, InvalidInput, NotFound, OutsideScope
from motcua.workflow.units.succession import apply_successions

AN_THUONG, CAM_THUONG = "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG"
OLD = {AN_THUONG, CAM_THUONG, "LOCAL-HD-BINH-HAN", "LOCAL-HD-NGUYEN-TRAI"}
THANH_DONG, LE_CHAN = "LOCAL-HP-THANH-DONG", "LOCAL-HP-LE-CHAN"
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
MARRIAGE = "1.001193"
AFTER = date(2027, 1, 1)  # after every merger of these registers


# -- the register -------------------------------------------------------------------------------------------------


def test_a_successor_holds_the_units_merged_into_it_and_no_other() -> None:
    register = load_units()
    assert register.held_by(THANH_DONG, AFTER) == OLD | {THANH_DONG}
    assert register.held_by(AN_THUONG, AFTER) == {AN_THUONG}  # an ended unit holds its own, not its successor's
    assert register.held_by(LE_CHAN, AFTER) == {LE_CHAN}
    assert register.held_by("NOT-IN-THE-REGISTER", AFTER) == {"NOT-IN-THE-REGISTER"}


def test_a_merger_passes_the_records_on_the_day_it_takes_effect_not_when_it_is_written() -> None:
    """The register declares the merger of 1 July 2025 weeks ahead (signed 16 June): until 30 June An Thượng is in
    force and its records are its own, not Thành Đông's nor Hải Phòng's."""
    register = load_units()
    assert register.held_by(THANH_DONG, date(2025, 6, 30)) == {THANH_DONG}
    assert register.held_by(THANH_DONG, date(2025, 7, 1)) == OLD | {THANH_DONG}
    hai_phong = {unit.code for unit in register.province("hai-phong").units}
    assert not register.province_held_by("hai-phong", date(2025, 6, 30)) & OLD  # (its listed wards start 1/7 too)
    assert register.province_held_by("hai-phong", date(2025, 7, 1)) == hai_phong | OLD


def test_a_chain_is_held_once_every_merger_on_its_way_took_effect(tmp_path: Path) -> None:
    province(tmp_path, "thu",
             unit("A", valid_to="2020-12-31", successors="B"),
             unit("B", valid_from="2021-01-01", valid_to="2025-06-30", successors="C"),
             unit("C", valid_from="2025-07-01"))
    register = load_units(tmp_path)
    assert register.held_by("C", date(2025, 6, 30)) == {"C"}
    assert register.held_by("B", date(2025, 6, 30)) == {"A", "B"}
    assert register.held_by("C", date(2025, 7, 1)) == {"A", "B", "C"}


def test_no_grant_reaches_a_unit_before_its_merger(clock: ManualClock) -> None:
    """On 20 June 2025 a Hải Phòng or Thành Đông grant neither reads An Thượng's dossiers nor receives there."""
    clock.set(datetime(2025, 6, 20, 9, 0, tzinfo=VN_TZ))
    with closing(open_motcua("memory://", clock=clock, observers=[])) as app:
        dossier = app.desk.receive(MARRIAGE, "direct", Applicant("Trần Văn Bình"), OFFICER, unit=AN_THUONG).code
        for grant in ({"province": "hai-phong"}, {"units": [THANH_DONG]}):
            scope = scope_of(["officer"], app.desk.units, app.desk.today(), **grant)  # type: ignore[arg-type]
            cases = ScopedCases(app.service, app.store, app.desk, scope)
            with pytest.raises(CaseNotFound):
                cases.case(dossier)
            with pytest.raises(OutsideScope):
                cases.vet_reception(Applicant("Trần Văn Bình"), AN_THUONG, None)
        clock.set(datetime(2025, 7, 1, 9, 0, tzinfo=VN_TZ))
        scope = scope_of(["officer"], app.desk.units, app.desk.today(), province="hai-phong")
        assert ScopedCases(app.service, app.store, app.desk, scope).case(dossier).code == dossier


def test_a_province_holds_the_provinces_merged_into_it() -> None:
    register = load_units()
    hai_phong = {unit.code for unit in register.province("hai-phong").units}
    assert register.province_held_by("hai-phong", AFTER) == hai_phong | OLD
    assert register.province_held_by("hai-duong", AFTER) == OLD  # the merged province keeps its own, no more


PROVINCE = """\
province:
  code: {code}
  name: "{code}"
  kind: tỉnh
{extra}units:
{units}"""


def unit(code: str, *, valid_from: str = "", valid_to: str = "", successors: str = "") -> str:
    lines = [f"  - code: {code}", f'    name: "{code}"', "    kind: xã"]
    lines += [f"    valid_from: {valid_from}"] if valid_from else []
    lines += [f"    valid_to: {valid_to}"] if valid_to else []
    if successors:
        lines += [f"    successors: [{successors}]", f'    succession: {{number: "1/NQ", signed: {valid_to}}}']
    return "\n".join(lines) + "\n"


def province(directory: Path, code: str, *units: str, extra: str = "") -> Path:
    (directory / f"{code}.yaml").write_text(PROVINCE.format(code=code, extra=extra, units="".join(units)),
                                            encoding="utf-8")
    return directory


def test_a_chain_of_mergers_is_held_by_its_last_unit_and_a_split_by_none(tmp_path: Path) -> None:
    province(tmp_path, "thu",
             unit("A", valid_to="2020-12-31", successors="B"),
             unit("B", valid_from="2021-01-01", valid_to="2025-06-30", successors="C"),
             unit("C", valid_from="2025-07-01"),
             unit("S", valid_to="2025-06-30", successors="C, D"),
             unit("D", valid_from="2025-07-01"))
    register = load_units(tmp_path)
    assert register.held_by("C", AFTER) == {"A", "B", "C"}  # a split unit's records are a person's to place
    assert register.held_by("B", AFTER) == {"A", "B"}
    assert register.held_by("D", AFTER) == {"D"}


def test_a_unit_merged_across_provinces_is_held_without_a_province_succession(tmp_path: Path) -> None:
    province(tmp_path, "cu", unit("OLD-1", valid_to="2025-06-30", successors="NEW-1"),
             unit("OLD-2", valid_to="2025-06-30"), extra="  valid_to: 2025-06-30\n")
    province(tmp_path, "moi", unit("NEW-1", valid_from="2025-07-01"))
    register = load_units(tmp_path)
    assert register.province_held_by("moi", AFTER) == {"NEW-1", "OLD-1"}  # OLD-2 names no successor: not followed


def test_a_province_holds_only_what_was_merged_into_it(tmp_path: Path) -> None:
    """Commune X kept its code when it moved from province ``cu`` (still in force) to ``moi``, and W was merged into
    it there: W's records are ``moi``'s, not ``cu``'s. And a commune of a merged province given to a third province
    is that province's, not the merged province's successor's."""
    province(tmp_path, "cu", unit("X", valid_to="2025-06-30"), unit("O1"))
    province(tmp_path, "moi", unit("X", valid_from="2025-07-01"), unit("W", valid_to="2025-12-31", successors="X"))
    register = load_units(tmp_path)
    assert register.province_held_by("cu", AFTER) == {"X", "O1"}
    assert register.province_held_by("moi", AFTER) == {"X", "W"}
    assert register.province_held_by("moi", date(2025, 6, 30)) == {"W"}  # X is cu's until it moves, on 1 July


def test_a_commune_that_keeps_its_code_is_held_by_the_province_it_goes_to(tmp_path: Path) -> None:
    """p1 was merged into p2 on 1 July; its commune K kept its code and went to p3, and L merged into K before."""
    province(tmp_path, "p1", unit("K", valid_to="2025-06-30"), unit("L", valid_to="2024-12-31", successors="K"),
             unit("M", valid_to="2025-06-30"), extra="  valid_to: 2025-06-30\n  successor: p2\n")
    province(tmp_path, "p2", unit("N", valid_from="2025-07-01"))
    province(tmp_path, "p3", unit("K", valid_from="2025-07-01"), unit("R"))
    register = load_units(tmp_path)
    assert register.province_held_by("p2", AFTER) == {"M", "N"}  # K and what it holds went to p3
    assert register.province_held_by("p3", date(2025, 6, 30)) == {"R"}
    assert register.province_held_by("p3", AFTER) == {"K", "L", "R"}  # K brought the records merged into it
    assert register.province_held_by("p1", AFTER) == {"K", "L", "M"}


def test_a_commune_given_to_a_third_province_is_held_by_that_one(tmp_path: Path) -> None:
    province(tmp_path, "p1", unit("A", valid_to="2025-06-30", successors="Q"), unit("B", valid_to="2025-06-30"),
             extra="  valid_to: 2025-06-30\n  successor: p2\n")
    province(tmp_path, "p2", unit("C", valid_from="2025-07-01"))
    province(tmp_path, "p3", unit("Q", valid_from="2025-07-01"))
    register = load_units(tmp_path)
    assert register.province_held_by("p2", AFTER) == {"B", "C"}
    assert register.province_held_by("p3", AFTER) == {"A", "Q"}
    assert register.province_held_by("p1", AFTER) == {"A", "B"}  # its own, always


@pytest.mark.parametrize(("extra", "named"), [
    ("  valid_to: 2025-06-30\n  successor: nowhere\n", "province cu: successor nowhere is not a known province"),
    ("  valid_to: 2025-06-30\n  successor: cu\n", "province cu: successor cu is itself"),
    ("  successor: moi\n", "province cu: has a successor but no valid_to"),
    ("  valid_to: 2025-05-31\n  successor: moi\n", "province cu: successor moi is not in force on 2025-06-01"),
    ("  valid_to: 2025-06-30\n  successor: Moi\n", "province.successor: String should match pattern"),
], ids=["unknown", "itself", "no-end", "gap", "shape"])
def test_a_province_succession_is_checked(tmp_path: Path, extra: str, named: str) -> None:
    province(tmp_path, "cu", unit("OLD-1", valid_to="2025-05-31"), extra=extra)
    province(tmp_path, "moi", unit("NEW-1", valid_from="2025-07-01"), extra="  valid_from: 2025-07-01\n")
    with pytest.raises(InvalidDefinition) as refused:
        load_units(tmp_path)
    assert named in " | ".join(refused.value.problems)


def test_a_cycle_of_provinces_cannot_be_written(tmp_path: Path) -> None:
    """Each successor is in force the day after its predecessor ends, so a chain only goes forward in time."""
    province(tmp_path, "cu", unit("A", valid_to="2025-06-30"), extra="  valid_to: 2025-06-30\n  successor: moi\n")
    province(tmp_path, "moi", unit("B", valid_to="2025-06-30"), extra="  valid_to: 2025-06-30\n  successor: cu\n")
    with pytest.raises(InvalidDefinition) as refused:
        load_units(tmp_path)
    assert "successor cu is not in force on 2025-07-01" in " | ".join(refused.value.problems)


# -- who sees what -----------------------------------------------------------------------------------------------


@pytest.fixture
def merged() -> Iterator[tuple[Motcua, ManualClock, dict[str, str]]]:
    """An Thượng's two dossiers of March 2025 (one withdrawn, one still open on 1 July and carried over to Thành
    Đông), and one of Lê Chân's from July."""
    clock = ManualClock(datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ))
    with closing(open_motcua("memory://", clock=clock, observers=[])) as app:
        person = Applicant("Trần Văn Bình", id_number="030190000001")
        ended = app.desk.receive(MARRIAGE, "direct", person, OFFICER, unit=AN_THUONG).code
        app.service.fire(ended, "request_withdrawal", OFFICER, {"reason": "Công dân rút hồ sơ"})
        app.service.fire(ended, "confirm_withdrawal", OFFICER)
        carried = app.desk.receive(MARRIAGE, "direct", person, OFFICER, unit=AN_THUONG).code
        clock.set(datetime(2025, 7, 2, 9, 0, tzinfo=VN_TZ))
        assert apply_successions(app.service, app.store, app.desk.units.register, clock.now()).moved == 1
        neighbour = app.desk.receive(MARRIAGE, "direct", person, OFFICER, unit=LE_CHAN).code
        yield app, clock, {"ended": ended, "carried": carried, "neighbour": neighbour}


def _sees(app: Motcua, **grant: object) -> set[str]:
    scope = scope_of(["officer"], app.desk.units, app.desk.today(), **grant)  # type: ignore[arg-type]
    cases = ScopedCases(app.service, app.store, app.desk, scope)
    listed = {case.code for case in cases.find(CaseFilter(definition_key="tthc-dossier")).items}
    readable = set()
    for code in {case.code for case in app.store.cases()}:
        try:
            cases.case(code)
            cases.history(code)
            readable.add(code)
        except CaseNotFound:
            pass
    assert listed == readable  # what a scope lists is what it may read, and the other way round
    return listed


def test_each_grant_sees_its_units_and_those_merged_into_them(merged: tuple[Motcua, ManualClock, dict[str, str]],
                                                             ) -> None:
    app, _, codes = merged
    assert _sees(app, units=[THANH_DONG]) == {codes["ended"], codes["carried"]}
    assert _sees(app, units=[AN_THUONG]) == {codes["ended"]}  # the one carried over is Thành Đông's now
    assert _sees(app, units=[CAM_THUONG]) == set()
    assert _sees(app, units=[LE_CHAN]) == {codes["neighbour"]}
    assert _sees(app, province="hai-phong") == set(codes.values())
    assert _sees(app, province="hai-duong") == {codes["ended"]}


def test_a_successors_key_reads_moves_and_reports_but_never_receives_at_the_ended_unit(
    merged: tuple[Motcua, ManualClock, dict[str, str]],
) -> None:
    app, _, codes = merged
    scope = scope_of(["officer"], app.desk.units, app.desk.today(), units=[THANH_DONG])
    assert scope.label == THANH_DONG  # what the grant names, not the units it holds with it
    cases = ScopedCases(app.service, app.store, app.desk, scope)
    moved = cases.fire(codes["carried"], "assign", OFFICER, {"assignee": "Phạm Văn Hùng"})
    assert moved.attributes["assignee"] == "Phạm Văn Hùng"
    assert cases.report_units(AN_THUONG) == {AN_THUONG}  # An Thượng's own figures, asked by its successor
    with pytest.raises(NotFound):
        cases.report_units(LE_CHAN)
    with pytest.raises(InvalidInput, match="not in force on 2025-07-02: its successor is phường Thành Đông"):
        cases.vet_reception(Applicant("Trần Văn Bình"), CAM_THUONG, None)  # held, but ended: no reception there
    with pytest.raises(OutsideScope):
        cases.vet_reception(Applicant("Trần Văn Bình"), LE_CHAN, None)
    assert cases.vet_reception(Applicant("Trần Văn Bình"), THANH_DONG, None).receiving == THANH_DONG


def test_the_http_api_answers_a_successors_key_as_the_rule_says(
    merged: tuple[Motcua, ManualClock, dict[str, str]],
) -> None:
    app, clock, codes = merged
    store = MemoryHttpStore()
    keys = {}
    for name, grant in {"thanh-dong": {"units": [THANH_DONG]}, "le-chan": {"units": [LE_CHAN]},
                        "hai-phong": {"province": "hai-phong"}}.items():
        created = new_key(name, ["officer"], clock.now(), **grant)  # type: ignore[arg-type]
        store.add_key(created.stored)
        keys[name] = created.secret_text
    with TestClient(create_app(app, store, clock=clock)) as client:
        def status(key: str, code: str) -> int:
            return client.get(f"/dossiers/{code}", headers={"X-API-Key": keys[key]}).status_code

        assert (status("thanh-dong", codes["ended"]), status("le-chan", codes["ended"])) == (200, 404)
        assert (status("hai-phong", codes["ended"]), status("hai-phong", codes["neighbour"])) == (200, 200)
        assert status("thanh-dong", codes["neighbour"]) == 404
        listed = client.get("/dossiers", headers={"X-API-Key": keys["thanh-dong"]}).json()["items"]
        assert {item["code"] for item in listed} == {codes["ended"], codes["carried"]}


def test_connect_with_a_unit_sees_what_a_key_of_that_unit_sees(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ))
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    with connect(url, unit=AN_THUONG, clock=clock) as an_thuong:
        ended = an_thuong.receive(MARRIAGE, Applicant("Trần Văn Bình"), OFFICER).code
    clock.set(datetime(2025, 7, 2, 9, 0, tzinfo=VN_TZ))
    with connect(url, unit=THANH_DONG, clock=clock) as thanh_dong:
        assert [case.code for case in thanh_dong.find().items] == [ended]
        assert thanh_dong.bieu06(date(2025, 1, 1), date(2025, 12, 31)).total.total == 1
    with connect(url, unit=LE_CHAN, clock=clock) as le_chan:
        assert le_chan.find().items == ()
        with pytest.raises(CaseNotFound):
            le_chan.case(ended)


def test_whoever_issues_a_grant_is_told_what_it_holds_besides(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    runner = CliRunner()
    key = runner.invoke(cli, ["apikey", "create", "--actor", "Thành Đông", "--role", "officer", "--unit", THANH_DONG,
                              "--db", db])
    assert key.exit_code == 0, key.output
    assert (f"units {THANH_DONG}; also the dossiers of 4 unit(s) merged into it, each from its merger's effective "
            "day: LOCAL-HD-AN-THUONG, LOCAL-HD-BINH-HAN, LOCAL-HD-CAM-THUONG, LOCAL-HD-NGUYEN-TRAI: store the key "
            "now") in key.stderr
    user = runner.invoke(cli, ["user", "create", "--name", "hp", "--role", "inspector", "--province", "hai-phong",
                               "--db", db], input="mot-mat-khau-dai\n")
    assert user.exit_code == 0, user.output
    assert "province hai-phong; also the dossiers of 4 unit(s) merged into it, each" in user.stdout
    plain = runner.invoke(cli, ["apikey", "create", "--actor", "Lê Chân", "--role", "officer", "--unit", LE_CHAN,
                                "--db", db])
    assert plain.exit_code == 0 and "merged" not in plain.stderr


def test_what_was_merged_into_a_unit_comes_with_it_into_another_province(tmp_path: Path) -> None:
    """A merged into B in p1 (2021), then B into C in p2 (2025): p2 holds A with B, from 1 July 2025."""
    province(tmp_path, "p1", unit("A", valid_to="2020-12-31", successors="B"),
             unit("B", valid_to="2025-06-30", successors="C"), unit("D"))
    province(tmp_path, "p2", unit("C", valid_from="2025-07-01"))
    register = load_units(tmp_path)
    assert register.province_held_by("p2", date(2025, 6, 30)) == set()
    assert register.province_held_by("p2", date(2025, 7, 1)) == {"A", "B", "C"} == register.held_by("C", AFTER)


def test_a_commune_sent_to_a_third_province_comes_back_only_on_its_own_later_merger(tmp_path: Path) -> None:
    """p1 merged into p2 in 2025, but its A went to Q of p3, and Q merges into Z of p2 only in 2028: until then A
    is p3's, never p2's; and the same for K, which kept its code into p3 after a month's gap."""
    province(tmp_path, "p1", unit("A", valid_to="2025-06-30", successors="Q"), unit("K", valid_to="2025-06-30"),
             extra="  valid_to: 2025-06-30\n  successor: p2\n")
    province(tmp_path, "p2", unit("Y", valid_from="2025-07-01"), unit("Z", valid_from="2028-01-01"))
    province(tmp_path, "p3", unit("Q", valid_from="2025-07-01", valid_to="2027-12-31", successors="Z"),
             unit("K", valid_from="2025-08-01"))
    register = load_units(tmp_path)
    assert register.province_held_by("p2", date(2026, 1, 1)) == {"Y"}
    assert register.province_held_by("p3", date(2026, 1, 1)) == {"A", "Q", "K"}
    assert register.province_held_by("p2", date(2028, 1, 1)) == {"A", "Q", "Y", "Z"}
