"""A dossier imported from the DVCQG portal is read-only to people: its record is the portal's, the system that
received it handles it, and only a later import moves it here. Acting on it used to post the portal's own dossier
back to it, to be undone by the next import. Refused alike over HTTP, in the console and through the Python API's
scoped handle; the dossier stays as it was, and a native dossier beside it still moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from motcua.adapters.keys import new_key
from motcua.entrypoints.console.refusals import IMPORTED_WORDS
from motcua.entrypoints.importer import import_file
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.access.scope import EVERYTHING
from motcua.workflow.errors import ImportedDossier
from tests.integration.test_dvcqg_import import code, rec, write
from tests.unit.console.console_a import AN_THUONG, STAFF, Site, csrf_of, site

IMPORTED = code(1)


@pytest.fixture
def office(tmp_path: Path) -> Site:
    """The console's site, and a dossier of An Thượng imported from the portal (being processed, status 4)."""
    built = site()
    import_file(write(tmp_path / "sync.json", [rec(1, DonViXuLy=AN_THUONG)]), built.motcua)
    return built


def test_the_scoped_handle_refuses_to_move_an_imported_dossier(office: Site) -> None:
    cases = ScopedCases(office.motcua.service, office.motcua.store, office.motcua.desk, EVERYTHING)
    before = cases.case(IMPORTED)
    with pytest.raises(ImportedDossier) as refused:
        cases.fire(IMPORTED, "request_supplement", STAFF, {"reason": "Bổ sung giấy tờ"})
    assert refused.value.code == IMPORTED and "imported from the DVCQG portal" in str(refused.value)
    assert cases.case(IMPORTED) == before and len(cases.history(IMPORTED)) == 1  # only its import's entry
    native = office.codes["an_open"]
    assert cases.fire(native, "assign", STAFF, {"assignee": "Phạm Văn Hùng"}).attributes["assignee"] == "Phạm Văn Hùng"


def test_the_api_answers_409_imported_dossier_and_changes_nothing(office: Site) -> None:
    created = new_key("Phần mềm một cửa", ["officer", "specialist"], office.clock.now())
    office.motcua.backend.keys.add_key(created.stored)
    client, headers = office.anonymous(), {"X-API-Key": created.secret_text}
    version = client.get(f"/dossiers/{IMPORTED}", headers=headers).json()["version"]
    answer = client.post(f"/dossiers/{IMPORTED}/events", json={"trigger": "request_supplement",
                                                              "data": {"reason": "Bổ sung giấy tờ"}},
                         headers={**headers, "If-Match": f'"{version}"'})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "imported-dossier"
    assert client.get(f"/dossiers/{IMPORTED}", headers=headers).json()["version"] == version


def test_the_console_offers_no_action_and_says_why(office: Site) -> None:
    officer = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    page = officer.get(f"/console/dossiers/{IMPORTED}")
    assert page.status_code == 200
    assert IMPORTED_WORDS in page.text and f"/dossiers/{IMPORTED}/fire" not in page.text
    native = officer.get(f"/console/dossiers/{office.codes['an_open']}")
    assert f"/dossiers/{office.codes['an_open']}/fire" in native.text and IMPORTED_WORDS not in native.text
    version = office.motcua.store.load(IMPORTED).version
    posted = officer.post(f"/console/dossiers/{IMPORTED}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": "request_supplement", "version": str(version),
        "data.reason": "Bổ sung giấy tờ"})
    assert posted.status_code == 422 and IMPORTED_WORDS in posted.text
    assert office.motcua.store.load(IMPORTED).version == version
