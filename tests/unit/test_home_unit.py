"""The home unit's code (``MOTCUA_AGENCY``, or ``agency=`` of the embedding API) begins every dossier's code, which
travels in URLs, file names and the DVCQG records: one not in a unit code's shape stops the process at start,
naming where it came from, before any database is opened. A blank variable is unset, as every setting reads it."""

from __future__ import annotations

import pytest

import motcua
from motcua.adapters.bootstrap import DEFAULT_AGENCY, home_unit, open_motcua
from motcua.workflow.errors import InvalidInput

HOME_SHAPE = ("a unit code: letters, digits, '.', '-' and '_', at most 64 characters, beginning with a letter or a "
              f"digit (e.g. {DEFAULT_AGENCY} or LOCAL-HP-THANH-DONG)")


@pytest.mark.parametrize("code", ["000.00.00.H23", "LOCAL-HP-THANH-DONG", "xa-an-lao", "000.00.00.h23", "x_1",
                                  "A" * 64])
def test_a_code_of_a_unit_is_taken_as_written(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    monkeypatch.setenv("MOTCUA_AGENCY", code)
    assert home_unit() == code == home_unit(code)


@pytest.mark.parametrize("code", ["xã-an-lão", "an thuong", "LOCAL/HD", "-LOCAL", ".H23", "A" * 65, "H2\t3",
                                  "H23\u200b", "LOCAL-HD;DROP"])
def test_a_code_not_in_a_units_shape_is_refused_naming_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, code: str,
) -> None:
    monkeypatch.setenv("MOTCUA_AGENCY", code)
    with pytest.raises(InvalidInput) as refused:
        home_unit()
    assert refused.value.field == "MOTCUA_AGENCY" and "at most 64 characters" in refused.value.message
    assert refused.value.message == InvalidInput("x", HOME_SHAPE).message  # said by its rule, never echoed
    with pytest.raises(InvalidInput) as given:
        home_unit(code)
    assert given.value.field == "agency"
    with pytest.raises(InvalidInput):
        open_motcua("memory://", observers=[])
    with pytest.raises(InvalidInput) as named:
        motcua.connect("memory://", unit=code, observers=[])
    assert named.value.field == "unit"


@pytest.mark.parametrize("blank", ["", "  "])  # and a code's own spaces at either end are trimmed, as a setting's
def test_a_blank_variable_is_the_default(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("MOTCUA_AGENCY", blank)
    assert home_unit() == DEFAULT_AGENCY
