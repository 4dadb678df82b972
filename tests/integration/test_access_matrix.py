"""Access that stops at the border: key scope × operation × backend, through HTTP and through the Python API.

One province (Hải Phòng, July 2025) shares one database. Three dossiers are in it: one received and decided at
Thành Đông (unit A) for applicant X, one at Lê Chân (unit B) for applicant Y, and one received at Thành Đông for
Lê Chân to decide, also Y's. Six callers look at them — a key of unit A, of unit B, of the province (an
inspector: reads everything, may move nothing), of applicant X, of applicant Y, and an operator's unscoped key
— and each tries every operation: read, fire an event, history, list, receive at unit A and at unit B, the
report of unit A and of unit B. Every answer is the one the table below says, on memory, SQLite and
PostgreSQL, over HTTP (FastAPI's TestClient) and through ``motcua.connect(...)`` with a scoped handle.

Outside the scope a dossier is exactly a code never issued (404, the same problem body); a reception outside it
is 403 ``outside-scope`` (:class:`~motcua.OutsideScope`) before a number is drawn; a report of a unit outside it
is 404 ``unit-not-found`` (:class:`~motcua.NotFound`). Then the attacks of the issue, tried as an attacker would,
keys stored before the hardening (one holding the role ``system``, one for applicants with no applicant) and
hostile unit parameters (a NUL byte, 5,000 characters).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final, Protocol

import pytest
from fastapi.testclient import TestClient

import motcua
from motcua.adapters.keys import new_key
from motcua.entrypoints.http.app import create_app
from motcua.workflow.engine.clock import VN_TZ, ManualClock

A, B, OTHER = "LOCAL-HP-THANH-DONG", "LOCAL-HP-LE-CHAN", "LOCAL-HP-NGO-QUYEN"
PROVINCE: Final = "hai-phong"
START: Final = datetime(2025, 7, 7, 8, 0, tzinfo=VN_TZ)  # a Monday, after the merger: Hải Phòng's units in force
MONTH: Final = (date(2025, 7, 1), date(2025, 7, 31))
MARRIAGE: Final = "1.001193"
X = motcua.Applicant("Trần Văn An", id_number="031090000101", phone="0912000101", address="12 Lạch Tray, Hải Phòng")
Y = motcua.Applicant("Lê Thị Bình", id_number="031090000202", phone="0912000202", address="7 Tô Hiệu, Hải Phòng")
Y_SECRETS: Final = ("Lê Thị Bình", "031090000202", "0912000202", "7 Tô Hiệu")
OPERATOR = motcua.Actor.of("Quản trị", "officer", "specialist", "leader")

D_A, D_AB, D_B = f"{A}-250707-0001", f"{A}-250707-0002", f"{B}-250707-0001"
DOSSIERS: Final = (D_A, D_AB, D_B)


@dataclass(frozen=True)
class Caller:
    """A scope, the key's roles, the trigger it tries (with its data) and what it sees of the three dossiers."""

    roles: tuple[str, ...]
    trigger: str
    data: Mapping[str, object]
    sees: frozenset[str]
    receives_at: frozenset[str]  # the units where it may register a dossier (for itself, if an applicant)
    reports_on: frozenset[str]
    moves: bool = True  # whether its roles allow its trigger
    units: tuple[str, ...] | None = None
    province: str | None = None
    applicant: motcua.Applicant | None = None


ASSIGN: Final = {"assignee": "Phạm Văn Hùng"}
WITHDRAW: Final = {"reason": "Nộp nhầm thủ tục"}
CALLERS: Final = {
    "unit-A": Caller(("officer",), "assign", ASSIGN, frozenset({D_A, D_AB}), frozenset({A}), frozenset({A}),
                     units=(A,)),
    "unit-B": Caller(("officer",), "assign", ASSIGN, frozenset({D_AB, D_B}), frozenset({B}), frozenset({B}),
                     units=(B,)),
    "province": Caller(("inspector",), "assign", ASSIGN, frozenset(DOSSIERS), frozenset(), frozenset({A, B}),
                       moves=False, province=PROVINCE),
    "applicant-X": Caller(("applicant",), "request_withdrawal", WITHDRAW, frozenset({D_A}), frozenset({A, B}),
                          frozenset({A, B}), applicant=X),
    "applicant-Y": Caller(("applicant",), "request_withdrawal", WITHDRAW, frozenset({D_AB, D_B}), frozenset({A, B}),
                          frozenset({A, B}), applicant=Y),
    "unscoped": Caller(("officer", "specialist", "leader"), "assign", ASSIGN, frozenset(DOSSIERS),
                       frozenset({A, B}), frozenset({A, B})),
}
"""What each caller may do: the access matrix, one row per scope."""


# -- the province's database, on every backend ---------------------------------------------------------------


@pytest.fixture
def shop(url: str) -> Iterator[motcua.OneStop]:
    """The province's shop, its desk at unit A, with the three dossiers received by an operator."""
    with motcua.connect(url, unit=A, clock=ManualClock(START), observers=[]) as opened:
        everything = opened.scoped(motcua.EVERYTHING)
        codes = (everything.receive(MARRIAGE, X, OPERATOR).code,
                 everything.receive(MARRIAGE, Y, OPERATOR, deciding_unit=B).code,
                 everything.receive(MARRIAGE, Y, OPERATOR, unit=B).code)
        assert codes == DOSSIERS
        yield opened


class Response(Protocol):
    """What the tests read of a TestClient's answer."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


@dataclass
class Http:
    client: TestClient
    keys: dict[str, str]

    def as_(self, caller: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[caller]}

    def fire(self, caller: str, code: str, trigger: str, data: Mapping[str, object], version: int = 2) -> Response:
        return self.client.post(f"/dossiers/{code}/events", json={"trigger": trigger, "data": dict(data)},
                                headers={**self.as_(caller), "If-Match": f'"{version}"'})

    def receive(self, caller: str, unit: str, applicant: motcua.Applicant, *, receive: bool = True) -> Response:
        person = {"name": applicant.name, "id_number": applicant.id_number, "phone": applicant.phone}
        body = {"procedure": MARRIAGE, "channel": "online" if not receive else "direct", "applicant": person,
                "unit": unit, "receive": receive}
        return self.client.post("/dossiers", json=body, headers=self.as_(caller))

    def codes(self, caller: str, **query: str) -> set[str]:
        answer = self.client.get("/dossiers", params=query, headers=self.as_(caller))
        assert answer.status_code == 200, answer.text
        return {item["code"] for item in answer.json()["items"]}


@pytest.fixture
def http(shop: motcua.OneStop) -> Iterator[Http]:
    store = shop.parts.backend.keys
    keys = {}
    for name, caller in CALLERS.items():
        created = new_key(f"khóa {name}", caller.roles, START, units=caller.units, province=caller.province,
                          applicant=caller.applicant.id_number if caller.applicant else None)
        store.add_key(created.stored)
        keys[name] = created.secret_text
    with TestClient(create_app(shop.parts, store, clock=shop.parts.service.engine.clock)) as client:
        yield Http(client, keys)


def _problem(answer: Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    return body


def _own(caller: Caller, fallback: motcua.Applicant) -> motcua.Applicant:
    return caller.applicant or fallback


# -- the matrix over HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CALLERS)
def test_http_reads_and_history_stop_at_the_scope(http: Http, name: str) -> None:
    caller = CALLERS[name]
    unknown = _problem(http.client.get(f"/dossiers/{A}-250707-0099", headers=http.as_(name)), 404, "case-not-found")
    for code in DOSSIERS:
        read = http.client.get(f"/dossiers/{code}", headers=http.as_(name))
        history = http.client.get(f"/dossiers/{code}/history", headers=http.as_(name))
        if code in caller.sees:
            assert (read.status_code, read.json()["code"], read.headers["ETag"]) == (200, code, '"2"')
            assert [entry["trigger"] for entry in history.json()] == ["open", "receive"]
        else:
            body = _problem(read, 404, "case-not-found")
            assert body == {**unknown, "detail": unknown["detail"].replace(f"{A}-250707-0099", code)}
            assert _problem(history, 404, "case-not-found") == body


@pytest.mark.parametrize("name", CALLERS)
def test_http_events_move_only_what_the_scope_and_the_roles_allow(
    http: Http, shop: motcua.OneStop, name: str
) -> None:
    caller = CALLERS[name]
    for code in DOSSIERS:
        answer = http.fire(name, code, caller.trigger, caller.data)
        if code not in caller.sees:
            _problem(answer, 404, "case-not-found")
        elif not caller.moves:
            _problem(answer, 403, "role-not-allowed")
        else:
            assert answer.status_code == 200, answer.text
    moved = {code for code in DOSSIERS if shop.scoped(motcua.EVERYTHING).case(code).version == 3}
    assert moved == (caller.sees if caller.moves else set())


@pytest.mark.parametrize("name", CALLERS)
def test_http_listings_are_narrowed_to_the_scope(http: Http, name: str) -> None:
    caller = CALLERS[name]
    assert http.codes(name) == caller.sees
    assert http.codes(name, unit=B) == caller.sees & {D_AB, D_B}  # held by B: decided there
    assert http.codes(name, unit=OTHER) == set()


@pytest.mark.parametrize("name", CALLERS)
def test_http_receptions_only_at_the_scopes_units_and_before_a_number_is_drawn(
    http: Http, shop: motcua.OneStop, name: str
) -> None:
    caller = CALLERS[name]
    person = _own(caller, motcua.Applicant("Phạm Thị Cúc", id_number="031090000303"))
    applicant_key = caller.applicant is not None
    for unit in (A, B):
        answer = http.receive(name, unit, person, receive=not applicant_key)
        if not caller.moves:
            _problem(answer, 403, "role-not-allowed")
        elif unit in caller.receives_at:
            assert answer.status_code == 201, answer.text
            assert (answer.json()["receiving_unit"], answer.json()["deciding_unit"]) == (unit, unit)
        else:
            body = _problem(answer, 403, "outside-scope")
            assert set(body["problems"]) == {"unit"}
    if applicant_key:  # another applicant's dossier, even at a unit of its own
        other = Y if caller.applicant is X else X
        assert _problem(http.receive(name, A, other, receive=False), 403, "outside-scope")["problems"] == {
            "applicant.id_number": "a key acting for an applicant registers that applicant's own dossiers only"}
    # a refusal drew no number: the next dossier of each unit takes the next one
    drawn = {unit: len([c for c in caller.receives_at if c == unit]) if caller.moves else 0 for unit in (A, B)}
    everything = shop.scoped(motcua.EVERYTHING)
    assert everything.receive(MARRIAGE, X, OPERATOR, unit=A).code == f"{A}-250707-{3 + drawn[A]:04d}"
    assert everything.receive(MARRIAGE, X, OPERATOR, unit=B).code == f"{B}-250707-{2 + drawn[B]:04d}"


@pytest.mark.parametrize("name", CALLERS)
def test_http_reports_of_a_unit_only_within_the_scope(http: Http, name: str) -> None:
    caller = CALLERS[name]
    period = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    held = {A: 1, B: 2}  # counted under the deciding unit
    for unit in (A, B):
        answer = http.client.get("/reports/bieu06", params={**period, "unit": unit}, headers=http.as_(name))
        scorecard = http.client.get("/reports/par766", params={**period, "unit": unit}, headers=http.as_(name))
        if unit in caller.reports_on:
            assert answer.json()["total"]["total"] == held[unit], answer.text
            assert scorecard.status_code == 200, scorecard.text
        else:
            _problem(answer, 404, "unit-not-found")
            _problem(scorecard, 404, "unit-not-found")
    own = http.client.get("/reports/bieu06", params=period, headers=http.as_(name)).json()["total"]["total"]
    assert own == (sum(held[unit] for unit in caller.units) if caller.units else 3)
    for unknown in ("NO-SUCH-UNIT", OTHER if caller.units else "NO-SUCH-UNIT"):
        _problem(http.client.get("/reports/bieu06", params={**period, "unit": unknown}, headers=http.as_(name)),
                 404, "unit-not-found")


# -- the matrix through the Python API -----------------------------------------------------------------------


def _handle(shop: motcua.OneStop, name: str) -> motcua.OneStop:
    """The shop as ``name`` sees it: ``connect(unit=A)``'s own scope for unit A, a scoped handle for the others."""
    caller = CALLERS[name]
    if caller.units == (A,):
        return shop
    if caller.units is not None:
        return shop.scoped(motcua.Scope.of_units(caller.units))
    if caller.province is not None:
        desk = shop.parts.desk
        return shop.scoped(motcua.Scope.of_units(desk.units.province_codes(PROVINCE, desk.today())))
    if caller.applicant is not None:
        assert caller.applicant.id_number is not None
        return shop.scoped(motcua.Scope.of_applicant(caller.applicant.id_number))
    return shop.scoped(motcua.EVERYTHING)


def _actor(name: str) -> motcua.Actor:
    return motcua.Actor.of(f"người dùng {name}", *CALLERS[name].roles)


def _not_found(handle: motcua.OneStop, code: str, caller: Caller, actor: motcua.Actor) -> None:
    """Reading, the history and a trigger on ``code``: each CaseNotFound, worded as for a code never issued."""
    for attempt in ("case", "history", "fire"):
        with pytest.raises(motcua.CaseNotFound) as refused:
            if attempt == "case":
                handle.case(code)
            elif attempt == "history":
                handle.history(code)
            else:
                handle.fire(code, caller.trigger, actor, caller.data, expected_version=2)
        assert str(refused.value) == str(motcua.CaseNotFound(code))


@pytest.mark.parametrize("name", CALLERS)
def test_python_reads_events_and_history_stop_at_the_scope(shop: motcua.OneStop, name: str) -> None:
    caller, handle, actor = CALLERS[name], _handle(shop, name), _actor(name)
    for code in DOSSIERS:
        if code not in caller.sees:
            _not_found(handle, code, caller, actor)
            continue
        assert (handle.case(code).code, len(handle.history(code))) == (code, 2)
        if caller.moves:
            assert handle.fire(code, caller.trigger, actor, caller.data, expected_version=2).version == 3
        else:
            with pytest.raises(motcua.RoleNotAllowed):
                handle.fire(code, caller.trigger, actor, caller.data)
    moved = {code for code in DOSSIERS if shop.scoped(motcua.EVERYTHING).case(code).version == 3}
    assert moved == (caller.sees if caller.moves else set())


@pytest.mark.parametrize("name", CALLERS)
def test_python_queries_are_narrowed_to_the_scope(shop: motcua.OneStop, name: str) -> None:
    caller, handle = CALLERS[name], _handle(shop, name)
    assert {case.code for case in handle.find().items} == caller.sees
    assert {case.code for case in handle.find(motcua.CaseFilter(unit=B)).items} == caller.sees & {D_AB, D_B}
    assert {case.code for case in handle.in_state("received").items} == caller.sees


@pytest.mark.parametrize("name", CALLERS)
def test_python_receptions_only_at_the_scopes_units(shop: motcua.OneStop, name: str) -> None:
    caller, handle, actor = CALLERS[name], _handle(shop, name), _actor(name)
    person = _own(caller, motcua.Applicant("Phạm Thị Cúc", id_number="031090000303"))
    register = handle.submit if caller.applicant is not None else handle.receive
    for unit in (A, B):
        if not caller.moves:
            with pytest.raises(motcua.RoleNotAllowed):
                register(MARRIAGE, person, actor, unit=unit)
        elif unit in caller.receives_at:
            case = register(MARRIAGE, person, actor, unit=unit)
            assert (case.attributes["receiving_unit"], case.attributes["deciding_unit"]) == (unit, unit)
            assert handle.case(case.code) == case  # what it registered is in its scope
        else:
            with pytest.raises(motcua.OutsideScope) as refused:
                register(MARRIAGE, person, actor, unit=unit)
            assert refused.value.field == "unit"


@pytest.mark.parametrize("name", CALLERS)
def test_python_reports_of_a_unit_only_within_the_scope(shop: motcua.OneStop, name: str) -> None:
    caller, handle = CALLERS[name], _handle(shop, name)
    held = {A: 1, B: 2}
    for unit in (A, B):
        if unit in caller.reports_on:
            assert handle.bieu06(*MONTH, unit=unit).total.total == held[unit]
            assert handle.par766(*MONTH, unit=unit).end == MONTH[1]
        else:
            with pytest.raises(motcua.NotFound):
                handle.bieu06(*MONTH, unit=unit)
            with pytest.raises(motcua.NotFound):
                handle.par766(*MONTH, unit=unit)
    expected = sum(held[unit] for unit in caller.units) if caller.units else 3
    assert handle.bieu06(*MONTH).total.total == expected


# -- the attacks of the issue --------------------------------------------------------------------------------


def test_an_applicant_key_guessing_neighbouring_codes_gets_404_and_no_personal_data(http: Http) -> None:
    guesses = [f"{unit}-250707-{n:04d}" for unit in (A, B) for n in range(1, 6)]
    answers = {code: http.client.get(f"/dossiers/{code}", headers=http.as_("applicant-X")) for code in guesses}
    histories = [http.client.get(f"/dossiers/{code}/history", headers=http.as_("applicant-X")) for code in guesses]

    assert {code for code, answer in answers.items() if answer.status_code == 200} == {D_A}
    assert {answer.status_code for code, answer in answers.items() if code != D_A} == {404}
    leaked = [answer.text for answer in [*answers.values(), *histories]
              if any(secret in answer.text for secret in Y_SECRETS)]
    assert leaked == []
    listing = http.client.get("/dossiers", headers=http.as_("applicant-X")).text
    assert D_A in listing and not any(secret in listing for secret in Y_SECRETS)


def test_an_applicant_key_cannot_withdraw_another_applicants_dossier(http: Http, shop: motcua.OneStop) -> None:
    for code in (D_AB, D_B):
        _problem(http.fire("applicant-X", code, "request_withdrawal", WITHDRAW), 404, "case-not-found")

    everything = shop.scoped(motcua.EVERYTHING)
    assert [everything.case(code).state["lifecycle"] for code in (D_AB, D_B)] == ["received", "received"]
    assert [len(everything.history(code)) for code in (D_AB, D_B)] == [2, 2]
    own = http.fire("applicant-X", D_A, "request_withdrawal", WITHDRAW)
    assert own.json()["state"]["lifecycle"] == "withdrawal_requested"


def test_a_unit_key_cannot_list_read_or_move_another_units_dossier(http: Http, shop: motcua.OneStop) -> None:
    assert D_B not in http.codes("unit-A", unit=B)
    assert D_B not in http.codes("unit-A", state="received")
    _problem(http.client.get(f"/dossiers/{D_B}", headers=http.as_("unit-A")), 404, "case-not-found")
    _problem(http.fire("unit-A", D_B, "stop", {"reason": "thử"}), 404, "case-not-found")
    _problem(http.receive("unit-A", B, X), 403, "outside-scope")

    assert shop.scoped(motcua.EVERYTHING).case(D_B).version == 2


def test_a_dossier_received_at_a_for_b_is_seen_and_moved_by_both_units(http: Http) -> None:
    assert D_AB in http.codes("unit-A") and D_AB in http.codes("unit-B")
    first = http.fire("unit-A", D_AB, "assign", ASSIGN)
    second = http.fire("unit-B", D_AB, "assign", {"assignee": "Đỗ Văn Cường"}, version=3)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["attributes"]["assignee"] == "Đỗ Văn Cường"


def test_a_province_key_reads_every_unit_but_fires_nothing_its_roles_do_not_allow(
    http: Http, shop: motcua.OneStop
) -> None:
    assert http.codes("province") == set(DOSSIERS)
    for code in DOSSIERS:
        assert http.client.get(f"/dossiers/{code}", headers=http.as_("province")).status_code == 200
        body = _problem(http.fire("province", code, "stop", {"reason": "thanh tra"}), 403, "role-not-allowed")
        assert body["allowed_roles"] == ["leader"]
    assert [shop.scoped(motcua.EVERYTHING).case(code).version for code in DOSSIERS] == [2, 2, 2]


def test_a_key_of_one_unit_receives_there_unless_the_body_names_another(http: Http) -> None:
    body = {"procedure": MARRIAGE, "channel": "direct", "applicant": {"name": "Phạm Thị Cúc"}}
    answer = http.client.post("/dossiers", json=body, headers=http.as_("unit-B"))

    assert answer.status_code == 201, answer.text
    assert (answer.json()["code"], answer.json()["receiving_unit"]) == (f"{B}-250707-0002", B)
    to_a = http.client.post("/dossiers", json={**body, "deciding_unit": A}, headers=http.as_("unit-B"))
    assert (to_a.json()["receiving_unit"], to_a.json()["deciding_unit"]) == (B, A)


def test_a_unit_not_in_force_or_unknown_is_422_before_the_scope_is_asked(http: Http) -> None:
    for unit in ("LOCAL-HD-AN-THUONG", "NO-SUCH-UNIT"):  # An Thượng ended on 30 June 2025; the other never was
        body = _problem(http.receive("unscoped", unit, X), 422, "invalid-input")
        assert set(body["problems"]) == {"receiving_unit"}


def test_connect_with_a_unit_scopes_the_handle_and_refuses_an_unknown_unit(shop: motcua.OneStop, url: str) -> None:
    held = {A, "LOCAL-HD-AN-THUONG", "LOCAL-HD-CAM-THUONG", "LOCAL-HD-BINH-HAN", "LOCAL-HD-NGUYEN-TRAI"}
    assert shop.scope == motcua.Scope.of_units(held, label=A)  # with the communes merged into it: their records
    assert shop.scoped(motcua.Scope.of_units([B])).scope.units == frozenset({B})
    if url != "memory://":  # another handle on the same database, scoped like the first
        with motcua.connect(url, unit=B, clock=ManualClock(START), observers=[]) as other:
            assert {case.code for case in other.find().items} == {D_AB, D_B}
            assert other.receive(MARRIAGE, X, OPERATOR).code == f"{B}-250707-0002"
    with pytest.raises(motcua.InvalidInput, match="unknown unit 'NO-SUCH-UNIT'"):
        motcua.connect(url, unit="NO-SUCH-UNIT", observers=[])


# -- keys stored before the hardening, and hostile parameters ----------------------------------------------


def _stored_before(shop: motcua.OneStop, actor: str, *roles: str) -> dict[str, str]:
    """The header of a key as a database from before the hardening holds it (no scope, these roles as stored)."""
    created = new_key(actor, ["officer"], START)
    shop.parts.backend.keys.add_key(replace(created.stored, roles=roles))
    return {"X-API-Key": created.secret_text}


def _untouched(shop: motcua.OneStop) -> None:
    everything = shop.scoped(motcua.EVERYTHING)
    for code in DOSSIERS:
        case = everything.case(code)
        assert (case.version, case.state["lifecycle"], case.state["deadline"]) == (2, "received", "on_time")
        assert [entry.trigger for entry in everything.history(code)] == ["open", "receive"]
    assert {everything.case(code).attributes["deciding_unit"] for code in (D_AB, D_B)} == {B}


@pytest.mark.parametrize(("trigger", "data"), [
    ("transfer", {"from_units": [B], "to_unit": A, "resolution": "1669/NQ-UBTVQH15", "effective": "2025-07-07"}),
    ("mark_overdue", {}),
])
def test_a_key_stored_with_the_system_role_cannot_fire_the_systems_triggers(
    http: Http, shop: motcua.OneStop, trigger: str, data: Mapping[str, object]
) -> None:
    legacy = _stored_before(shop, "Phần mềm cũ", "officer", "system")
    for code in DOSSIERS:
        answer = http.client.post(f"/dossiers/{code}/events", json={"trigger": trigger, "data": dict(data)},
                                  headers={**legacy, "If-Match": '"2"'})
        body = _problem(answer, 403, "role-not-allowed")
        assert body["allowed_roles"] == ["system"]
    _untouched(shop)
    assert http.client.get(f"/dossiers/{D_B}", headers=legacy).status_code == 200  # still a staff key: it reads


def test_a_key_for_applicants_stored_without_an_applicant_sees_nothing(http: Http, shop: motcua.OneStop) -> None:
    legacy = _stored_before(shop, "Cổng cũ", "applicant")
    unknown = _problem(http.client.get(f"/dossiers/{A}-250707-0099", headers=legacy), 404, "case-not-found")
    for code in DOSSIERS:
        read = _problem(http.client.get(f"/dossiers/{code}", headers=legacy), 404, "case-not-found")
        assert read == {**unknown, "detail": unknown["detail"].replace(f"{A}-250707-0099", code)}
        assert _problem(http.client.get(f"/dossiers/{code}/history", headers=legacy), 404, "case-not-found") == read
        withdrawal = http.client.post(f"/dossiers/{code}/events", json={"trigger": "request_withdrawal",
                                                                         "data": WITHDRAW},
                                      headers={**legacy, "If-Match": '"2"'})
        assert _problem(withdrawal, 404, "case-not-found") == read
    for query in ({}, {"unit": A}, {"unit": B}, {"state": "received"}):
        listing = http.client.get("/dossiers", params=query, headers=legacy)
        assert (listing.status_code, listing.json()) == (200, {"items": [], "next_cursor": None}), listing.text
    period = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat()}
    assert http.client.get("/reports/bieu06", params=period, headers=legacy).json()["total"]["total"] == 0
    _problem(http.client.get("/reports/bieu06", params={**period, "unit": A}, headers=legacy), 404, "unit-not-found")
    _untouched(shop)


HOSTILE_UNITS: Final = {"nul": "LOCAL-HP\x00", "only-nul": "\x00", "long": "X" * 5000, "65": "X" * 65,
                        "newline": f"{A}\n", "space": f" {A}", "dash-first": "-LOCAL", "vietnamese": "Thành-Đông",
                        "lowercase": "local-hp-thanh-dong"}


@pytest.mark.parametrize("route", ["/dossiers", "/reports/bieu06", "/reports/par766"])
@pytest.mark.parametrize("hostile", HOSTILE_UNITS)
def test_a_unit_parameter_not_shaped_as_a_unit_code_is_422_naming_it(http: Http, route: str, hostile: str) -> None:
    value = HOSTILE_UNITS[hostile]
    query = {"unit": value} if route == "/dossiers" else {"period": "2025-07", "unit": value}

    body = _problem(http.client.get(route, params=query, headers=http.as_("unscoped")), 422, "invalid-request")

    assert set(body["problems"]) == {"query.unit"}
    assert value.strip() not in body["detail"] and len(body["detail"]) < 200


@pytest.mark.parametrize("field", ["unit", "deciding_unit"])
@pytest.mark.parametrize("hostile", HOSTILE_UNITS)
def test_a_unit_in_the_body_not_shaped_as_a_unit_code_is_422_and_draws_no_number(
    http: Http, shop: motcua.OneStop, field: str, hostile: str
) -> None:
    value = HOSTILE_UNITS[hostile]
    body = {"procedure": MARRIAGE, "channel": "direct", "applicant": {"name": "Phạm Thị Cúc"}, field: value}

    answer = _problem(http.client.post("/dossiers", json=body, headers=http.as_("unscoped")), 422, "invalid-request")

    assert set(answer["problems"]) == {f"body.{field}"}
    assert value.strip() not in answer["detail"] and len(answer["detail"]) < 200
    assert shop.scoped(motcua.EVERYTHING).receive(MARRIAGE, X, OPERATOR).code == f"{A}-250707-0003"


def test_a_well_shaped_unknown_unit_of_the_longest_length_is_not_found_and_echoed_no_longer(http: Http) -> None:
    longest = "L" * 64
    for route, query in (("/reports/bieu06", {"period": "2025-07"}), ("/reports/par766", {"period": "2025-07"}),
                         ("/dossiers", {}), ("/feedback", {})):
        answer = http.client.get(route, params={**query, "unit": longest}, headers=http.as_("unscoped"))
        body = _problem(answer, 404, "unit-not-found")
        assert longest in body["detail"] and len(body["detail"]) < 64 + 100
    refused = _problem(http.receive("unscoped", longest, X), 422, "invalid-input")
    assert set(refused["problems"]) == {"receiving_unit"}
