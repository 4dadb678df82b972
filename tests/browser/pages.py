"""How a person works the console's pages, in one place: the tests say what they do ("receive a dossier", "press
Trả kết quả"), these functions say where they click. Labels are the definitions' Vietnamese ones.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Response

    from tests.browser.conftest import Visitor

CODE: Final = re.compile(r"/console/dossiers/([A-Z0-9-]+)(?:\?|$)")
LIFECYCLE: Final = "Trạng thái hồ sơ"  # the lifecycle region's label in tthc-dossier.v1.yaml


def open_reception(visitor: Visitor) -> None:
    """From the desk, open the reception form (the desk offers it to officers)."""
    visitor.go("/console/")
    visitor.page.get_by_role("link", name="Tiếp nhận hồ sơ").click()
    visitor.page.wait_for_url("**/console/dossiers/new")


def receive_at_the_desk(visitor: Visitor, *, procedure: str, applicant: str) -> str:
    """Receive a direct dossier with the reception form (opened by :func:`open_reception`); its code (its page is
    open afterwards)."""
    page = visitor.page
    form = page.locator("main form[method=post]")
    _choose(form.get_by_label("Mã thủ tục hành chính"), procedure)
    _choose(form.get_by_label("Kênh thực hiện"), "direct")
    form.get_by_label("Chủ hồ sơ").fill(applicant)
    form.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    page.wait_for_url(CODE)
    found = CODE.search(page.url)
    assert found is not None, page.url
    return found.group(1)


def _choose(field: Locator, value: str) -> None:
    """Type ``value`` into a text field, or pick it from a list."""
    if field.evaluate("element => element.localName") == "select":
        field.select_option(value)
    else:
        field.fill(value)


def fire(page: Page, action: str, fields: dict[str, str] | None = None) -> Response:
    """Open the action ``action`` (its label) of a dossier's page, fill its form (field label → value), send it;
    the answer to the form's POST."""
    details = page.locator("section.actions details").filter(
        has=page.locator("summary", has_text=re.compile(f"^{re.escape(action)}$")))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    for label, value in (fields or {}).items():
        form.get_by_label(label).fill(value)
    with page.expect_navigation(), page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        form.get_by_role("button", name=action, exact=True).click()  # the page that answers is loaded after
    return posted.value


def actions(page: Page) -> list[str]:
    """The labels of the actions the page offers."""
    return [text.strip() for text in page.locator("section.actions summary").all_inner_texts()]


def fact(page: Page, label: str) -> str:
    """The value shown beside ``label`` in the dossier's facts (a region's label gives its state's label)."""
    value = page.locator(f"xpath=//dl[contains(@class, 'facts')]/dt[normalize-space()='{label}']"
                         "/following-sibling::dd[1]").first
    return value.inner_text().strip()


def lifecycle(page: Page) -> str:
    """The dossier's lifecycle state as its page shows it (its label, and the DVCQG code beside it)."""
    return fact(page, LIFECYCLE)


def bieu06_totals(visitor: Visitor) -> list[int]:
    """The "Tổng cộng" line of Biểu 06 for this year (the form sent as it opens: this year, every unit the user
    sees), column (3) first."""
    page = visitor.page
    visitor.go("/console/reports/bieu06")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_load_state()
    cells = page.locator("table.bieu06 tr.total td").all_inner_texts()
    return [int(re.sub(r"\D", "", cell) or "0") for cell in cells]
