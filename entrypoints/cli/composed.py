"""Every text a command is given (an option's or an argument's value) read as NFC before it is checked or used.

Everything motcua stores is NFC (composed: "ạ" is one character, U+1EA1); a terminal on macOS, or Unikey's "tổ hợp"
mode, types Vietnamese decomposed ("a" then U+0323), and ``motcua feedback list --unit …`` or ``motcua history CODE``
given such text would find nothing. :class:`ComposedGroup` is the class of the ``motcua`` group (``typer.Typer(cls=…)``,
the root of every command): when typer builds the command tree, it puts a step in front of each parameter's callback
that turns a ``str`` value — or each ``str`` of a list — into NFC. A callback (``bounded_line``: a bound, no control
character) and the command itself see the NFC text, so a bound is counted on it, as the HTTP API counts it.

What is no text to normalise is left as it came: a value typer has made into something else (a ``Path`` — a file's
name is the bytes on the disk, which on Linux an NFC copy may not name —, a number, a choice), and the parameters
named in :data:`VERBATIM`, whose text names something outside motcua compared byte for byte (a database's or a
broker's URL, with its file path or password; the interface to listen on).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from typing import Any, Final

from typer.core import TyperGroup

__all__ = ["VERBATIM", "ComposedGroup", "composed"]

VERBATIM: Final = frozenset({"db", "broker", "host"})
"""The parameters (by name) whose text is passed on as it was given: URLs and an address, not text of motcua."""

_Callback = Callable[[Any, Any, Any], Any]


def composed(value: object) -> object:
    """``value`` in NFC when it is a ``str``, each ``str`` of it when it is a list or a tuple; else as it is."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list | tuple):
        return type(value)(unicodedata.normalize("NFC", item) if isinstance(item, str) else item for item in value)
    return value


def _composing(callback: _Callback | None) -> _Callback:
    """A parameter's callback (click's: context, parameter, value) that gives ``callback`` the value in NFC."""
    def composing(context: Any, parameter: Any, value: Any) -> Any:
        text = composed(value)
        return text if callback is None else callback(context, parameter, text)

    return composing


class ComposedGroup(TyperGroup):
    """The ``motcua`` group: every parameter of every command under it (but :data:`VERBATIM`) reads its text as NFC."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in _tree(self):
            for parameter in command.params:
                if parameter.name not in VERBATIM:
                    parameter.callback = _composing(parameter.callback)


def _tree(group: TyperGroup) -> Iterator[Any]:
    """``group`` and every command and group under it."""
    yield group
    for command in group.commands.values():
        if isinstance(command, TyperGroup):
            yield from _tree(command)
        else:
            yield command
