"""``motcua outbox failed`` and ``motcua sync status <code>`` show the last error as it was stored: text a server or a
portal wrote, never read as console markup — a ``[/]`` in an SMTP reply or a portal's message made both commands
fail (MarkupError), and the operator could not see what was parked, nor why."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.main import app
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dvcqg.portal import EntrySync
from motcua.workflow.engine.clock import SystemClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.retry import Park

WIDE = {"COLUMNS": "240"}
SAID = "554 [/] [bold red]từ chối[/bold red] [link=http://x.invalid]đây[/link]"


def test_a_last_error_is_shown_as_text_not_markup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    motcua = open_motcua(url, observers=[])
    try:
        code = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"),
                                   Actor.of("Nguyễn Thị Lan", "officer")).code
        now = SystemClock().now()
        [item] = motcua.store.claim_effects(now, 10, timedelta(minutes=1))
        motcua.store.failed(item.id, f"e-mail: SMTPDataError {SAID}", Park("the failure is permanent"))
        motcua.sync.record(EntrySync(code, 1, "parked", 1, now, f"DongBoHoSoMC: refused: {SAID}"))
    finally:
        motcua.close()

    for args in (["outbox", "failed"], ["sync", "status", code]):
        result = CliRunner().invoke(app, [*args, "--db", url], env=WIDE)
        assert result.exit_code == 0, (args, result.output, result.exception)
        for part in ("554 [/] [bold red]từ chối[/bold red]", "[link=http://x.invalid]đây[/link]"):  # a cell wraps
            assert part in result.stdout, result.stdout


def test_a_dossier_code_is_shown_as_text_not_markup(tmp_path: Path) -> None:
    """An imported dossier's code (``MaHoSo``, any one line) holding ``[/]`` made ``motcua sync status`` fail."""
    code = "000.00.06.H23-240301-[/]0001"
    record = {
        "MaHoSo": code, "MaTTHC": "1.001193", "TenTTHC": "Thủ tục đăng ký khai sinh", "MaLinhVuc": "HT",
        "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Trần Văn An", "LoaiDoiTuong": "1", "TrichYeuHoSo": "Đăng ký khai sinh",
        "NgayTiepNhan": "20240301080000", "NgayHenTra": "20240305170000", "TrangThaiHoSo": "4", "NgayTra": "",
        "HinhThuc": "0", "NgayKetThucXuLy": "", "DonViXuLy": "UBND xã An Thượng", "KenhThucHien": "1",
        "HoSoCoThanhPhanSoHoa": "0", "DuocThanhToanTrucTuyen": "0", "TaiLieuNop": [], "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [], "DanhSachGiayToKetQua": [],
    }
    source = tmp_path / "dvcqg.json"
    source.write_text(json.dumps({"service": "DongBoHoSoMC", "isUpdating": False, "data": [record]},
                                 ensure_ascii=False), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    imported = CliRunner().invoke(app, ["import", "dvcqg", str(source), "--db", url], env=WIDE)
    assert imported.exit_code == 0, (imported.output, imported.exception)

    result = CliRunner().invoke(app, ["sync", "status", code, "--db", url], env=WIDE)
    assert result.exit_code == 0, (result.output, result.exception)
    assert code in result.stdout, result.stdout  # (the listing of every dossier leaves imported ones out)


def test_a_timeline_and_the_book_show_what_was_typed_as_text_not_markup(tmp_path: Path) -> None:
    """An applicant's name typed online and a reason typed at the desk are shown as typed by ``motcua history`` and
    ``motcua report book``: a ``[/]`` made both fail (MarkupError, a traceback), and ``Bổ sung [bản sao]`` lost its
    ``[bản sao]`` on the screen, silently."""
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    officer, specialist = Actor.of("Nguyễn Thị Lan", "officer"), Actor.of("Phạm Văn Hùng", "specialist")
    reason = "Bổ sung [bản sao] trang 2 [/]"
    motcua = open_motcua(url, observers=[])
    try:
        case = motcua.desk.receive("1.004873", "online", Applicant("Trần [/]An"), officer)
        motcua.service.fire(case.code, "assign", officer, {"assignee": specialist.name})
        motcua.service.fire(case.code, "request_supplement", specialist, {"reason": reason})
        day = case.attributes["received_at"]
        assert isinstance(day, str)
    finally:
        motcua.close()

    history = CliRunner().invoke(app, ["history", case.code, "--db", url], env=WIDE)
    assert history.exit_code == 0, (history.output, history.exception)
    assert "[bản sao]" in history.stdout and "[/]" in history.stdout, history.stdout
    book = CliRunner().invoke(app, ["report", "book", "--from", day[:10], "--to", day[:10], "--db", url], env=WIDE)
    assert book.exit_code == 0, (book.output, book.exception)
    assert "Trần [/]An" in book.stdout, book.stdout
