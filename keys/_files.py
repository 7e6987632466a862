"""Small, careful file helpers: capped reads and atomic writes. The only file I/O in keys/."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import KeyStoreError, MalformedError

__all__ = ["fsync_dir", "open_atomic", "read_capped", "write_atomic"]


def fsync_dir(directory: Path) -> None:
    """Make a rename or link inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_capped(
    path: Path, *, max_size: int, what: str, private: bool = False
) -> tuple[bytes, os.stat_result]:
    """Read a regular file of at most ``max_size`` bytes; refuse symlinks when ``private``.

    For a private file (``private=True``) the mode is checked on the open descriptor: any
    permission bit for group or others is refused with a message that says how to fix it.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) if private else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        raise KeyStoreError(f"{what} {path} does not exist") from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise KeyStoreError(f"{what} {path} is a symbolic link; refusing to follow it") from e
        raise KeyStoreError(f"{what} {path} cannot be opened: {e.strerror}") from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise KeyStoreError(f"{what} {path} is not a regular file")
        if private and st.st_mode & 0o077:
            raise KeyStoreError(
                f"{what} {path} is readable or writable by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); refusing to use it. "
                f"Fix it with: chmod 600 {path}"
            )
        if st.st_size > max_size:
            raise MalformedError(f"{what} {path}: larger than {max_size} bytes")
        data = f.read(max_size + 1)
    if len(data) > max_size:
        raise MalformedError(f"{what} {path}: larger than {max_size} bytes")
    return data, st


def write_atomic(path: Path, data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    A temporary file is created with O_EXCL and ``mode`` in the same directory, written and
    fsynced, then renamed over ``path`` (``overwrite=True``) or hard-linked to it, which fails
    if ``path`` exists (``overwrite=False``: never clobbers, with no check-then-act race).
    Finally the directory is fsynced. On any failure the temporary file is removed.
    """
    with open_atomic(path, mode=mode, overwrite=overwrite) as f:
        f.write(data)


@contextlib.contextmanager
def open_atomic(path: Path, *, mode: int, overwrite: bool) -> Iterator[BinaryIO]:
    """``write_atomic`` for output written in pieces: yields the temporary file to write to.

    When the block ends normally the file is fsynced and given the name ``path`` exactly as
    ``write_atomic`` does; when it raises, the temporary file is removed and ``path`` is
    untouched.
    """
    directory = path.parent
    tmp: Path | None = None
    for attempt in range(100):
        candidate = directory / f".{path.name}.{os.getpid()}.{attempt}.tmp"
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        tmp = candidate
        break
    else:
        raise KeyStoreError(f"cannot create a temporary file beside {path}")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # the umask may have narrowed it; never widened it
            yield f
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            if _link_no_clobber(tmp, path):
                os.unlink(tmp)
        tmp = None
        fsync_dir(directory)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _link_no_clobber(tmp: Path, path: Path) -> bool:
    """Give ``tmp`` the name ``path`` unless it exists. True when ``tmp`` is still to unlink."""
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        raise KeyStoreError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
            raise
        # A file system without hard links: fall back to check-then-rename.
        if path.exists():
            raise KeyStoreError(f"{path} already exists; refusing to overwrite it") from None
        os.replace(tmp, path)
        return False
