"""The role ``system`` is motcua's own (timers, imports, successions): no outside input carries it.

One test per path where something from outside becomes an actor or an entry: an HTTP key (made by
``motcua apikey create``, or stored before keys refused the role), the ``apikey create`` flags, a DVCQG sync file
and a plan file. The system's triggers are read from the definitions, so a trigger added later is covered too;
each is refused with the typed error (``RoleNotAllowed``, 403 ``role-not-allowed``) and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.keys import SYSTEM_ROLE, MemoryHttpStore, key_roles, new_key
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.cli.main import app as motcua_cli
from motcua.entrypoints.cli.usage import USAGE_ERROR
from motcua.entrypoints.http.app import create_app
from motcua.entrypoints.importer import import_file
from motcua.workflow.dvcqg.imports import IMPORT_ACTOR, IMPORT_TRIGGER
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.errors import InvalidDefinition

START: Final = datetime(2025, 7, 7, 9, 0, tzinfo=VN_TZ)
PROCEDURE: Final = "1.004873"  # Xác nhận tình trạng hôn nhân
DOSSIER: Final = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml")
SYSTEM_TRIGGERS: Final = sorted(name for name, spec in DOSSIER.triggers.items() if set(spec.roles) == {SYSTEM_ROLE})
DATA: Final[Mapping[str, Mapping[str, object]]] = {  # well-formed data: only the role may be what is refused
    "escalate": {"step": 1},
    "transfer": {"from_units": ["X"], "to_unit": "Y", "resolution": "1669/NQ-UBTVQH15", "effective": "2025-07-07"},
    "adopt_unit": {"unit": "Y", "reason": "gắn đơn vị"},
}
# what an attacker's key may be: every role a key can be given, and keys stored before the role was refused
HOLDERS: Final[Mapping[str, tuple[str, ...]]] = {
    "every-declared-role": tuple(sorted(key_roles())),
    "stored-with-system": (*sorted(key_roles()), SYSTEM_ROLE),
    "stored-with-system-alone": (SYSTEM_ROLE,),
}


@pytest.fixture
def served() -> Iterator[tuple[TestClient, Motcua, dict[str, str]]]:
    clock = ManualClock(START)
    motcua = open_motcua("memory://", clock=clock, observers=[])
    store = MemoryHttpStore()
    keys = {}
    for name, roles in {"officer": ("officer",), **HOLDERS}.items():
        made = new_key(f"khóa {name}", ["officer"], clock.now())
        store.add_key(replace(made.stored, roles=roles))  # as stored, whatever new_key allows today
        keys[name] = made.secret_text
    with TestClient(create_app(motcua, store, clock=clock)) as client:
        yield client, motcua, keys
    motcua.close()


def test_the_dossier_workflow_has_system_triggers_to_guard() -> None:
    assert {"mark_due_soon", "mark_overdue", "escalate", "transfer", "adopt_unit"} <= set(SYSTEM_TRIGGERS)
    assert SYSTEM_ROLE not in key_roles()


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize("trigger", SYSTEM_TRIGGERS)
def test_http_no_key_fires_a_system_trigger(
    served: tuple[TestClient, Motcua, dict[str, str]], trigger: str, holder: str
) -> None:
    client, motcua, keys = served
    officer = {"X-API-Key": keys["officer"]}
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}
    code = client.post("/dossiers", json=body, headers=officer).json()["code"]
    before = motcua.service.get(code)

    answer = client.post(f"/dossiers/{code}/events", json={"trigger": trigger, "data": dict(DATA.get(trigger, {}))},
                         headers={"X-API-Key": keys[holder], "If-Match": f'"{before.version}"'})

    if holder == "stored-with-system-alone":  # no role left: a key for no one, which sees nothing
        assert (answer.status_code, answer.json()["code"]) == (404, "case-not-found"), answer.text
    else:
        assert (answer.status_code, answer.json()["code"]) == (403, "role-not-allowed"), answer.text
        held = answer.json()["detail"].split(" may not fire ")[0]  # "actor 'khóa …' with roles [...]"
        assert answer.json()["allowed_roles"] == [SYSTEM_ROLE] and f"'{SYSTEM_ROLE}'" not in held
    assert motcua.service.get(code) == before
    assert [entry.trigger for entry in motcua.service.history(code)] == ["open", "receive"]


def test_http_a_key_stored_with_system_alone_registers_nothing(
    served: tuple[TestClient, Motcua, dict[str, str]],
) -> None:
    client, motcua, keys = served
    body = {"procedure": PROCEDURE, "channel": "direct", "applicant": {"name": "Trần Văn An"}}

    answer = client.post("/dossiers", json=body, headers={"X-API-Key": keys["stored-with-system-alone"]})

    assert (answer.status_code, answer.json()["code"]) == (403, "outside-scope"), answer.text  # a key for no one
    assert list(motcua.store.entries()) == []


@pytest.mark.parametrize("role", ["system", "System", "SYSTEM", " system ", "system\x00", "systém"])
def test_cli_apikey_create_refuses_system_however_spelled(tmp_path: Path, role: str) -> None:
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    runner = CliRunner()

    answer = runner.invoke(motcua_cli, ["apikey", "create", "--actor", "Bộ hẹn giờ", "--role", "officer",
                                        "--role", role, "--all-units", "--db", db])

    assert answer.exit_code == USAGE_ERROR and answer.stdout == ""
    assert answer.stderr.startswith("error: --role: ")
    assert "API keys (0)" in runner.invoke(motcua_cli, ["apikey", "list", "--db", db]).stdout


def _dvcqg_record(code: str, **extra: object) -> dict[str, object]:
    return {
        "MaHoSo": code, "MaTTHC": "1.001193", "TenTTHC": "Thủ tục đăng ký khai sinh", "MaLinhVuc": "HT",
        "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Trần Văn An", "LoaiDoiTuong": "1", "NgayTiepNhan": "20250701080000",
        "NgayHenTra": "20250703170000", "TrangThaiHoSo": "4", "NgayTra": "", "HinhThuc": "0", "NgayKetThucXuLy": "",
        "KenhThucHien": "1", "TaiLieuNop": [], "DanhSachLePhi": [], "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [], **extra,
    }


def test_a_dvcqg_file_chooses_neither_the_actor_nor_the_trigger(tmp_path: Path) -> None:
    """The import acts as motcua's own ``dvcqg-import`` and fires ``import`` only, whatever a record says; it arms
    no timer that would later fire a system trigger (and a dossier handled in motcua is refused: the import tests)."""
    motcua = open_motcua("memory://", clock=ManualClock(START), observers=[])
    hostile: dict[str, Any] = {"actor": "Kẻ giả danh", "role": "leader", "roles": ["leader"], "trigger": "approve",
                               "NguoiXuLy": "system"}
    path = tmp_path / "sync.json"
    path.write_text(json.dumps({"service": "DongBoHoSoMC", "isUpdating": False,
                                "data": [_dvcqg_record("000.00.06.H23-250701-0001", **hostile)]}), encoding="utf-8")
    try:
        import_file(path, motcua, at=START)
        history = motcua.service.history("000.00.06.H23-250701-0001")
        assert [(entry.trigger, entry.actor, entry.role) for entry in history] == [
            (IMPORT_TRIGGER, IMPORT_ACTOR, SYSTEM_ROLE)]
        assert not {"actor", "role", "roles", "trigger"} & set(history[0].data)
        assert motcua.store.armed_count(START) == (0, 0)
    finally:
        motcua.close()


@pytest.mark.parametrize("hostile", ["actor: Kẻ giả danh", "role: system", "roles: [system]", "trigger: mark_overdue"])
def test_a_plan_file_names_no_actor_role_or_trigger(tmp_path: Path, hostile: str) -> None:
    source = (PLANS_DIR / "an-thuong-2023.yaml").read_text(encoding="utf-8")
    path = tmp_path / "an-thuong-2023.yaml"
    path.write_text(f"{hostile}\n{source}", encoding="utf-8")

    with pytest.raises(InvalidDefinition, match="Extra inputs are not permitted"):
        load_plan(path)
    answer = CliRunner().invoke(motcua_cli, ["plan", "load", str(path), "--db", f"sqlite:///{tmp_path / 'p.db'}"])
    assert answer.exit_code != 0 and answer.stdout == ""


def test_a_loaded_plan_only_opens_its_tasks_as_motcua(tmp_path: Path) -> None:
    """The plan loader is motcua's own process: its one entry per task is ``open``, by ``motcua``."""
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    loaded = CliRunner().invoke(motcua_cli, ["plan", "load", str(PLANS_DIR / "an-thuong-2023.yaml"), "--db", db])
    assert loaded.exit_code == 0, loaded.output
    motcua = open_motcua(db, observers=[])
    try:
        entries = list(motcua.store.entries())
        assert entries
        for entry in entries:
            assert (entry.trigger, entry.actor, entry.role) == ("open", "motcua", SYSTEM_ROLE)
    finally:
        motcua.close()
