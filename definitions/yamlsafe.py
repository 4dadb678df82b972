"""YAML loading without YAML 1.1 surprises.

``yaml.safe_load`` turns ``on``/``off``/``yes``/``no`` into booleans, ``13:30`` into the base-60
integer 810 and ``010`` into the octal 8. Definitions are written by people, so this loader only accepts
``true``/``false`` as booleans, reads ``13:30`` and ``010`` as the strings they look like, refuses a mapping that
repeats a key, and builds only what JSON has a type for (no ``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``).

A definition is an input like any other (:mod:`motcua.workflow.engine.bounds`): a file of at most 1 MiB, nested at
most 16 deep, with no anchors or aliases, checked before its values are built (building them recurses, and aliases
multiply them); every key one line of at most 64 characters, every text at most 2,000 with no control character but
tabs and line breaks, every number finite (no ``.inf``, ``.nan``). The loaders add their own bounds (a procedure's
name, a plan's codes). Every text is read in NFC, as all text motcua stores: a name typed decomposed on one system is
the same name typed composed on another.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import yaml

from motcua.workflow.engine.bounds import CODE_MAX, TEXT_MAX, day_problem, excerpt, line_problem, text_problem
from motcua.workflow.errors import InvalidDefinition

__all__ = [
    "DEFINITION_DEPTH_MAX",
    "DEFINITION_MAX_BYTES",
    "DefinitionLoader",
    "bound_problems",
    "load_yaml",
    "located",
    "read_yaml",
    "yaml_files",
]

DEFINITION_MAX_BYTES: Final = 1_048_576  # one definition file; the largest shipped (a reform plan) is 26 kB
DEFINITION_DEPTH_MAX: Final = 16  # mappings and lists nested in one file; the deepest shipped (a workflow) is 7
_YAML_SUFFIXES: Final = frozenset({".yaml", ".yml"})  # compared lower-cased: .YAML, .Yml are YAML files too

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",  # no YAML 1.1 octal: 010 is the text "010" (as 08 is), never 8

    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_REPLACED_TAGS = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
# values JSON has no type for: bytes a text field would take as its text past every bound, an unordered set, mappings
# that repeat their keys
_REFUSED_TAGS = ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap",
                 "tag:yaml.org,2002:pairs")


if TYPE_CHECKING:
    _SafeBase = yaml.CSafeLoader
else:  # a PyYAML built without libyaml has no CSafeLoader: its pure-Python parser then reads the same
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DefinitionLoader(_SafeBase):
    """A safe loader with YAML 1.2-like scalars and no duplicate keys; libyaml parses (PyYAML's wheels carry it;
    without it, PyYAML's own parser), the values are built in Python by the safe constructor."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {excerpt(key)}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> datetime.date:
        try:
            value: datetime.date = super().construct_yaml_timestamp(node)
        except ValueError as exc:  # e.g. 2027-02-30: PyYAML lets the ValueError escape
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r}: {exc}", node.start_mark
            ) from exc
        day = value.date() if isinstance(value, datetime.datetime) else value
        problem = day_problem(day)  # 9999-12-31 would overflow the first day after it, 0001-01-01 the day before
        if problem is not None:
            raise yaml.constructor.ConstructorError(None, None, f"invalid date: {problem}", node.start_mark)
        return value

    def construct_refused(self, node: yaml.Node) -> NoReturn:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.tag} is not read in definitions (JSON has no type for it)", node.start_mark
        )


DefinitionLoader.add_constructor("tag:yaml.org,2002:timestamp", DefinitionLoader.construct_yaml_timestamp)
for _tag in _REFUSED_TAGS:
    DefinitionLoader.add_constructor(_tag, DefinitionLoader.construct_refused)


def _install_resolvers() -> None:
    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag not in _REPLACED_TAGS]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    DefinitionLoader.yaml_implicit_resolvers = resolvers
    DefinitionLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
    DefinitionLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
    DefinitionLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


_install_resolvers()


def yaml_files(directory: Path, pattern: str = "*.yaml") -> list[Path]:
    """The definition files of ``directory`` matching ``pattern``, sorted. A file spelled otherwise that YAML tools
    also write (``.yml``, ``.YAML``) is an :class:`InvalidDefinition` naming it, not a file silently left unread: a
    procedure, unit or plan in it would be missing without a word."""
    if directory.is_dir():
        stray = sorted(path.name for path in directory.iterdir()
                       if path.suffix.lower() in _YAML_SUFFIXES and path.suffix != ".yaml"
                       and not path.name.startswith(".") and path.is_file())  # not ._x.yml, nor a folder
        if stray:
            raise InvalidDefinition(str(directory), [f"{name}: definition files end in '.yaml' (rename it)"
                                                     for name in stray])
    return sorted(directory.glob(pattern))


def load_yaml(path: Path) -> object:
    """Parse one YAML file within the bounds; a syntax error, an unreadable file or a value out of bounds raises
    InvalidDefinition, naming where ("tasks[3].text: contains a control character…")."""
    document = read_yaml(path)
    problems = [f"{located(where)}: {message}" for where, message in bound_problems(document)]
    if problems:
        raise InvalidDefinition(str(path), problems)
    return document


def read_yaml(path: Path, loader: type[DefinitionLoader] = DefinitionLoader) -> object:
    """Parse one YAML file of at most :data:`DEFINITION_MAX_BYTES`, nested at most :data:`DEFINITION_DEPTH_MAX`
    deep, without anchors or aliases (a few lines of aliases expand into billions of values), checked before it is
    built, its text read in NFC; the texts in it are :func:`bound_problems`' to check. ``loader`` is a
    :class:`DefinitionLoader`."""
    source = str(path)
    try:
        with path.open("rb") as file:  # read up to the bound, whatever the file claims (a pipe, /dev/zero)
            content = file.read(DEFINITION_MAX_BYTES + 1)
        if len(content) > DEFINITION_MAX_BYTES:
            raise InvalidDefinition(source, [f"the file is larger than {DEFINITION_MAX_BYTES:,} bytes"])
        text = unicodedata.normalize("NFC", content.decode("utf-8"))  # Vietnamese typed decomposed reads composed
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDefinition(source, [f"cannot read the file: {exc}"]) from exc
    try:
        _check_structure(text, loader, source)
        return yaml.load(text, Loader=loader)  # a DefinitionLoader is a safe loader
    except yaml.YAMLError as exc:
        kind = "invalid YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise InvalidDefinition(source, [f"{kind}: {exc}"]) from exc
    except ValueError as exc:  # a value Python refuses to build, e.g. an integer of more than 4,300 digits
        raise InvalidDefinition(source, [f"invalid YAML value: {exc}"]) from exc


def _check_structure(text: str, loader: type[DefinitionLoader], source: str) -> None:
    """Depth and aliases from the parser's events, which come without recursion (building the values recurses)."""
    try:
        _check_events(yaml.parse(text, Loader=loader), source)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" not in str(exc):
            raise
        mark = getattr(exc, "problem_mark", None)  # libyaml's own limit, reached while scanning ahead
        line = mark.line + 1 if mark is not None else 0
        raise InvalidDefinition(source, [f"line {line}: nested more than {DEFINITION_DEPTH_MAX} deep"]) from None


def _check_events(events: Iterator[yaml.Event], source: str) -> None:
    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise InvalidDefinition(source, [f"line {_line(event)}: anchors and aliases are not read in definitions"])
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > DEFINITION_DEPTH_MAX:
                raise InvalidDefinition(source, [f"line {_line(event)}: nested more than {DEFINITION_DEPTH_MAX} deep"])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def bound_problems(document: object) -> list[tuple[tuple[int | str, ...], str]]:
    """Where (a path of keys and indexes) and what is wrong with each text of ``document``: every key is one line
    of at most :data:`~motcua.workflow.engine.bounds.CODE_MAX` characters, every text at most
    :data:`~motcua.workflow.engine.bounds.TEXT_MAX`, with no control character but tabs and line breaks; every
    number finite."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    pending: list[tuple[tuple[int | str, ...], object]] = [((), document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str) and (problem := text_problem(value, TEXT_MAX)):
            problems.append((where, problem))
        elif isinstance(value, float) and not math.isfinite(value):  # .inf, .nan, 1.0e999: never a bound nor a count
            problems.append((where, "not a finite number"))
        elif isinstance(value, dict):
            for key, item in value.items():
                key_problem = line_problem(key, CODE_MAX) if isinstance(key, str) else None
                part = excerpt(key) if key_problem else key if isinstance(key, int | str) else str(key)
                if key_problem is not None:
                    problems.append(((*where, part), f"key {key_problem}"))
                pending.append(((*where, part), item))
        elif isinstance(value, list):
            pending.extend(((*where, index), item) for index, item in enumerate(value))
    return sorted(problems, key=lambda problem: str(problem[0]))


def located(where: tuple[int | str, ...]) -> str:
    """``("tasks", 3, "text")`` → ``tasks[3].text``."""
    shown = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where).lstrip(".")
    return shown or "(document)"
