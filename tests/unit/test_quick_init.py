"""The quicker ``__init__`` of the engine's frozen values keeps everything a dataclass's did: parameters, defaults,
immutability, equality, ``replace``; and it refuses a class it cannot serve rather than half-serving it."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field, replace
from datetime import UTC, datetime

import pytest

from motcua.workflow.engine.audit import AuditEntry, sealed
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.frozen import quick_init
from motcua.workflow.engine.model import GENESIS_HASH, Case

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Reference:
    code: str
    version: int = 0
    note: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class _Quick:
    code: str
    version: int = 0
    note: str | None = None


def _case(version: int = 1) -> Case:
    return Case("X-1", "dossier", 1, "nd118", {"lifecycle": "received"}, {"procedure": "1.004873"}, version,
                GENESIS_HASH, NOW, NOW)


@pytest.mark.parametrize("cls", [Case, AuditEntry, Decision])
def test_the_engine_values_keep_their_dataclass_signature(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    assert cls.__init__.__module__ == cls.__module__
    assert inspect.signature(cls).parameters.keys() == inspect.signature(cls.__init__).parameters.keys() - {"self"}
    assert set(cls.__init__.__annotations__) == {*names, "return"}


def test_positional_keyword_and_default_arguments_build_the_same_value_as_a_dataclass() -> None:
    assert _Quick("A") == _Quick(code="A", version=0, note=None)
    assert (_Quick("A", 2, "n").code, _Quick("A", 2, "n").version, _Quick("A", note="n").note) == ("A", 2, "n")
    assert dataclasses.astuple(_Quick("A", 3, "n")) == dataclasses.astuple(_Reference("A", 3, "n"))
    assert repr(_Quick("A")) == repr(_Reference("A")).replace("_Reference", "_Quick")
    with pytest.raises(TypeError):
        _Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Quick("A", 1, "n", "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Quick("A", unknown=1)  # type: ignore[call-arg]


def test_a_value_built_quickly_stays_immutable_equal_and_replaceable() -> None:
    case = _case()
    with pytest.raises(FrozenInstanceError):
        case.version = 2  # type: ignore[misc]
    assert replace(case, version=2) == _case(2)
    assert hash(_Quick("A", 1)) == hash(_Quick("A", 1))
    assert replace(case, version=2).version == 2 and case.version == 1
    entry = sealed(case_code="X-1", sequence=1, occurred_at=NOW, actor="Nguyễn Thị Lan", role="officer",
                   trigger="receive", state_before={}, state_after={"lifecycle": "received"}, data={}, changes={},
                   reason=None, definition_key="dossier", definition_version=1, rule_set="nd118",
                   prev_hash=GENESIS_HASH)
    assert (entry.schema_version, entry.position, entry.position_hash) == (3, None, None)  # the defaults
    assert replace(entry, position=7, position_hash="p") == replace(entry, position=7)  # compare=False kept
    with pytest.raises(FrozenInstanceError):
        entry.hash = ""  # type: ignore[misc]
    decision = Decision(case, entry, {})
    assert (decision.timers, decision.effects, decision.consumes, decision.expected_version) == ((), (), None, 0)


def test_a_class_it_cannot_serve_is_refused() -> None:
    @dataclass(frozen=True)
    class Unslotted:
        code: str

    @dataclass(slots=True)
    class Mutable:
        code: str

    @dataclass(frozen=True, slots=True)
    class Factory:
        items: list[str] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Checked:
        code: str

        def __post_init__(self) -> None:
            raise ValueError(self.code)

    for cls in (Unslotted, Mutable, Factory, Checked):
        with pytest.raises(TypeError, match=cls.__name__):
            quick_init(cls)
