"""Issue 16, point 1: a dated, versioned catalogue with a fee schedule.

The model's checks (versions, authority and fee schedules, each fee kind's needs, the flat shape kept for older
files but never a silent 0 in the shipped catalogue), the version in force on both sides of 1/7/2025, the per-page
fee of chứng thực bản sao, and a dossier keeping the version in force at its reception (its appointment counted by
it, its fee entry recorded)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from motcua.adapters import bootstrap
from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.catalogue import PROCEDURES_DIR, field_procedures, load_procedures
from motcua.workflow.dossiers.catalogue import Catalogue, FeeEntry, Procedure
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidDefinition

MOVED = "9.000001"  # a test procedure: decided by the district until 30/6/2025, by the commune from 1/7/2025
SWITCH = date(2025, 7, 1)
EVERYONE = Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "applicant", "system")


def versioned(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": MOVED, "name": "Thủ tục thử có hai phiên bản", "confirmed": False, "source": "kiểm thử",
        "legal_bases": [{"text": "Nghị định thử 1/2020/NĐ-CP", "signed": "2020-01-01",
                         "amended_by": ["Nghị định thử 2/2025/NĐ-CP (12/06/2025)"]}],
        "authority": [{"since": None, "until": "2025-06-30", "decides": "district", "receives": "commune"},
                      {"since": "2025-07-01", "until": None, "decides": "commune", "receives": "commune"}],
        "versions": [
            {"since": None, "processing_time": {"direct": {"amount": 5, "unit": "working_days"}},
             "level": "mot_phan", "full_online": False, "source": "Nghị định thử 1/2020"},
            {"since": "2025-07-01", "processing_time": {"direct": {"amount": 3, "unit": "working_days"}},
             "extension_working_days": 2, "level": "toan_trinh", "full_online": True, "source": "Nghị định thử 2/2025"},
        ],
        "fees": [
            {"since": None, "until": "2025-06-30", "kind": "per_case", "amount": 20000, "per": "trường hợp",
             "basis": "Thông tư thử, Điều 4"},
            {"since": "2025-07-01", "kind": "council", "resolution": None, "basis": "Luật Phí và lệ phí 2015"},
        ],
    }
    entry.update(overrides)
    return entry


def procedure(**overrides: Any) -> Procedure:
    return Procedure.model_validate({**versioned(**overrides), "field_code": "HT", "field_name": "Hộ tịch"})


def problems(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        procedure(**overrides)
    return str(caught.value)


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"field": {"code": "HT", "name": "Hộ tịch"}, "procedures": list(entries)}


# -- the version, authority and fee in force --------------------------------------------------------------------


def test_the_version_in_force_on_both_sides_of_1_july_2025() -> None:
    item = procedure()
    before, after = item.version_on(date(2023, 5, 10)), item.version_on(date(2026, 2, 2))
    assert (before.key, before.time_for("direct").amount, before.level) == ("origin", 5, "mot_phan")
    assert (after.key, after.time_for("direct").amount, after.extension_working_days) == ("2025-07-01", 3, 2)
    assert item.version_on(date(2025, 6, 30)).key == "origin"
    assert item.version_on(SWITCH).key == "2025-07-01"
    district, commune = item.authority_on(date(2023, 5, 10)), item.authority_on(date(2026, 2, 2))
    assert district is not None and (district.decides, district.receives) == ("district", "commune")
    assert commune is not None and commune.decides == "commune"
    assert item.fee_on(date(2023, 5, 10)).amount == 20000
    assert (item.fee_on(SWITCH).kind, item.fee_on(SWITCH).known) == ("council", False)
    assert not item.full_online_on(date(2025, 6, 30)) and item.full_online_on(SWITCH)
    assert (item.level, item.fee) == ("toan_trinh", 0)  # the latest version and fee entry: as published now


def test_the_catalogue_answers_version_on() -> None:
    catalogue = Catalogue([procedure()])
    assert catalogue.version_on(MOVED, date(2023, 1, 2)).key == "origin"
    assert catalogue.version_on(MOVED, date(2026, 1, 2)).key == "2025-07-01"
    assert catalogue.get(MOVED).version("2025-07-01").time_for("online").amount == 3


def test_the_shipped_social_assistance_procedures_moved_to_the_commune() -> None:
    funeral = load_procedures().get("1.001731")
    old, new = funeral.authority_on(date(2023, 3, 1)), funeral.authority_on(date(2026, 3, 1))
    assert old is not None and old.decides == "district"
    assert new is not None and new.decides == "commune"
    assert (funeral.version_on(date(2023, 3, 1)).key, funeral.version_on(date(2026, 3, 1)).key) == (
        "origin", "2025-07-01")


def test_every_shipped_procedure_has_a_schedule_with_its_basis() -> None:
    catalogue = load_procedures()
    assert len(catalogue) >= 26
    for item in catalogue:
        assert item.authority, item.code
        assert all(fee.basis for fee in item.fees), item.code
        assert all(not (fee.kind == "per_case" and fee.amount == 0) for fee in item.fees), item.code
    assert catalogue.get("1.001193").fees[-1].kind == "exempt"
    assert catalogue.get("1.001022").fees[-1].kind == "council"
    copies = catalogue.get("2.000815").fees[-1]
    assert (copies.kind, copies.amount, copies.first_pages, copies.then, copies.cap) == (
        "per_page", 2000, 2, 1000, 200000)


# -- fees ----------------------------------------------------------------------------------------------------------

COPY = FeeEntry(kind="per_page", amount=2000, first_pages=2, then=1000, cap=200000, per="bản",
                basis="Thông tư 226/2016/TT-BTC")


@pytest.mark.parametrize(("pages", "copies", "expected"), [
    (1, 1, 2000), (2, 1, 4000), (3, 1, 5000), (10, 1, 12000),
    (196, 1, 198000), (197, 1, 199000), (198, 1, 200000), (250, 1, 200000),  # capped at 200,000 a copy
    (3, 2, 10000), (250, 3, 600000),
])
def test_the_per_page_fee_of_certified_copies(pages: int, copies: int, expected: int) -> None:
    assert COPY.fee_for(pages, copies) == expected


def test_the_other_fee_kinds() -> None:
    assert FeeEntry(kind="per_case", amount=10000, basis="TT 226").fee_for(copies=3) == 30000
    assert FeeEntry(kind="exempt", basis="Luật Hộ tịch 2014, Điều 11").fee_for(5, 2) == 0
    unknown = FeeEntry(kind="council", basis="Luật Phí và lệ phí 2015")
    assert (unknown.fee_for(), unknown.known, unknown.base) == (None, False, 0)
    set_by = FeeEntry(kind="council", amount=8000, resolution="Nghị quyết 1/2023/NQ-HĐND", basis="Luật Phí")
    assert (set_by.fee_for(), set_by.known) == (8000, True)
    with pytest.raises(ValueError, match="count from 1"):
        COPY.fee_for(0)


def test_the_fee_attribute_keeps_every_key() -> None:
    assert COPY.as_attribute() == {
        "since": None, "until": None, "kind": "per_page", "amount": 2000, "first_pages": 2, "then": 1000,
        "cap": 200000, "per": "bản", "basis": "Thông tư 226/2016/TT-BTC", "resolution": None,
    }


@pytest.mark.parametrize(("fee", "message"), [
    ({"kind": "per_page", "first_pages": 2, "then": 1000, "basis": "TT"}, "a per_page fee needs its amount"),
    ({"kind": "per_page", "amount": 2000, "first_pages": 2, "basis": "TT"}, "first_pages and then together"),
    ({"kind": "per_case", "basis": "TT"}, "a per_case fee needs its amount"),
    ({"kind": "council", "resolution": "Nghị quyết 5/2024"}, "a council fee needs the text"),
    ({"kind": "exempt"}, "an exempt fee needs the article"),
    ({"kind": "exempt", "amount": 0, "basis": "Điều 11"}, "amount does not apply to a exempt fee"),
    ({"kind": "per_case", "amount": 1, "cap": 5, "basis": "TT"}, "cap does not apply to a per_case fee"),
])
def test_each_fee_kind_says_what_it_needs(fee: dict[str, Any], message: str) -> None:
    assert message in problems(fees=[fee])


# -- schedule checks -----------------------------------------------------------------------------------------------


def test_overlapping_versions_are_refused() -> None:
    again = versioned()["versions"]
    assert "since must strictly increase" in problems(versions=[again[0], again[1], {**again[1]}])
    assert "only the first version may have since: null" in problems(versions=[again[0], {**again[1], "since": None}])


def test_a_day_without_a_fee_entry_is_refused() -> None:
    fees = versioned()["fees"]
    gap = [fees[0], {**fees[1], "since": "2025-07-03"}]
    assert "fees.1: no entry from 2025-07-01 to 2025-07-02" in problems(fees=gap)
    late_start = [{**fees[0], "since": "2020-01-01"}, fees[1]]
    assert "fees: no entry before 2020-01-01" in problems(fees=late_start)
    ends = [fees[0], {**fees[1], "until": "2026-12-31"}]
    assert "fees: no entry after 2026-12-31" in problems(fees=ends)


def test_overlapping_fee_entries_and_authority_are_refused() -> None:
    fees = versioned()["fees"]
    assert "fees.1: overlaps the entry before" in problems(fees=[{**fees[0], "until": "2025-07-05"}, fees[1]])
    authority = versioned()["authority"]
    assert "authority.1: overlaps" in problems(authority=[{**authority[0], "until": None}, authority[1]])


def test_the_flat_shape_is_one_version_and_does_not_mix() -> None:
    flat = Procedure(code="1.000001", name="Cũ", field_code="HT", field_name="Hộ tịch", level="mot_phan",
                     processing_time={"direct": {"amount": 3, "unit": "working_days"}}, fee=5000, source="cũ",
                     valid_from=date(2024, 1, 1))
    assert [version.key for version in flat.versions] == ["2024-01-01"]
    assert (flat.fee, flat.fees[0].kind, flat.fees[0].basis) == (5000, "per_case", None)
    assert flat.valid_from == date(2024, 1, 1)
    assert "the flat shape and versions do not mix" in problems(level="mot_phan")
    assert "a flat fee and a schedule do not mix" in problems(fee=0)


def test_the_loader_names_file_procedure_and_field() -> None:
    bad = versioned(fees=[{"kind": "council"}])
    with pytest.raises(InvalidDefinition) as caught:
        field_procedures(document(versioned(code="9.000002"), bad), "tinh-x.yaml")
    assert caught.value.source == "tinh-x.yaml"
    assert any(line.startswith(f"procedure {MOVED}: fees.0") and "basis" in line for line in caught.value.problems)


def test_a_silent_zero_is_refused_unless_legacy() -> None:
    flat = {"code": "1.000001", "name": "Cũ", "level": "mot_phan", "source": "cũ",
            "processing_time": {"direct": {"amount": 3, "unit": "working_days"}}, "fee": 0}
    with pytest.raises(InvalidDefinition) as caught:
        field_procedures(document(flat), "a.yaml")
    assert "procedure 1.000001: fee: a flat fee (or none) is not a schedule" in caught.value.problems[0]
    zero = versioned(fees=[{"kind": "per_case", "amount": 0}])
    with pytest.raises(InvalidDefinition, match="a per_case amount of 0"):
        field_procedures(document(zero), "a.yaml")
    assert [item.code for item in field_procedures(document(flat), "a.yaml", legacy_fees=True)] == ["1.000001"]


def test_the_shipped_directory_refuses_a_flat_fee(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        'field: {code: HT, name: Hộ tịch}\nprocedures:\n  - code: "1.000001"\n    name: Cũ\n    level: mot_phan\n'
        "    processing_time:\n      direct: {amount: 3, unit: working_days}\n    fee: 0\n    source: cũ\n",
        encoding="utf-8")
    assert len(load_procedures(tmp_path)) == 1  # a directory of one's own: the old shape still loads
    with pytest.raises(InvalidDefinition, match="not a schedule"):
        load_procedures(tmp_path, legacy_fees=False)
    assert PROCEDURES_DIR.is_dir()


def test_several_files_may_hold_one_field(tmp_path: Path) -> None:
    import yaml  # noqa: PLC0415

    for name, code in (("ho-tich.yaml", MOVED), ("ho-tich-bo-sung.yaml", "9.000002")):
        text = yaml.safe_dump(document(versioned(code=code)), allow_unicode=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    catalogue = load_procedures(tmp_path, legacy_fees=False)
    assert [item.code for item in catalogue.by_field("HT")] == [MOVED, "9.000002"]


# -- reception -----------------------------------------------------------------------------------------------------


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Motcua, ManualClock]]:
    catalogue = Catalogue([*load_procedures(), procedure()])
    monkeypatch.setattr(bootstrap, "load_procedures", lambda *args, **kwargs: catalogue)
    clock = ManualClock(datetime(2023, 5, 8, 9, 0, tzinfo=VN_TZ))
    opened = open_motcua("memory://", clock=clock, observers=[])
    yield opened, clock
    opened.close()


def received(app: Motcua, code: str) -> dict[str, Any]:
    case = app.desk.submit(code, "direct", Applicant("Trần Văn An", phone="0912345678"), EVERYONE)
    app.service.fire(case.code, "receive", EVERYONE, {})
    return dict(app.store.load(case.code).attributes)


def test_a_dossier_keeps_the_version_in_force_at_its_reception(app: tuple[Motcua, ManualClock]) -> None:
    motcua, clock = app
    old = received(motcua, MOVED)  # Monday 8 May 2023, 09:00: 5 working days
    assert (old["catalogue_version"], old["level"], old["fee"], old["fee_known"]) == ("origin", "mot_phan", 20000, True)
    assert old["fee_schedule"]["kind"] == "per_case"
    assert old["appointment"].startswith("2023-05-15")
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ))  # Monday 2 March 2026: 3 working days
    new = received(motcua, MOVED)
    assert (new["catalogue_version"], new["level"], new["fee"]) == ("2025-07-01", "toan_trinh", 0)
    assert new["fee_known"] is False
    assert new["fee_schedule"] == {"since": "2025-07-01", "until": None, "kind": "council", "amount": None,
                                   "first_pages": None, "then": None, "cap": None, "per": None,
                                   "basis": "Luật Phí và lệ phí 2015", "resolution": None}
    assert new["appointment"].startswith("2026-03-05")


def test_a_certified_copy_records_its_page_schedule(app: tuple[Motcua, ManualClock]) -> None:
    motcua, _ = app
    copy = received(motcua, "2.000815")
    assert (copy["fee"], copy["fee_known"], copy["fee_schedule"]["cap"]) == (2000, True, 200000)
