"""Review finding 10: a number Python will not build, and PyYAML without libyaml."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
import yaml

from motcua.definitions.catalogue import PROCEDURES_DIR, load_procedures
from motcua.definitions.procedure_import import read_documents
from motcua.definitions.yamlsafe import load_yaml, read_yaml
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


@pytest.mark.parametrize("value", ["!!binary AAECGw==", "!!set {a, b}", "!!omap [a: 1, a: 2]", '!!pairs [a: "\\x01"]'])
def test_a_value_json_has_no_type_for_is_refused_not_built_past_the_text_bounds(tmp_path: Path, value: str) -> None:
    """``!!binary`` built bytes a text field took as its text, control characters and all (bound_problems reads only
    str); ``!!set`` an unordered collection, ``!!omap``/``!!pairs`` a mapping that repeats its keys."""
    path = tmp_path / "office.yaml"
    path.write_text(f"label: {value}\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        load_yaml(path)
    assert refused.value.source == str(path) and "invalid YAML value" in str(refused.value)


def test_a_number_written_with_a_leading_zero_is_never_read_in_octal(tmp_path: Path) -> None:
    """YAML 1.1 read ``010`` as 8 (and ``08`` as text): a processing time of 010 days was one of 8."""
    path = tmp_path / "numbers.yaml"
    path.write_text("a: 010\nb: 08\nc: 0\nd: -010\ne: 10\nf: 0x1F\n", encoding="utf-8")
    assert load_yaml(path) == {"a": "010", "b": "08", "c": 0, "d": "-010", "e": 10, "f": 31}


def test_a_processing_time_of_010_days_is_ten_days(tmp_path: Path) -> None:
    source = (PROCEDURES_DIR / "nguoi-co-cong.yaml").read_text(encoding="utf-8")
    written, typed = tmp_path / "as-written", tmp_path / "with-a-zero"
    written.mkdir(), typed.mkdir()
    (written / "nguoi-co-cong.yaml").write_text(source, encoding="utf-8")
    edited = source.replace("{amount: 10, unit: working_days}", "{amount: 010, unit: working_days}", 1)
    assert edited != source
    (typed / "nguoi-co-cong.yaml").write_text(edited, encoding="utf-8")

    def times(directory: Path) -> list[int]:
        return [version.time_for("direct").amount
                for procedure in load_procedures(directory, legacy_fees=False) for version in procedure.versions]

    assert 10 in times(written) and times(typed) == times(written)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e999"])
def test_a_number_that_is_not_finite_is_refused_naming_where(tmp_path: Path, value: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"par766:\n  groups:\n    - max_points: {value}\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        load_yaml(path)
    assert refused.value.problems == ("par766.groups[0].max_points: not a finite number",)


@pytest.mark.parametrize("name", ["ho-tich.yml", "ho-tich.YAML", "ho-tich.Yml"])
def test_a_definition_file_not_ending_in_yaml_is_refused_naming_it_not_silently_unread(tmp_path: Path,
                                                                                      name: str) -> None:
    """A field file saved as ``.yml`` was never read: its procedures were simply missing from the catalogue (and a
    directory import read them as removed). Every loader lists its files through one rule, which names the file."""
    for shipped in sorted(PROCEDURES_DIR.glob("*.yaml"))[:2]:
        (tmp_path / shipped.name).write_bytes(shipped.read_bytes())
    (tmp_path / name).write_text("field: {}\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        load_procedures(tmp_path)
    assert refused.value.source == str(tmp_path)
    assert name in str(refused.value) and "'.yaml'" in str(refused.value)
    with pytest.raises(InvalidDefinition, match=name):
        read_documents(tmp_path)
    (tmp_path / name).rename(tmp_path / "ho-tich.yaml.bak")  # another suffix is not a YAML file: left alone
    (tmp_path / "cu.yml").mkdir()  # a folder, and a hidden file (macOS's ._ files): not definitions either
    (tmp_path / "._ho-tich.yml").write_bytes(b"\x00\x05")
    assert len(load_procedures(tmp_path)) > 0


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59+07:00"])
def test_a_date_outside_the_days_motcua_takes_is_refused_where_it_is_written(tmp_path: Path, day: str) -> None:
    path = tmp_path / "unit.yaml"
    path.write_text(f"code: A\nvalid_to: {day}\n", encoding="utf-8")  # the day after 9999-12-31 overflows
    with pytest.raises(InvalidDefinition, match="outside the days motcua takes") as caught:
        read_yaml(path)
    assert "line 2" in str(caught.value)


def test_a_duplicate_key_is_named_by_an_excerpt(tmp_path: Path) -> None:
    key = "ab " * 100_000
    path = tmp_path / "plan.yaml"
    path.write_text(f"? {key}\n: 1\n? {key}\n: 2\n", encoding="utf-8")  # explicit keys: an implicit one is short
    with pytest.raises(InvalidDefinition, match="duplicate key") as caught:
        read_yaml(path)
    assert len(str(caught.value)) < 500 and "(299999 characters)" in str(caught.value)
