"""YAML loading without YAML 1.1 surprises.

``yaml.safe_load`` turns ``on``/``off``/``yes``/``no`` into booleans and ``13:30`` into the base-60
integer 810. Definitions are written by people, so this loader only accepts ``true``/``false`` as
booleans, reads ``13:30`` as the string it looks like, and refuses a mapping that repeats a key.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Hashable
from pathlib import Path

import yaml

from motcua.workflow.errors import InvalidDefinition

__all__ = ["DefinitionLoader", "load_yaml"]

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
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


class DefinitionLoader(yaml.SafeLoader):
    """A safe loader with YAML 1.2-like scalars and no duplicate keys."""

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
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> datetime.date:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # e.g. 2027-02-30: PyYAML lets the ValueError escape
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r}: {exc}", node.start_mark
            ) from exc


DefinitionLoader.add_constructor("tag:yaml.org,2002:timestamp", DefinitionLoader.construct_yaml_timestamp)


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


def load_yaml(path: Path) -> object:
    """Parse one YAML file; a syntax error or an unreadable file raises InvalidDefinition."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDefinition(str(path), [f"cannot read the file: {exc}"]) from exc
    try:
        return yaml.load(text, Loader=DefinitionLoader)  # DefinitionLoader is a SafeLoader
    except yaml.YAMLError as exc:
        kind = "invalid YAML value" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise InvalidDefinition(str(path), [f"{kind}: {exc}"]) from exc
