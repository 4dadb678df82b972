"""Fixtures shared by every layer of tests: a clock, the cast, an engine on the memory store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor

START = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday, office open

OFFICER = Actor.of("Nguyễn Thị Lan", "officer")
SPECIALIST = Actor.of("Phạm Văn Hùng", "specialist")
LEADER = Actor.of("Lê Minh Tuấn", "leader")
APPLICANT = Actor.of("Trần Văn An", "applicant")
SYSTEM = Actor.of("motcua", "system")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def motcua(clock: ManualClock) -> Iterator[Motcua]:
    app = open_motcua("memory://", clock=clock, observers=[])
    yield app
    app.close()
