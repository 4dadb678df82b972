"""A timer's failure as the engine judges and the log reports it: whether the trigger could move the case at all
(a transition from its state whose ``when`` holds — roles, data and guards aside), and a bug in an action reported
by its type and where it was, never its message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.logging import LoggingObserver
from motcua.workflow.engine.model import Case
from motcua.workflow.engine.service import _reported
from motcua.workflow.errors import ActionFailed, MalformedData
from motcua.workflow.feedback.actions import FEEDBACK_WORKFLOW


@pytest.fixture(scope="module")
def motcua() -> Iterator[Motcua]:
    opened = open_motcua("memory://", observers=[])
    yield opened
    opened.close()


def _case(motcua: Motcua, state: dict[str, str]) -> Case:
    compiled = motcua.workflows.latest(FEEDBACK_WORKFLOW)
    initial = compiled.definition.initial_state()
    return Case("000.00.12.H01-PAKN-0001", FEEDBACK_WORKFLOW, compiled.definition.version, "nd-118-2025",
                {**initial, **state}, {}, 3, "0" * 64, None, None)  # type: ignore[arg-type]


def test_a_trigger_whose_when_no_longer_holds_could_not_move_the_case(motcua: Motcua) -> None:
    # mark_classification_late: classification pending → late, when the lifecycle is still ``received``
    assert motcua.service.engine.allows(_case(motcua, {"lifecycle": "received"}), "mark_classification_late") is True
    assert motcua.service.engine.allows(_case(motcua, {"lifecycle": "assigned"}), "mark_classification_late") is False
    assert motcua.service.engine.allows(_case(motcua, {"lifecycle": "received", "classification": "late"}),
                                "mark_classification_late") is False


def test_a_trigger_or_a_definition_this_engine_does_not_know_cannot_be_judged(motcua: Motcua) -> None:
    case = _case(motcua, {})
    assert motcua.service.engine.allows(case, "retired_trigger") is None
    retired = Case(case.code, "retired-workflow", 1, case.rule_set, case.state, {}, 1, case.head_hash,
                   case.opened_at, case.updated_at)
    assert motcua.service.engine.allows(retired, "x") is None


def test_a_bug_in_an_action_is_reported_by_its_type_and_where_it_was_never_its_message() -> None:
    try:
        {"khóa": 1}["Nguyễn Thị Bí Mật 001199000111"]
    except KeyError as error:
        reported = _reported(error, "mark_overdue")
    assert isinstance(reported, ActionFailed) and (reported.trigger, reported.kind) == ("mark_overdue", "KeyError")
    assert str(reported) == "an action or a guard of 'mark_overdue' raised KeyError"
    with capture_logs() as logs:
        LoggingObserver().rejected("000.00.12.H01-250908-0001", "mark_overdue", reported)
    [line] = logs
    assert line["event"] == "transition.rejected" and line["error"] == "ActionFailed" and line["kind"] == "KeyError"
    assert line["traceback"][0]["type"] == "KeyError" and line["traceback"][0]["at"]
    assert "Bí Mật" not in repr(line) and "001199000111" not in repr(line)


def test_motcuas_own_errors_are_reported_as_they_are() -> None:
    error = MalformedData("remind", {"round": "not an integer"})
    assert _reported(error, "remind") is error
