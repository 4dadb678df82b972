"""Load a reform plan (``definitions/plans/<key>.yaml``) into a checked :class:`~motcua.workflow.plan.model.Plan`.

Safe load (no on/off/yes/no booleans, no duplicate keys) → pydantic schema (``extra="forbid"``) → the
whole-plan checks of :func:`motcua.workflow.plan.model.plan_problems`, with metric keys resolved against
:data:`motcua.workflow.plan.metrics.METRICS`. Every problem is reported at once as
:class:`~motcua.workflow.errors.InvalidDefinition` naming the file and the task, target or field at fault
("task cd-09: due_day: …", "target ontime: unknown metric …"). A date the calendar does not have
(``2023-02-30``) is named the same way, by its task.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import ValidationError

from motcua.definitions.yamlsafe import DefinitionLoader
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
    return sorted(directory.glob("*.yaml"))


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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDefinition(str(path), [f"cannot read the file: {exc}"]) from exc
    try:
        document = yaml.load(text, Loader=_PlanLoader)  # _PlanLoader is a SafeLoader
    except yaml.YAMLError as exc:
        kind = "invalid YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise InvalidDefinition(str(path), [f"{kind}: {exc}"]) from exc
    if not isinstance(document, dict):
        raise InvalidDefinition(str(path), ["the file must be a mapping"])
    return document


def _messages(error: ValidationError, document: dict[str, object]) -> list[str]:
    return [f"{_where(item['loc'], document)}: {item['msg']}" for item in error.errors()]


def _where(location: tuple[int | str, ...], document: dict[str, object]) -> str:
    """``("tasks", 3, "due")`` → ``task cd-04: due``, naming the item by its id when it has one."""
    if len(location) >= 2 and location[0] in _ITEMS and isinstance(location[1], int):  # noqa: PLR2004 - (list, index)
        items = document.get(str(location[0]))
        entry = items[location[1]] if isinstance(items, list) and location[1] < len(items) else None
        name = entry.get("id") if isinstance(entry, dict) else None
        label = f"{_ITEMS[str(location[0])]} {name if isinstance(name, str) else '#' + str(location[1] + 1)}"
        rest = ".".join(str(part) for part in location[2:])
        return f"{label}: {rest}" if rest else label
    return ".".join(str(part) for part in location) or "(document)"
