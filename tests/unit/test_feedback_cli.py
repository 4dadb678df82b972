"""``motcua feedback receive | list | show`` on SQLite files: what is received is what the API and the reports
see; every refused input names its field, exits 2 and writes nothing (no case, no number drawn)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.feedback_cmd import FILE_MAX
from motcua.entrypoints.cli.main import app
from motcua.shop import connect
from motcua.simulation.timers import CountingNotifier, InlinePump
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.feedback.intake import Feedback

WIDE = {"COLUMNS": "240"}
OFFICER = ("--officer", "Nguyễn Thị Lan")
WARD = "LOCAL-HP-THANH-DONG"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def refused(*args: str) -> str:
    """The one-line message of a refused command (exit 2, nothing on standard output)."""
    result = run(*args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stdout == ""
    return result.stderr


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, empty database per module, copied for each test (migrating costs more than the test)."""
    path = tmp_path_factory.mktemp("feedback-cli") / "empty.db"
    connect(f"sqlite:///{path}", observers=[]).close()
    return path


@pytest.fixture
def db(empty_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "motcua.db"
    shutil.copy(empty_template, target)
    return f"sqlite:///{target}"


def receive(db: str, *extra: str) -> dict[str, object]:
    document = json.loads(ok("feedback", "receive", *OFFICER, "--db", db, "--format", "json", *extra))
    assert isinstance(document, dict)
    return document


def listed(db: str, *extra: str) -> dict[str, object]:
    document = json.loads(ok("feedback", "list", "--db", db, "--format", "json", *extra))
    assert isinstance(document, dict)
    return document


def codes(document: dict[str, object]) -> list[str]:
    items = document["items"]
    assert isinstance(items, list)
    return [str(item["code"]) for item in items]


def test_received_from_options_it_is_a_pakn_case_with_its_deadlines(db: str) -> None:
    received = receive(db, "--sender", "Trần Văn An", "--content", "Hồ sơ chứng thực trả chậm",
                       "--channel", "online", "--contact", "0912 345 678")

    code = str(received["code"])
    assert code.startswith("PAKN-") and code.endswith("-0001")
    assert received["state"] == {"lifecycle": "received", "deadline": "on_time", "classification": "pending",
                                 "publication": "none", "rating": "none"}
    deadlines = received["deadlines"]
    assert isinstance(deadlines, dict)
    assert deadlines["received_at"] < deadlines["classify_due_at"] < deadlines["answer_due_at"]
    with connect(db) as shop:
        case = shop.case(code)
        actors = [entry.actor for entry in shop.history(code)]
    assert (case.attributes["sender_name"], case.attributes["channel"], case.attributes["contact"]) == (
        "Trần Văn An", "online", "0912 345 678")
    assert actors == ["Nguyễn Thị Lan"]


def test_a_file_gives_the_fields_and_an_option_wins_over_it(db: str, tmp_path: Path) -> None:
    path = tmp_path / "pakn.json"
    path.write_text(json.dumps({"sender_name": "Lê Văn Cường", "content": "Niêm yết thiếu thành phần hồ sơ",
                                "channel": "postal", "private": True, "unit": WARD}, ensure_ascii=False),
                    encoding="utf-8")

    received = receive(db, "--file", str(path), "--sender", "Phạm Thị Dung")

    with connect(db) as shop:
        case = shop.case(str(received["code"]))
    assert case.attributes["sender_name"] == "Phạm Thị Dung"
    assert (case.attributes["channel"], case.attributes["private"], case.attributes["unit"]) == ("postal", True, WARD)
    assert str(received["code"]).startswith(f"PAKN-{WARD}-")


def test_feedback_on_a_dossier_names_it(db: str) -> None:
    with connect(db) as shop:
        dossier = shop.receive("1.001193", Applicant("Trần Văn An"), Actor.of("Nguyễn Thị Lan", "officer"))

    received = receive(db, "--sender", "Trần Văn An", "--content", "Chậm trả kết quả", "--dossier", dossier.code)

    assert received["dossier"] == dossier.code


@pytest.mark.parametrize(("args", "field"), [
    (("--content", "Nội dung"), "sender_name: required"),
    (("--sender", "Trần Văn An"), "content: required"),
    (("--sender", "A" * 501, "--content", "x"), "sender_name: longer than 500 characters"),
    (("--sender", "Trần\x07Văn", "--content", "x"), "sender_name: contains a control character"),
    (("--sender", "An", "--content", "x" * 2001), "content: longer than 2000 characters"),
    (("--sender", "An", "--content", "x", "--channel", "fax"), "channel: 'fax': one of direct, online"),
    (("--sender", "An", "--content", "x", "--dossier", "000.00.00.H23-260101-9999"), "dossier: no dossier"),
    (("--sender", "An", "--content", "x", "--unit", "LOCAL-NOWHERE"), "unit"),
    (("--sender", "An", "--content", "x", "--officer", " "), "--officer: the officer receiving"),
])
def test_a_refused_input_names_its_field_and_writes_nothing(db: str, args: tuple[str, ...], field: str) -> None:
    message = refused("feedback", "receive", *OFFICER, "--db", db, *args)

    assert field in message
    assert listed(db)["items"] == []
    assert str(receive(db, "--sender", "An", "--content", "x")["code"]).endswith("-0001")  # no number was drawn


@pytest.mark.parametrize(("content", "field"), [
    ('{"sender_name": "An", "content": "x", "mood": "angry"}', "mood: unknown field"),
    ('{"sender_name": "An", "content": 7}', "content: a text is expected, not int"),
    ('{"sender_name": "An", "content": "x", "private": "yes"}', "private: true or false is expected"),
    ('["An", "x"]', "--file: "),
    ('{"sender_name": "An",', "not JSON"),
    ("[" * 60_000, "not JSON (nested deeper than a JSON document may be read)"),  # no RecursionError escapes
    ("x" * (FILE_MAX + 1), f"larger than {FILE_MAX:,} bytes"),
])
def test_a_refused_file_names_its_field(db: str, tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "pakn.json"
    path.write_text(content, encoding="utf-8")

    assert field in refused("feedback", "receive", *OFFICER, "--db", db, "--file", str(path))
    assert listed(db)["items"] == []


def test_a_missing_file_is_refused(db: str, tmp_path: Path) -> None:
    assert "--file: " in refused("feedback", "receive", *OFFICER, "--db", db, "--file", str(tmp_path / "none.json"))


def test_list_filters_by_unit_and_state_and_pages(db: str) -> None:
    home = [str(receive(db, "--sender", "An", "--content", f"Phản ánh {n}")["code"]) for n in range(3)]
    ward = str(receive(db, "--sender", "Bình", "--content", "Phản ánh", "--unit", WARD)["code"])
    with connect(db) as shop:
        shop.fire(home[0], "assign", Actor.of("Nguyễn Thị Lan", "officer"),
                  {"assignee": "Phạm Văn Hùng", "category": "thu_tuc_hanh_chinh"})

    assert codes(listed(db, "--unit", WARD)) == [ward]
    assert codes(listed(db, "--state", "assigned")) == [home[0]]
    first = listed(db, "--limit", "2")
    assert len(codes(first)) == 2 and first["next_cursor"] is not None
    rest = listed(db, "--limit", "2", "--after", str(first["next_cursor"]))
    assert sorted(codes(first) + codes(rest)) == sorted([*home, ward]) and rest["next_cursor"] is None
    table = ok("feedback", "list", "--db", db, "--state", "assigned")
    assert home[0] in table and "Đã phân loại, giao xử lý" in table


def test_list_shows_the_overdue_once_their_timer_fired(db: str) -> None:
    url = db
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ))
    motcua = open_motcua(url, clock=clock, observers=[])
    try:
        with connect(url, clock=clock, observers=[]) as shop:
            late = shop.receive_feedback(Feedback("An", "Chậm"), Actor.of("Nguyễn Thị Lan", "officer")).code
            clock.advance(timedelta(days=2))
            answered = shop.receive_feedback(Feedback("Bình", "Hỏi"), Actor.of("Nguyễn Thị Lan", "officer")).code
            shop.fire(answered, "decline", Actor.of("Nguyễn Thị Lan", "officer"),
                      {"reason": "Không thuộc thẩm quyền", "transferred_to": "UBND cấp trên"})
        clock.advance(timedelta(days=40))
        assert InlinePump(motcua, clock, CountingNotifier()).run_until(clock.now()) > 0
    finally:
        motcua.close()

    assert codes(listed(url, "--overdue")) == [late]
    assert set(codes(listed(url))) == {late, answered}


@pytest.mark.parametrize(("args", "field"), [
    (("--limit", "0"), "--limit: 0: give a number from 1 to 500"),
    (("--state", "lost"), "--state: 'lost': one of received, assigned, answered, declined"),
    (("--unit", "LOCAL-NOWHERE"), "--unit"),
])
def test_list_refuses_bad_filters(db: str, args: tuple[str, ...], field: str) -> None:
    assert field in refused("feedback", "list", "--db", db, *args)


def test_show_gives_states_deadlines_and_timeline(db: str) -> None:
    code = str(receive(db, "--sender", "Trần Văn An", "--content", "Hồ sơ trả chậm")["code"])
    with connect(db) as shop:
        shop.fire(code, "assign", Actor.of("Nguyễn Thị Lan", "officer"),
                  {"assignee": "Phạm Văn Hùng", "category": "thu_tuc_hanh_chinh"})

    document = json.loads(ok("feedback", "show", code, "--db", db, "--format", "json"))
    assert document["state"]["lifecycle"] == "assigned"
    assert [entry["trigger"] for entry in document["entries"]] == ["open", "assign"]
    assert set(document["deadlines"]) == {"received_at", "classify_due_at", "answer_due_at", "ended_at"}
    table = ok("feedback", "show", code, "--db", db)
    for text in ("Hạn trả lời", "Đã phân loại, giao xử lý", "Phạm Văn Hùng", "Hồ sơ trả chậm"):
        assert text in table, text



def test_show_gives_what_the_citizen_typed_as_text_not_markup(db: str) -> None:
    """A sender's name or content holding ``[…]`` lost it on the screen (read as a style), and a ``[/]`` failed
    ``feedback show`` with a traceback (MarkupError)."""
    content = "Hồ sơ [mã 0001] trả chậm [/] hai lần"
    code = str(receive(db, "--sender", "Trần [bold]An", "--content", content)["code"])
    table = ok("feedback", "show", code, "--db", db)
    for text in ("Trần [bold]An", "[mã 0001]", "[/]"):
        assert text in table, table


def test_show_refuses_a_dossier_and_an_unknown_code(db: str) -> None:
    with connect(db) as shop:
        dossier = shop.receive("1.001193", Applicant("Trần Văn An"), Actor.of("Nguyễn Thị Lan", "officer"))

    said = refused("feedback", "show", dossier.code, "--db", db)
    assert dossier.code in said and "not feedback" in said and "motcua history" in said  # not "no dossier": it is one
    assert "PAKN-NONE" in refused("feedback", "show", "PAKN-NONE", "--db", db)
