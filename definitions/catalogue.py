"""Load the shipped procedure catalogue and rule sets from YAML.

``procedures/*.yaml`` holds one file per field of procedures (lĩnh vực)::

    field: {code: HT, name: Hộ tịch}
    procedures:
      - code: "1.001193"
        name: Thủ tục đăng ký khai sinh
        ...

``rules/<key>.yaml`` holds one rule set each, its ``key`` equal to the file name. Every problem
is reported as :class:`~motcua.workflow.errors.InvalidDefinition` naming the file, the procedure code or
rule-set key, and the field at fault.

Both are bounded like every definition (:func:`motcua.definitions.yamlsafe.read_yaml`: a file of at most 1 MiB,
16 deep, no aliases, texts of at most 2,000 characters without control characters); a procedure's and a field's
code is one line of at most 64 characters, their names at most 500. A code out of bounds is never shown: the
procedure is named by its place in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from motcua.definitions.yamlsafe import bound_problems, load_yaml, located, read_yaml
from motcua.workflow.dossiers.catalogue import (
    Catalogue,
    Procedure,
    RuleBook,
    RuleSet,
    check_continuity,
    check_field_names,
)
from motcua.workflow.engine.bounds import CODE_MAX, NAME_MAX, line_problem
from motcua.workflow.errors import InvalidDefinition

__all__ = ["PROCEDURES_DIR", "RULES_DIR", "load_procedures", "load_rule_sets"]

PROCEDURES_DIR = Path(__file__).with_name("procedures")
RULES_DIR = Path(__file__).with_name("rules")
_FILE_KEYS = frozenset({"field", "procedures"})
_FIELD_KEYS = frozenset({"code", "name"})
_FIELD_LIMITS = {"code": CODE_MAX, "name": NAME_MAX}  # a field's code and name: one line each
_PROCEDURE_LIMITS = {"code": CODE_MAX, "name": NAME_MAX, "workflow": CODE_MAX}


def load_procedures(directory: Path | None = None) -> Catalogue:
    """Read every ``*.yaml`` of ``directory`` (default: the shipped procedures) into a catalogue."""
    folder = directory or PROCEDURES_DIR
    origin: dict[str, Path] = {}
    procedures: list[Procedure] = []
    for path in sorted(folder.glob("*.yaml")):
        for procedure in _read_procedure_file(path):
            if procedure.code in origin:
                raise InvalidDefinition(
                    str(path), [f"procedure {procedure.code}: code already defined in {origin[procedure.code]}"]
                )
            origin[procedure.code] = path
            procedures.append(procedure)
    problems = check_field_names(procedures)
    if problems:
        raise InvalidDefinition(str(folder), problems)
    return Catalogue(procedures)


def load_rule_sets(directory: Path | None = None) -> RuleBook:
    """Read every ``*.yaml`` of ``directory`` (default: the shipped rules) into a rule book."""
    folder = directory or RULES_DIR
    rule_sets = [_read_rule_set(path) for path in sorted(folder.glob("*.yaml"))]
    problems = check_continuity(rule_sets)
    if problems:
        raise InvalidDefinition(str(folder), problems)
    return RuleBook(rule_sets)


def _read_procedure_file(path: Path) -> list[Procedure]:
    document = _mapping(_bounded(path), str(path), "the file")
    problems = [f"unknown top-level key {key!r}" for key in sorted(set(document) - _FILE_KEYS)]
    field = _mapping(document.get("field"), str(path), "'field'")
    problems.extend(f"field: unknown key {key!r}" for key in sorted(set(field) - _FIELD_KEYS))
    problems.extend(f"field: {key}: {problem}" for key, problem in _too_long(field, _FIELD_LIMITS))
    entries = document.get("procedures")
    if not isinstance(entries, list) or not entries:
        problems.append("'procedures' must be a non-empty list")
        entries = []
    procedures = []
    for index, entry in enumerate(entries, start=1):
        procedure, entry_problems = _procedure(entry, field, index)
        problems.extend(entry_problems)
        if procedure is not None:
            procedures.append(procedure)
    if problems:
        raise InvalidDefinition(str(path), problems)
    return procedures


def _procedure(entry: object, field: Mapping[str, object], index: int) -> tuple[Procedure | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"procedure #{index}: must be a mapping"]
    name = f"procedure {_code_of(entry, index)}"
    clash = sorted({"field_code", "field_name"} & set(entry))
    if clash:
        return None, [f"{name}: {', '.join(clash)} come from the file's 'field' header"]
    too_long = _too_long(entry, _PROCEDURE_LIMITS)
    if too_long:
        return None, [f"{name}: {key}: {problem}" for key, problem in too_long]
    data = {**entry, "field_code": field.get("code"), "field_name": field.get("name")}
    try:
        return Procedure.model_validate(data), []
    except ValidationError as error:
        return None, _messages(name, error)


def _read_rule_set(path: Path) -> RuleSet:
    document = _mapping(load_yaml(path), str(path), "the file")
    name = f"rule set {document.get('key', path.stem)}"
    try:
        rules = RuleSet.model_validate(document)
    except ValidationError as error:
        raise InvalidDefinition(str(path), _messages(name, error)) from None
    if rules.key != path.stem:
        raise InvalidDefinition(str(path), [f"{name}: key must equal the file name {path.stem!r}"])
    return rules


def _bounded(path: Path) -> object:
    """The file within the bounds of every definition (:func:`~motcua.definitions.yamlsafe.read_yaml`), a text out
    of them named by its procedure."""
    document = read_yaml(path)
    problems = [f"{_where(where, document)}: {message}" for where, message in bound_problems(document)]
    if problems:
        raise InvalidDefinition(str(path), problems)
    return document


def _where(where: tuple[int | str, ...], document: object) -> str:
    """``("procedures", 2, "name")`` → ``procedure 1.001193: name``."""
    entries = document.get("procedures") if isinstance(document, dict) else None
    if len(where) >= 2 and where[0] == "procedures" and isinstance(where[1], int) and isinstance(entries, list):  # noqa: PLR2004
        entry = entries[where[1]]
        rest = located(where[2:])
        return f"procedure {_code_of(entry, where[1] + 1) if isinstance(entry, dict) else f'#{where[1] + 1}'}: {rest}"
    return located(where)


def _code_of(entry: Mapping[str, object], index: int) -> str:
    """A procedure's code as a message shows it: only a code in bounds, else its place in the file."""
    code = entry.get("code")
    return code if isinstance(code, str) and line_problem(code, CODE_MAX) is None else f"#{index}"


def _too_long(values: Mapping[str, object], limits: Mapping[str, int]) -> list[tuple[str, str]]:
    return [(key, problem) for key, limit in limits.items()
            if isinstance(text := values.get(key), str) and (problem := line_problem(text.strip(), limit))]


def _mapping(value: object, source: str, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidDefinition(source, [f"{what} must be a mapping"])
    return value


def _messages(name: str, error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(entry)"
        messages.append(f"{name}: {where}: {item['msg']}")
    return messages
