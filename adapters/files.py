"""Every file a command writes (an ``--out``: reports, exports, sheets, the demo's workbooks and charts) is written
whole or not at all: into a temporary file beside it, then moved into place with :func:`os.replace` (atomic on one
file system). A failure half-way removes the temporary and leaves the file that was there before as it was. A
symbolic link is written through, as the shell's ``>`` would: its target is replaced, the link stays."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replacing", "write_text"]


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path in the directory of ``path`` (of the file it links to, for a symbolic link) to write to;
    moved onto that file when the block ends, removed if it raises. A directory at ``path`` is refused before
    anything is written."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    final = Path(os.path.realpath(path))  # the link's target: replacing the link itself would cut it
    temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        _flushed(temporary)  # on the disk before it takes the old file's name: a crash leaves one or the other
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _flushed(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """``path.write_text(text)``, whole or not at all."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding=encoding)
