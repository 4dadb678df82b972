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
catalogue in use is the shipped one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import yaml

from motcua.definitions.catalogue import load_procedures
from motcua.workflow.errors import InvalidDefinition, InvalidInput

__all__ = ["CURRENT_FILE", "MANIFEST_FILE", "CatalogueStore", "Manifest", "dump_document", "file_names"]

CURRENT_FILE: Final = "CURRENT"
MANIFEST_FILE: Final = "manifest.json"
_REVISIONS: Final = "revisions"
_STAGING: Final = ".staging-"


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
    for a field held in several documents."""
    names: list[str] = []
    for document in documents:
        header = document.get("field")
        stem = str(header.get("code") if isinstance(header, dict) else "field").lower()
        names.append(f"{stem}.yaml" if f"{stem}.yaml" not in names else
                     next(f"{stem}-{n}.yaml" for n in range(2, len(names) + 3) if f"{stem}-{n}.yaml" not in names))
    return names


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
        try:
            text = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not text.isdigit() or not self.directory(int(text)).is_dir():
            raise InvalidDefinition(str(self.root / CURRENT_FILE), [f"names no revision of {self.revisions_dir}"])
        return int(text)

    def current(self) -> Path | None:
        """The directory of the revision in use, or ``None``."""
        revision = self.current_revision()
        return None if revision is None else self.directory(revision)

    def directory(self, revision: int) -> Path:
        return self.revisions_dir / f"{revision:06d}"

    def revisions(self) -> list[int]:
        if not self.revisions_dir.is_dir():
            return []
        return sorted(int(path.name) for path in self.revisions_dir.iterdir() if path.name.isdigit())

    def manifest(self, revision: int) -> Manifest:
        path = self.directory(revision) / MANIFEST_FILE
        try:
            return Manifest(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as error:
            raise InvalidDefinition(str(path), [f"cannot read the manifest: {error}"]) from None

    def write(self, documents: Sequence[dict[str, object]], *, source: str, sha256: str, at: datetime,
              expected: int | None) -> Manifest:
        """Write ``documents`` as a new revision and make it current, or nothing at all.

        ``expected`` is the revision the documents were compared with: if another one became current since, the
        write is refused (the difference shown would no longer be the one applied)."""
        previous = self.current_revision()
        if previous != expected:
            raise InvalidInput("catalogue", f"revision {previous} became current after the difference was computed "
                                            f"against {expected}: run the import again")
        self.revisions_dir.mkdir(parents=True, exist_ok=True)
        number = max(self.revisions(), default=0) + 1
        count = sum(len(entries) for document in documents if isinstance(entries := document.get("procedures"), list))
        manifest = Manifest(number, at.isoformat(), source, sha256, previous, count)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=self.revisions_dir))
        final = self.directory(number)
        try:
            for name, document in zip(file_names(documents), documents, strict=True):
                _write(staging / name, dump_document(document))
            _write(staging / MANIFEST_FILE, json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n")
            load_procedures(staging, legacy_fees=False)  # the loader's last word on exactly what is written
            staging.rename(final)  # refused if a concurrent import took the number
            _sync_directory(self.revisions_dir)
            self._point(number)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if final.exists() and self.current_revision() != number:
                shutil.rmtree(final, ignore_errors=True)
            raise
        return manifest

    def rollback(self, to: int | None = None) -> Manifest:
        """Make revision ``to`` (by default the one the current revision replaced) current again."""
        current = self.current_revision()
        if current is None:
            raise InvalidInput("revision", "no revision was written yet: the shipped catalogue is in use")
        target = self.manifest(current).previous if to is None else to
        if target is None:
            raise InvalidInput("revision", f"revision {current} replaced the shipped catalogue: give --to N")
        if target not in self.revisions():
            raise InvalidInput("revision", f"no revision {target} in {self.revisions_dir}")
        load_procedures(self.directory(target), legacy_fees=False)  # one that no longer loads is not made current
        self._point(target)
        return self.manifest(target)

    def _point(self, revision: int) -> None:
        pending = self.root / f"{CURRENT_FILE}.tmp"
        _write(pending, f"{revision}\n")
        os.replace(pending, self.root / CURRENT_FILE)
        _sync_directory(self.root)


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
