"""The operations and audit pages: operators and auditors only; timers, parked effects and their retry (CSRF),
DVCQG sync, the chains verified with the first break named, anchors kept and checked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from motcua.adapters.memory.store import MemoryStore
from motcua.entrypoints.console import operations_views
from motcua.entrypoints.importer import import_file
from motcua.workflow.engine.model import DueTimer, OutboxItem
from motcua.workflow.engine.retry import Park, RetryAt
from tests.integration.test_dvcqg_import import code, rec, write
from tests.unit.console.pages_b import AN_THUONG, CAM_THUONG, Office, csrf_of, office

OPERATIONS = ("/console/operations", "/console/operations/outbox", "/console/operations/sync")
AUDIT = ("/console/audit", "/console/audit/verify", "/console/audit/anchors", "/console/audit/anchor.json")


@pytest.fixture(scope="module")
def shop() -> Iterator[Office]:
    built = office()
    yield built
    built.motcua.close()


@pytest.fixture
def fresh() -> Iterator[Office]:
    """An office of its own, for a test that changes it."""
    built = office()
    yield built
    built.motcua.close()


def park_one(shop: Office, code: str) -> OutboxItem:
    """Fail one pending effect of ``code`` for good, as a worker does on a permanent refusal."""
    store = shop.motcua.store
    claimed = store.claim_effects(shop.clock.now() + timedelta(days=365), 100, timedelta(minutes=1))
    chosen = next(item for item in claimed if item.case_code == code)
    assert store.failed(chosen.id, "550 hộp thư không tồn tại", Park("permanent"))
    return chosen


@pytest.mark.parametrize("page", OPERATIONS + AUDIT)
def test_officers_leaders_and_inspectors_are_refused(shop: Office, page: str) -> None:
    for roles in (["officer"], ["leader", "specialist"], ["inspector"]):
        answer = shop.browser(f"refused-{len(roles)}-{roles[0]}-{page}", roles).get(page)
        assert answer.status_code == 403, (roles, page)
        assert "Traceback" not in answer.text


def test_auditors_read_the_audit_pages_but_not_the_operations(shop: Office) -> None:
    auditor = shop.browser("auditor", ["auditor"])
    assert [auditor.get(page).status_code for page in AUDIT] == [200] * len(AUDIT)
    assert [auditor.get(page).status_code for page in OPERATIONS] == [403] * len(OPERATIONS)
    operator = shop.browser("operator", ["operator"])
    assert [operator.get(page).status_code for page in OPERATIONS + AUDIT] == [200] * (len(OPERATIONS) + len(AUDIT))


def test_the_timer_table_shows_the_scopes_timers_due_and_claimed(shop: Office) -> None:
    store = shop.motcua.store
    claimed = store.claim_due(shop.clock.now() + timedelta(days=365), 1, timedelta(days=1000))[0]
    everyone = shop.browser("ops-all", ["operator"]).get("/console/operations").text
    assert all(shop.codes[name] in everyone for name in ("an_open", "an_online", "cam_open"))  # still open: timed
    assert '<span class="badge warn">Đến hạn</span>' in everyone  # the clock is past some warnings
    line = re.search(rf"{re.escape(claimed.case_code)}</a></td>\s*<td>{claimed.name}</td>.*?</tr>", everyone, re.S)
    assert line is not None and 'class="badge ok"' in line[0]  # held by the dispatcher's lease
    cam = shop.browser("ops-cam", ["operator"], units=[CAM_THUONG]).get("/console/operations").text
    assert shop.codes["cam_open"] in cam
    assert not any(shop.codes[name] in cam for name in ("an_done", "an_open", "an_online"))


def test_an_operator_of_one_unit_sees_the_earliest_timers_and_the_counts_of_that_unit(
    shop: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, now = shop.motcua.store, shop.clock.now()
    units = {AN_THUONG: ("an_done", "an_open", "an_online"), CAM_THUONG: ("cam_open",)}
    earliest = store.armed_timers(1)[0].case_code  # the system's earliest timer, of one unit
    other = next(unit for unit, names in units.items() if earliest not in {shop.codes[name] for name in names})
    theirs = [timer for timer in store.armed_timers(1000) if timer.case_code in {shop.codes[n] for n in units[other]}]
    monkeypatch.setattr(operations_views, "TIMERS_SHOWN", 1)  # a table full of the other units' timers

    page = shop.browser(f"ops-one-{other}", ["operator"], units=[other]).get("/console/operations").text

    assert re.search(rf"{re.escape(theirs[0].case_code)}</a></td>\s*<td>{theirs[0].name}</td>", page)
    assert earliest not in page
    assert "Số liệu của các hồ sơ thuộc đơn vị của bạn." in page
    assert f"<strong>{len(theirs)}</strong><span>Hẹn giờ đang chờ</span>" in page
    due = sum(1 for timer in theirs if timer.due_at <= now)
    assert re.search(rf"<strong>{due}</strong><span>Đã đến hạn, chưa xử lý</span>", page)
    everyone = shop.browser("ops-every-unit", ["operator"]).get("/console/operations").text
    assert "Số liệu của toàn hệ thống." in everyone
    assert f"<strong>{store.armed_count(now)[0]}</strong><span>Hẹn giờ đang chờ</span>" in everyone


def test_a_parked_effect_is_retried_with_the_forms_token(fresh: Office) -> None:
    parked = park_one(fresh, fresh.codes["an_open"])
    operator = fresh.browser("ops-retry", ["operator"], units=[AN_THUONG])
    page = operator.get("/console/operations/outbox")
    assert fresh.codes["an_open"] in page.text and "550 hộp thư không tồn tại" in page.text
    refused = operator.post("/console/operations/outbox/retry", data={"effect": str(parked.id)})
    assert refused.status_code == 403
    assert [item.id for item in fresh.motcua.store.parked()] == [parked.id]
    token = csrf_of(operator, "/console/operations/outbox")
    with capture_logs() as logged:
        answer = operator.post("/console/operations/outbox/retry",
                               data={"effect": str(parked.id), "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"].endswith("retried=1")
    assert fresh.motcua.store.parked() == []
    requeued = [line for line in logged if line["event"] == "outbox.requeued"]  # an operator's act, on the record
    assert requeued == [{"event": "outbox.requeued", "count": 1, "every": False, "by": "console",
                         "log_level": "info"}]
    assert "Không có hiệu ứng nào bị dừng" in operator.get("/console/operations/outbox").text


def test_retry_all_never_touches_another_units_effects(fresh: Office) -> None:
    theirs = park_one(fresh, fresh.codes["cam_open"])
    operator = fresh.browser("ops-an", ["operator"], units=[AN_THUONG])
    assert fresh.codes["cam_open"] not in operator.get("/console/operations/outbox").text
    token = csrf_of(operator, "/console/operations/outbox")
    answer = operator.post("/console/operations/outbox/retry", data={"all": "1", "csrf_token": token})
    assert answer.headers["location"].endswith("retried=0")
    answer = operator.post("/console/operations/outbox/retry", data={"effect": str(theirs.id), "csrf_token": token})
    assert answer.headers["location"].endswith("retried=0")
    assert [item.id for item in fresh.motcua.store.parked()] == [theirs.id]


def park_timer(shop: Office, code: str) -> DueTimer:
    """Park the earliest timer of ``code``, as a worker does when its trigger failed again and again."""
    store = shop.motcua.store
    claimed = store.claim_due(shop.clock.now() + timedelta(days=365), 1000, timedelta(minutes=1))
    chosen = next(timer for timer in claimed if timer.case_code == code)
    seen = store.load(code).version
    assert store.timer_failed(chosen, "MalformedData: data of remind: round: not an integer", Park("x"), seen)
    return chosen


def test_a_parked_timer_is_listed_and_armed_again_with_the_forms_token(fresh: Office) -> None:
    code = fresh.codes["an_open"]
    parked = park_timer(fresh, code)
    operator = fresh.browser("ops-rearm", ["operator"], units=[AN_THUONG])
    page = operator.get("/console/operations").text
    assert "<strong>1</strong><span>Hẹn giờ tạm dừng do lỗi</span>" in page
    line = re.search(rf"{re.escape(code)}</a></td>\s*<td>{parked.name}</td>.*?</tr>", page.split("ops-parked")[1], re.S)
    assert line is not None and "MalformedData: data of remind: round: not an integer (lần 1)" in line[0]
    refused = operator.post("/console/operations/timers/retry", data={"case": code})
    assert refused.status_code == 403
    assert fresh.motcua.store.parked_count() == 1
    token = csrf_of(operator, "/console/operations")
    answer = operator.post("/console/operations/timers/retry", data={"case": code, "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"].endswith("rearmed=1")
    assert fresh.motcua.store.parked_count() == 0
    after = operator.get("/console/operations?rearmed=1").text
    assert "Đã kích hoạt lại 1 hẹn giờ." in after and "ops-parked" not in after


def test_a_timer_waiting_to_be_tried_again_shows_its_failure(fresh: Office) -> None:
    store, code = fresh.motcua.store, fresh.codes["an_open"]
    claimed = store.claim_due(fresh.clock.now() + timedelta(days=365), 1000, timedelta(minutes=1))
    chosen = next(timer for timer in claimed if timer.case_code == code)
    retry_at = fresh.clock.now() + timedelta(minutes=1)
    assert store.timer_failed(chosen, "UnknownTrigger: x", RetryAt(retry_at), store.load(code).version)
    page = fresh.browser("ops-failing", ["operator"], units=[AN_THUONG]).get("/console/operations").text
    line = re.search(rf"{re.escape(code)}</a></td>\s*<td>{chosen.name}</td>.*?</tr>", page, re.S)
    assert line is not None and 'title="UnknownTrigger: x">Lỗi lần 1, thử lại lúc' in line[0]


def test_arming_all_again_never_touches_another_units_timers(fresh: Office) -> None:
    theirs = park_timer(fresh, fresh.codes["cam_open"])
    operator = fresh.browser("ops-an-timers", ["operator"], units=[AN_THUONG])
    page = operator.get("/console/operations").text
    assert "ops-parked" not in page and "<strong>0</strong><span>Hẹn giờ tạm dừng do lỗi</span>" in page
    token = csrf_of(operator, "/console/operations")
    for data in ({"all": "1"}, {"case": theirs.case_code}):
        answer = operator.post("/console/operations/timers/retry", data={**data, "csrf_token": token})
        assert answer.headers["location"].endswith("rearmed=0")
    assert [timer.case_code for timer in fresh.motcua.store.parked_timers(10)] == [theirs.case_code]
    nothing = operator.post("/console/operations/timers/retry", data={"csrf_token": token})
    assert nothing.status_code == 400


def test_the_sync_page_lists_the_scopes_dossiers(shop: Office) -> None:
    page = shop.browser("ops-sync", ["operator"], units=[CAM_THUONG]).get("/console/operations/sync").text
    assert shop.codes["cam_open"] in page and shop.codes["an_open"] not in page
    assert "Đang chờ" in page  # no portal configured: nothing synced yet


def test_the_sync_page_leaves_out_dossiers_imported_from_the_portal(fresh: Office, tmp_path: Path) -> None:
    """An imported dossier comes from the portal and is never sent to it: listed, it stood "pending" for ever."""
    report = import_file(write(tmp_path / "dvcqg.json", [rec(1)]), fresh.motcua, at=fresh.clock.now())
    assert report.created == 1
    page = fresh.browser("ops-sync-all", ["operator"]).get("/console/operations/sync").text
    assert fresh.codes["an_open"] in page and code(1) not in page


def test_every_chain_verifies_until_one_is_tampered_with(fresh: Office) -> None:
    auditor = fresh.browser("auditor-verify", ["auditor"])
    assert "Nhật ký nguyên vẹn" in auditor.get("/console/audit/verify").text
    store = fresh.motcua.store
    assert isinstance(store, MemoryStore)
    code = fresh.codes["an_done"]
    entries = store._entries[code]  # the tampering an attacker with the database's disk would do
    entries[1] = replace(entries[1], data={**entries[1].data, "note": "sửa lén"})
    page = auditor.get("/console/audit/verify").text
    assert "1 chuỗi bị gãy" in page
    assert re.search(rf"<td>{re.escape(code)}</td><td class=\"num\">2</td>", page)
    scoped = fresh.browser("auditor-cam", ["auditor"], units=[CAM_THUONG]).get("/console/audit/verify").text
    assert "Nhật ký nguyên vẹn" in scoped and "Đã kiểm tra 1 chuỗi" in scoped


def test_an_anchor_downloaded_then_checked(fresh: Office) -> None:
    auditor = fresh.browser("auditor-anchor", ["auditor"])
    kept = auditor.get("/console/audit/anchor.json")
    assert kept.status_code == 200 and kept.json()["kind"] == "motcua-audit-anchor"
    fresh.receive("later", CAM_THUONG, fresh.clock.now().date())
    token = csrf_of(auditor, "/console/audit/anchors")
    checked = auditor.post("/console/audit/anchors/check", data={"csrf_token": token},
                           files={"anchor": ("anchor.json", kept.content, "application/json")})
    assert checked.status_code == 200
    assert "Nhật ký khớp dấu neo" in checked.text and "1 chuỗi mới" in checked.text
    garbage = auditor.post("/console/audit/anchors/check", data={"csrf_token": token},
                           files={"anchor": ("anchor.json", b"{}", "application/json")})
    assert garbage.status_code == 400 and "Không đọc được dấu neo" in garbage.text
    assert "tệp không phải một dấu neo của motcua" in garbage.text and "document" not in garbage.text  # no English
    deep = auditor.post("/console/audit/anchors/check", data={"csrf_token": token},
                        files={"anchor": ("anchor.json", b"[" * 100_000, "application/json")})
    assert deep.status_code == 400 and "Không đọc được dấu neo" in deep.text
    surrogate = json.dumps({**kept.json(), "heads": [{"code": "\ud800", "sequence": 1, "hash": "0" * 64}]})
    odd = auditor.post("/console/audit/anchors/check", data={"csrf_token": token},
                       files={"anchor": ("anchor.json", surrogate.encode(), "application/json")})
    assert odd.status_code == 400 and "Không đọc được dấu neo" in odd.text  # was a 500: the digest failed later
    for edited in ({"format": []}, {"taken_at": "0001-01-01T00:00:00+14:00"}):  # were 500s
        malformed = json.dumps({**kept.json(), **edited})
        refused = auditor.post("/console/audit/anchors/check", data={"csrf_token": token},
                               files={"anchor": ("anchor.json", malformed.encode(), "application/json")})
        assert refused.status_code == 400 and "Không đọc được dấu neo" in refused.text, edited
    no_token = auditor.post("/console/audit/anchors/check",
                            files={"anchor": ("anchor.json", kept.content, "application/json")})
    assert no_token.status_code == 403


def test_anchors_are_for_users_of_every_unit(shop: Office) -> None:
    scoped = shop.browser("auditor-an", ["auditor"], units=[AN_THUONG])
    assert scoped.get("/console/audit/anchors").status_code == 403
    assert scoped.get("/console/audit/anchor.json").status_code == 403
