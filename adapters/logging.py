"""Logging by allowlist: structlog and the standard library configured once, and the observer that logs decisions.

A log line carries identifiers (case code, definition, trigger, sequence), states, roles, counts and timings —
never a person's data. Logs are shipped, kept and read far more widely than the database, so what reaches them is
chosen field by field instead of masked after the fact:

- a decision (:class:`LoggingObserver`) shows the data fields its definition declares ``personal: false``
  (:class:`~motcua.workflow.engine.definition.DataField`), each value only when it is shaped like a code
  (:func:`shown`), and the names of the fields it withholds; never the actor's name: its role, and a keyed
  pseudonym (:class:`Pseudonyms`) when the deployment has a key;
- an error shows its type and the structured attributes that name what was wrong — fields, roles, states,
  guards (:func:`error_fields`) — never its message, which may quote a value (a name, in ``RoleNotAllowed``);
- the standard library's records (SQLAlchemy, dramatiq, uvicorn, httpx, ``motcua.http``) are rendered by the same
  renderer from their message *template*: an argument is filled in only when it is a number or code-shaped text
  (a path without its query string), and a traceback is reduced to its outline (exception types and frames, no
  messages, no local variables);
- :func:`mask_identifiers` still masks what looks like an ID or phone number, and the named personal keys, on
  every line: a second line of defence, not the first.

Configured once, at the entry point (never on import). JSON lines when not on a terminal (or when ``json=True``),
readable console output otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
import traceback
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Final, TextIO

import structlog

from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.definitions.yamlsafe import yaml_files
from motcua.workflow.engine.decisions import OPEN_TRIGGER, Decision
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.ports import Observer
from motcua.workflow.errors import ActionFailed

__all__ = [
    "PSEUDONYM_LENGTH",
    "WITHHELD",
    "LoggingObserver",
    "Pseudonyms",
    "TolerantObserver",
    "configure_logging",
    "error_fields",
    "mask_identifiers",
    "mask_text",
    "outline_exception",
    "shipped_definitions",
    "shown",
]

WITHHELD: Final = "[withheld]"
"""What a log line shows in place of a value that is not shaped like a code."""
PSEUDONYM_LENGTH: Final = 12  # hex characters of the HMAC: 48 bits, no collision among a province's officials

_ID_OR_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)?\d{8,11}(?!\d)")
_DIGEST = re.compile(r"[0-9a-f]{64}")  # a SHA-256 in hex (an anchor's, a chain head's): no one's number
_PERSONAL_KEYS = frozenset({
    "applicant_id", "id_number", "phone", "email", "applicant_name", "address", "summary", "note", "reason",
    "comment", "receiver", "assignee", "approver", "owner", "actor",
})
_CODE = re.compile(r"[A-Za-z0-9_.:/+\-]{0,64}")  # a code, a number, a date: no space, no letter with marks
_PATH = re.compile(r"(?:[a-z]+://[A-Za-z0-9.:\-]+)?/[A-Za-z0-9_.:/+\-]{0,200}")  # a path or URL, its query cut off
_PEER = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}:\d+")  # a client's address and port (a person's, behind a browser)
_ERROR_ATTRIBUTES = ("field", "code", "roles", "allowed", "state", "guards", "expected_version", "generation",
                     "kind", "key", "version", "definition", "index")
_FRAMES_SHOWN = 12
_CHAINED_SHOWN = 4


def mask_text(text: str) -> str:
    """Keep the last three digits of anything that looks like an ID or phone number."""
    return _ID_OR_PHONE.sub(lambda match: "*" * (len(match.group()) - 3) + match.group()[-3:], text)


def _mask(value: object) -> object:
    if isinstance(value, str):
        return value if _DIGEST.fullmatch(value) else mask_text(value)
    if isinstance(value, dict):
        return {key: "***" if key in _PERSONAL_KEYS else _mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(item) for item in value]
    return value


def mask_identifiers(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: no unmasked identifier ever reaches a log line."""
    for key in list(event):
        event[key] = "***" if key in _PERSONAL_KEYS else _mask(event[key])
    return event


def shown(value: object) -> object:
    """``value`` as a log line may show it: numbers, booleans and code-shaped texts (at most 64 characters of ASCII
    letters, digits and ``_ . : / + -``: a case code, a unit code, a date) as they are, a path or URL without its
    query string, lists and mappings item by item, anything else :data:`WITHHELD` — a client's address too."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if _CODE.fullmatch(value):
            return WITHHELD if _PEER.fullmatch(value) else value
        path = value.partition("?")[0]
        return path if _PATH.fullmatch(path) else WITHHELD
    if isinstance(value, Mapping):
        return {str(shown(key)): shown(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [shown(item) for item in value]
    return WITHHELD


def error_fields(error: BaseException) -> dict[str, object]:
    """An error as a log line carries it: its type, and the attributes that name what was wrong (fields, roles,
    states, guards, versions, codes) as :func:`shown` shows them — never its message."""
    fields: dict[str, object] = {"error": type(error).__name__}
    for name in _ERROR_ATTRIBUTES:
        if (value := getattr(error, name, None)) is not None:
            fields[name] = shown(value)
    problems = getattr(error, "problems", None)
    if isinstance(problems, Mapping):
        fields["fields"] = shown(sorted(problems))
    elif isinstance(problems, tuple | list) and all(hasattr(problem, "field") for problem in problems):
        fields["fields"] = shown(sorted({problem.field for problem in problems}))
    return fields


class Pseudonyms:
    """A stable, keyed pseudonym of an actor: the first :data:`PSEUDONYM_LENGTH` hex characters of
    HMAC-SHA256(key, name). Whoever holds the key (and a list of names) can tell whose lines they are — that is
    the point, for an inquiry; whoever reads the log alone cannot, and cannot try names without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, name: str) -> str:
        digest = hmac.new(self._key, unicodedata.normalize("NFC", name).encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_LENGTH]


def shipped_definitions() -> list[WorkflowDefinition]:
    """The workflow definitions of ``definitions/workflows/`` (what :func:`open_motcua` compiles)."""
    return [load_definition(path) for path in yaml_files(WORKFLOWS_DIR)]


def _public_fields(definitions: Iterable[WorkflowDefinition]) -> dict[tuple[str, int], dict[str, frozenset[str]]]:
    """(key, version) → trigger (``open`` for the opening) → the fields declared ``personal: false``."""
    table: dict[tuple[str, int], dict[str, frozenset[str]]] = {}
    for definition in definitions:
        triggers = {OPEN_TRIGGER: definition.opening.data, **{name: spec.data
                                                              for name, spec in definition.triggers.items()}}
        table[(definition.key, definition.version)] = {
            trigger: frozenset(name for name, spec in data.items() if not spec.personal)
            for trigger, data in triggers.items()
        }
    return table


class LoggingObserver:
    """Logs each committed decision (``transition.committed``) and each refusal (``transition.rejected``).

    ``definitions`` declare which data fields are not personal (default: the shipped ones); a decision of a
    definition it does not know shows no data at all. ``pseudonyms``: the actor's keyed pseudonym (``actor_ref``);
    without one the line names no actor, only the role."""

    def __init__(
        self, definitions: Iterable[WorkflowDefinition] | None = None, *, pseudonyms: Pseudonyms | None = None
    ) -> None:
        self.log = structlog.get_logger("motcua.engine")
        self._public = _public_fields(shipped_definitions() if definitions is None else definitions)
        self._pseudonyms = pseudonyms

    def committed(self, decision: Decision) -> None:
        entry = decision.entry
        public = self._public.get((entry.definition_key, entry.definition_version), {}).get(entry.trigger, frozenset())
        data = {name: shown(value) for name, value in entry.data.items() if name in public}
        withheld = sorted(name for name in entry.data if name not in public)
        actor = {"actor_ref": self._pseudonyms(entry.actor)} if self._pseudonyms is not None else {}
        self.log.info(
            "transition.committed", case=shown(entry.case_code),
            definition=f"{entry.definition_key}@{entry.definition_version}", trigger=entry.trigger, role=entry.role,
            **actor, sequence=entry.sequence, state=dict(entry.state_after), data=data,
            **({"withheld": withheld} if withheld else {}), timers=len(decision.timers), effects=len(decision.effects),
        )

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        fields = error_fields(error)
        if isinstance(error, ActionFailed) and error.__cause__ is not None:  # a bug: where it was (types, frames)
            fields["traceback"] = _outline(error.__cause__)
        self.log.warning("transition.rejected", case=shown(code), trigger=shown(trigger), **fields)


# -- configuration -------------------------------------------------------------------------------------------------


def _outline(error: BaseException) -> list[dict[str, object]]:
    """The exception and the ones it was raised from (or during): each its type and innermost frames."""
    chain: list[dict[str, object]] = []
    current: BaseException | None = error
    while current is not None and len(chain) < _CHAINED_SHOWN:
        frames = traceback.extract_tb(current.__traceback__)[-_FRAMES_SHOWN:]
        at = [f"{frame.filename.rpartition('/')[2]}:{frame.lineno} in {frame.name}" for frame in frames]
        chain.append({"type": type(current).__name__, "at": at})
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


def outline_exception(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: ``exc_info`` becomes ``traceback``, the outline of the exception (types and frames;
    no message, no local variable: either may hold a value); ``stack_info`` is dropped."""
    event.pop("stack_info", None)
    info = event.pop("exc_info", None)
    error: BaseException | None = None
    if info is True:
        error = sys.exc_info()[1]
    elif isinstance(info, BaseException):
        error = info
    elif isinstance(info, tuple) and any(isinstance(part, BaseException) for part in info):  # (type, value, tb)
        error = next(part for part in info if isinstance(part, BaseException))
    if error is not None:
        event["traceback"] = _outline(error)
    return event


def _from_template(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A standard-library record's message: its template, filled with :func:`shown` arguments only."""
    record: logging.LogRecord = event["_record"]
    arguments = event.pop("positional_args", ())
    if not isinstance(record.msg, str):
        event["event"] = type(record.msg).__name__
        return event
    safe: object = ({key: shown(value) for key, value in arguments.items()} if isinstance(arguments, Mapping)
                    else tuple(shown(value) for value in arguments))
    try:
        event["event"] = record.msg % safe if arguments else record.msg
    except (TypeError, ValueError, KeyError):
        event["event"] = record.msg
    return event


class _StandardError(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (as the standard library's last resort does), so a
    replaced stderr (a test's, a command runner's) never leaves a closed stream behind."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream: TextIO = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # a log line that cannot be written must not stop the process
            self.handleError(record)


def _route_standard_logging(renderer: Any, shared: list[Any], level: int) -> None:
    """Every standard-library record through the same renderer, masking and outline as structlog's events: the
    root logger at WARNING (third parties' chatter stays out), motcua's own at ``level``."""
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, _StandardError)]:
        root.removeHandler(handler)
    handler = _StandardError()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, _from_template, *shared],
        use_get_message=False, pass_foreign_args=True,
    ))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("motcua").setLevel(level)


def configure_logging(json: bool | None = None, level: int = logging.INFO) -> None:
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        outline_exception,
        mask_identifiers,
    ]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write() per line: processes sharing a stderr (the worker's children) never run two lines
        # into one, as print()'s separate write of the newline lets them under PYTHONUNBUFFERED.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(renderer, shared, level)


_observer_log = structlog.get_logger("motcua.engine")


class TolerantObserver:
    """An observer whose failures are logged (``observer.failed``), never its caller's: :func:`open_motcua
    <motcua.adapters.bootstrap.open_motcua>` wraps each observer it is given in one. A decision an observer failed
    to hear of is committed all the same, and a caller told it failed would do it again (a second dossier); a
    refusal stays that refusal, not the observer's error."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self._name = type(observer).__name__

    def committed(self, decision: Decision) -> None:
        try:
            self.observer.committed(decision)
        except Exception as error:  # an observer's failure (metrics away) is not the decision's
            _observer_log.error("observer.failed", observer=self._name, hook="committed", case=decision.case.code,
                                error=type(error).__name__)

    def rejected(self, code: str, trigger: str, error: Exception) -> None:
        try:
            self.observer.rejected(code, trigger, error)
        except Exception as failure:  # the refusal, not the observer's failure, is the caller's answer
            _observer_log.error("observer.failed", observer=self._name, hook="rejected", case=code,
                                error=type(failure).__name__)
