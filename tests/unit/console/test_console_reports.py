"""The report pages of the console: Biểu 06 and Decision 766 per unit and for the province, their charts and
workbooks, the reform plan; each user sees their own units' numbers and never another unit's."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta

import openpyxl  # type: ignore[import-untyped]
import pytest
from PIL import Image

from motcua.definitions.plans import load_plan, plan_paths
from motcua.entrypoints.console.report_views import (
    ReportQuery,
    bieu06_header,
    month_spans,
    on_time_series,
    overdue_series,
    week_ends,
)
from motcua.workflow.errors import InvalidInput
from motcua.workflow.plan.intake import load_tasks
from motcua.workflow.reports.periods import Period
from motcua.workflow.reports.projection import BIEU06_COUNTS, Bieu06, Bieu06Row
from motcua.workflow.reports.service import ReportService
from tests.unit.console.pages_b import AN_THUONG, CAM_THUONG, Office, cells, office

YEAR = "period=2025"


@pytest.fixture(scope="module")
def shop() -> Iterator[Office]:
    built = office()
    yield built
    built.motcua.close()


def totals(shop: Office, units: frozenset[str] | None) -> list[int]:
    service = ReportService(shop.motcua.reports, shop.motcua.rules, shop.motcua.store).caught_up()
    return list(service.bieu06(date(2025, 1, 1), date(2025, 12, 31), units=units).total.counts().values())


def test_an_officer_sees_an_thuongs_bieu06_and_never_cam_thuongs(shop: Office) -> None:
    officer = shop.browser("an-officer", ["officer"], units=[AN_THUONG])
    page = officer.get(f"/console/reports/bieu06?{YEAR}")
    assert page.status_code == 200
    assert cells(page.text, "total") == totals(shop, frozenset({AN_THUONG}))
    assert cells(page.text, "total")[0] == 3  # the three dossiers An Thượng received
    assert "Biểu số 06/VPCP/KSTT" in page.text and "xã An Thượng" in page.text
    for asked in (f"/console/reports/bieu06?{YEAR}&unit={CAM_THUONG}", f"/console/reports/par766?unit={CAM_THUONG}",
                  f"/console/reports/bieu06.xlsx?unit={CAM_THUONG}", f"/console/charts/on-time.png?unit={CAM_THUONG}"):
        refused = officer.get(asked)
        assert refused.status_code == 404, asked
        assert "image/png" not in refused.headers["content-type"]


def test_the_province_is_the_sum_of_its_units(shop: Office) -> None:
    inspector = shop.browser("inspector", ["inspector"], province="hai-duong")
    province = cells(inspector.get(f"/console/reports/bieu06?{YEAR}").text, "total")
    an = cells(inspector.get(f"/console/reports/bieu06?{YEAR}&unit={AN_THUONG}").text, "total")
    cam = cells(inspector.get(f"/console/reports/bieu06?{YEAR}&unit={CAM_THUONG}").text, "total")
    assert province == [a + c for a, c in zip(an, cam, strict=True)]
    assert province[0] == 4
    assert province == totals(shop, None)
    assert "Đơn vị: tỉnh Hải Dương" in inspector.get(f"/console/reports/bieu06?{YEAR}").text


def test_the_page_is_laid_out_as_the_form(shop: Office) -> None:
    page = shop.browser("layout", ["leader"], units=[AN_THUONG]).get(f"/console/reports/bieu06?{YEAR}")
    numbers = [f"<th scope=\"col\">({column})</th>" for column in range(1, 14)]
    assert all(number in page.text for number in numbers)
    assert "Số hồ sơ tiếp nhận giải quyết" in page.text and 'colspan="4"' in page.text
    assert "style=" not in page.text and "<script>" not in page.text  # the CSP forbids both
    header = bieu06_header()
    assert sum(cell.colspan for cell in header[0]) == 2 + len(BIEU06_COUNTS)


def test_the_workbook_is_the_clis_and_matches_the_page(shop: Office) -> None:
    officer = shop.browser("xlsx", ["officer"], units=[AN_THUONG])
    shown = cells(officer.get(f"/console/reports/bieu06?{YEAR}").text, "total")
    answer = officer.get(f"/console/reports/bieu06.xlsx?{YEAR}")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    total_row = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "Tổng cộng")
    assert list(total_row[2:13]) == shown
    assert sheet["A1"].value == "Đơn vị: xã An Thượng (LOCAL-HD-AN-THUONG)"


def test_the_scorecard_and_its_workbook(shop: Office) -> None:
    officer = shop.browser("p766", ["officer"], units=[AN_THUONG])
    page = officer.get(f"/console/reports/par766?{YEAR}")
    assert page.status_code == 200
    service = ReportService(shop.motcua.reports, shop.motcua.rules, shop.motcua.store).caught_up()
    card = service.scorecard(date(2025, 1, 1), date(2025, 12, 31), units=frozenset({AN_THUONG}))
    assert f'<td class="num">{card.total_points:g}</td>' in page.text
    sheet = openpyxl.load_workbook(io.BytesIO(officer.get(f"/console/reports/par766.xlsx?{YEAR}").content)).active
    total_row = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "Tổng")
    assert total_row[5] == card.total_points


@pytest.mark.parametrize("chart", ["on-time", "overdue", "channels"])
def test_each_chart_is_a_real_image(shop: Office, chart: str) -> None:
    answer = shop.browser(f"chart-{chart}", ["officer"], units=[AN_THUONG]).get(f"/console/charts/{chart}.png?{YEAR}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "PNG" and image.size == (800, 400)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["content-security-policy"]


def test_a_bad_period_is_said_in_words(shop: Office) -> None:
    page = shop.browser("typo", ["officer"], units=[AN_THUONG]).get("/console/reports/bieu06?period=2025-Q5")
    assert page.status_code == 400
    assert "Không lập được báo cáo" in page.text and "2025-Q5" in page.text
    assert "Traceback" not in page.text


def test_a_period_no_rule_set_covers_is_said_in_words(shop: Office) -> None:
    """The scorecard of a period before every rule set is a question that cannot be answered (400, in words), not a
    dossier's refusal (409, "hồ sơ ở trạng thái này")."""
    officer = shop.browser("before-rules", ["officer"], units=[AN_THUONG])
    page = officer.get("/console/reports/par766?period=1995")
    assert page.status_code == 400
    assert "Không lập được báo cáo" in page.text and "bộ quy tắc" in page.text
    assert "hồ sơ ở trạng thái này" not in page.text
    workbook = officer.get("/console/reports/par766.xlsx?period=1995")
    assert workbook.status_code == 400 and "hồ sơ ở trạng thái này" not in workbook.text


def test_reports_need_a_signed_in_user(shop: Office) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415

    anonymous = TestClient(shop.app, follow_redirects=False)
    for page in ("/console/reports", "/console/reports/bieu06", "/console/reports/bieu06.xlsx",
                 "/console/charts/on-time.png", "/console/plan"):
        answer = anonymous.get(page)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in"), page
    listing = shop.browser("reader", ["specialist"], units=[AN_THUONG]).get("/console/reports")
    assert all(f'href="/console/{page}"' in listing.text for page in ("reports/bieu06", "reports/par766", "plan"))


def test_the_plan_page_shows_targets_and_tasks(shop: Office) -> None:
    page = shop.browser("planner", ["leader"], units=[AN_THUONG]).get("/console/plan")
    assert page.status_code == 200
    assert "Kế hoạch cải cách hành chính nhà nước xã An Thượng năm 2023" in page.text
    assert "Chỉ tiêu" in page.text and "Nhiệm vụ (" in page.text
    assert shop.browser("planner-2", ["leader"]).get("/console/plan?plan=nope").status_code == 404


def test_the_plans_tasks_are_seen_by_their_units_users_only() -> None:
    """An Thượng's plan: its tasks, not yet loaded, are listed to An Thượng's users (to load), never to Cẩm Thượng's;
    loaded at An Thượng, to An Thượng's users with their progress — to Cẩm Thượng's neither as tasks nor as tasks
    "not loaded" (the plan file's texts are not theirs to read)."""
    shop = office()
    try:
        plan = load_plan(plan_paths()[0])
        texts = {occurrence.task.text for occurrence in plan.occurrences()}
        an_leader = shop.browser("an-leader", ["leader"], units=[AN_THUONG])
        cam_leader = shop.browser("cam-leader", ["leader"], units=[CAM_THUONG])
        before = an_leader.get("/console/plan").text
        assert before.count("Chưa nạp") == len(plan.occurrences()) > 0
        assert not any(text in cam_leader.get("/console/plan").text for text in texts)
        created = load_tasks(shop.motcua.service, shop.motcua.rules, plan, unit=AN_THUONG).created
        an = an_leader.get("/console/plan").text
        cam = cam_leader.get("/console/plan").text
        assert an.count("Chưa nạp") == 0 and all(code in an for code in created)
        assert "Chưa nạp" not in cam and not any(code in cam for code in created)
        assert not any(text in cam for text in texts) and "Nhiệm vụ (0)" in cam
        assert "Không có nhiệm vụ nào của kế hoạch trong phạm vi" in cam
        operator = shop.browser("operator", ["leader"]).get("/console/plan").text
        assert all(code in operator for code in created)
    finally:
        shop.motcua.close()


def digitised(html: str) -> tuple[int, int]:
    """The figures of the plan page's digitised-dossiers target: (digitised, received in the period)."""
    found = re.search(r"Tỷ lệ hồ sơ được số hóa</th>.*?(\d+)/(\d+)</td>", html, re.S)
    assert found is not None, "no digitised-dossiers figures"
    return int(found[1]), int(found[2])


def test_the_plan_page_measures_the_plans_own_unit_as_the_command_does() -> None:
    """An Thượng's plan counts An Thượng's dossiers (three received in June), not the province's four, for an
    unscoped user as for An Thượng's; another unit is measured when asked for, within the user's scope only."""
    shop = office()
    try:
        load_tasks(shop.motcua.service, shop.motcua.rules, load_plan(plan_paths()[0]), unit=AN_THUONG,
                   units=shop.motcua.desk.units)
        june = "/console/plan?from=2025-06-01&to=2025-06-30"
        operator = shop.browser("plan-operator", ["leader"]).get(june).text
        an = shop.browser("plan-an", ["leader"], units=[AN_THUONG]).get(june).text
        cam = shop.browser("plan-cam", ["leader"], units=[CAM_THUONG])
        assert digitised(operator) == digitised(an) and digitised(an)[1] == 3
        assert f"Đơn vị: xã An Thượng ({AN_THUONG})" in operator
        assert "Đơn vị: không có đơn vị nào của kế hoạch" in cam.get(june).text
        asked = cam.get(f"{june}&unit={CAM_THUONG}")
        assert asked.status_code == 200 and digitised(asked.text)[1] == 1
        assert f'<option value="{CAM_THUONG}" selected>' in asked.text
        assert shop.browser("plan-an-2", ["leader"], units=[AN_THUONG]).get(f"{june}&unit={CAM_THUONG}"
                                                                            ).status_code == 404
    finally:
        shop.motcua.close()


def test_a_period_is_asked_as_of_the_cli() -> None:
    # nothing asked: this year up to today, never a period running into the future
    assert ReportQuery().period_at(date(2025, 5, 6)) == Period(date(2025, 1, 1), date(2025, 5, 6))
    assert ReportQuery(cutoff_day=15).period_at(date(2025, 5, 6)) == Period(date(2024, 12, 15), date(2025, 12, 14))
    assert ReportQuery(period="2025-Q1", cutoff_day=15).period_at(date(2025, 5, 6)) == Period(
        date(2024, 12, 15), date(2025, 3, 14))
    with pytest.raises(InvalidInput):
        ReportQuery(period="2025", start="2025-01-01").period_at(date(2025, 5, 6))
    assert ReportQuery(period="2025", unit=AN_THUONG).query_string() == f"period=2025&unit={AN_THUONG}"


def test_months_and_weeks_of_a_period() -> None:
    cut = Period(date(2024, 12, 15), date(2025, 3, 14))
    assert month_spans(cut)[0] == ("T12/2024", date(2024, 12, 15), date(2024, 12, 31))
    assert month_spans(cut)[-1] == ("T3/2025", date(2025, 3, 1), date(2025, 3, 14))
    weeks = week_ends(Period(date(2025, 6, 1), date(2025, 6, 30)))
    assert weeks[0] == date(2025, 6, 1) and weeks[-1] == date(2025, 6, 30)
    assert all(day.weekday() == 6 for day in weeks[:-1])


def test_the_series_are_read_from_bieu06() -> None:
    asked: list[tuple[date, date]] = []

    def report_of(start: date, end: date) -> Bieu06:
        asked.append((start, end))
        row = Bieu06Row("", "", resolved=4, resolved_early=1, resolved_on_time=2, pending_overdue=start.day)
        return Bieu06(start, end, (row,), total=row)

    period = Period(date(2025, 1, 1), date(2025, 2, 28))
    assert on_time_series(report_of, period) == (("T1/2025", 75.0), ("T2/2025", 75.0))
    assert overdue_series(report_of, period)[0] == (date(2025, 1, 5), 5)  # one-day report on the week's last day
    assert (date(2025, 1, 5), date(2025, 1, 5)) in asked


def test_a_successors_user_sees_the_communes_merged_into_it_and_says_so(shop: Office) -> None:
    """Thành Đông's people see An Thượng's and Cẩm Thượng's figures of June 2025 (their records passed to it on
    1 July); Hải Phòng's inspector sees Hải Dương's; Lê Chân's sees none of them."""
    merged = office()  # its own: the module's office stays in June, and a clock does not go back
    merged.clock.set(merged.clock.now() + timedelta(days=3))  # 3 July 2025: the merger has taken effect
    try:
        _merged_pages(merged, totals(shop, None))
    finally:
        merged.motcua.close()


def _merged_pages(shop: Office, everything: list[int]) -> None:
    thanh_dong = shop.browser("thanh-dong", ["leader"], units=["LOCAL-HP-THANH-DONG"])
    page = thanh_dong.get(f"/console/reports/bieu06?{YEAR}").text
    assert cells(page, "total") == totals(shop, None) == everything
    assert ("Đơn vị: phường Thành Đông (LOCAL-HP-THANH-DONG) (kể cả các đơn vị đã sáp nhập vào)" in page)
    assert cells(thanh_dong.get(f"/console/reports/bieu06?{YEAR}&unit={CAM_THUONG}").text, "total")[0] == 1
    hai_phong = shop.browser("hai-phong", ["inspector"], province="hai-phong").get(f"/console/reports/bieu06?{YEAR}")
    assert cells(hai_phong.text, "total") == totals(shop, None)
    assert "Đơn vị: thành phố Hải Phòng" in hai_phong.text
    le_chan = shop.browser("le-chan", ["leader"], units=["LOCAL-HP-LE-CHAN"])
    assert cells(le_chan.get(f"/console/reports/bieu06?{YEAR}").text, "total")[0] == 0
    assert le_chan.get(f"/console/reports/bieu06?{YEAR}&unit={AN_THUONG}").status_code == 404

    many = shop.browser("many", ["leader"], units=["LOCAL-HP-THANH-DONG", "LOCAL-HP-LE-CHAN", "LOCAL-HP-NGO-QUYEN",
                                                   "LOCAL-HP-HONG-BANG"])
    assert "(kể cả các đơn vị đã sáp nhập vào)" in many.get(f"/console/reports/bieu06?{YEAR}").text


def test_before_the_merger_a_successors_user_sees_none_of_it(shop: Office) -> None:
    assert shop.clock.now().date() < date(2025, 7, 1)
    early = shop.browser("thanh-dong-early", ["leader"], units=["LOCAL-HP-THANH-DONG"])
    assert cells(early.get(f"/console/reports/bieu06?{YEAR}").text, "total")[0] == 0
    assert early.get(f"/console/reports/bieu06?{YEAR}&unit={AN_THUONG}").status_code == 404
