"""The report and operations pages on every backend (memory, an SQLite file, PostgreSQL): the numbers a page shows
come from the SQL report and the SQL timer table and outbox exactly as from the memory reference."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from motcua.workflow.engine.retry import Park
from tests.unit.console.pages_b import AN_THUONG, CAM_THUONG, Office, cells, csrf_of, office


@pytest.fixture
def shop(url: str) -> Iterator[Office]:
    built = office(url)
    yield built
    built.motcua.close()


def test_the_pages_tell_the_same_story_on_every_backend(shop: Office) -> None:
    an = shop.browser("an", ["officer"], units=[AN_THUONG])
    inspector = shop.browser("inspector", ["inspector"], province="hai-duong")
    shown = cells(an.get("/console/reports/bieu06?period=2025").text, "total")
    assert shown == [3, 1, 2, 0, 1, 1, 0, 0, 2, 0, 2]  # the two still open are past their June appointment on 31/12
    province = cells(inspector.get("/console/reports/bieu06?period=2025").text, "total")
    assert province[0] == 4 and an.get(f"/console/reports/bieu06?unit={CAM_THUONG}").status_code == 404


def test_timers_claims_and_a_retried_effect_on_every_backend(shop: Office) -> None:
    store = shop.motcua.store
    [claimed] = store.claim_due(shop.clock.now() + timedelta(days=365), 1, timedelta(days=1000))
    effect = store.claim_effects(shop.clock.now() + timedelta(days=365), 1, timedelta(minutes=1))[0]
    assert store.failed(effect.id, "550 hộp thư không tồn tại", Park("permanent"))
    operator = shop.browser("operator", ["operator"])
    timers = operator.get("/console/operations").text
    assert claimed.case_code in timers and 'class="badge ok"' in timers
    token = csrf_of(operator, "/console/operations/outbox")
    answer = operator.post("/console/operations/outbox/retry", data={"effect": str(effect.id), "csrf_token": token})
    assert answer.status_code == 303 and store.parked() == []
    assert "Nhật ký nguyên vẹn" in shop.browser("auditor", ["auditor"]).get("/console/audit/verify").text


def test_an_operator_of_one_unit_counts_the_timers_of_that_unit_on_every_backend(shop: Office) -> None:
    store, cam = shop.motcua.store, shop.codes["cam_open"]
    theirs = [timer for timer in store.armed_timers(1000) if timer.case_code == cam]
    page = shop.browser("operator-cam", ["operator"], units=[CAM_THUONG]).get("/console/operations").text
    assert theirs and f"<strong>{len(theirs)}</strong><span>Hẹn giờ đang chờ</span>" in page
    assert page.count(f"{cam}</a></td>") == len(theirs)
    assert not any(shop.codes[name] in page for name in ("an_done", "an_open", "an_online"))
