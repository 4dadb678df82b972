"""Audit schema 3 and the numbers JSON has no text for: orjson writes NaN and ±Infinity as ``null``, so an entry
holding one would hash as if it held a null — and a null put back as NaN (or the reverse) in the database would still
verify. The engine refuses to seal such a value, and a chain check or an anchor names an entry altered that way."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.auditing.anchor import check, take
from motcua.workflow.engine.audit import canonical_bytes, check_chain
from motcua.workflow.errors import InvalidInput
from tests.unit.test_audit_schema3 import entry, rewritten, story

_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize("field", ["data", "changes"])
@pytest.mark.parametrize("value", [_NAN, _INF, -_INF, [1, [2.0, _NAN]], {"inner": {"deep": -_INF}}])
def test_a_number_that_is_not_finite_is_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match="not finite"):
        entry(**{field: {"x": value}})


def test_nulls_and_texts_holding_null_are_still_written() -> None:
    written = entry(changes={"cleared": None, "note": "null", "items": [None, 1.5]}, reason="nullity")
    assert b'"changes":{"cleared":null,"items":[null,1.5],"note":"null"}' in canonical_bytes(written)


@pytest.mark.parametrize("forged", [_NAN, _INF, -_INF])
def test_a_null_replaced_by_a_non_finite_number_is_named(motcua: Motcua, forged: float) -> None:
    case = story(motcua)
    entries = list(motcua.store.history(case.code))
    entries[1] = replace(entries[1], changes={**entries[1].changes, "cleared": None})
    head, chain = rewritten(case, entries, [3, 3, 3, 3])
    anchored = take(chain, datetime(2024, 3, 5, tzinfo=UTC))
    assert check_chain(head, chain) is None and check(anchored, chain).intact
    altered = [*chain[:1], replace(chain[1], changes={**chain[1].changes, "cleared": forged}), *chain[2:]]
    found = check_chain(head, altered)
    assert found is not None and found.sequence == 2 and "entry altered" in found.problem
    assert not check(anchored, altered).intact
