"""Every file a command writes (an ``--out``: reports, exports, sheets, the demo's workbooks and charts) is written
whole or not at all: into a temporary file beside it, then moved into place with :func:`os.replace` (atomic on one
file system). A failure half-way removes the temporary and leaves the file that was there before as it was. A
symbolic link is written through, as the shell's ``>`` would: its target is replaced, the link stays — but not a link
that Linux would not follow either (``protected_symlinks``: one left by someone else in a sticky folder writable by
all, as /tmp), and not onto a file that is not a regular one (a device, a pipe: replaced, /dev/null would become a
file)."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

__all__ = ["replacing", "write_text"]

_HOPS: Final = 40  # symbolic links followed in a row, as Linux's path walk (ELOOP past them)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path in the directory of ``path`` (of the file it links to, for a symbolic link) to write to;
    moved onto that file when the block ends, removed if it raises. A directory at ``path`` is refused before
    anything is written; an error of the system on the temporary (its folder missing, not writable, full) names
    ``path``, the file the caller asked for."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    final = _written(path)  # the link's target: replacing the link itself would cut it
    temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        _flushed(temporary)  # on the disk before it takes the old file's name: a crash leaves one or the other
        os.replace(temporary, final)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and str(error.filename) == str(temporary):  # named as the caller named it
            raise type(error)(error.errno, error.strerror, str(path)) from error
        raise


def _written(path: Path) -> Path:
    """The file a write to ``path`` lands in: ``path``, or, for a symbolic link, the file it leads to. The link is read
    here, not followed by the kernel, so Linux's rule for following one is applied here (:func:`_may_follow`); a file
    there that is not a regular one is refused, named."""
    at = path
    for _ in range(_HOPS):
        try:
            found = at.lstat()
        except FileNotFoundError:
            return at  # made by the write
        if stat.S_ISLNK(found.st_mode):
            _may_follow(at, found)
            at = at.parent / os.readlink(at)
            continue
        if not stat.S_ISREG(found.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, a pipe or a socket): it would be replaced",
                          str(path))
        return at
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def _may_follow(link: Path, found: os.stat_result) -> None:
    """PermissionError for a link Linux's ``fs.protected_symlinks`` does not follow: in a sticky folder writable by
    all, owned neither by the one following it nor by the folder's owner (a link planted in /tmp)."""
    folder = link.parent.stat()
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    if shared and found.st_uid not in (os.geteuid(), folder.st_uid):
        raise PermissionError(errno.EACCES, "a symbolic link another user left in a shared folder is not followed",
                              str(link))


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
