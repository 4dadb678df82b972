"""Load a reform plan (``definitions/plans/<key>.yaml``) into a checked :class:`~motcua.workflow.plan.model.Plan`.

Safe load (no on/off/yes/no booleans, no duplicate keys) → pydantic schema (``extra="forbid"``) → the
whole-plan checks of :func:`motcua.workflow.plan.model.plan_problems`, with metric keys resolved against
:data:`motcua.workflow.plan.metrics.METRICS`. Every problem is reported at once as
:class:`~motcua.workflow.errors.InvalidDefinition` naming the file and the task, target or field at fault
("task cd-09: due_day: …", "target ontime: unknown metric …"). A date the calendar does not have
(``2023-02-30``) is named the same way, by its task.

A plan is bounded like every definition (:func:`motcua.definitions.yamlsafe.read_yaml`: at most 1 MiB, 16 deep, no
aliases, texts of at most 2,000 characters without control characters) and, before the schema reads it, its codes
(``key``, the owners', tasks' and targets' ids) are at most 64 characters and its names (``title``, ``commune``,
``issued_by``, an owner's ``label``) at most 500: nothing is written from a plan that is not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import ValidationError

from motcua.definitions.yamlsafe import DefinitionLoader, bound_problems, read_yaml, yaml_files
from motcua.workflow.engine.bounds import CODE_MAX, NAME_MAX, line_problem
from motcua.workflow.errors import InvalidDefinition
from motcua.workflow.plan.metrics import METRIC_UNITS
from motcua.workflow.plan.model import Plan, plan_problems

__all__ = ["PLANS_DIR", "load_plan", "plan_paths"]

PLANS_DIR = Path(__file__).with_name("plans")
_ITEMS = {"tasks": "task", "targets": "target"}


class _PlanLoader(DefinitionLoader):
    """Keeps an impossible date as its text, so that validation names the task that holds it."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> dt.date | str:  # type: ignore[override]
        try:
            return yaml.SafeLoader.construct_yaml_timestamp(self, node)
        except ValueError:
            return str(node.value)


_PlanLoader.add_constructor("tag:yaml.org,2002:timestamp", _PlanLoader.construct_yaml_timestamp)


def plan_paths(directory: Path = PLANS_DIR) -> list[Path]:
    return yaml_files(directory)


def load_plan(path: Path) -> Plan:
    """Read and check one plan file; its ``key`` must equal the file name."""
    source = str(path)
    document = _read(path)
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        raise InvalidDefinition(source, _messages(error, document)) from None
    problems = plan_problems(plan, METRIC_UNITS)
    if plan.key != path.stem:
        problems.insert(0, f"key: {plan.key!r} must equal the file name {path.stem!r}")
    if problems:
        raise InvalidDefinition(source, problems)
    return plan


def _read(path: Path) -> dict[str, object]:
    document = read_yaml(path, _PlanLoader)
    if not isinstance(document, dict):
        raise InvalidDefinition(str(path), ["the file must be a mapping"])
    problems = dict(bound_problems(document))
    for where, message in _length_problems(document):
        problems.setdefault(where, message)
    if problems:
        raise InvalidDefinition(str(path), [f"{_where(where, document)}: {message}"
                                            for where, message in problems.items()])
    return document


_CODES = ("key", "default_owner")  # codes: CODE_MAX characters at most (the owners' keys are checked as keys)
_NAMES = ("title", "commune", "issued_by")  # names: one line of NAME_MAX characters at most
_ITEM_CODES = {"tasks": ("id", "owners"), "targets": ("id", "task", "metric")}


def _length_problems(document: dict[str, object]) -> list[tuple[tuple[int | str, ...], str]]:
    """A plan's codes and names against their bounds, before the schema reads them (every text is already at most
    TEXT_MAX characters, with no control character but tabs and line breaks, which a name may not hold either)."""
    found: list[tuple[tuple[int | str, ...], object, int]] = [((field,), document.get(field), CODE_MAX)
                                                              for field in _CODES]
    names: list[tuple[tuple[int | str, ...], object]] = [((field,), document.get(field)) for field in _NAMES]
    owners = document.get("owners")
    if isinstance(owners, dict):
        names += [(("owners", key, "label"), owner.get("label")) for key, owner in owners.items()
                  if isinstance(owner, dict)]
    for items, fields in _ITEM_CODES.items():
        entries = document.get(items)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                found += [((items, index, field), entry.get(field), CODE_MAX) for field in fields]
    problems = [(where, problem) for where, value, limit in found for problem in _too_long(value, limit)]
    return problems + [(where, problem) for where, value in names
                       if isinstance(value, str) and (problem := line_problem(value, NAME_MAX))]


def _too_long(value: object, limit: int) -> list[str]:
    texts = value if isinstance(value, list) else [value]
    return [f"longer than {limit} characters ({len(text)})" for text in texts
            if isinstance(text, str) and len(text) > limit][:1]


def _messages(error: ValidationError, document: dict[str, object]) -> list[str]:
    return [f"{_where(item['loc'], document)}: {item['msg']}" for item in error.errors()]


def _where(location: tuple[int | str, ...], document: dict[str, object]) -> str:
    """``("tasks", 3, "due")`` → ``task cd-04: due``, naming the item by its id when it has one."""
    if len(location) >= 2 and location[0] in _ITEMS and isinstance(location[1], int):  # noqa: PLR2004 - (list, index)
        items = document.get(str(location[0]))
        entry = items[location[1]] if isinstance(items, list) and location[1] < len(items) else None
        name = entry.get("id") if isinstance(entry, dict) else None
        named = isinstance(name, str) and line_problem(name, CODE_MAX) is None  # an id out of bounds is not shown
        label = f"{_ITEMS[str(location[0])]} {name if named else '#' + str(location[1] + 1)}"
        rest = ".".join(str(part) for part in location[2:])
        return f"{label}: {rest}" if rest else label
    return ".".join(str(part) for part in location) or "(document)"
