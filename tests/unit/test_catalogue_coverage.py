"""The shipped catalogue covers what a commune one-stop desk handles since the two-level local government (1/7/2025):
enough procedures, the ones the issue names, each with its source, each decided by the commune on 1/1/2026.

The research behind each entry is logged in the procedure's ``source`` (and summarised in docs/reference/procedures.md).
"""

from __future__ import annotations

from datetime import date

import pytest

from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dossiers.catalogue import Procedure

NEW_YEAR_2026 = date(2026, 1, 1)
LAST_DISTRICT_DAY, FIRST_COMMUNE_DAY = date(2025, 6, 30), date(2025, 7, 1)
MISSING = ("chưa kiểm chứng", "chưa đọc", "chưa thấy", "chưa đối chiếu")
"""How a source says what could not be checked (every unconfirmed entry names what is missing)."""

NAMED = {
    "2.000986": "liên thông đăng ký khai sinh – đăng ký thường trú – cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
    "1.011537": "liên thông đăng ký khai tử – xóa đăng ký thường trú – trợ cấp mai táng, hỗ trợ chi phí mai táng",
    "2.001035": "chứng thực giao dịch liên quan đến động sản, quyền sử dụng đất, nhà ở",
    "2.001406": "chứng thực văn bản phân chia di sản",
    "1.001699": "xác định mức độ khuyết tật và cấp Giấy xác nhận khuyết tật",
    "1.001612": "đăng ký thành lập hộ kinh doanh",
    "2.001263": "đăng ký việc nuôi con nuôi trong nước",
    "1.013978": "đăng ký đất đai, cấp Giấy chứng nhận lần đầu (hộ gia đình, cá nhân)",
    "1.013967": "giải quyết tranh chấp đất đai thuộc thẩm quyền Chủ tịch UBND cấp xã",
    "1.012812": "hòa giải tranh chấp đất đai",
    "2.000528": "đăng ký khai sinh có yếu tố nước ngoài",
    "2.000806": "đăng ký kết hôn có yếu tố nước ngoài",
    "1.001766": "đăng ký khai tử có yếu tố nước ngoài",
}
MOVED_FROM_DISTRICT = ("2.000528", "2.000806", "1.001766", "1.001612", "2.001008")
"""Decided by the district until 30/6/2025 and by the commune from 1/7/2025."""

CATALOGUE = load_procedures()


def test_the_catalogue_holds_at_least_sixty_procedures() -> None:
    assert len(CATALOGUE) >= 60


@pytest.mark.parametrize("code", sorted(NAMED), ids=lambda code: f"{code} {NAMED[code]}")
def test_the_procedures_the_issue_names_are_listed(code: str) -> None:
    assert code in CATALOGUE


@pytest.mark.parametrize("procedure", list(CATALOGUE), ids=lambda procedure: procedure.code)
def test_every_procedure_names_its_source_and_what_is_missing_when_unconfirmed(procedure: Procedure) -> None:
    assert procedure.source.strip()
    if not procedure.confirmed:
        assert any(marker in procedure.source for marker in MISSING), procedure.source


@pytest.mark.parametrize("procedure", list(CATALOGUE), ids=lambda procedure: procedure.code)
def test_every_procedure_is_decided_by_the_commune_on_new_year_2026(procedure: Procedure) -> None:
    authority = procedure.authority_on(NEW_YEAR_2026)
    assert authority is not None and authority.decides == "commune"
    assert procedure.version_on(NEW_YEAR_2026) is not None
    assert procedure.fee_on(NEW_YEAR_2026) is not None


@pytest.mark.parametrize("code", MOVED_FROM_DISTRICT)
def test_the_procedures_moved_on_1_july_2025_were_the_districts_the_day_before(code: str) -> None:
    procedure = CATALOGUE.get(code)
    before, after = procedure.authority_on(LAST_DISTRICT_DAY), procedure.authority_on(FIRST_COMMUNE_DAY)
    assert (before and before.decides, after and after.decides) == ("district", "commune")


def test_the_linked_death_procedure_follows_decree_301_2026_from_1_september_2026() -> None:
    procedure = CATALOGUE.get("1.011537")
    before, after = procedure.version_on(date(2026, 8, 31)), procedure.version_on(date(2026, 9, 1))
    assert before.source is not None and "CHƯA ĐỐI CHIẾU" in before.source  # Decree 63/2024's time: not read
    assert (after.time_for("direct").amount, after.time_for("direct").unit) == (1, "calendar_days")  # "trong 24 giờ"
    assert after.extension is not None and "03 ngày làm việc" in after.extension
    assert any(basis.text.startswith("Nghị định 63/2024/NĐ-CP") and basis.amended_by for basis in procedure.legal_bases)
    fee = procedure.fee_on(NEW_YEAR_2026)
    assert fee.kind == "exempt" and fee.basis is not None and "Điều 11" in fee.basis
