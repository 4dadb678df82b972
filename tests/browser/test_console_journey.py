"""A dossier's life in the console, in a real browser, each person at their own browser: the officer receives it at
the desk and hands it to the specialist, who submits it to the leader, who approves it; the result comes back to
the desk and is returned — and Biểu 06 counts it. Then the two things a shared desk must get right: a page left
open while a colleague acted is told so (not silently overwritten), and another unit's officer cannot open the
dossier at all.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import (
    LEADER,
    OFFICER,
    OTHER_UNIT_OFFICER,
    SECOND_OFFICER,
    SPECIALIST,
    Visitor,
    sign_in,
)
from tests.browser.harness import accessibility_violations, inline_code, screenshot
from tests.browser.pages import actions, bieu06_totals, fire, lifecycle, open_reception, receive_at_the_desk

pytestmark = pytest.mark.browser

ASSIGN = "Chuyển hồ sơ cho người xử lý"
ASSIGNEE = "Người nhận hồ sơ"
TOTAL, DIRECT, RESOLVED = 0, 2, 4  # Biểu 06's columns (3), (5) and (7) in its "Tổng cộng" line


def test_a_dossier_from_the_desk_through_approval_to_its_return_and_into_bieu06(
    visitor: Callable[..., Visitor],
) -> None:
    officer = visitor()
    sign_in(officer, OFFICER)
    before = bieu06_totals(officer)

    open_reception(officer)
    problems = inline_code(officer.page) + accessibility_violations(officer.page)
    screenshot(officer.page, "dossier-new")
    assert not problems, "\n".join(problems)
    code = receive_at_the_desk(officer, procedure="1.004873", applicant="Trần Văn An")
    assert lifecycle(officer.page).startswith("Được tiếp nhận")
    fire(officer.page, ASSIGN, {ASSIGNEE: SPECIALIST.name})
    assert lifecycle(officer.page).startswith("Đang xử lý")

    specialist = visitor()
    sign_in(specialist, SPECIALIST, next_path=f"/console/dossiers/{code}")
    assert ASSIGN not in actions(specialist.page), "a specialist is offered an action only officers and leaders have"
    fire(specialist.page, "Trình lãnh đạo phê duyệt", {"Lãnh đạo phê duyệt": LEADER.name})
    assert lifecycle(specialist.page).startswith("Chờ lãnh đạo phê duyệt")

    leader = visitor()
    sign_in(leader, LEADER, next_path=f"/console/dossiers/{code}")
    fire(leader.page, "Phê duyệt kết quả", {"Số văn bản kết quả": "15/GXN-UBND"})
    assert lifecycle(leader.page).startswith("Đã phê duyệt")

    specialist.go(f"/console/dossiers/{code}")
    fire(specialist.page, "Chuyển kết quả về Bộ phận Một cửa")
    officer.go(f"/console/dossiers/{code}")
    assert lifecycle(officer.page).startswith("Đã xử lý xong")
    fire(officer.page, "Trả kết quả", {"Người nhận kết quả": "Trần Văn An"})
    assert lifecycle(officer.page).startswith("Đã trả kết quả")
    assert not {"Trả kết quả", ASSIGN} & set(actions(officer.page)), "a returned dossier moves no further"
    timeline = officer.page.get_by_role("region", name="Quá trình xử lý (nhật ký)").inner_text()
    for person in (OFFICER, SPECIALIST, LEADER):
        assert person.name in timeline
    screenshot(officer.page, "dossier-returned")

    after = bieu06_totals(officer)
    screenshot(officer.page, "bieu06")
    assert after[TOTAL] == before[TOTAL] + 1
    assert after[DIRECT] == before[DIRECT] + 1
    assert after[RESOLVED] == before[RESOLVED] + 1


def test_a_page_left_open_while_a_colleague_acted_gets_the_conflict_message(
    visitor: Callable[..., Visitor], desk_software: Callable[[str], str],
) -> None:
    code = desk_software("Lê Thị Hoa")
    first, second = visitor(), visitor()
    sign_in(first, OFFICER, next_path=f"/console/dossiers/{code}")
    sign_in(second, SECOND_OFFICER, next_path=f"/console/dossiers/{code}")

    fire(first.page, ASSIGN, {ASSIGNEE: SPECIALIST.name})
    refused = fire(second.page, ASSIGN, {ASSIGNEE: "Nguyễn Văn Bình"})

    assert refused.status in {409, 412}
    alert = second.page.get_by_role("alert")
    assert "Hồ sơ đã được người khác thay đổi" in alert.inner_text()
    screenshot(second.page, "dossier-conflict")
    alert.get_by_role("link", name="Tải lại hồ sơ").click()
    second.page.wait_for_load_state()
    assert lifecycle(second.page).startswith("Đang xử lý")
    timeline = second.page.get_by_role("region", name="Quá trình xử lý (nhật ký)").inner_text()
    assert SPECIALIST.name in timeline
    assert "Nguyễn Văn Bình" not in timeline, "the stale page's action was carried out"


def test_an_officer_of_another_unit_can_neither_open_nor_find_nor_move_it(
    visitor: Callable[..., Visitor], desk_software: Callable[[str], str],
) -> None:
    code = desk_software("Phạm Thị Hằng")
    other = visitor()
    sign_in(other, OTHER_UNIT_OFFICER)
    page = other.page

    assert other.go(f"/console/dossiers/{code}") == 404
    assert "Phạm Thị Hằng" not in page.content()
    assert other.go(f"/console/dossiers?q={code}&scope=all") == 200
    assert code not in page.inner_text("main")

    token = page.locator("body").get_attribute("data-csrf")
    assert token, "a signed-in page carries the session's CSRF token"
    moved = other.context.request.post(
        f"{other.base}/console/dossiers/{code}/fire", max_redirects=0,
        form={"csrf_token": token, "trigger": "assign", "version": "2", "assignee": OTHER_UNIT_OFFICER.name})
    assert moved.status == 404
    assert "Phạm Thị Hằng" not in moved.text()
