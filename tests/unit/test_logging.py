"""Logs: every committed transition is one event with dossier, trigger and actor; identifiers masked."""

from __future__ import annotations

import json

import pytest
import structlog
from structlog.testing import capture_logs

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.logging import LoggingObserver, configure_logging, mask_identifiers, mask_text
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.errors import TransitionNotAllowed
from tests.conftest import LEADER, OFFICER


def test_mask_text_keeps_only_the_last_digits() -> None:
    assert mask_text("CCCD 030201001234, ĐT 0912345678") == "CCCD *********234, ĐT *******678"
    assert mask_text("hồ sơ 000.00.06.H56-231027-0361") == "hồ sơ 000.00.06.H56-231027-0361"


def test_committed_and_rejected_transitions_are_logged_masked(clock: ManualClock) -> None:
    motcua: Motcua = open_motcua("memory://", clock=clock, observers=[LoggingObserver()])
    applicant = Applicant("Trần Văn An", id_number="030201001234", phone="0912345678")
    with capture_logs(processors=[mask_identifiers]) as logs:
        case = motcua.desk.receive("1.004873", "direct", applicant, OFFICER)
        with pytest.raises(TransitionNotAllowed):
            motcua.service.fire(case.code, "approve", LEADER)
    committed = [event for event in logs if event["event"] == "transition.committed"]
    assert [(e["case"], e["trigger"], e["actor"]) for e in committed] == [
        (case.code, "open", OFFICER.name), (case.code, "receive", OFFICER.name)]
    rejected = [event for event in logs if event["event"] == "transition.rejected"]
    assert rejected[0]["case"] == case.code and rejected[0]["trigger"] == "approve"
    text = json.dumps(logs, ensure_ascii=False, default=str)
    assert "030201001234" not in text and "0912345678" not in text and "Trần Văn An" not in text


def test_json_lines_in_production(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    try:
        structlog.get_logger("t").info("hello", dossier="X-1", phone="0912345678")
    finally:
        structlog.reset_defaults()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "hello" and line["dossier"] == "X-1" and line["phone"] == "***"
