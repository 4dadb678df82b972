"""A province's procedure catalogue kept in its own directory, in numbered revisions.

The package ships a catalogue (``definitions/procedures/``) that is never written. A deployment that keeps its own
names a directory (``MOTCUA_PROCEDURES_DIR``, read by the composition root) laid out as::

    ROOT/
      CURRENT                  # the number of the revision in use, e.g. "2"
      revisions/000001/        # one YAML file per field (the catalogue's format) and manifest.json
      revisions/000002/

A new revision is written whole into a staging directory beside the others, read back by the catalogue's loader,
renamed to its number, and only then made current by replacing ``CURRENT`` (``os.replace``: atomic on one file
system). A failure at any step leaves the revision in use as it was and no new revision behind. Earlier revisions
stay: :meth:`CatalogueStore.rollback` makes one of them current again. Until a first revision is written, the
catalogue in use is the shipped one. Writes and rollbacks take turns (``fcntl.flock`` on ``ROOT/.lock``); a file name
comes from a field code only if it is a plain name (:func:`file_names`), and lands directly in its directory
(:func:`inside`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import yaml

from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dossiers.catalogue import Catalogue
from motcua.workflow.engine.bounds import json_document
from motcua.workflow.errors import InvalidDefinition, InvalidInput

__all__ = ["CURRENT_FILE", "MANIFEST_FILE", "CatalogueStore", "Manifest", "dump_document", "file_names", "inside"]

CURRENT_FILE: Final = "CURRENT"
MANIFEST_FILE: Final = "manifest.json"
_REVISIONS: Final = "revisions"
_STAGING: Final = ".staging-"
_LOCK: Final = ".lock"
_STEM: Final = re.compile(r"[a-z][a-z0-9_-]*")
_NUMBER: Final = re.compile(r"[0-9]{1,9}")  # a revision's number; str.isdigit() also takes "²", which int() refuses
_CURRENT_MAX_BYTES: Final = 64


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a revision is: its number, when it was written, from which file (its name and SHA-256), the revision
    it replaced and how many procedures it holds."""

    revision: int
    written_at: str
    source: str
    sha256: str
    previous: int | None
    procedures: int


def file_names(documents: Sequence[dict[str, object]]) -> list[str]:
    """The documents' files in a revision: their field code, lower case (``HT`` → ``ht.yaml``), then ``ht-2.yaml``…
    for a field held in several documents. A code that would not make such a name (a path, a dot) is refused."""
    names: list[str] = []
    for document in documents:
        header = document.get("field")
        stem = str(header.get("code") if isinstance(header, dict) else "field").lower()
        if not _STEM.fullmatch(stem):
            raise InvalidInput("field", f"field code {stem[:40]!r} cannot name a file: letters, digits and _ only")
        names.append(f"{stem}.yaml" if f"{stem}.yaml" not in names else
                     next(f"{stem}-{n}.yaml" for n in range(2, len(names) + 3) if f"{stem}-{n}.yaml" not in names))
    return names


def inside(directory: Path, name: str) -> Path:
    """``directory / name``, refused unless it is a file directly inside ``directory``."""
    target = (directory / name).resolve()
    if target.parent != directory.resolve():
        raise InvalidInput("field", f"{name!r} is not a file name inside {directory}")
    return target


class _Dumper(yaml.SafeDumper):
    """A safe dumper that never writes anchors and aliases (the definitions' loader refuses them)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump_document(document: dict[str, object]) -> str:
    """A field document as YAML the catalogue's loader reads back into the same values."""
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120,
                     default_flow_style=False)


class CatalogueStore:
    """The revisions of a catalogue directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.revisions_dir = root / _REVISIONS

    def current_revision(self) -> int | None:
        """The revision in use; ``None`` before the first one is written (the shipped catalogue is in use)."""
        path = self.root / CURRENT_FILE
        try:
            with path.open("rb") as file:  # a revision number: a few bytes, whatever the file holds
                content = file.read(_CURRENT_MAX_BYTES + 1)
            text = "" if len(content) > _CURRENT_MAX_BYTES else content.decode("utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:  # a directory, unreadable, not UTF-8
            raise InvalidDefinition(str(path), [f"cannot read the revision in use: {error}"]) from None
        if not _NUMBER.fullmatch(text) or not self.directory(int(text)).is_dir():
            raise InvalidDefinition(str(path), [f"names no revision of {self.revisions_dir}"])
        return int(text)

    def current(self) -> Path | None:
        """The directory of the revision in use, or ``None``."""
        revision = self.current_revision()
        return None if revision is None else self.directory(revision)

    def current_catalogue(self) -> Catalogue | None:
        """The catalogue of the revision in use (:meth:`load`), or ``None`` before the first one is written."""
        revision = self.current_revision()
        return None if revision is None else self.load(revision)

    def load(self, revision: int) -> Catalogue:
        """The catalogue of ``revision``, which must hold the procedures its manifest counts: a revision is written
        whole and never edited, and one that lost a field file since (or all of them) is refused, not served with
        procedures missing."""
        directory = self.directory(revision)
        catalogue = load_procedures(directory, legacy_fees=False)
        counted = self.manifest(revision).procedures
        if len(catalogue) != counted:
            raise InvalidDefinition(str(directory), [
                f"holds {len(catalogue)} procedures but its manifest counts {counted}: a revision is never edited "
                "by hand — import the list again, or roll back to another revision"])
        return catalogue

    def directory(self, revision: int) -> Path:
        return self.revisions_dir / f"{revision:06d}"

    def revisions(self) -> list[int]:
        if not self.revisions_dir.is_dir():
            return []
        return sorted(int(path.name) for path in self.revisions_dir.iterdir() if _NUMBER.fullmatch(path.name))

    def manifest(self, revision: int) -> Manifest:
        path = self.directory(revision) / MANIFEST_FILE
        try:
            return Manifest(**json_document(path.read_text(encoding="utf-8")))  # type: ignore[arg-type]
        except (OSError, ValueError, TypeError) as error:
            raise InvalidDefinition(str(path), [f"cannot read the manifest: {error}"]) from None

    def write(self, documents: Sequence[dict[str, object]], *, source: str, sha256: str, at: datetime,
              expected: int | None) -> Manifest:
        """Write ``documents`` as a new revision and make it current, or nothing at all.

        ``expected`` is the revision the documents were compared with: if another one became current since, the
        write is refused (the difference shown would no longer be the one applied). Writes and rollbacks of one
        directory take turns (an exclusive lock on ``ROOT/.lock``); on failure only what this call created is
        removed."""
        names = file_names(documents)
        with self._locked():
            previous = self.current_revision()
            if previous != expected:
                raise InvalidInput("catalogue", f"revision {previous} became current after the difference was "
                                                f"computed against {expected}: run the import again")
            try:
                self.revisions_dir.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=self.revisions_dir))
            except OSError as error:
                raise InvalidInput("catalogue", f"cannot write in {self.revisions_dir}: {_reason(error)}") from None
            number = max(self.revisions(), default=0) + 1
            count = sum(len(entries) for document in documents
                        if isinstance(entries := document.get("procedures"), list))
            manifest = Manifest(number, at.isoformat(), source, sha256, previous, count)
            final, renamed = self.directory(number), False
            try:
                for name, document in zip(names, documents, strict=True):
                    _write(inside(staging, name), dump_document(document))
                _write(staging / MANIFEST_FILE, json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n")
                load_procedures(staging, legacy_fees=False)  # the loader's last word on exactly what is written
                staging.rename(final)  # refused if the number exists (a writer that ignored the lock)
                renamed = True
                _sync_directory(self.revisions_dir)
                self._point(number)
            except BaseException as error:
                shutil.rmtree(staging, ignore_errors=True)
                if renamed and self._pointed() != number:
                    shutil.rmtree(final, ignore_errors=True)
                if isinstance(error, OSError):
                    raise InvalidInput("catalogue", f"cannot write revision {number}: {_reason(error)}") from None
                raise
            return manifest

    def rollback(self, to: int | None = None) -> Manifest:
        """Make revision ``to`` (by default the one the current revision replaced) current again. A directory with no
        revision is refused before the lock is taken: a rollback of nothing creates nothing (no directory, no lock
        file)."""
        self._written()
        with self._locked():
            current = self._written()
            target = self.manifest(current).previous if to is None else to
            if target is None:
                raise InvalidInput("revision", f"revision {current} replaced the shipped catalogue: give --to N")
            if target not in self.revisions():
                raise InvalidInput("revision", f"no revision {target} in {self.revisions_dir}")
            self.load(target)  # one that no longer loads stays unused
            try:
                self._point(target)
            except OSError as error:
                raise InvalidInput("revision", f"cannot make revision {target} current: {_reason(error)}") from None
            return self.manifest(target)

    def _written(self) -> int:
        """The current revision; refused if none was written yet."""
        current = self.current_revision()
        if current is None:
            raise InvalidInput("revision", f"no revision was written yet in {self.root}: the shipped catalogue is in "
                                           "use")
        return current

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on ``ROOT/.lock`` (waited for) while the block runs."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InvalidInput("catalogue", f"cannot lock {self.root}: {_reason(error)}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _pointed(self) -> int | None:
        """The revision ``CURRENT`` names, unchecked (``None`` if unreadable)."""
        try:
            text = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return int(text) if _NUMBER.fullmatch(text) else None

    def _point(self, revision: int) -> None:
        pending = self.root / f"{CURRENT_FILE}.tmp"
        _write(pending, f"{revision}\n")
        os.replace(pending, self.root / CURRENT_FILE)
        _sync_directory(self.root)


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
