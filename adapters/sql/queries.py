"""Every statement of the store (cases, timers, outbox), by name, in one place (procrastinate's ``queries.sql``).

The statements are Core constructs compiled once per dialect (:mod:`motcua.adapters.sql.statement`); their
parameters are named after the columns they fill, their rows come back in the column orders below, which
:mod:`motcua.adapters.sql.mapping` decodes.

An entry's position is taken by the statement that appends it, which seals the entry to it in the same
breath (:func:`entry_insert`): the position seal of :mod:`motcua.workflow.engine.audit` is never a second write.

Conflicts are found by the statements themselves: ``insert_case`` and ``append_entry`` do nothing on a
conflict, ``update_case`` and ``consume_timer`` match no row when another writer came first, and all
four then return no row. Status values are written into the text, never bound: the claims must match
the predicate of their partial index, which a parameter never does.

A few statements exist in several shapes, each compiled on first use and kept: a claim per ``LIMIT`` (written
into the text, so that a PostgreSQL generic plan — psycopg prepares a statement run five times — still knows
the claim is small and joins it back by primary key), :meth:`StoreQueries.find` per shape of its filter
(which of its fields are set).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.engine import SEAL_FUNCTION
from motcua.adapters.sql.statement import Compiler, Statement, one_of, param
from motcua.adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, SequenceCounterRow, TimerRow, table_of
from motcua.workflow.engine.model import GENESIS_HASH
from motcua.workflow.engine.queries import FILTERED_REGIONS, INDEX_KEYS, CaseFilter, due_text

__all__ = [
    "CASE_COLUMNS",
    "ENTRY_COLUMNS",
    "INDEX_COLUMNS",
    "OUTBOX_ITEM_COLUMNS",
    "STORED_ENTRY_COLUMNS",
    "TIMER_COLUMNS",
    "StoreQueries",
    "case_insert",
    "case_update",
    "entry_insert",
    "find_params",
]

CASE = table_of(CaseRow)
AUDIT = table_of(AuditEntryRow)
TIMER = table_of(TimerRow)
OUTBOX = table_of(OutboxRow)
COUNTER = table_of(SequenceCounterRow)

CASE_COLUMNS: Final = (
    "code", "definition_key", "definition_version", "rule_set", "state", "attributes", "version", "head_hash",
    "opened_at", "updated_at",
)
"""The columns of a case read back (``load_case``, ``cases``), in the order of its rows."""
INDEX_COLUMNS: Final = {key: f"index_{key}" for key in INDEX_KEYS}
"""The column of each search key of a case's index, written with the case."""
STATE_COLUMNS: Final = {region: f"state_{region}" for region in FILTERED_REGIONS}
"""The column of each region a query filters on, copied from the case's state when it is written."""
WRITTEN_INDEX: Final = (*INDEX_COLUMNS.values(), *STATE_COLUMNS.values())
ENTRY_COLUMNS: Final = (
    "case_code", "sequence", "occurred_at", "actor", "role", "trigger", "state_before", "state_after", "data",
    "changes", "reason", "definition_key", "definition_version", "rule_set", "prev_hash", "hash", "schema_version",
)
"""The columns of an entry as appended; read back, its ``position`` and ``position_hash`` follow them."""
STORED_ENTRY_COLUMNS: Final = (*ENTRY_COLUMNS, "position", "position_hash")
"""The columns of an entry read back, in the order :func:`motcua.adapters.sql.mapping.entry_from_record` decodes."""
TIMER_COLUMNS: Final = ("case_code", "name", "trigger", "due_at", "data", "generation")
OUTBOX_ITEM_COLUMNS: Final = (
    "id", "case_code", "kind", "payload", "attempts", "status", "next_attempt_at", "last_error", "created_at",
    "delivered_channels",
)

Status = sa.ColumnElement[str]
ARMED: Final[Status] = sa.literal_column("'armed'", sa.String)
PENDING: Final[Status] = sa.literal_column("'pending'", sa.String)
PARKED: Final[Status] = sa.literal_column("'parked'", sa.String)
DELIVERED: Final[Status] = sa.literal_column("'delivered'", sa.String)
_EQUAL: Final = ("definition_key", "lifecycle", "deadline", "procedure", "officer", "unit", "applicant")
"""CaseFilter's equalities."""


class StoreQueries:
    """The store's statements, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        sql = self._sql = Compiler(dialect)
        code = param("code")
        self.load_case = sql(_columns(CASE, CASE_COLUMNS).where(CASE.c.code == code))
        self.find_case = sql(sa.select(CASE.c.code).where(CASE.c.code == code))
        self.insert_case = sql(case_insert(sql))
        self.update_case = sql(case_update())
        self.append_entry = sql(entry_insert(sql))
        self.next_sequence = sql(_next_sequence(sql))
        self.history = sql(_entries().where(AUDIT.c.case_code == code).order_by(AUDIT.c.sequence))
        self.entries = sql(_entries().order_by(AUDIT.c.case_code, AUDIT.c.sequence))
        self.cases = sql(_columns(CASE, CASE_COLUMNS).order_by(CASE.c.code))
        self.found_by = sql(_columns(CASE, ("code", *WRITTEN_INDEX)).order_by(CASE.c.code))
        self.consume_timer = sql(sa.delete(TIMER).where(_claimed()).returning(TIMER.c.name))
        self.discard_timer = sql(sa.delete(TIMER).where(_claimed(), _unmoved()).returning(TIMER.c.name))
        self.cancel_timer = sql(sa.delete(TIMER).where(_timer()))
        self.arm_timer = sql(_arm_timer(sql))
        self.arm_timer_by_entry = sql(_arm_timer(sql, by_entry=True))
        self.timers = sql(_armed_timers())
        self.armed_count = sql(_armed_count())
        self.next_due = sql(_next_due())
        self.timer_table = sql(_timer_table())
        self.timer_retry = sql(_timer_failed(parked=False))
        self.timer_park = sql(_timer_failed(parked=True))
        self.parked_timers = sql(_parked_timers())
        self.parked_count = sql(_parked_count())
        self.requeue_timers_all = sql(_requeue_timers(TIMER.c.status == PARKED))
        self.requeue_timer = sql(_requeue_timers(sa.and_(_timer(), TIMER.c.status == PARKED)))
        self.enqueue_effect = sql(_enqueue_effect(sql))
        self.enqueue_effect_by_entry = sql(_enqueue_effect(sql, by_entry=True))
        self.enqueue_claimed_effect = sql(_enqueue_effect(sql, by_entry=True, claimed=True))
        self.effects = sql(_effects())
        self.parked = sql(_parked())
        self.backlog = sql(_backlog())
        self.requeue_all = sql(_requeue(OUTBOX.c.status == PARKED))
        self.requeue_chosen = sql(_requeue(sa.and_(OUTBOX.c.status == PARKED, one_of(OUTBOX.c.id, "ids"))))
        self.hold = sql(_hold())
        self.delivered = sql(_settle(DELIVERED, error=False))
        self.load_cases = sql(_columns(CASE, CASE_COLUMNS).where(one_of(CASE.c.code, "codes")))
        self.lock_cases = sql(_lock_cases())
        self.lock_timers = sql(_lock_timers())
        self.hold_many = sql(_hold(many=True))
        self.delivered_many = sql(_settle(DELIVERED, error=False, many=True))
        self.retry = sql(_settle(PENDING, error=True, retry=True))
        self.park = sql(_settle(PARKED, error=True))
        self.retry_held = sql(_settle(PENDING, error=True, retry=True, held=True))
        self.park_held = sql(_settle(PARKED, error=True, held=True))
        self._claims: dict[tuple[str, int], Statement] = {}
        self._finds: dict[tuple[object, ...], Statement] = {}

    def claim_due(self, limit: int) -> Statement:
        """Lease the ``limit`` oldest due timers (parameters ``now``, ``until``; see :func:`_claim_due`)."""
        return self._claim("timer", limit)

    def claim_effects(self, limit: int) -> Statement:
        """Lease the ``limit`` first pending effects due (parameters ``now``, ``until``, ``token``)."""
        return self._claim("outbox", limit)

    def find(self, where: CaseFilter, *, after: bool) -> Statement:
        """The cases ``where`` selects, by code, after ``after`` when given, the first ``limit``; its parameters
        are the filter's fields that are set, ``after`` and ``limit`` (:func:`find_params` gives them)."""
        return self._of_cases("find", where, after=after)

    def armed_count_of(self, where: CaseFilter) -> Statement:
        """:attr:`armed_count` of the cases ``where`` selects (parameters: ``now`` and :func:`filter_params`)."""
        return self._of_cases("armed_count", where)

    def timer_table_of(self, where: CaseFilter) -> Statement:
        """:attr:`timer_table` of the cases ``where`` selects (parameters: ``limit`` and :func:`filter_params`)."""
        return self._of_cases("timer_table", where)

    def parked_timers_of(self, where: CaseFilter) -> Statement:
        """:attr:`parked_timers` of the cases ``where`` selects (parameters: ``limit`` and :func:`filter_params`)."""
        return self._of_cases("parked_timers", where)

    def parked_count_of(self, where: CaseFilter) -> Statement:
        """:attr:`parked_count` of the cases ``where`` selects (parameters: :func:`filter_params`)."""
        return self._of_cases("parked_count", where)

    def parked_of(self, where: CaseFilter) -> Statement:
        """:attr:`parked` of the cases ``where`` selects (parameters: :func:`filter_params`)."""
        return self._of_cases("parked", where)

    def backlog_of(self, where: CaseFilter) -> Statement:
        """:attr:`backlog` of the cases ``where`` selects (parameters: :func:`filter_params`)."""
        return self._of_cases("backlog", where)

    def _of_cases(self, kind: str, where: CaseFilter, *, after: bool = False) -> Statement:
        """A statement over the cases ``where`` selects, made once per shape of the filter (which fields are set)."""
        shape = (kind, *(getattr(where, name) is not None for name in _EQUAL), where.due_before is not None,
                 where.ended, where.units is not None, after)
        statement = self._finds.get(shape)
        if statement is None:
            statement = self._finds[shape] = self._sql(_OF_CASES[kind](where, after))
        return statement

    def _claim(self, table: str, limit: int) -> Statement:
        statement = self._claims.get((table, limit))
        if statement is None:
            built = _claim_due(limit) if table == "timer" else _claim_effects(limit)
            statement = self._claims[(table, limit)] = self._sql(built)
        return statement


def find_params(where: CaseFilter, after: str | None, limit: int, codec: Codec) -> dict[str, object]:
    """The parameters of :meth:`StoreQueries.find`: one more row than ``limit`` is read, to tell whether a next
    page exists."""
    params = filter_params(where, codec)
    if after is not None:
        params["after"] = after
    params["limit"] = limit + 1
    return params


def filter_params(where: CaseFilter, codec: Codec) -> dict[str, object]:
    """The parameters of the fields of ``where`` that are set, in a statement over the cases it selects."""
    params: dict[str, object] = {name: value for name in _EQUAL if (value := getattr(where, name)) is not None}
    if where.units is not None:
        params["units"] = codec.values(sorted(where.units))
    if where.due_before is not None:
        params["due_before"] = due_text(where.due_before)
    return params


# -- cases and entries ------------------------------------------------------------------------------


def case_insert(sql: Compiler) -> sa.Insert:
    """Insert a case row (its index included), or nothing if the code is taken; returns the code it inserted."""
    columns = (*CASE_COLUMNS, *WRITTEN_INDEX)
    return sql.insert(CASE).values(_params(columns)).on_conflict_do_nothing().returning(CASE.c.code)


def case_update() -> sa.Update:
    """Update a case row still at ``expected_version``; returns its code, or no row when another writer came first."""
    columns = (*CASE_COLUMNS[1:], *WRITTEN_INDEX)
    current = sa.and_(CASE.c.code == param("code"), CASE.c.version == param("expected_version"))
    return sa.update(CASE).where(current).values(_params(columns)).returning(CASE.c.code)


def entry_insert(sql: Compiler) -> sa.Insert:
    """Append an entry at the next position, sealed to it, or nothing if its sequence is taken; returns the
    position it was given.

    The position and the previous entry's seal are read by a CTE of the INSERT itself, so the position is
    taken while the statement holds its lock on ``audit_entry`` (the reports' horizon waits for exactly the
    transactions holding it, :mod:`motcua.adapters.sql.reports`) and the seal costs no round trip: on
    PostgreSQL the next value of the table's sequence and ``sha256`` in SQL, on SQLite (writers serialised by
    ``BEGIN IMMEDIATE``) the next AUTOINCREMENT value and :data:`SEAL_FUNCTION`. Both compute
    :func:`motcua.workflow.engine.audit.position_seal` exactly (the contract tests verify what each store wrote).
    """
    allotted = sa.select(
        _next_position(sql.dialect.name).label("position"),
        sa.func.coalesce(_previous_seal(), sa.literal(GENESIS_HASH, sa.String)).label("previous"),
    ).cte("allotted")
    position = sa.select(allotted.c.position).scalar_subquery()
    seal = sa.select(_seal(sql.dialect.name, allotted.c.previous, allotted.c.position)).scalar_subquery()
    inserted = sql.insert(AUDIT).values({**_params(ENTRY_COLUMNS), "position": position, "position_hash": seal})
    return inserted.add_cte(allotted).on_conflict_do_nothing(
        index_elements=[AUDIT.c.case_code, AUDIT.c.sequence]).returning(AUDIT.c.position)


def _next_position(dialect: str) -> sa.ColumnElement[int]:
    if dialect == "postgresql":
        named = (sa.literal(AUDIT.name, sa.String), sa.literal(AUDIT.c.position.name, sa.String))
        return sa.func.nextval(sa.func.pg_get_serial_sequence(*named))
    used = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    last_given = sa.select(used.c.seq).where(used.c.name == sa.literal(AUDIT.name, sa.String)).scalar_subquery()
    highest = sa.select(sa.func.max(AUDIT.c.position)).scalar_subquery()
    none = sa.literal(0, sa.Integer)
    return sa.func.max(sa.func.coalesce(last_given, none), sa.func.coalesce(highest, none)) + 1


def _previous_seal() -> sa.ScalarSelect[Any]:
    previous = sa.and_(AUDIT.c.case_code == param("case_code"),
                       AUDIT.c.sequence == sa.cast(param("sequence"), sa.Integer) - 1)
    return sa.select(AUDIT.c.position_hash).where(previous).scalar_subquery()


def _seal(dialect: str, previous: sa.ColumnElement[str], position: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """``position_seal(previous, position, hash)`` in SQL."""
    entry_hash = sa.cast(param("hash"), sa.String)
    if dialect != "postgresql":
        return getattr(sa.func, SEAL_FUNCTION)(previous, position, entry_hash)  # type: ignore[no-any-return]
    text = previous + ":" + sa.cast(position, sa.String) + ":" + entry_hash
    utf8, hexadecimal = sa.literal("UTF8", sa.String), sa.literal("hex", sa.String)
    return sa.func.encode(sa.func.sha256(sa.func.convert_to(text, utf8)), hexadecimal)


def _entries() -> sa.Select[*tuple[Any, ...]]:
    return _columns(AUDIT, STORED_ENTRY_COLUMNS)


def _next_sequence(sql: Compiler) -> sa.Insert:
    counted = sql.insert(COUNTER).values(scope=param("scope"), value=1)
    counted_again = counted.on_conflict_do_update(index_elements=[COUNTER.c.scope], set_={"value": COUNTER.c.value + 1})
    return counted_again.returning(COUNTER.c.value)


def _selected(where: CaseFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``case`` rows of the fields of ``where`` that are set."""
    columns = {"definition_key": CASE.c.definition_key,
               **{key: CASE.c[column] for key, column in (*INDEX_COLUMNS.items(), *STATE_COLUMNS.items())}}
    conditions = [columns[name] == param(name) for name in _EQUAL if getattr(where, name) is not None]
    if where.units is not None:
        conditions.append(sa.or_(one_of(columns["unit"], "units"), one_of(columns["received_by"], "units")))
    if where.due_before is not None:
        conditions.append(columns["due"] <= param("due_before"))
    if where.ended is not None:
        conditions.append(columns["ended"].is_not(None) if where.ended else columns["ended"].is_(None))
    return conditions


def _find(where: CaseFilter, after: bool) -> sa.Select[*tuple[Any, ...]]:
    conditions = [*_selected(where), *([CASE.c.code > param("after")] if after else [])]
    return _columns(CASE, CASE_COLUMNS).where(*conditions).order_by(CASE.c.code).limit(param("limit"))


def _of_cases(table: sa.Table, where: CaseFilter) -> sa.ColumnElement[bool]:
    """``table``'s rows whose case ``where`` selects (the case's own row, by its code)."""
    chosen = sa.select(CASE.c.code).where(*_selected(where))
    return table.c.case_code.in_(chosen)


def _armed_count_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _armed_count().where(_of_cases(TIMER, where))


def _timer_table_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _timer_table().where(_of_cases(TIMER, where))


def _backlog_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _backlog().where(_of_cases(OUTBOX, where))


def _parked_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _parked().where(_of_cases(OUTBOX, where))


def _parked() -> sa.Select[*tuple[Any, ...]]:
    """The effects parked after their last attempt, by id."""
    return _columns(OUTBOX, OUTBOX_ITEM_COLUMNS).where(OUTBOX.c.status == PARKED).order_by(OUTBOX.c.id)


def _backlog() -> sa.Select[*tuple[Any, ...]]:
    """The effects waiting for delivery (pending, claimed or not)."""
    return sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.status == PENDING)


def _parked_timers_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _parked_timers().where(_of_cases(TIMER, where))


def _parked_count_of(where: CaseFilter, _: bool) -> sa.Select[*tuple[Any, ...]]:
    return _parked_count().where(_of_cases(TIMER, where))


_OF_CASES: Final = {"find": _find, "armed_count": _armed_count_of, "timer_table": _timer_table_of,
                    "backlog": _backlog_of, "parked": _parked_of, "parked_timers": _parked_timers_of,
                    "parked_count": _parked_count_of}




# -- timers -----------------------------------------------------------------------------------------


def _timer() -> sa.ColumnElement[bool]:
    return sa.and_(TIMER.c.case_code == param("case_code"), TIMER.c.name == param("name"))


def _claimed() -> sa.ColumnElement[bool]:
    """The timer row as claimed (same generation): fired, re-armed or cancelled since, it matches no row."""
    return sa.and_(_timer(), TIMER.c.generation == param("generation"))


def _unmoved() -> sa.Exists:
    """The case ``case_code`` is still at version ``seen``. Its row is locked for share (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the writer): a move in flight is waited for and then seen, never read past."""
    case = sa.select(CASE.c.code).where(CASE.c.code == param("case_code"), CASE.c.version == param("seen"))
    return sa.exists(case.with_for_update(read=True))


def _entry_position() -> sa.ScalarSelect[Any]:
    """The position of the entry ``sequence`` of the case ``entry_case``: what a statement sent before that entry's
    position is known (in a pipeline) takes instead of a ``position`` or ``generation`` parameter. (A parameter of
    its own, not ``case_code``: PostgreSQL would deduce two types for one placeholder.)"""
    entry = sa.and_(AUDIT.c.case_code == param("entry_case"), AUDIT.c.sequence == param("sequence"))
    return sa.select(AUDIT.c.position).where(entry).scalar_subquery()


def _arm_timer(sql: Compiler, *, by_entry: bool = False) -> sa.Insert:
    """Arm a timer (armed, not claimed), or re-arm it with its new trigger, instant, data and generation (or, with
    ``by_entry``, the position of the entry ``sequence`` that armed it)."""
    values = {**_params(TIMER_COLUMNS), "status": ARMED, "claimed_until": sa.null(), "attempts": 0}
    if by_entry:
        values["generation"] = _entry_position()
    armed = sql.insert(TIMER).values(values)
    new = armed.excluded
    rearmed = {"trigger": new.trigger, "due_at": new.due_at, "data": new.data, "status": ARMED,
               "generation": new.generation, "claimed_until": sa.null(), "attempts": 0, "error": sa.null()}
    return armed.on_conflict_do_update(index_elements=[TIMER.c.case_code, TIMER.c.name], set_=rearmed)


def _armed_timers() -> sa.Select[*tuple[Any, ...]]:
    mine = sa.and_(TIMER.c.case_code == param("code"), TIMER.c.status == ARMED)
    return _columns(TIMER, TIMER_COLUMNS).where(mine).order_by(TIMER.c.name)


def _armed_count() -> sa.Select[*tuple[Any, ...]]:
    due = sa.func.count().filter(TIMER.c.due_at <= param("now"))
    return sa.select(sa.func.count(), due).where(TIMER.c.status == ARMED)


def _next_due() -> sa.Select[*tuple[Any, ...]]:
    """The earliest instant after ``now`` at which an armed timer falls due (on ``ix_timer_armed_due_at``)."""
    later = sa.and_(TIMER.c.status == ARMED, TIMER.c.due_at > param("now"))
    return sa.select(TIMER.c.due_at).where(later).order_by(TIMER.c.due_at).limit(1)


def _timer_table() -> sa.Select[*tuple[Any, ...]]:
    """The first ``limit`` armed timers by due instant, with their claims and failures (the operator's table)."""
    columns = (TIMER.c.case_code, TIMER.c.name, TIMER.c.trigger, TIMER.c.due_at, TIMER.c.claimed_until,
               TIMER.c.attempts, TIMER.c.error)
    order = (TIMER.c.due_at, TIMER.c.case_code, TIMER.c.name)
    return sa.select(*columns).where(TIMER.c.status == ARMED).order_by(*order).limit(param("limit"))


def _timer_failed(*, parked: bool) -> sa.Update:
    """Record a failure of the timer as claimed — same generation, still armed with the failures it was claimed with
    (``claimed_attempts``: a message handed out again records nothing twice, nor over an operator's requeue) — while
    its case is still at version ``seen``: ``attempts`` and ``error`` written, and either claimed until ``until``
    (tried again then) or parked."""
    values: dict[str, Any] = {"attempts": param("attempts"), "error": param("error")}
    values |= {"status": PARKED, "claimed_until": sa.null()} if parked else {"claimed_until": param("until")}
    as_claimed = sa.and_(_claimed(), TIMER.c.status == ARMED, TIMER.c.attempts == param("claimed_attempts"))
    return sa.update(TIMER).where(as_claimed, _unmoved()).values(values).returning(TIMER.c.name)


def _parked_timers() -> sa.Select[*tuple[Any, ...]]:
    """The first ``limit`` parked timers by due instant, then case code and name, with their last failures."""
    columns = (TIMER.c.case_code, TIMER.c.name, TIMER.c.trigger, TIMER.c.due_at, TIMER.c.error, TIMER.c.attempts)
    order = (TIMER.c.due_at, TIMER.c.case_code, TIMER.c.name)
    return sa.select(*columns).where(TIMER.c.status == PARKED).order_by(*order).limit(param("limit"))


def _parked_count() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(sa.func.count()).select_from(TIMER).where(TIMER.c.status == PARKED)


def _requeue_timers(chosen: sa.ColumnElement[bool]) -> sa.Update:
    """Parked timers armed again, unclaimed, their failures forgotten."""
    values = {"status": ARMED, "attempts": 0, "error": sa.null(), "claimed_until": sa.null()}
    return sa.update(TIMER).where(chosen).values(values).returning(TIMER.c.name)


def _claim_due(limit: int) -> sa.Update:
    """Lease the ``limit`` oldest armed timers due at ``now`` whose last lease (if any) ran out, and
    that are their case's earliest armed timer (so a case's warning, overdue mark and escalations can
    never overtake one another on the workers; a timer whose trigger failed holds back the later ones while it
    is tried again, until it is parked).

    On PostgreSQL any number of dispatchers claim side by side, each skipping the rows another is
    claiming (``FOR UPDATE SKIP LOCKED``); SQLite has no row locks (the clause is left out) and runs it
    under ``BEGIN IMMEDIATE``, one claimer at a time. The locking SELECT is a CTE so that it runs exactly
    once whatever join the planner picks (a subquery on the inner side of a nested loop may be run again,
    and lock other rows each time).
    """
    now = param("now")
    free = sa.or_(TIMER.c.claimed_until.is_(None), TIMER.c.claimed_until <= now)
    earlier = TIMER.alias("earlier")
    first_of_case = ~sa.exists().where(  # a case's timers fire in due order: one at a time per case
        earlier.c.case_code == TIMER.c.case_code, earlier.c.status == ARMED, earlier.c.due_at < TIMER.c.due_at
    )
    due = (
        sa.select(TIMER.c.case_code, TIMER.c.name)
        .where(TIMER.c.status == ARMED, TIMER.c.due_at <= now, free, first_of_case)
        .order_by(TIMER.c.due_at, TIMER.c.case_code, TIMER.c.name)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    chosen = sa.tuple_(TIMER.c.case_code, TIMER.c.name).in_(sa.select(due.c.case_code, due.c.name))
    claimed = sa.update(TIMER).where(chosen).values(claimed_until=param("until"))
    return claimed.returning(*(TIMER.c[name] for name in TIMER_COLUMNS), TIMER.c.attempts)


def _lock_cases() -> sa.Select[*tuple[Any, ...]]:
    """The code and version of the cases of the list ``codes``, locked (in code order: two batches never wait on
    each other in a cycle) until the batch's transaction ends."""
    chosen = one_of(CASE.c.code, "codes")
    return sa.select(CASE.c.code, CASE.c.version).where(chosen).order_by(CASE.c.code).with_for_update()


def _lock_timers() -> sa.Select[*tuple[Any, ...]]:
    """The name and generation of every timer row of the cases of ``codes``, locked; taken after the cases, as a
    lone commit takes them."""
    chosen = one_of(TIMER.c.case_code, "codes")
    rows = sa.select(TIMER.c.case_code, TIMER.c.name, TIMER.c.generation).where(chosen)
    return rows.order_by(TIMER.c.case_code, TIMER.c.name).with_for_update()


# -- outbox -----------------------------------------------------------------------------------------


def _enqueue_effect(sql: Compiler, *, by_entry: bool = False, claimed: bool = False) -> sa.Insert:
    """A pending outbox row; ``at`` is the decision's instant: the first attempt is due at once. Its position is
    ``position``, or (``by_entry``) the position of the case's entry ``sequence``. A ``claimed`` row is written
    under the claim ``token`` until ``until`` (its committer delivers it at once) and returned."""
    position = _entry_position() if by_entry else param("position")
    claim = (param("until"), param("token")) if claimed else (sa.null(), sa.null())
    inserted = sql.insert(OUTBOX).values(
        case_code=param("case_code"), position=position, kind=param("kind"), payload=param("payload"),
        status=PENDING, attempts=0, next_attempt_at=param("at"), created_at=param("at"), last_error=sa.null(),
        claimed_until=claim[0], claim_token=claim[1],
    )
    return inserted.returning(*(OUTBOX.c[name] for name in OUTBOX_ITEM_COLUMNS)) if claimed else inserted


def _effects() -> sa.Select[*tuple[Any, ...]]:
    mine = OUTBOX.c.case_code == param("code")
    return sa.select(OUTBOX.c.kind, OUTBOX.c.payload).where(mine).order_by(OUTBOX.c.position, OUTBOX.c.id)


def _claim_effects(limit: int) -> sa.Update:
    """Lease the ``limit`` first pending effects whose next attempt is due and that nobody holds, under the
    claim's ``token`` (NULL: a claim nobody holds, for a caller delivering at once)."""
    now = param("now")
    free = sa.or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now)
    ready = (
        sa.select(OUTBOX.c.id)
        .where(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= now, free)
        .order_by(OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("ready")
    )
    chosen = OUTBOX.c.id.in_(sa.select(ready.c.id))
    claimed = sa.update(OUTBOX).where(chosen).values(claimed_until=param("until"), claim_token=param("token"))
    return claimed.returning(*(OUTBOX.c[name] for name in OUTBOX_ITEM_COLUMNS))


def _chosen(*, many: bool = False) -> sa.ColumnElement[bool]:
    """The outbox row ``id``, or (``many``) the rows of the list ``ids``."""
    return one_of(OUTBOX.c.id, "ids") if many else OUTBOX.c.id == param("id")  # type: ignore[no-any-return]


def _held(*, many: bool = False) -> sa.ColumnElement[bool]:
    """The pending row ``id`` (or rows ``ids``) under the claim ``token``: delivered, parked or claimed again since,
    no row."""
    return sa.and_(_chosen(many=many), OUTBOX.c.status == PENDING, OUTBOX.c.claim_token == param("token"))


def _hold(*, many: bool = False) -> sa.Update:
    """Extend a claim to ``until`` while its holder delivers; returns the row's id (the ids of the rows ``ids``
    still held, with ``many``), or no row when it lost it."""
    return sa.update(OUTBOX).where(_held(many=many)).values(claimed_until=param("until")).returning(OUTBOX.c.id)


def _settle(status: Status, *, error: bool, retry: bool = False, held: bool = False, many: bool = False) -> sa.Update:
    """End an attempt on an outbox row (``id``): count it (a failure by ``counted``: 0 for an effect deferred
    unsent), record how it went (``error``), free its claim, and for a retry set when the next attempt is due
    (``retry_at``); returns the row's id, or no row when the attempt may not be recorded. A delivery is recorded
    unless one was already; a failure only on a pending row, and only under its claim (``token``) when ``held``."""
    changes: dict[str, Any] = {
        "status": status, "attempts": OUTBOX.c.attempts + (param("counted") if error else 1),
        "claimed_until": sa.null(), "claim_token": sa.null(), "last_error": param("error") if error else sa.null(),
    }
    if retry:
        changes["next_attempt_at"] = param("retry_at")
    if error:  # the channels a failed attempt (or those before it) delivered to
        changes["delivered_channels"] = param("channels")
    if status is DELIVERED:
        recordable = sa.and_(_chosen(many=many), OUTBOX.c.status != DELIVERED)
    else:
        recordable = _held() if held else sa.and_(OUTBOX.c.id == param("id"), OUTBOX.c.status == PENDING)
    return sa.update(OUTBOX).where(recordable).values(changes).returning(OUTBOX.c.id)


def _requeue(chosen: sa.ColumnElement[bool]) -> sa.Update:
    """Parked effects pending again, due ``now``, their failures forgotten (as a requeued timer's), the last kept."""
    requeued = sa.update(OUTBOX).where(chosen).values(status=PENDING, attempts=0, next_attempt_at=param("now"))
    return requeued.returning(OUTBOX.c.id)


# -- helpers ----------------------------------------------------------------------------------------


def _columns(table: sa.Table, names: tuple[str, ...]) -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*(table.c[name] for name in names))


def _params(columns: tuple[str, ...]) -> dict[str, Any]:
    """Each column filled by the parameter of its name."""
    return {name: param(name) for name in columns}
