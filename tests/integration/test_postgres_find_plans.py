"""A unit's cases in a state, due by a date, on a real PostgreSQL: the plan of ``find()`` at province scale.

A province keeps every commune's dossiers in one ``case`` table, and a commune's desk pages through its own
backlog (``CaseFilter(unit=…, lifecycle="processing", due_before=…, ended=False)``, 50 at a time). For a page
to cost the same at 10 thousand cases as at 2 million, it must be read from ``ix_case_unit_lifecycle_code``
in code order and stop after one page: no Sort of the unit's whole backlog, no Seq Scan of the table. The
plans are asserted here on 20,000 analysed rows, for the first page and the next, as planned for the values at
hand and as the generic plan a prepared statement may switch to (psycopg prepares a statement run five times).

Two things in migration 0009 make it so: the index carries the appointment and the end after the code (the
scan tests them on the index entry, and the generic plan, which cannot know how big a backlog is, still prefers
the index order to a sort), and on PostgreSQL a statistics object tells the planner that an open case has no end
(taken as independent, "processing" and "not ended" would make a backlog look ten times smaller here, sixty
times at a province's share of open dossiers).

The statement is the store's own (:meth:`StoreQueries.find` with :func:`find_params`), explained as the
store sends it. The rows are written directly: this is about the query, not the commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from motcua.adapters.sql.codec import codec_for
from motcua.adapters.sql.migrate import upgrade
from motcua.adapters.sql.queries import find_params
from motcua.adapters.sql.store import SqlStore
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.queries import CaseFilter
from tests.services import postgres_database, postgres_url, require_postgres

pytestmark = pytest.mark.integration

CASES = 20_000
UNITS = 100
WARD = "LOCAL-U000"  # the merged ward: one dossier in five of the province
COMMUNE = "LOCAL-U042"  # an ordinary commune: one in 124
DUE_BEFORE = datetime(2026, 1, 5, 17, 0, tzinfo=VN_TZ)
PAGE = 50
INDEX = "ix_case_unit_lifecycle_code"
SCAN_NODES = frozenset({"Index Scan", "Index Only Scan"})

# Two years of dossiers received at 100 units, one every ~53 minutes, in reception order; the last tenth is
# still open (processing, or waiting for a supplement), the rest returned, and one in 50 refused. The legal
# appointment falls 3 to 14 days after reception; an open dossier has no end.
FILL = sa.text("""
    INSERT INTO "case" (code, definition_key, definition_version, rule_set, state, attributes, version, head_hash,
                        opened_at, updated_at, index_unit, index_received_by, index_due, index_ended,
                        state_lifecycle, state_deadline)
    SELECT unit || '-' || to_char(day, 'YYMMDD') || '-' || lpad(n::text, 5, '0'), 'tthc-dossier', 1,
           CASE WHEN day < '2025-07-01' THEN 'nd61-2018' ELSE 'nd118-2025' END,
           json_build_object('lifecycle', lifecycle, 'deadline', 'on_time', 'records', 'paper'),
           json_build_object('deciding_unit', unit, 'receiving_unit', unit), 3, 'h', day, day, unit, unit,
           to_char(day + (3 + n % 12) * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"+07:00"'),
           CASE WHEN open THEN NULL ELSE to_char(day + interval '5 days', 'YYYY-MM-DD"T"HH24:MI:SS"+07:00"') END,
           lifecycle, 'on_time'
    FROM (SELECT n, open, day,
                 'LOCAL-U' || lpad((CASE WHEN n % 5 = 0 THEN 0 ELSE n * 7 % (:units - 1) + 1 END)::text, 3, '0')
                   AS unit,
                 CASE WHEN open AND n % 7 = 0 THEN 'supplement_requested' WHEN open THEN 'processing'
                      WHEN n % 50 = 0 THEN 'refused' ELSE 'returned' END AS lifecycle
          FROM (SELECT n, n > :cases * 9 / 10 AS open,
                       timestamp '2026-01-01' - (:cases - n) * (interval '730 days' / :cases) AS day
                FROM generate_series(1, :cases) n) numbered) dossiers
""")


@pytest.fixture(scope="module")
def store() -> Iterator[SqlStore]:
    require_postgres()
    with postgres_database() as name:
        url = postgres_url(name)
        upgrade(url)
        with SqlStore.from_url(url) as opened:
            with opened.engine.begin() as connection:
                connection.execute(FILL, {"cases": CASES, "units": UNITS})
            with opened.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text('ANALYZE "case"'))
            yield opened


def backlog(unit: str) -> CaseFilter:
    return CaseFilter(definition_key="tthc-dossier", unit=unit, lifecycle="processing", due_before=DUE_BEFORE,
                      ended=False)


def statement(store: SqlStore, where: CaseFilter, after: str | None) -> tuple[str, dict[str, object]]:
    """The text and parameters of the page, as :meth:`SqlStore.find` sends them."""
    text = store.queries.find(where, after=after is not None)
    return text, find_params(where, after, PAGE, codec_for("postgresql"))


def matching(store: SqlStore, where: CaseFilter) -> int:
    """How many cases the filter selects: the store's statement without its page limit."""
    text, params = statement(store, where, None)
    with store.engine.connect() as connection:
        counted = connection.exec_driver_sql(f"SELECT count(*) FROM ({text}) page", {**params, "limit": CASES})
        return int(counted.scalar_one())


# -- the plans ---------------------------------------------------------------------------------------


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def _custom_plan(store: SqlStore, text: str, params: dict[str, object]) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        [document] = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {text}", params).scalar_one()
        connection.rollback()
    return list(_plan_nodes(document["Plan"]))


def _generic_plan(store: SqlStore, text: str, params: dict[str, object]) -> list[dict[str, Any]]:
    """The plan a prepared statement gets when PostgreSQL stops planning for the values at hand."""
    names: list[str] = []
    for name in re.findall(r"%\((\w+)\)s", text):
        if name not in names:
            names.append(name)
    numbered = re.sub(r"%\((\w+)\)s", lambda found: f"${names.index(found.group(1)) + 1}", text)
    arguments = ", ".join(_literal(params[name]) for name in names)  # EXECUTE binds no parameters
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE page AS {numbered}")
        [document] = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE page({arguments})").scalar_one()
        connection.rollback()
        connection.exec_driver_sql("DEALLOCATE page")
        connection.exec_driver_sql("RESET plan_cache_mode")
    return list(_plan_nodes(document["Plan"]))


def _literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, str) and "'" not in value, f"only codes, units and instants as text: {value!r}"
    return f"'{value}'"


def _assert_paged_in_index_order(nodes: list[dict[str, Any]]) -> None:
    kinds = [node["Node Type"] for node in nodes]
    assert {node["Node Type"] for node in nodes if node.get("Index Name") == INDEX} & SCAN_NODES, \
        f"{INDEX} is not scanned in order: {kinds}"
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, f"the page is sorted: {kinds}"
    assert "Seq Scan" not in kinds, f"the page reads the whole case table: {kinds}"


def test_a_wards_backlog_is_read_one_page_at_a_time_in_index_order(store: SqlStore) -> None:
    where = backlog(WARD)
    first = store.find(where, limit=PAGE)
    second = store.find(where, after=first.next_cursor, limit=PAGE)

    assert matching(store, where) > 4 * PAGE  # several pages: the order of the index is what saves a sort
    assert len(first.items) == len(second.items) == PAGE
    assert [case.code for case in first.items] == sorted(case.code for case in first.items)
    assert first.items[-1].code < second.items[0].code
    assert {case.state["lifecycle"] for case in (*first.items, *second.items)} == {"processing"}
    for after in (None, first.next_cursor):
        text, params = statement(store, where, after)
        for plan in (_custom_plan(store, text, params), _generic_plan(store, text, params)):
            _assert_paged_in_index_order(plan)


def test_the_planner_counts_a_backlog_as_it_is(store: SqlStore) -> None:
    """An open dossier has no end: with the statistics object of migration 0009 the planner knows that
    ``processing`` and ``ended IS NULL`` go together, and estimates a commune's backlog within a factor of two
    (taken as independent, it would be ten times too small here, and sorted whole at province scale)."""
    for unit in (WARD, COMMUNE):
        where = backlog(unit)
        text, params = statement(store, where, None)
        [scan] = [node for node in _custom_plan(store, text, params) if node.get("Relation Name") == "case"]
        actual = matching(store, where)

        assert actual > 0
        assert actual / 2 <= scan["Plan Rows"] <= actual * 2, (unit, scan["Plan Rows"], actual)


def test_a_commune_with_no_backlog_gets_an_empty_page(store: SqlStore) -> None:
    where = backlog("LOCAL-NOWHERE")

    page = store.find(where, limit=PAGE)

    assert page.items == () and page.next_cursor is None
    text, params = statement(store, where, None)
    kinds = [node["Node Type"] for node in _custom_plan(store, text, params)]
    assert "Seq Scan" not in kinds, kinds
