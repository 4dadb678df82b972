"""The bounds of every input: how long a text may be, which characters it may hold, how deep a value may nest.

Every edge that takes text from outside — the HTTP API, the DVCQG importer, the definition loaders, the data of a
trigger on every path — checks it against these, before anything reads or writes it. A NUL byte that reaches
PostgreSQL fails the statement; a control character in a name travels into reports, sheets and logs; a value
nested fifty thousand deep exhausts the parsers' recursion; an input of megabytes quoted back in an error turns a
small request into a large answer. So:

- a **line** (a code, a name, a telephone number: one line of text) holds no control character at all, nor a line or
  paragraph separator (U+2028, U+2029);
- **free text** (a summary, a note, an address) may hold tabs and line breaks (``\\t``, ``\\n``, ``\\r``), nothing else;
- neither holds an invisible formatting character: the bidirectional controls (U+061C, U+200E, U+200F,
  U+202A–U+202E, U+2066–U+2069), which show a text in another order than it is stored (a name that reads one way
  on the screen and another in the log), nor the zero-width ones (U+200B–U+200D, U+2060–U+2064, U+FEFF), which
  make two names that look the same differ (Vietnamese, in NFC, needs none of them);
- neither holds a lone surrogate (no UTF-8 encodes it: a JSON ``"\\ud800"`` parses, then fails the driver);
- lengths are counted in characters: codes :data:`CODE_MAX`, a dossier's code :data:`CASE_CODE_MAX` (any case's
  :data:`STORED_CODE_MAX`: a plan task's joins its plan's and its own code and the period), names
  :data:`NAME_MAX`, a telephone number :data:`PHONE_MAX`, an address :data:`ADDRESS_MAX`, free text :data:`TEXT_MAX`;
- a JSON value nests at most :data:`JSON_DEPTH_MAX` containers deep (a trigger's data is flat: one list at most);
- a person's or an organisation's identity number (an applicant's, the one an applicant's API key acts for) is
  :func:`id_number_problem`'s shape: 1 to :data:`ID_NUMBER_MAX` ASCII letters and digits, one dash at most inside;
- an error names what is wrong and where, never more of the input than :func:`excerpt` shows.

The messages are English like every other refusal of the core; none of them quotes the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Final

__all__ = [
    "ADDRESS_MAX",
    "CASE_CODE_MAX",
    "CODE_MAX",
    "EXCERPT_MAX",
    "FIRST_DAY",
    "ID_NUMBER_MAX",
    "JSON_DEPTH_MAX",
    "LAST_DAY",
    "NAME_MAX",
    "PHONE_MAX",
    "STORED_CODE_MAX",
    "TEXT_MAX",
    "checked_line",
    "day_problem",
    "excerpt",
    "free_text",
    "has_surrogate",
    "id_number",
    "id_number_problem",
    "json_depth",
    "json_document",
    "json_shape",
    "json_size",
    "line_problem",
    "one_line",
    "text_problem",
]

CODE_MAX: Final = 64  # a code: a procedure's, a field's, a unit's, a plan's or a task's
CASE_CODE_MAX: Final = 100  # a case's code (MaHoSo): a unit's code (64 at most), the day, the day's number
STORED_CODE_MAX: Final = 200  # any case's code a store keeps: a dossier's, a plan task's (plan/task/period: 64+64+…)
NAME_MAX: Final = 500  # a name: a person's, an organisation's, a procedure's
PHONE_MAX: Final = 100  # a telephone number, one line (a few numbers, an extension)
ADDRESS_MAX: Final = 1_000  # an address: free text
TEXT_MAX: Final = 2_000  # free text: a summary, a note, a reason (and any text of a trigger's data)
JSON_DEPTH_MAX: Final = 8  # containers (objects, lists) nested in one JSON value
EXCERPT_MAX: Final = 40  # characters of an input an error may show
FIRST_DAY: Final = date(1990, 1, 1)
LAST_DAY: Final = date(2199, 12, 31)
"""The days a person may name (a report's, an instant to replay at, a catalogue's effective day): long before the first
one-stop shop (2003), and far short of the calendar's ends, where arithmetic on a day overflows and where the stores
mark "not ended yet" (an open dossier's ``ended_on`` is ``date.max``)."""

_INVISIBLE: Final = "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_LINE_FORBIDDEN: Final = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_INVISIBLE}]")
_TEXT_FORBIDDEN: Final = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
ID_NUMBER_MAX: Final = 32  # characters of an identity number (a citizen's: 12 digits)
_ID_NUMBER: Final = re.compile(r"[0-9A-Za-z]{1,32}|(?=.{3,32}$)[0-9A-Za-z]+-[0-9A-Za-z]+")


def day_problem(day: date) -> str | None:
    """Why ``day`` is not one a person may name (outside :data:`FIRST_DAY` … :data:`LAST_DAY`), or None."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day.isoformat()} is outside the days motcua takes ({FIRST_DAY.isoformat()} … {LAST_DAY.isoformat()})"


def id_number_problem(text: str) -> str | None:
    """What is wrong with ``text`` as an identity number, or ``None``: 1 to :data:`ID_NUMBER_MAX` ASCII letters and
    digits — a citizen's identity number (CCCD, 12 digits), a passport's, a tax code — or two such runs joined by one
    dash (a branch's tax code, 0100109106-001); nothing around them. The message quotes nothing of ``text``."""
    if _ID_NUMBER.fullmatch(text) is not None:
        return None
    return ("an identity number is 1 to 32 letters and digits, nothing around them (a citizen's: 12 digits; a "
            "passport or a tax code: letters and digits, a branch's tax code with one dash)")


def id_number(text: str) -> str:
    """``text`` if it is shaped as an identity number (:func:`id_number_problem`); else :class:`ValueError`
    (pydantic's way)."""
    problem = id_number_problem(text) if isinstance(text, str) else None
    if problem is not None:
        raise ValueError(problem)
    return text


def _forbidden(text: str, pattern: re.Pattern[str]) -> str | None:
    found = pattern.search(text)
    if found is None:
        return None
    character = ord(found.group())
    return f"contains {_kind(character)} (U+{character:04X}) at position {found.start() + 1}"


def _kind(character: int) -> str:
    if 0xD800 <= character <= 0xDFFF:  # noqa: PLR2004
        return "a lone surrogate"
    if character in (0x2028, 0x2029):
        return "a line separator"
    if character > 0x9F:  # noqa: PLR2004
        return "an invisible formatting character"
    return "a control character"


def line_problem(text: str, limit: int) -> str | None:
    """What is wrong with ``text`` as one line of at most ``limit`` characters, or ``None``."""
    if len(text) > limit:
        return f"longer than {limit} characters ({len(text)})"
    return _forbidden(text, _LINE_FORBIDDEN)


def text_problem(text: str, limit: int = TEXT_MAX) -> str | None:
    """What is wrong with ``text`` as free text (tabs and line breaks allowed) of at most ``limit`` characters."""
    if len(text) > limit:
        return f"longer than {limit} characters ({len(text)})"
    return _forbidden(text, _TEXT_FORBIDDEN)


def one_line(text: str) -> str:
    """``text`` if it holds no control character at all; else :class:`ValueError` (a pydantic validator; the length
    is the field's own bound)."""
    problem = _forbidden(text, _LINE_FORBIDDEN) if isinstance(text, str) else None
    if problem is not None:
        raise ValueError(problem)
    return text


def free_text(text: str) -> str:
    """``text`` if it holds no control character but tabs and line breaks; else :class:`ValueError`."""
    problem = _forbidden(text, _TEXT_FORBIDDEN) if isinstance(text, str) else None
    if problem is not None:
        raise ValueError(problem)
    return text


def checked_line(text: str, limit: int) -> str:
    """``text`` if it is one line of at most ``limit`` characters; else :class:`ValueError` (pydantic's way)."""
    problem = line_problem(text, limit)
    if problem is not None:
        raise ValueError(problem)
    return text


def json_document(text: str | bytes) -> object:
    """``json.loads``, with a document nested deeper than Python's parser recurses refused like any other malformed
    JSON: a :class:`ValueError` (``json.loads`` raises :class:`RecursionError` there, which no caller expects)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested deeper than a JSON document may be read") from None


def json_depth(value: object, limit: int = JSON_DEPTH_MAX) -> int:
    """How many containers deep ``value`` nests, counted without recursion and only up to ``limit + 1``: a value
    nested fifty thousand deep costs no more than one nested just too deep."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if not isinstance(item, Mapping | list | tuple):
            continue
        deepest = max(deepest, level)
        if level > limit:
            return deepest
        children = item.values() if isinstance(item, Mapping) else item
        pending.extend((child, level + 1) for child in children)
    return deepest


def json_shape(value: object, depth: int, size: int) -> tuple[int, int]:
    """How deep ``value`` nests and about how many characters it takes as JSON (:func:`json_depth`, :func:`json_size`)
    in one walk without recursion, which stops once either passes its bound."""
    if not isinstance(value, Mapping | list | tuple):
        return 0, len(value) + 2 if isinstance(value, str) else 5
    deepest, total, pending = 0, 0, [(value, 1)]
    while pending and deepest <= depth and total <= size:
        item, level = pending.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            deepest = max(deepest, level)
            total += 2 + sum(len(str(key)) + 4 for key in item)
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            deepest = max(deepest, level)
            total += 2 + len(item)
            pending.extend((child, level + 1) for child in item)
        else:
            total += 5
    return deepest, total


def has_surrogate(value: object) -> bool:
    """Whether a text of ``value`` (a key or an item, at any depth) holds a lone surrogate, which no UTF-8 encodes:
    JSON's ``"\ud800"`` parses into one, then fails whatever encodes it (a hash, a driver, an answer)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def json_size(value: object, limit: int) -> int:
    """About how many characters ``value`` takes as JSON (its texts and keys, a few for every other item), counted
    without recursion and only until it passes ``limit``."""
    size, pending = 0, [value]
    while pending and size <= limit:
        item = pending.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, Mapping):
            size += 2 + sum(len(str(key)) + 4 for key in item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            size += 2 + len(item)
            pending.extend(item)
        else:
            size += item.bit_length() // 3 + 1 if isinstance(item, int) else 5
    return size


def excerpt(value: object, limit: int = EXCERPT_MAX) -> str:
    """A short, printable excerpt of ``value`` for an error message: its ``repr`` (control characters escaped), cut
    to ``limit`` characters and followed by the full length when longer. Containers and big numbers are described,
    never shown."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value)} characters)"
    if isinstance(value, Mapping | list | tuple):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:  # noqa: PLR2004
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return type(value).__name__
