"""Fixtures shared by every layer of tests: a clock, the cast, an engine on the memory store, a frozen heap."""

from __future__ import annotations

import gc
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


@pytest.fixture(scope="module")
def frozen_heap() -> Iterator[None]:
    """The objects of the session so far out of the garbage collector's sight (``gc.freeze``) for a module that runs
    a benchmark in the test process: the ``gc.collect()`` a benchmark runs before each timed run then scans what the
    benchmark allocated, not the whole session's heap (8 s instead of 1 s for ``bench.engine --quick`` late in the
    suite). What the benchmark allocates is collected and traced as in a run of its own."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
