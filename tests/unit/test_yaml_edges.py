"""Review finding 10: a number Python will not build, and PyYAML without libyaml."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
import yaml

from motcua.definitions.yamlsafe import read_yaml
from motcua.workflow.errors import InvalidDefinition

YAMLSAFE = Path(__file__).resolve().parents[2] / "definitions" / "yamlsafe.py"


def test_an_integer_of_5000_digits_is_an_invalid_definition_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("amount: " + "9" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        read_yaml(path)
    assert str(path) in str(refused.value) and "invalid YAML value" in str(refused.value)


def test_without_libyaml_the_loader_is_the_pure_python_one_and_reads_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delattr(yaml, "CSafeLoader")
    spec = importlib.util.spec_from_file_location("motcua_yamlsafe_without_libyaml", YAMLSAFE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh copy of the module, built as on a PyYAML without libyaml
    assert module.DefinitionLoader.__mro__[1] is yaml.SafeLoader
    path = tmp_path / "definition.yaml"
    path.write_text("on: yes\ncutoff: 13:30\nflag: true\nsince: 2025-07-01\n", encoding="utf-8")
    assert module.read_yaml(path) == read_yaml(path)
    assert module.read_yaml(path)["cutoff"] == "13:30"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition, match="duplicate key"):
        module.read_yaml(path)


def test_every_text_is_read_in_nfc(tmp_path: Path) -> None:
    """A definition typed decomposed (NFD, as some systems write Vietnamese) reads as the composed text stored."""
    path = tmp_path / "decomposed.yaml"
    path.write_text(unicodedata.normalize("NFD", 'tên: "Phường Thành Đông"\n'), encoding="utf-8")
    assert read_yaml(path) == {"tên": "Phường Thành Đông"}
    assert all(unicodedata.is_normalized("NFC", text) for text in ("tên", "Phường Thành Đông"))
