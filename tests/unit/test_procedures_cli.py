"""``procedures``: the catalogue listing, its ``--field`` and ``--on`` filters, and ``procedures show``."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from motcua.entrypoints.cli.procedures_cmd import register
from motcua.workflow.errors import InvalidInput

WIDE = {"COLUMNS": "220"}


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A tiny app holding only the command under test."""

    register(app)
    return app


def test_lists_every_field() -> None:
    result = CliRunner().invoke(make_app(), ["procedures"], env=WIDE)
    assert result.exit_code == 0, result.output
    for code in ("1.001193", "2.000815", "1.012812", "1.001776", "1.002211"):
        assert code in result.output
    assert "Thủ tục đăng ký khai sinh" in result.output
    assert "trong ngày" in result.output
    assert "8.000 đ" in result.output


def test_field_filter() -> None:
    result = CliRunner().invoke(make_app(), ["procedures", "--field", "CT"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "2.000815" in result.output
    assert "Chứng thực" in result.output
    assert "1.001193" not in result.output
    assert "1.012812" not in result.output


def test_unknown_field_lists_known_fields() -> None:
    result = CliRunner().invoke(make_app(), ["procedures", "--field", "XX"], env=WIDE)
    assert result.exit_code == 1
    assert "XX" in result.output
    assert "HT (Hộ tịch)" in result.output


def test_the_listing_shows_the_version_and_fee_in_force() -> None:
    before = CliRunner().invoke(make_app(), ["procedures", "--field", "BTXH", "--on", "2023-03-01"], env=WIDE)
    after = CliRunner().invoke(make_app(), ["procedures", "--field", "BTXH", "--on", "2026-03-01"], env=WIDE)
    assert before.exit_code == after.exit_code == 0, before.output + after.output
    assert "ngày 01/03/2023" in before.output and "01/07/2025" not in before.output
    assert "1.001731" in before.output and "1.014028" not in before.output  # not yet in force in 2023
    assert "01/07/2025" in after.output and "1.014028" in after.output  # 1.001731's version from 1 July 2025
    copies = CliRunner().invoke(make_app(), ["procedures", "show", "2.000815"], env={"COLUMNS": "400"})
    assert "2.000 đ/trang, từ trang 3: 1.000 đ/trang, tối đa 200.000 đ/bản" in copies.output
    council = CliRunner().invoke(make_app(), ["procedures", "--field", "HT"], env=WIDE)
    assert "HĐND tỉnh quy định (chưa rõ mức)" in council.output and "Miễn" in council.output


def test_show_gives_versions_authority_fees_steps_and_sources() -> None:
    result = CliRunner().invoke(make_app(), ["procedures", "show", "1.001731"], env=WIDE)
    assert result.exit_code == 0, result.output
    for text in ("Phiên bản", "Thẩm quyền", "Biểu phí, lệ phí", "Quy trình nội bộ", "Căn cứ pháp lý",
                 "30/06/2025", "01/07/2025", "Cấp huyện", "Cấp xã", "Nghị định 20/2021/NĐ-CP", "Miễn"):
        assert text in result.output, text


def test_show_as_json() -> None:
    result = CliRunner().invoke(make_app(), ["procedures", "show", "2.000815", "--format", "json"], env=WIDE)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["code"] == "2.000815"
    assert shown["versions"][0]["key"] == "origin" and shown["versions"][0]["until"] is None
    [fee] = shown["fees"]
    assert (fee["kind"], fee["amount"], fee["then"], fee["cap"], fee["known"]) == ("per_page", 2000, 1000, 200000, True)
    assert any("23/2015" in basis["text"] for basis in shown["legal_bases"])


def test_show_an_unknown_code() -> None:
    result = CliRunner().invoke(make_app(), ["procedures", "show", "9.999999"], env=WIDE)
    assert result.exit_code == 1
    assert "9.999999" in result.output


def test_on_is_read_as_every_command_reads_a_day() -> None:
    for day in ("20230301", "0001-01-01", "01/03/2023"):
        result = CliRunner().invoke(make_app(), ["procedures", "--on", day], env=WIDE)
        assert isinstance(result.exception, InvalidInput) and result.exception.field == "--on", day
