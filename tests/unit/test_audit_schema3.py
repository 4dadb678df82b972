"""Audit schema 3: the bytes under an entry's hash are the documented ones, recomputable without motcua; chains
written in schemas 0 to 2 still verify, alone and continued in schema 3; a schema-3 entry altered is named.

The reference encoder below is the rule of docs/explanation/audit-log.md written out in plain Python, independent
of orjson (which the engine uses): the property test holds the engine's bytes to it, so an orjson release that
wrote a float or a string otherwise would fail here before it wrote a single entry.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.auditing.anchor import check, take
from motcua.workflow.auditing.replay import replay
from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.audit import (
    ENTRY_SCHEMA_VERSION,
    AuditEntry,
    canonical_bytes,
    check_chain,
    entry_hash,
    seal_positions,
    sealed,
)
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.model import GENESIS_HASH, Case, JsonValue
from motcua.workflow.errors import InvalidInput
from tests.conftest import OFFICER, SPECIALIST

# -- the documented encoding, by hand -------------------------------------------------------------------------

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    escaped = (_SHORT.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in text)
    return '"' + "".join(escaped) + '"'


def _float(x: float) -> str:
    """Shortest round-trip digits; decimal notation for 1e-5 <= |x| < 1e16 and zero, else d[.ddd]e±n."""
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # the decimal point sits after this many of the digits
    magnitude = point - 1  # x = d.ddd × 10^magnitude
    if -5 <= magnitude < 16:
        whole = text[:point] if point > 0 else "0"
        fraction = ("0" * -point + text) if point <= 0 else text[point:]
        body = f"{whole.ljust(point, '0') if point > 0 else whole}.{fraction or '0'}"
    else:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}e{'+' if magnitude > 0 else '-'}{abs(magnitude)}"
    return ("-" if sign else "") + body


def reference(value: object) -> str:
    """A JSON value as schema 3 writes it (the rules of docs/explanation/audit-log.md)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(reference(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ",".join(f"{_string(key)}:{reference(value[key])}" for key in sorted(value)) + "}"


def reference_bytes(entry: AuditEntry) -> bytes:
    """The canonical bytes of a schema-3 entry, computed by hand."""
    at = entry.occurred_at.astimezone(UTC)
    fraction = f".{at.microsecond:06d}" if at.microsecond else ""
    document: dict[str, JsonValue] = {
        "schema": 3, "case": entry.case_code, "seq": entry.sequence, "at": f"{at:%Y-%m-%dT%H:%M:%S}{fraction}Z",
        "actor": entry.actor, "role": entry.role, "trigger": entry.trigger, "before": dict(entry.state_before),
        "after": dict(entry.state_after), "data": dict(entry.data), "changes": dict(entry.changes),
        "reason": entry.reason, "definition": f"{entry.definition_key}@{entry.definition_version}",
        "rule_set": entry.rule_set, "prev": entry.prev_hash,
    }
    return reference(document).encode("utf-8")


def entry(**changed: object) -> AuditEntry:
    fields: dict[str, object] = {
        "case_code": "H23.1-240304-0001", "sequence": 2, "occurred_at": datetime(2024, 3, 4, 9, 30, tzinfo=VN_TZ),
        "actor": "Nguyễn Thị Lan", "role": "officer", "trigger": "assign",
        "state_before": {"lifecycle": "received", "deadline": "on_time"},
        "state_after": {"lifecycle": "processing", "deadline": "on_time"},
        "data": {"assignee": "Phạm Văn Hùng", "note": "Hồ sơ \"gấp\"\n\tkèm 2 bản"},
        "changes": {"handovers": 1, "fee": 50000.0, "ratio": 1.5e-06, "pages": [3, 1]}, "reason": None,
        "definition_key": "tthc-dossier", "definition_version": 1, "rule_set": "nd61-2018", "prev_hash": "a" * 64,
    } | changed
    return sealed(**fields)  # type: ignore[arg-type]  # the fields of an entry, by name


# -- the bytes ------------------------------------------------------------------------------------------------

KNOWN = (
    b'{"actor":"Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Lan","after":{"deadline":"on_time","lifecycle":"processing"},'
    b'"at":"2024-03-04T02:30:00Z","before":{"deadline":"on_time","lifecycle":"received"},'
    b'"case":"H23.1-240304-0001","changes":{"fee":50000.0,"handovers":1,"pages":[3,1],"ratio":1.5e-6},'
    b'"data":{"assignee":"Ph\xe1\xba\xa1m V\xc4\x83n H\xc3\xb9ng","note":"H\xe1\xbb\x93 s\xc6\xa1 \\"g\xe1\xba\xa5p\\"'
    b'\\n\\tk\xc3\xa8m 2 b\xe1\xba\xa3n"},"definition":"tthc-dossier@1","prev":"' + b"a" * 64 + b'",'
    b'"reason":null,"role":"officer","rule_set":"nd61-2018","schema":3,"seq":2,"trigger":"assign"}'
)


def test_a_new_entry_is_schema_3_hashed_over_the_documented_bytes() -> None:
    written = entry()
    assert written.schema_version == ENTRY_SCHEMA_VERSION == 3
    assert canonical_bytes(written) == KNOWN == reference_bytes(written)
    assert written.hash == hashlib.sha256(KNOWN).hexdigest() == entry_hash(written)
    assert written.hash == "ad5c644e31e56f24c0a3aced91a9ccc704e547a8dbbc29036c41da92c7a036fc"  # the page's example


def test_mappings_that_are_not_dicts_are_written_as_their_dicts() -> None:
    written = entry(state_before=MappingProxyType({"lifecycle": "received", "deadline": "on_time"}),
                    data=MappingProxyType(dict(entry().data)))
    assert canonical_bytes(written) == KNOWN and written.hash == entry().hash


def test_the_instant_keeps_its_microseconds_and_is_written_in_utc() -> None:
    written = entry(occurred_at=datetime(2024, 12, 31, 23, 59, 59, 5, tzinfo=UTC))
    assert b'"at":"2024-12-31T23:59:59.000005Z"' in canonical_bytes(written)
    assert canonical_bytes(written) == reference_bytes(written)


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # every code point but lone surrogates
_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False,
                                                                                   allow_infinity=False) | _TEXT
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(_TEXT, _JSON, max_size=5), changes=st.dictionaries(_TEXT, _JSON, max_size=5),
       actor=_TEXT, reason=st.none() | _TEXT, micro=st.integers(0, 999_999))
def test_the_engine_writes_exactly_the_documented_encoding(
    data: dict[str, JsonValue], changes: dict[str, JsonValue], actor: str, reason: str | None, micro: int,
) -> None:
    written = entry(data=data, changes=changes, actor=actor, reason=reason,
                    occurred_at=datetime(2025, 1, 28, 17, 0, 0, micro, tzinfo=VN_TZ))
    assert canonical_bytes(written) == reference_bytes(written)


@pytest.mark.parametrize("x", [0.1, 1.0, -0.0, 1e-5, 9.99e-6, 1e16, 9999999999999998.0, 1e21, 5e-324,
                               1.7976931348623157e308, 123456.789, -2.5e-300])
def test_floats_are_written_as_documented(x: float) -> None:
    assert canonical_bytes(entry(changes={"x": x})) == reference_bytes(entry(changes={"x": x}))
    assert json.loads(canonical_bytes(entry(changes={"x": x})))["changes"]["x"] == x


@pytest.mark.parametrize("value", [2**64, {1: "a"}, datetime(2024, 3, 4, tzinfo=UTC), "\ud800"])
def test_a_value_without_canonical_json_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="no canonical JSON"):
        entry(changes={"x": value})


def test_an_older_schema_is_still_hashed_in_its_own_encoding() -> None:
    written = entry()
    old = replace(written, schema_version=2)
    document = json.loads(canonical_bytes(written)) | {"schema": 2, "at": "2024-03-04T02:30:00.000000Z"}
    by_hand = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(old) == by_hand and entry_hash(old) != written.hash


# -- chains ---------------------------------------------------------------------------------------------------


def story(motcua: Motcua) -> Case:
    case = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    return motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})


def rewritten(case: Case, entries: list[AuditEntry], schemas: list[int]) -> tuple[Case, list[AuditEntry]]:
    """The chain as if each entry had been written in the schema given (schema 0 keeps its layout's content in
    ``data``), rechained and resealed: what an upgraded motcua holds for a case opened before the upgrade."""
    chain: list[AuditEntry] = []
    previous_hash, previous_seal = GENESIS_HASH, None
    for old, schema in zip(entries, schemas, strict=True):
        content = replace(old, schema_version=schema, prev_hash=previous_hash, position_hash=None)
        if schema == 0:
            content = replace(content, data={**old.data, "_set": dict(old.changes)}, changes={}, reason=None)
        content = replace(content, hash=entry_hash(content))
        if schema >= 2:
            [content] = seal_positions(previous_seal, [content], [old.position or 0])
        chain.append(content)
        previous_hash, previous_seal = content.hash, content.position_hash or previous_seal
    return replace(case, head_hash=previous_hash), chain


@pytest.mark.parametrize("schemas", [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], [0, 1, 2, 3], [2, 2, 3, 3],
                                     [3, 3, 3, 3]])
def test_chains_of_every_schema_and_of_mixed_schemas_verify_and_replay(motcua: Motcua, schemas: list[int]) -> None:
    case = story(motcua)
    entries = list(motcua.store.history(case.code))
    assert [e.schema_version for e in entries] == [3, 3, 3, 3]
    head, chain = rewritten(case, entries, schemas)
    assert check_chain(head, chain) is None
    replayed = replay([upcast(e) for e in chain])
    assert replayed is not None and dict(replayed.attributes) == dict(case.attributes)


def test_an_anchor_over_a_mixed_chain_checks(motcua: Motcua) -> None:
    case = story(motcua)
    head, chain = rewritten(case, list(motcua.store.history(case.code)), [1, 2, 3, 3])
    anchored = take(chain, datetime(2024, 3, 5, tzinfo=UTC))
    assert check_chain(head, chain) is None and check(anchored, chain).intact
    altered = [*chain[:3], replace(chain[3], actor="Người khác")]
    assert not check(anchored, altered).intact


@pytest.mark.parametrize("change", [
    {"actor": "Người khác"}, {"data": {"assignee": "Phạm Văn Hùng "}}, {"changes": {"handovers": 2.0}},
    {"occurred_at": datetime(2024, 3, 4, 2, 30, 0, 1, tzinfo=UTC)}, {"schema_version": 2},
])
def test_a_schema_3_entry_altered_is_named(motcua: Motcua, change: dict[str, object]) -> None:
    case = story(motcua)
    entries = list(motcua.store.history(case.code))
    entries[1] = replace(entries[1], **change)  # type: ignore[arg-type]  # a field of the entry, by name
    found = check_chain(case, entries)
    assert found is not None and (found.sequence, found.problem) == (2, "hash does not match the entry's content "
                                                                         "(entry altered)")
