"""Import a DVCQG dossier sync file: stream it twice, check every record, then write all of it or nothing.

The file is a JSON list of ``DongBoHoSoMC`` records, or the sync body ``{"service": …, "isUpdating": …,
"data": [records]}``. It is never loaded whole: ``ijson`` hands the records over one at a time.

- Pass 1 reads every record (:meth:`motcua.workflow.dvcqg.imports.DvcqgImport.read`), collects the first refusals
  (record index, ``MaHoSo``, field) and refuses the whole file on any of them, before anything is
  written. A ``MaHoSo`` given twice in one file is refused too: which of the two would be the truth?
- Pass 2 reads the file again and writes, in batches, through **one** unit of work of the backend's bulk
  writer (:mod:`motcua.adapters.bulk`; one transaction on a SQL database): cases and audit entries, no
  timers (imported dossiers arm none, the portal runs their clock) and no outbox rows. A failure half-way,
  a dossier motcua handles itself, or a file that changed between the passes (its SHA-256 is compared)
  leaves nothing written.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Final, Protocol

import ijson  # type: ignore[import-untyped]  # ijson ships no type information

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.bulk import BulkWriter
from motcua.entrypoints.errors import BadFile, FileRefused
from motcua.workflow.dvcqg.imports import DvcqgImport
from motcua.workflow.dvcqg.records import DvcqgRecord
from motcua.workflow.engine.bounds import JSON_DEPTH_MAX, excerpt
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import DossierNotImported, Problem, RecordRefused

__all__ = ["BATCH", "ImportReport", "ProgressSink", "import_file"]

BATCH: Final = 250  # records decided and written together in pass 2: what bounds the memory
SHOWN_REFUSALS: Final = 20  # refusals kept for the message: the first ones, in file order
_BOM: Final = b"\xef\xbb\xbf"
_SERVICE: Final = "DongBoHoSoMC"
_SHAPE: Final = 'expected a JSON list of records or {"service": …, "isUpdating": …, "data": [records]}'
_CUT: Final = JSON_DEPTH_MAX + 4
"""Containers nested deeper than this in the file are cut to an empty text before the parser builds anything of them.
The body, its list and the record take three levels and a record's field may nest ``JSON_DEPTH_MAX - 1`` more, so a
value cut belongs to a record refused for its depth anyway, with the same message. What the cut saves is time: with
ijson's own path to every value, a record nested 50,000 deep cost 12 s to parse and one 500,000 deep (a 1 MB file)
would cost an hour; cut (and the path kept short, :func:`_parsed`), it costs what its bytes cost."""
_KEPT: Final = 2
"""Levels of the file whose path is ever compared: ``service``, ``data``, ``item`` (a list), ``data.item`` (a body)."""
_NAME_MAX: Final = 16  # a key longer than any of those names is never compared: it is not kept
_BELOW: Final = "\x00"  # the path of everything below those levels, and of a long key: never a name compared
_OPENS: Final = frozenset({"start_map", "start_array"})
_CLOSES: Final = frozenset({"end_map", "end_array"})
_BODY_KEYS: Final = frozenset({"service", "isUpdating", "data"})  # the names of a sync body: each given once
_ESCAPE: Final = 6  # bytes of one escaped character, \uXXXX
_LONE_HIGH: Final = re.compile(rb"(?<!\\)(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2})(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})")
"""A high surrogate escaped (after an even run of backslashes: an escape, not an escaped backslash) and no low one
escaped right after it. Matched on the bytes as they stream: no UTF-8 sequence holds the byte of ``\\``."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    records: int
    created: int
    updated: int
    skipped: int = 0  # records of dossiers motcua handles itself, left out (``skip_local``)

    @property
    def unchanged(self) -> int:
        return self.records - self.created - self.updated - self.skipped


class ProgressSink(Protocol):
    """Where the importer tells how far it is (the CLI shows a progress bar)."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, records: int) -> None: ...


class _Silent:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, records: int) -> None:
        pass


def import_file(
    path: Path, motcua: Motcua, *, at: datetime | None = None, progress: ProgressSink | None = None,
    skip_local: bool = False,
) -> ImportReport:
    """Import every record of ``path``, or none: :class:`BadFile` / :class:`FileRefused` say why not.

    ``at`` is the instant of the import (default: the engine's clock): the entries' time. A record of a dossier motcua
    handles itself (received here, then published to the portal: a portal's export of the commune holds it too) is
    never written over: the file is refused, naming every such record (the first :data:`SHOWN_REFUSALS`), or with
    ``skip_local`` those records are left out and counted (``skipped``).
    """
    importer = DvcqgImport(motcua.workflows, motcua.rules, motcua.catalogue, motcua.desk.units)
    sink = progress or _Silent()
    source = _SyncFile(path)
    now = at or motcua.service.engine.clock.now()
    sink.phase("Kiểm tra (pass 1)", None)
    count, digest = _check(source, importer, sink, now)
    sink.phase("Ghi (pass 2)", count)
    writer = _Writer(importer, now, sink, skip_local=skip_local)
    try:
        return writer.write(motcua.backend.bulk(), source, digest)
    except RecordRefused as refusal:  # read again in pass 2 (a file changed meanwhile): nothing was written
        raise FileRefused(path, [refusal], 1, count) from None


# -- reading -------------------------------------------------------------------------------------


class _HashingReader:
    """A binary file that hashes what it hands to the parser, skips a UTF-8 byte-order mark and refuses a lone high
    surrogate escaped in its text (:class:`_SurrogateScan`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")
        self._digest = hashlib.sha256()
        self._scan = _SurrogateScan()
        self._skipped = -1  # bytes of a byte-order mark skipped; -1 before the first chunk

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        if self._skipped < 0 and chunk:
            stripped = chunk.removeprefix(_BOM)
            self._skipped, chunk = len(chunk) - len(stripped), stripped
        self._digest.update(chunk)
        lone = self._scan.feed(chunk)
        if lone is not None:
            at = lone + max(self._skipped, 0)
            raise BadFile(self.path, f"not UTF-8 text: a lone surrogate escaped at byte {at} (\\uD800–\\uDBFF not "
                                     "followed by \\uDC00–\\uDFFF)")
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._file.close()


class _SurrogateScan:
    r"""Finds, in a JSON text read a chunk at a time, a high surrogate escaped (``\uD800``–``\uDBFF``) that no low one
    (``\uDC00``–``\uDFFF``) follows at once. ijson's C parser reads the first as ``?`` and joins it with any escape
    after it (``\ud800\u0041`` is U+10041): the text would not be what the file says, so the file is refused.

    An escape is one only after an even run of backslashes (``\\ud800`` is a backslash, then the letters
    ``ud800``). Of each chunk, the end that may still hold an undecided escape is kept for the next one: eleven bytes
    at most, and a backslash before them when an odd run ends just there, never the run itself."""

    def __init__(self) -> None:
        self._tail = b""  # the end of the text read so far that may hold an undecided escape
        self._at = 0  # the offset in the text of the tail's first byte

    def feed(self, chunk: bytes) -> int | None:
        """The offset of a lone high surrogate escape decided once ``chunk`` is read, or ``None``. The empty chunk is
        the end of the text: every escape is decided then."""
        window = self._tail + chunk
        found = _LONE_HIGH.search(window)
        if found is not None and (not chunk or found.end(1) + _ESCAPE <= len(window)):
            return self._at + found.start(1)
        cut = max(len(window) - (2 * _ESCAPE - 1), 0)
        head = window[:cut]
        escaped = (len(head) - len(head.rstrip(b"\\"))) % 2  # the byte at the cut follows an escaping backslash
        self._tail = window[cut - escaped:]
        self._at += cut - escaped
        return None


class _SyncFile:
    """The records of a sync file, streamed at C speed from where the file's head says they are."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BadFile(path, "no such file")
        self.path = path
        self.digest = ""
        with self._parsing() as reader:
            self.prefix = _records_prefix(path, _parsed(reader, use_float=False))  # "item" or "data.item"

    @contextmanager
    def records(self) -> Iterator[Iterator[object]]:
        """Every record, then the file's digest in :attr:`digest` (the parser reads it to the end)."""
        with self._parsing() as reader:
            yield _once(ijson.items(_parsed(reader), self.prefix, map_type=_OnceDict), self.path)
            self.digest = reader.hexdigest()

    @contextmanager
    def _parsing(self) -> Iterator[_HashingReader]:
        try:
            reader = _HashingReader(self.path)
        except OSError as error:
            raise BadFile(self.path, error.strerror or str(error)) from None
        try:
            yield reader
        finally:
            reader.close()


def _events(reader: _HashingReader, *, use_float: bool) -> Iterator[tuple[str, object]]:
    """ijson's basic events of ``reader``; what the parser raises on a file it cannot read, a :class:`BadFile`. Only
    what the parser raises: a consumer's own error between two events is never read as the file's."""
    step = partial(next, ijson.basic_parse(reader, use_float=use_float))  # checked: see :func:`_unreadable`
    while True:
        try:
            event = step()
        except StopIteration:
            return
        except (ijson.JSONError, ValueError, SystemError) as error:
            problem = _unreadable(error)
            if problem is None:
                raise
            raise BadFile(reader.path, problem) from None
        yield event


def _unreadable(error: BaseException | None) -> str | None:
    """What the parser's ``error`` says is wrong with the file, or ``None`` when it is none of the parser's refusals.

    ijson's C parser, on an integer Python will not convert, leaves the :class:`ValueError` pending and returns an
    event whose value is missing (reading it crashes the interpreter). Python raises such an error at the next check,
    wherever that is; a call made through :func:`functools.partial` is always checked (a builtin called from Python
    code may not be, once the interpreter has specialised the call): it raises :class:`SystemError` from the error,
    there and then."""
    if isinstance(error, SystemError):
        error = error.__cause__
    if isinstance(error, ijson.JSONError):
        return f"not JSON: {_first_line(error)}"
    if isinstance(error, UnicodeDecodeError):  # a byte that is not UTF-8, or a lone low surrogate escaped (\udfff)
        return f"not UTF-8 text: {error.reason} at byte {error.start} of a value"
    if isinstance(error, ValueError):  # the parser's one other: Python converts no integer longer than its limit
        return f"not JSON motcua reads: a number of more than {sys.get_int_max_str_digits():,} digits"
    return None


def _parsed(reader: _HashingReader, *, use_float: bool = True) -> Iterator[tuple[str, str, object]]:
    """ijson's parse events (path, event, value) of ``reader``, every container deeper than :data:`_CUT` cut first and
    the path kept for the first :data:`_KEPT` levels only: ijson's own ``parse`` joins the whole path for every event,
    so a long key over many events (a 400,000-character key above 200,000 others: 7 s) costs their product. A name of
    the sync body given twice is refused (:func:`_body_key`)."""
    path: list[str] = []  # each open container's key or "item"; below _KEPT levels only a placeholder
    body: set[str] = set()  # the body's names read so far: three at most
    for event, value in _cut(_events(reader, use_float=use_float)):
        depth = len(path)
        if event == "map_key":
            if depth == 1:
                _body_key(reader.path, value, body)
            yield _path(path[:-1], depth), event, value
            if depth <= _KEPT:
                path[-1] = value if isinstance(value, str) and len(value) <= _NAME_MAX else _BELOW
            continue
        if event in _CLOSES and depth:
            path.pop()
        yield _path(path, len(path)), event, value
        if event in _OPENS:
            path.append(_BELOW if event == "start_map" else "item")  # a map's key comes with its next event


def _body_key(path: Path, key: object, seen: set[str]) -> None:
    """Refuse ``key`` of the sync body when it is one of its names given again: JSON readers differ on which counts
    (ijson would even read both ``data`` lists)."""
    if isinstance(key, str) and key in _BODY_KEYS:
        if key in seen:
            raise BadFile(path, f'"{key}" given twice in the sync body: which of the two would be the truth?')
        seen.add(key)


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(excerpt(key))


class _OnceDict(dict[str, object]):
    """A record's object as the parser builds it: a key given twice in it raises :class:`_RepeatedKey` (JSON readers
    differ on which of the two values counts). What it remembers is the object itself."""

    def __setitem__(self, key: str, value: object) -> None:
        if key in self:
            raise _RepeatedKey(key)
        super().__setitem__(key, value)


def _once(records: Iterable[object], path: Path) -> Iterator[object]:
    """``records`` as ijson builds them, a key given twice in one of their objects a :class:`BadFile` naming the
    record and the key."""
    index = 0
    try:
        for record in records:
            yield record
            index += 1
    except _RepeatedKey as repeated:
        raise BadFile(path, f"record {index}: key {excerpt(repeated.key)} given twice in one object: which of the "
                            "two would be the truth?") from None


def _path(path: list[str], depth: int) -> str:
    return ".".join(path) if depth <= _KEPT else _BELOW


def _cut(events: Iterable[tuple[str, object]]) -> Iterator[tuple[str, object]]:
    """``events`` with each container that opens deeper than :data:`_CUT` replaced by an empty text."""
    stream, depth = iter(events), 0
    for event, value in stream:
        if event in _OPENS:
            if depth == _CUT:
                _skip_container(stream)
                yield "string", ""
                continue
            depth += 1
        elif event in _CLOSES:
            depth -= 1
        yield event, value


def _skip_container(stream: Iterator[tuple[str, object]]) -> None:
    """Read ``stream`` past the end of the container just opened."""
    open_ = 1
    for event, _ in stream:
        open_ += (event in _OPENS) - (event in _CLOSES)
        if open_ == 0:
            return


def _first_line(error: Exception) -> str:
    return re.split(r"\\n|\n", str(error).strip())[0].removeprefix("b'")


def _records_prefix(path: Path, events: Iterator[tuple[str, str, object]]) -> str:
    """Where the records are, read from the head of the file only (up to the start of ``data``).

    ``service``, when it comes before ``data`` (as portals write it), must be the dossier sync.
    """
    first = next(events, None)
    if first is None or first[1] not in ("start_array", "start_map"):
        raise BadFile(path, _SHAPE)
    if first[1] == "start_array":
        return "item"
    for prefix, event, value in events:
        if prefix == "service" and event == "string" and value != _SERVICE:
            raise BadFile(path, f"service {value!r}: only {_SERVICE} dossier records are imported")
        if prefix == "data":
            if event != "start_array":
                raise BadFile(path, '"data" must be a list of records')
            return "data.item"
    raise BadFile(path, f'no "data" list: {_SHAPE}')


# -- pass 1 --------------------------------------------------------------------------------------


def _check(source: _SyncFile, importer: DvcqgImport, sink: ProgressSink, at: datetime) -> tuple[int, str]:
    """Read every record; refuse the file on the first problems. Returns the count and the digest."""
    refused: list[RecordRefused] = []
    refusals = 0
    codes: dict[str, int] = {}  # MaHoSo → index: bounded by the number of dossiers, not their size
    count = 0
    with source.records() as records:
        for index, raw in enumerate(records):
            count = index + 1
            problem = _problem(importer, raw, index, codes, at)
            if problem is not None:
                refusals += 1
                if len(refused) < SHOWN_REFUSALS:
                    refused.append(problem)
            if count % BATCH == 0:
                sink.advance(BATCH)
    sink.advance(count % BATCH)
    if refusals:
        raise FileRefused(source.path, refused, refusals, count)
    return count, source.digest


def _problem(
    importer: DvcqgImport, raw: object, index: int, codes: dict[str, int], at: datetime
) -> RecordRefused | None:
    try:
        record = importer.read(raw, index, at)
    except RecordRefused as refusal:
        return refusal
    first = codes.setdefault(record.code, index)
    if first != index:
        return RecordRefused(index, record.code, [Problem("MaHoSo", f"also given by record {first}")])
    return None


# -- pass 2 --------------------------------------------------------------------------------------


_Read = tuple[int, DvcqgRecord, str | None]  # a record's index, the record, MaHoSo as written when not its code


class _Writer:
    def __init__(self, importer: DvcqgImport, at: datetime, sink: ProgressSink, *, skip_local: bool = False) -> None:
        self.importer = importer
        self.at = at
        self.sink = sink
        self.skip_local = skip_local
        self.created = 0
        self.updated = 0
        self.records = 0
        self.local: list[RecordRefused] = []  # records of dossiers motcua handles itself, the first few
        self.locals = 0

    def write(self, bulk: AbstractContextManager[BulkWriter], source: _SyncFile, digest: str) -> ImportReport:
        """Every batch in one unit of work: a refusal, a failure or a changed file leaves none of it."""
        with bulk as writing:
            with source.records() as raws:
                for records in _batches(self._read(raws)):
                    codes = [record.code for _, record, _ in records]
                    written = [code for _, _, code in records if code is not None]
                    current = writing.cases(codes + written)
                    writing.write(self._decide(records, current))
                    self.sink.advance(len(records))
            self._same_file(source, digest)
            if self.locals and not self.skip_local:  # raised in the unit of work: none of it is written
                raise FileRefused(source.path, self.local, self.locals, self.records)
        return self._report()

    def _read(self, raws: Iterable[object]) -> Iterator[_Read]:
        """The records validated again (the file is read anew); the raw objects are dropped at once."""
        for index, raw in enumerate(raws):
            self.records += 1
            record = self.importer.read(raw, index, self.at)
            written = raw.get("MaHoSo") if isinstance(raw, Mapping) else None
            yield index, record, written if isinstance(written, str) and written != record.code else None

    def _decide(self, records: list[_Read], current: dict[str, Case]) -> list[Decision]:
        decisions = []
        for index, record, written in records:
            # a dossier imported before MaHoSo was trimmed and read NFC holds the code as written: still that dossier
            found = current.get(record.code) or (current.get(written) if written is not None else None)
            try:
                decision = self.importer.decide(record, found, self.at)
            except DossierNotImported as error:  # every one is named (or skipped), not the first alone
                self.locals += 1
                if len(self.local) < SHOWN_REFUSALS:
                    self.local.append(RecordRefused(index, record.code, [Problem("MaHoSo", str(error))]))
                continue
            if decision is not None:
                decisions.append(decision)
                self.created += decision.expected_version == 0
                self.updated += decision.expected_version != 0
        return decisions

    def _same_file(self, source: _SyncFile, digest: str) -> None:
        if source.digest != digest:
            raise BadFile(source.path, "the file changed while it was being imported; nothing was written")

    def _report(self) -> ImportReport:
        return ImportReport(self.records, self.created, self.updated, self.locals)


def _batches(items: Iterable[_Read]) -> Iterator[list[_Read]]:
    batch: list[_Read] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
