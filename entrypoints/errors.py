"""The errors of the driving side that are not the core's: each a :class:`MotcuaError`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from motcua.workflow.errors import MotcuaError, RecordRefused

__all__ = ["BadFile", "FileRefused"]


class BadFile(MotcuaError):
    """The file cannot be read as a DVCQG sync file at all (missing, not JSON, wrong shape)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class FileRefused(MotcuaError):
    """Records of the file were refused; nothing of the file was written."""

    def __init__(self, path: Path, refused: Iterable[RecordRefused], count: int, records: int) -> None:
        self.path = path
        self.refused = tuple(refused)
        self.count = count
        self.records = records
        super().__init__(f"{path}: {count} of {records} records refused, nothing was written")
