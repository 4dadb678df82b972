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

from motcua.definitions.yamlsafe import bound_problems, load_yaml, located, read_yaml, yaml_files
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

__all__ = ["PROCEDURES_DIR", "RULES_DIR", "field_procedures", "load_procedures", "load_rule_sets"]

PROCEDURES_DIR = Path(__file__).with_name("procedures")
RULES_DIR = Path(__file__).with_name("rules")
_FILE_KEYS = frozenset({"field", "procedures"})
_FIELD_KEYS = frozenset({"code", "name"})
_FIELD_LIMITS = {"code": CODE_MAX, "name": NAME_MAX}  # a field's code and name: one line each
_PROCEDURE_LIMITS = {"code": CODE_MAX, "name": NAME_MAX, "workflow": CODE_MAX}


def load_procedures(directory: Path | None = None, *, legacy_fees: bool | None = None) -> Catalogue:
    """Read every ``*.yaml`` of ``directory`` (default: the shipped procedures) into a catalogue; several files may
    hold one field. ``legacy_fees`` (default: true for any directory but the shipped one) accepts a silent zero fee
    (a flat ``fee: 0``, or none) as the old flat shape did; the shipped catalogue never does."""
    folder = directory or PROCEDURES_DIR
    lenient = legacy_fees if legacy_fees is not None else folder.resolve() != PROCEDURES_DIR.resolve()
    origin: dict[str, Path] = {}
    procedures: list[Procedure] = []
    for path in yaml_files(folder):
        for procedure in field_procedures(read_yaml(path), str(path), legacy_fees=lenient):
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
    rule_sets = [_read_rule_set(path) for path in yaml_files(folder)]
    problems = check_continuity(rule_sets)
    if problems:
        raise InvalidDefinition(str(folder), problems)
    return RuleBook(rule_sets)


def field_procedures(document: object, source: str, *, legacy_fees: bool = False) -> list[Procedure]:
    """The procedures of one field document (the mapping of a ``procedures/<field>.yaml``: ``field`` and
    ``procedures``), each checked; every problem raised at once as :class:`InvalidDefinition` from ``source``, each
    naming its procedure (its code, or its place ``#n``) and field. Unless ``legacy_fees``, a silent zero fee (a
    flat ``fee: 0`` or no fee at all, or a per-case amount of 0) is refused: a free procedure says ``exempt`` with
    its article, a fee the provincial council sets says ``council``."""
    bounds = [f"{_where(where, document)}: {message}" for where, message in bound_problems(document)]
    if bounds:
        raise InvalidDefinition(source, bounds)
    document = _mapping(document, source, "the file")
    problems = [f"unknown top-level key {key!r}" for key in sorted(set(document) - _FILE_KEYS)]
    field = _mapping(document.get("field"), source, "'field'")
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
            if not legacy_fees:
                problems.extend(_silent_zero(procedure, entry))
    if problems:
        raise InvalidDefinition(source, problems)
    return procedures


def _silent_zero(procedure: Procedure, entry: Mapping[str, object]) -> list[str]:
    """A fee of 0 that does not say why: never in the catalogue a province relies on."""
    if "fees" not in entry:
        return [f"procedure {procedure.code}: fee: a flat fee (or none) is not a schedule: write 'fees' "
                f"(exempt with its article, council with its basis, or an amount with its basis)"]
    return [f"procedure {procedure.code}: fees.{index}: a per_case amount of 0: say exempt with its article or council"
            for index, fee in enumerate(procedure.fees) if fee.kind == "per_case" and fee.amount == 0]


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
        return None, [_flat_location(line, entry) for line in _messages(name, error)]


def _flat_location(message: str, entry: Mapping[str, object]) -> str:
    """A problem of an entry in the old flat shape, named by the key the file wrote (``processing_time``, not
    ``versions.0.processing_time``)."""
    if "versions" not in entry:
        message = message.replace(": versions.0.", ": ", 1)
    if "fees" not in entry:
        message = message.replace(": fees.0.amount:", ": fee:", 1)
    return message


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
