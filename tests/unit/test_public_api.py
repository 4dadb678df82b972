"""The public surface, ``motcua``: every name of ``__all__`` resolves, lazily, and renames keep an alias."""

from __future__ import annotations

import subprocess
import sys

import pytest

import motcua


def test_every_public_name_resolves() -> None:
    missing = [name for name in motcua.__all__ if getattr(motcua, name, None) is None]
    assert missing == []
    assert set(motcua.__all__) <= set(dir(motcua))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = motcua.no_such_name  # type: ignore[attr-defined]


def test_importing_motcua_loads_no_database_until_connect() -> None:
    probe = "import sys, motcua; print(sorted(n for n in sys.modules if n.split('.')[0] in ('sqlalchemy', 'fastapi')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_case_reads_any_case_and_dossier_is_its_deprecated_alias() -> None:
    officer = motcua.Actor.of("Nguyễn Thị Lan", "officer")
    with motcua.connect("memory://", observers=[]) as shop:
        received = shop.receive("1.001193", motcua.Applicant("Trần Văn An"), officer)
        assert shop.case(received.code) == received
        with pytest.warns(DeprecationWarning, match=r"OneStop\.case\(\)"):
            assert shop.dossier(received.code) == received
        with pytest.raises(motcua.CaseNotFound) as missing:
            shop.case("no-such-code")
    assert isinstance(missing.value, LookupError)


@pytest.mark.parametrize("name", ["CaseNotFound", "UnknownDefinition", "UnknownProcedure", "UnknownRuleSet",
                                  "UnknownTrigger", "NoRuleSetInForce", "NotFound"])
def test_not_found_errors_are_lookup_errors(name: str) -> None:
    error = getattr(motcua, name)
    assert issubclass(error, motcua.MotcuaError) and issubclass(error, LookupError)


def test_retryable_is_a_type_not_a_flag() -> None:
    assert issubclass(motcua.DeliveryUnavailable, motcua.DeliveryFailed)
    assert issubclass(motcua.DeliveryUnavailable, motcua.Retryable)
    assert not issubclass(motcua.DeliveryFailed, motcua.Retryable)
    assert not hasattr(motcua.DeliveryFailed("mail", "down"), "retryable")
