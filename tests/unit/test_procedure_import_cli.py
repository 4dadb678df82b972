"""``procedures import`` and ``procedures rollback``: the difference printed, nothing written without ``--apply``,
the refusals by row and column, the catalogue directory required to write."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from motcua.definitions.catalogue_store import CURRENT_FILE, CatalogueStore
from motcua.entrypoints.cli.procedures_import_cmd import register
from tests.unit.test_procedure_import import row_of, shipped_rows, write_csv

WIDE = {"COLUMNS": "220"}


def make_app() -> typer.Typer:
    app = typer.Typer()
    group = typer.Typer()

    @group.callback()
    def procedures() -> None:
        """The group under test."""

    register(group)
    app.add_typer(group, name="procedures")
    return app


def invoke(*args: str, root: Path | None = None) -> tuple[int, str]:
    env = {**WIDE, "MOTCUA_PROCEDURES_DIR": str(root) if root else ""}
    result = CliRunner().invoke(make_app(), ["procedures", *args], env=env)
    return result.exit_code, result.output


def changed_list(tmp_path: Path) -> Path:
    rows = shipped_rows()
    row_of("1.001193", rows)[2] = "Khai sinh (tên mới)"
    row_of("2.000815", rows)[5] = "01 ngày làm việc"
    rows.remove(row_of("1.000894", rows))
    rows.append(["99", "1.999999", "Thủ tục thử", "Hộ tịch", "Một phần", "05 ngày làm việc",
                 "Theo Nghị quyết HĐND tỉnh", "Cấp Xã"])
    return write_csv(tmp_path / "list.csv", rows)


def test_the_difference_is_printed_and_nothing_written(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    code, output = invoke("import", str(changed_list(tmp_path)), "--since", "2026-01-01", root=root)
    assert code == 0, output
    assert "+ 1.999999  Thủ tục thử  [HT]" in output
    assert "- 1.000894" in output
    assert "~ 1.001193  Khai sinh (tên mới): name" in output
    assert "~ 2.000815" in output and ": versions" in output
    assert "Thêm 1, bỏ 1, thay đổi 2" in output
    assert "--apply" in output
    assert not root.exists()


def test_apply_writes_a_revision_and_rollback_returns(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    code, output = invoke("import", str(changed_list(tmp_path)), "--apply", root=root)
    assert code == 0, output
    assert "Đã ghi phiên bản 1" in output
    assert (root / CURRENT_FILE).read_text(encoding="utf-8").strip() == "1"
    code, output = invoke("import", str(changed_list(tmp_path)), "--apply", root=root)
    assert code == 0, output
    assert "Không có thay đổi" in output  # the same list again: no new revision
    assert CatalogueStore(root).revisions() == [1]
    again = tmp_path / "again.csv"
    again.write_text(changed_list(tmp_path).read_text(encoding="utf-8").replace("Khai sinh (tên mới)", "Khai sinh 2"),
                     encoding="utf-8")
    code, output = invoke("import", str(again), "--apply", root=root)
    assert code == 0, output
    assert CatalogueStore(root).current_revision() == 2
    code, output = invoke("rollback", root=root)
    assert code == 0, output
    assert "Phiên bản 1" in output
    assert CatalogueStore(root).current_revision() == 1


def test_a_refused_list_names_rows_and_writes_nothing(tmp_path: Path) -> None:
    rows = shipped_rows()
    rows[0][1] = "1.23"
    rows[1][5] = "-1 ngày làm việc"
    root = tmp_path / "catalogue"
    code, output = invoke("import", str(write_csv(tmp_path / "list.csv", rows)), "--apply", root=root)
    assert code == 2
    assert "row 2, Mã thủ tục" in output
    assert "row 3, Thời hạn giải quyết" in output
    assert "nothing was written" in output
    assert not root.exists()


def test_a_quote_never_closed_is_refused_with_apply_and_nothing_is_written(tmp_path: Path) -> None:
    """A name that swallowed the rest of its row (Python's csv, not strict, reads an unclosed quote as one cell)."""
    path = tmp_path / "list.csv"
    path.write_text('Mã thủ tục,Tên thủ tục,Lĩnh vực,Mức độ DVC,Thời hạn giải quyết,"Phí, lệ phí"\n'
                    '1.001193,"Thủ tục đăng ký khai sinh,Hộ tịch,Toàn trình,03 ngày làm việc,Không\n', encoding="utf-8")
    root = tmp_path / "catalogue"
    code, output = invoke("import", str(path), "--since", "2026-01-01", "--apply", root=root)
    assert code == 2
    assert "refused row 2: not CSV: a quote opened in this row is never closed" in output
    assert "nothing was written" in output
    assert not root.exists()


def test_writing_needs_a_catalogue_directory(tmp_path: Path) -> None:
    code, output = invoke("import", str(changed_list(tmp_path)), "--apply")
    assert code == 2
    assert "read-only" in output
    assert "MOTCUA_PROCEDURES_DIR" in output


def test_rollback_without_directory_or_revision(tmp_path: Path) -> None:
    code, output = invoke("rollback")
    assert code == 2
    assert "MOTCUA_PROCEDURES_DIR" in output
    code, output = invoke("rollback", root=tmp_path / "empty")
    assert code == 2
    assert "no revision was written yet" in output


def test_a_bad_since_is_refused(tmp_path: Path) -> None:
    code, output = invoke("import", str(changed_list(tmp_path)), "--since", "01/01/2026", root=tmp_path / "c")
    assert code == 2
    assert "YYYY-MM-DD" in output


def test_the_catalogue_listing_reads_the_current_revision(tmp_path: Path) -> None:
    from motcua.entrypoints.cli.procedures_cmd import register as register_listing  # noqa: PLC0415

    root = tmp_path / "catalogue"
    assert invoke("import", str(changed_list(tmp_path)), "--apply", root=root)[0] == 0
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A tiny app holding only the listing."""

    register_listing(app)
    env = {**WIDE, "MOTCUA_PROCEDURES_DIR": str(root)}
    result = CliRunner().invoke(app, ["procedures", "--field", "HT"], env=env)
    assert result.exit_code == 0, result.output
    assert "Khai sinh (tên mới)" in result.output
    assert "1.999999" in result.output


def test_a_province_wide_list_is_imported_whole_or_by_tier(tmp_path: Path) -> None:
    rows = shipped_rows()
    row_of("1.001193", rows)[7] = "Cấp Tỉnh, Cấp Xã"  # both: the commune's too
    rows.append(["98", "1.999998", "Cấp giấy phép của Sở", "Hộ tịch", "Một phần", "15 ngày làm việc",
                 "Theo Nghị quyết HĐND tỉnh", "Cấp Tỉnh"])
    rows.append(["99", "1.999999", "Thủ tục của huyện cũ", "Hộ tịch", "Một phần", "05 ngày làm việc",
                 "Theo Nghị quyết HĐND tỉnh", "Cấp Huyện"])
    path, root = write_csv(tmp_path / "province.csv", rows), tmp_path / "catalogue"
    code, output = invoke("import", str(path), "--since", "2026-01-01", root=root)  # every tier, as before
    assert code == 0, output
    assert "+ 1.999998" in output and "+ 1.999999" in output
    assert "Danh sách có 2 thủ tục không thực hiện ở cấp xã (Cấp Huyện: 1; Cấp Tỉnh: 1): --tier commune" in output
    code, output = invoke("import", str(path), "--since", "2026-01-01", "--tier", "commune", root=root)
    assert code == 0, output
    assert "1.999998" not in output and "1.999999" not in output
    assert "Bỏ qua 2 thủ tục không thực hiện ở cấp đã chọn (Cấp Huyện: 1; Cấp Tỉnh: 1)" in output
    assert "Không có thay đổi" in output
    code, output = invoke("import", str(path), "--since", "2026-10-01", "--tier", "province", root=root)
    assert code == 0, output
    assert "+ 1.999998" in output and "1.999999" not in output
    assert "danh sách giao cho cấp khác, không nhập với --tier đã chọn: hết hiệu lực" in output  # said, not "gone"
    code, output = invoke("import", str(path), "--tier", "district", root=root)
    assert code == 2 and "--tier" in output
    assert not root.exists()  # nothing written without --apply
