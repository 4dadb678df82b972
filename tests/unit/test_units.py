"""Administrative units as data: the shipped register, its checks, and ``motcua units list``."""

from __future__ import annotations

import json
import unicodedata
from datetime import date, time, timedelta
from pathlib import Path
from time import perf_counter

import pytest
from typer.testing import CliRunner

from motcua.definitions.units import load_units
from motcua.entrypoints.cli.units_cmd import units_app
from motcua.workflow.errors import InvalidDefinition, InvalidInput, NotFound
from motcua.workflow.units.checks import build_register
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.units.model import Province, Resolution, Unit, UnitKind

OLD = {"LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-NGUYEN-TRAI"}
THANH_DONG = "LOCAL-HP-THANH-DONG"
RUNNER = CliRunner()

PROVINCE = """\
province:
  code: thu
  name: "Thử"
  kind: tỉnh
"""
SEASONS = """\
  seasons:
    - name: "Hè"
      first_day: "04-01"
      last_day: "{summer_end}"
      office_hours: [{{start: "07:00", end: "11:30"}}]
    - name: "Đông"
      first_day: "11-01"
      last_day: "03-31"
      office_hours: [{{start: "07:30", end: "12:00"}}]
"""


def unit(code: str, *, valid_from: str = "", valid_to: str = "", successors: str = "", office: str = "") -> str:
    lines = [f"  - code: {code}", f'    name: "{code}"', "    kind: xã"]
    lines += [f"    valid_from: {valid_from}"] if valid_from else []
    lines += [f"    valid_to: {valid_to}"] if valid_to else []
    if successors:
        signed = valid_to or "2025-06-16"  # signed by the day its succession takes effect
        lines += [f"    successors: [{successors}]", f'    succession: {{number: "1/NQ", signed: {signed}}}']
    lines += [f"    office: {office}"] if office else []
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, *units: str, seasons: str = "") -> Path:
    (tmp_path / "thu.yaml").write_text(PROVINCE + seasons + "units:\n" + "".join(units), encoding="utf-8")
    return tmp_path


def refused(directory: Path) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        load_units(directory)
    return " | ".join(caught.value.problems)


def test_the_shipped_units_load_and_every_local_code_is_unconfirmed() -> None:
    register = load_units()
    assert {province.code for province in register.provinces} == {"hai-duong", "hai-phong"}
    assert all(unit.unconfirmed and unit.note for unit in register.units if unit.code.startswith("LOCAL-"))


def test_the_merger_of_1_july_2025() -> None:
    register = load_units()
    before = {unit.code for unit in register.live_at(date(2025, 6, 30))}
    after = {unit.code for unit in register.live_at(date(2025, 7, 1))}
    assert before == OLD
    assert THANH_DONG in after
    assert len(after) >= 5
    assert not after & OLD


def test_successor_at_follows_the_chain() -> None:
    register = load_units()
    assert register.successor_at("LOCAL-HD-BINH-HAN", date(2025, 6, 30)).name == "Bình Hàn"
    assert register.successor_at("LOCAL-HD-BINH-HAN", date(2025, 7, 1)).code == THANH_DONG
    chain = register.chain("LOCAL-HD-AN-THUONG", date(2026, 1, 1))
    assert [unit.code for unit in chain] == ["LOCAL-HD-AN-THUONG", THANH_DONG]
    assert chain[0].succession is not None
    assert chain[0].succession.number == "1669/NQ-UBTVQH15"
    with pytest.raises(NotFound):
        register.successor_at("NOWHERE", date(2025, 7, 1))
    with pytest.raises(InvalidInput, match="not yet in force"):
        register.successor_at(THANH_DONG, date(2025, 6, 30))


def test_seasonal_hours_of_hai_duong() -> None:
    register = load_units()
    an_thuong = register.versions("LOCAL-HD-AN-THUONG")[0]
    assert register.hours_on(an_thuong, date(2025, 6, 2)).intervals[0] == (time(7, 0), time(11, 30))
    assert register.hours_on(an_thuong, date(2025, 1, 6)).intervals[0] == (time(7, 30), time(12, 0))
    assert register.hours_on(an_thuong, date(2024, 2, 29)).intervals[0] == (time(7, 30), time(12, 0))
    assert an_thuong.office == "an-thuong"


@pytest.mark.parametrize(("code", "year", "lineage"), [
    ("LOCAL-HD-AN-THUONG", 2023, {"LOCAL-HD-AN-THUONG"}),
    ("LOCAL-HD-AN-THUONG", 2025, {"LOCAL-HD-AN-THUONG", THANH_DONG}),  # merged on 1 July: never its sister wards
    (THANH_DONG, 2025, OLD | {THANH_DONG}),
    (THANH_DONG, 2026, {THANH_DONG}),
    ("000.00.00.H23", 2025, {"000.00.00.H23"}),  # a standalone desk's code
], ids=["before", "merged-away", "merged-into", "after", "unknown"])
def test_a_units_lineage_over_a_period(code: str, year: int, lineage: set[str]) -> None:
    """The units that held a unit's place in a period: those it was merged into, those merged into it."""
    assert load_units().lineage(code, date(year, 1, 1), date(year, 12, 31)) == lineage


def test_a_lineage_stops_at_a_split(tmp_path: Path) -> None:
    register = load_units(write(
        tmp_path,
        unit("A", valid_to="2025-06-30", successors="B, C"),
        unit("B", valid_from="2025-07-01"),
        unit("C", valid_from="2025-07-01"),
    ))
    assert register.lineage("A", date(2025, 1, 1), date(2025, 12, 31)) == {"A"}
    assert register.lineage("B", date(2025, 1, 1), date(2025, 12, 31)) == {"B"}
    assert register.carried_on_by("A") == ()


def test_the_units_that_carried_a_unit_on() -> None:
    register = load_units()
    assert register.carried_on_by("LOCAL-HD-AN-THUONG") == (THANH_DONG,)
    assert register.carried_on_by(THANH_DONG) == ()
    assert register.carried_on_by("000.00.00.H23") == ()


def test_a_split_unit_has_no_single_successor(tmp_path: Path) -> None:
    register = load_units(write(
        tmp_path,
        unit("A", valid_to="2025-06-30", successors="B, C"),
        unit("B", valid_from="2025-07-01"),
        unit("C", valid_from="2025-07-01"),
    ))
    with pytest.raises(InvalidInput, match="2 successors: B, C"):
        register.successor_at("A", date(2025, 7, 1))


@pytest.mark.parametrize(
    ("units", "seasons", "named"),
    [
        ((unit("A", valid_to="2025-06-30", successors="Z"),), "", "A (xã A, thu): unknown successor Z"),
        (
            (unit("A", valid_from="2024-01-01", valid_to="2025-06-30", successors="B"),
             unit("B", valid_from="2025-07-01", valid_to="2025-12-31", successors="A")),
            "",
            "succession cycle: A → B → A",
        ),
        (
            (unit("A", valid_to="2025-06-30"), unit("A", valid_from="2025-06-01")),
            "",
            "code A: xã A (…–2025-06-30) and xã A (2025-06-01–…) overlap",
        ),
        ((unit("A", valid_from="2025-07-01", valid_to="2025-06-30"),), "", "valid_to 2025-06-30 is before"),
        (
            (unit("A", valid_to="2025-06-30", successors="B"), unit("B", valid_from="2025-07-02")),
            "",
            "A (xã A, thu): successor B is not in force on 2025-07-01",
        ),
        ((unit("A"),), SEASONS.format(summer_end="10-30"),
         "province thu: seasons leave days without office hours: 10-31"),
        ((unit("A"),), SEASONS.format(summer_end="11-02"), "province thu: seasons overlap on 11-01, 11-02"),
        ((unit("LOCAL-A"),), "", "LOCAL-A (xã LOCAL-A, thu): a LOCAL-… code must be marked unconfirmed"),
        ((unit("A", valid_to="2025-06-30", successors="A"),), "", "succession cycle: A → A"),
        (
            (unit("A", valid_to="2024-12-31", successors="B"),
             unit("A", valid_from="2025-01-01", valid_to="2025-06-30", successors="C"),
             unit("B", valid_from="2025-01-01"), unit("C", valid_from="2025-07-01")),
            "",
            "A (xã A, thu): succeeded by B from 2025-01-01, but code A is in force again from 2025-01-01",
        ),
        (
            (unit("A", valid_to="2024-12-31", successors="B"), unit("A", valid_from="2025-03-01"),
             unit("B", valid_from="2025-01-01")),
            "",
            "A (xã A, thu): succeeded by B from 2025-01-01, but code A is in force again from 2025-03-01",
        ),
        (
            (unit("A", valid_to="2025-06-30", successors="B, B"), unit("B", valid_from="2025-07-01")),
            "",
            "A (xã A, thu): successor B is named 2 times",
        ),
        (
            (unit("A", valid_to="2025-06-30", successors="B").replace("signed: 2025-06-30", "signed: 2100-01-01"),
             unit("B", valid_from="2025-07-01")),
            "",
            "A (xã A, thu): its succession resolution 1/NQ is dated 2100-01-01, after the succession took effect",
        ),
        (
            (unit("A", valid_to="2025-06-30", successors="B").replace("signed: 2025-06-30", "signed: 2025-07-02"),
             unit("B", valid_from="2025-07-01")),
            "",
            "its succession resolution 1/NQ is dated 2025-07-02, after the succession took effect (2025-07-01)",
        ),
    ],
    ids=["unknown-successor", "cycle", "overlap", "inverted", "successor-gap", "season-gap", "season-overlap",
         "local-code", "self-successor", "succeeded-twice", "back-after-succession", "repeated-successor",
         "signed-far-later", "signed-after-effect"],
)
def test_each_check_refuses_a_bad_file_naming_the_offender(
    tmp_path: Path, units: tuple[str, ...], seasons: str, named: str
) -> None:
    assert named in refused(write(tmp_path, *units, seasons=seasons))


@pytest.mark.parametrize(("entry", "named"), [
    ('    valid_to: "9999-12-31"\n', "9999-12-31 is outside the days motcua takes"),  # had overflowed: a traceback
    ('    valid_from: "1200-01-01"\n', "1200-01-01 is outside the days motcua takes"),  # had loaded silently
])
def test_a_quoted_day_is_bounded_like_any_day(tmp_path: Path, entry: str, named: str) -> None:
    assert named in refused(write(tmp_path, unit("A") + entry))


@pytest.mark.parametrize(("entries", "named"), [
    ((unit("local-a"),), "units.0.code: a unit code is written in capital letters: LOCAL-A"),
    ((unit("000.00.06.h56"),), "units.0.code: a unit code is written in capital letters: 000.00.06.H56"),
    ((unit("A", valid_to="2025-06-30", successors="b"), unit("B", valid_from="2025-07-01")),
     "units.0.successors.0: a unit code is written in capital letters: B"),
], ids=["local-code", "agency-code", "successor"])
def test_a_unit_code_is_written_in_capitals(tmp_path: Path, entries: tuple[str, ...], named: str) -> None:
    """Codes are compared exactly: ``local-a`` beside ``LOCAL-A`` would be a second unit, and one that escapes the
    check that a ``LOCAL-…`` code is marked unconfirmed. A code is refused unless in its canonical shape, named."""
    assert named in refused(write(tmp_path, *entries))


def test_an_unknown_office_and_a_bad_month_day_are_refused(tmp_path: Path) -> None:
    assert "unknown office 'nowhere'" in refused(write(tmp_path, unit("A", office="nowhere")))
    bad = SEASONS.format(summer_end="02-30")
    assert "02-30 is not a day of the year" in refused(write(tmp_path, unit("A"), seasons=bad))


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(units_app, ["list", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_command_lists_the_units_at_a_date() -> None:
    code, out, _ = run("--at", "2025-06-30")
    assert code == 0
    assert "An Thượng" in out
    assert "Thành Đông" not in out
    code, out, _ = run("--at", "2025-07-01", "--json")
    assert code == 0
    records = json.loads(out)
    assert THANH_DONG in {record["code"] for record in records}
    assert all(record["unconfirmed"] for record in records)
    code, out, _ = run("--json")
    assert {record["code"] for record in json.loads(out)} >= OLD | {THANH_DONG}


def test_the_command_refuses_a_bad_date() -> None:
    code, out, err = run("--at", "30/06/2025")
    assert (code, out) == (2, "")
    assert err == "error: --at: '30/06/2025' is not a date YYYY-MM-DD\n"


@pytest.mark.parametrize(("day", "message"), [
    ("20250701", "'20250701' is not a date YYYY-MM-DD"),
    ("0001-01-01", "0001-01-01 is outside the days motcua takes (1990-01-01 … 2199-12-31)"),
])
def test_the_command_reads_at_as_every_command_reads_a_day(day: str, message: str) -> None:
    """``--at`` is read by the one parser of days (the reports' ``--from``/``--to``): dashes, and the bounds."""
    code, out, err = run("--at", day)
    assert (code, out, err) == (2, "", f"error: --at: {message}\n")


@pytest.mark.parametrize(
    ("validity", "units", "named"),
    [
        ("  valid_from: 2025-07-01\n  valid_to: 2025-06-30\n", (unit("A"),),
         "province thu: valid_to 2025-06-30 is before valid_from 2025-07-01"),
        ("  valid_to: 2025-06-30\n", (unit("A"),),
         "unit A (xã A, thu): in force …–…, beyond its province's …–2025-06-30"),
        ("  valid_to: 2025-06-30\n", (unit("A", valid_to="2025-07-31"),),
         "unit A (xã A, thu): in force …–2025-07-31, beyond its province's …–2025-06-30"),
        ("  valid_from: 2025-07-01\n", (unit("A", valid_from="2020-01-01"),),
         "unit A (xã A, thu): in force 2020-01-01–…, beyond its province's 2025-07-01–…"),
        ("  valid_from: 2025-07-01\n", (unit("A"),),  # no valid_from: in force on any day before (live_at)
         "unit A (xã A, thu): in force …–…, beyond its province's 2025-07-01–…"),
    ],
    ids=["province-inverted", "outlives-province", "ends-after-province", "starts-before-province",
         "open-start-in-a-later-province"],
)
def test_a_unit_lives_within_its_province(tmp_path: Path, validity: str, units: tuple[str, ...], named: str) -> None:
    """A unit in force on a day its province is not would receive dossiers in a province that no longer exists."""
    text = PROVINCE + validity + "units:\n" + "".join(units)
    (tmp_path / "thu.yaml").write_text(text, encoding="utf-8")
    assert named in refused(tmp_path)



@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ('  - code: A\n    name: "An\\nThượng"\n    kind: xã\n', "units.0.name: contains a control character (U+000A)"),
        (f'  - code: A\n    name: "{"x" * 501}"\n    kind: xã\n', "units.0.name: longer than 500 characters (501)"),
        ('  - code: A\n    name: "A"\n    kind: xã\n    valid_to: 2025-06-30\n    successors: [B]\n'
         '    succession: {number: "1/NQ\\n2", signed: 2025-06-16}\n  - code: B\n    name: "B"\n    kind: xã\n'
         "    valid_from: 2025-07-01\n", "units.0.succession.number: contains a control character (U+000A)"),
    ],
    ids=["line-break-in-name", "name-too-long", "line-break-in-resolution"],
)
def test_a_name_is_one_line_of_at_most_500_characters(tmp_path: Path, entry: str, named: str) -> None:
    """A unit's name is printed in labels, reports and sheets, where a line break splits the row."""
    assert named in refused(write(tmp_path, entry))


def test_a_name_written_decomposed_is_read_composed(tmp_path: Path) -> None:
    """Vietnamese typed on one system is composed (NFC), on another decomposed (NFD): the register holds NFC, so
    that a label, a report and a search read one spelling."""
    decomposed = unicodedata.normalize("NFD", "Thành Đông")
    register = load_units(write(tmp_path, f'  - code: A\n    name: "{decomposed}"\n    kind: phường\n'))
    assert register.units[0].name == unicodedata.normalize("NFC", "Thành Đông")
    assert unicodedata.is_normalized("NFC", register.provinces[0].name)


def test_a_renamed_unit_is_labelled_by_its_latest_version_whatever_the_file_order(tmp_path: Path) -> None:
    """A unit renamed keeps its code: reports and the console name it as it is called now, even when the file lists
    its new version before the old one."""
    renamed = (
        '  - code: A\n    name: "Tân Mới"\n    kind: phường\n    valid_from: 2025-07-01\n'
        '  - code: A\n    name: "Cũ"\n    kind: xã\n    valid_to: 2025-06-30\n'
    )
    register = load_units(write(tmp_path, renamed))
    assert UnitDirectory(register, "A").label("A") == "phường Tân Mới (A)"
    assert UnitDirectory(register, "A").label("NOWHERE") == "NOWHERE"


def test_a_province_code_is_at_most_64_characters(tmp_path: Path) -> None:
    """The shape a key's or a user's ``--province`` accepts: a longer code would load, and no scope could name it."""
    (tmp_path / "thu.yaml").write_text(PROVINCE.replace("code: thu", f"code: {'t' * 65}") + "units:\n" + unit("A"),
                                       encoding="utf-8")
    assert "province.code: String should have at most 64 characters" in refused(tmp_path)


def test_the_cycle_check_is_linear_in_the_successions(tmp_path: Path) -> None:
    """Forty days of units split in two and merged again: 2⁴⁰ paths, 80 units. The check walks each succession once
    (it took hours), and still names a cycle added at the end."""
    day, layers, units = date(2020, 1, 1), 40, []
    for layer in range(layers):
        start, end = day + timedelta(days=layer), day + timedelta(days=layer)
        for half in "AB":
            following = f"L{layer + 1}A, L{layer + 1}B" if layer + 1 < layers else ""
            units.append(unit(f"L{layer}{half}", valid_from=start.isoformat() if layer else "",
                              valid_to=end.isoformat() if following else "", successors=following))
    register = build_register(load_units(write(tmp_path, *units)).provinces, "test")  # loads, at once
    assert len(register.units) == 2 * layers
    looped = [*units[:-1], unit("L39B", valid_from="2020-02-09", valid_to="2020-02-09", successors="L0A")]
    assert "succession cycle: L0A → L1A → L2A" in refused(write(tmp_path, *looped))


def test_a_national_register_is_checked_in_linear_time() -> None:
    """About Vietnam's 10,000 communes before 2025 and their 3,300 successors: every process checks the register when
    it starts (the CLI, the HTTP server, each worker). Comparing every unit with every other took seconds at that
    size, growing with its square; the checks now read each code's versions once (here 20,000 units, well within
    the bound on a loaded machine)."""
    resolution = Resolution("202/2025/QH15", date(2025, 6, 12))
    old = [Unit(f"OLD-{number}", f"Cũ {number}", UnitKind.XA, "vn", None, date(2025, 6, 30), (f"NEW-{number // 3}",),
                resolution) for number in range(15_000)]
    new = [Unit(f"NEW-{number}", f"Mới {number}", UnitKind.XA, "vn", date(2025, 7, 1)) for number in range(5_000)]
    started = perf_counter()
    register = build_register([Province("vn", "Việt Nam", "tỉnh", (*old, *new))], "test")
    assert perf_counter() - started < 5
    assert register.successor_at("OLD-14999", date(2025, 7, 1)).code == "NEW-4999"
