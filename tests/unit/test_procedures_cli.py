"""``procedures``: the catalogue listing and its ``--field`` filter."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from motcua.entrypoints.cli.procedures_cmd import register

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
