"""The OMS manifest of a model directory: walk it, hash every file, order, and take the root.

The walk refuses what OMS refuses by default (symbolic links, files that are not regular)
and names that are not UTF-8; files are read in large blocks from one descriptor each, and
several files are hashed at once on a thread pool (hashlib releases the GIL while it hashes a
large block), so the result never depends on the number of workers.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from keys.errors import MalformedError

METHOD = "files"
HASH_TYPE = "sha256"
ORDERING = "path-components"
DEFAULT_IGNORE_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
BLOCK_SIZE = 4 * 1024 * 1024
_MAX_WORKERS = 8
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO put in a file's place must not block the open
    | getattr(os, "O_CLOEXEC", 0)
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Resource:
    """One file of a manifest: its name relative to the model directory (POSIX separators),
    the hash algorithm (always ``sha256``) and the file's digest in lowercase hex."""

    name: str
    algorithm: str
    digest: str

    def to_json(self) -> dict[str, str]:
        """The OMS resource descriptor: ``{"name", "algorithm", "digest"}``."""
        return {"name": self.name, "algorithm": self.algorithm, "digest": self.digest}


@dataclass(frozen=True)
class Serialization:
    """What fixes a root besides the files: OMS's serialization parameters (method ``files``,
    hash ``sha256``, symlinks refused, the ignored paths) and the resource ordering."""

    ignore_paths: tuple[str, ...] = DEFAULT_IGNORE_PATHS
    method: str = METHOD
    hash_type: str = HASH_TYPE
    allow_symlinks: bool = False
    ordering: str = ORDERING

    def to_json(self) -> dict[str, Any]:
        """The OMS ``serialization`` object, plus our ``ordering`` member."""
        return {
            "method": self.method,
            "hash_type": self.hash_type,
            "allow_symlinks": self.allow_symlinks,
            "ignore_paths": list(self.ignore_paths),
            "ordering": self.ordering,
        }


@dataclass(frozen=True)
class ModelManifest:
    """The OMS manifest of a directory: its ``name`` (the directory's last component, the
    in-toto subject name), the ``resources`` in the package's order, the ``root`` (hex SHA-256
    over the raw file digests in that order), the ``serialization`` that fixes it, the root
    the plain string ordering of names would give (``string_order_root``), and the ignored
    paths that were present and left out (``ignored``)."""

    name: str
    resources: tuple[Resource, ...]
    root: str
    serialization: Serialization
    string_order_root: str
    ignored: tuple[str, ...]

    @property
    def digest(self) -> str:
        """The root as ``sha256:<hex>``, as ``lic model digest`` prints it."""
        return f"sha256:{self.root}"

    @property
    def orderings_differ(self) -> bool:
        """Whether ordering names as plain strings (not by path components) would give a
        different root. The root stays the package's (``ordering`` ``path-components``)."""
        return self.string_order_root != self.root

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON: subject name, root, serialization, resources, and the
        ordering conflict (``orderings_differ``, ``string_order_root``)."""
        return {
            "name": self.name,
            "root": self.root,
            "digest": self.digest,
            "serialization": self.serialization.to_json(),
            "resources": [r.to_json() for r in self.resources],
            "orderings_differ": self.orderings_differ,
            "string_order_root": self.string_order_root,
            "ignored": list(self.ignored),
        }


def path_order_key(name: str) -> tuple[str, ...]:
    """The package's order: by path components, so ``a/b`` sorts before ``a-b``."""
    return tuple(name.split("/"))


def order_resources(resources: Iterable[Resource]) -> tuple[Resource, ...]:
    """``resources`` in the package's order (path components, then code points)."""
    return tuple(sorted(resources, key=lambda r: path_order_key(r.name)))


def root_of(resources: Iterable[Resource]) -> str:
    """The OMS root, in hex: SHA-256 over the concatenated raw digests, in the order given.
    Names do not enter it; a digest that is not 64 lowercase hex digits is malformed."""
    h = hashlib.sha256()
    for r in resources:
        if r.algorithm != HASH_TYPE or not _HEX64.fullmatch(r.digest):
            raise MalformedError(f"{r.name}: not a sha256 resource digest")
        h.update(bytes.fromhex(r.digest))
    return h.hexdigest()


def check_name(name: str) -> str:
    """A resource name as OMS writes it: relative, '/'-separated, no empty, '.' or '..'
    component; raises MalformedError otherwise."""
    if not isinstance(name, str) or not name:
        raise MalformedError("a resource name must be a non-empty string")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\x00" in name:
        raise MalformedError(f"{name!r}: not a relative POSIX file name")
    return name


def normalize_ignore_paths(extra: Iterable[str]) -> tuple[str, ...]:
    """The default ignored paths and ``extra`` (relative to the directory), normalized and
    sorted. An absolute path or one that leaves the directory is malformed."""
    out = set(DEFAULT_IGNORE_PATHS)
    for p in extra:
        pure = PurePosixPath(p)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise MalformedError(f"{p!r}: an ignored path must stay inside the directory")
        out.add(str(pure))
    return tuple(sorted(out))


def is_ignored(name: str, ignore_paths: Sequence[str]) -> bool:
    """Whether ``name`` is an ignored path or lies under one."""
    return any(name == p or name.startswith(p + "/") for p in ignore_paths)


@dataclass(frozen=True)
class Listing:
    """A walked directory: the files to hash (name, path) and the ignored files present."""

    name: str
    files: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]


def model_dir(directory: str | os.PathLike[str]) -> Path:
    """``directory`` checked: it exists, is a directory, and is not a symbolic link."""
    path = Path(directory)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise MalformedError(f"{path}: no such directory") from None
    except OSError as e:
        raise MalformedError(f"{path}: {e.strerror}") from e
    if stat.S_ISLNK(st.st_mode):
        raise MalformedError(f"{path}: is a symbolic link (OMS refuses symlinks)")
    if not stat.S_ISDIR(st.st_mode):
        raise MalformedError(f"{path}: not a directory")
    return path


def walk(directory: str | os.PathLike[str], ignore_paths: Sequence[str]) -> Listing:
    """Every regular file under ``directory``, ignored paths apart. A symbolic link or a
    special file anywhere (inside ignored paths too, as model-signing does) is refused, and
    so is a name that is not valid UTF-8."""
    root = model_dir(directory)
    files: list[tuple[str, str]] = []
    ignored: list[str] = []
    stack: list[tuple[str, str]] = [("", str(root))]
    while stack:
        prefix, where = stack.pop()
        try:
            entries = list(os.scandir(where))
        except OSError as e:
            raise MalformedError(f"{where}: {e.strerror}") from e
        for entry in entries:
            name = prefix + _utf8_name(entry.name, where)
            if entry.is_symlink():
                raise MalformedError(f"{name}: is a symbolic link (OMS refuses symlinks)")
            if entry.is_dir(follow_symlinks=False):
                stack.append((name + "/", entry.path))
            elif not entry.is_file(follow_symlinks=False):
                raise MalformedError(f"{name}: not a regular file or directory")
            elif is_ignored(name, ignore_paths):
                ignored.append(name)
            else:
                files.append((name, entry.path))
    resolved = root.name if root.name not in ("", "..") else root.resolve().name
    return Listing(resolved, tuple(files), tuple(sorted(ignored, key=path_order_key)))


def _utf8_name(name: str, where: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError(f"{where}: a file name is not valid UTF-8: {name!r}") from None
    return name


_buffers = threading.local()


def hash_fd(fd: int) -> str:
    """The hex SHA-256 of what ``fd`` reads from its current offset to the end, in blocks of
    ``BLOCK_SIZE`` read into one buffer per thread."""
    buf: bytearray | None = getattr(_buffers, "buf", None)
    if buf is None:
        buf = _buffers.buf = bytearray(BLOCK_SIZE)
    view = memoryview(buf)
    h = hashlib.sha256()
    while n := os.readv(fd, [view]):
        h.update(view[:n])
    return h.hexdigest()


def open_regular(name: str, path: str) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only without following a symbolic link; refuse anything but a
    regular file. Returns the descriptor and its ``fstat``."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        if os.path.islink(path):
            raise MalformedError(f"{name}: is a symbolic link (OMS refuses symlinks)") from e
        raise MalformedError(f"{name}: {e.strerror}") from e
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise MalformedError(f"{name}: not a regular file")
    return fd, st


def digest_file(name: str, path: str) -> Resource:
    """Open, hash and close one file."""
    fd, _ = open_regular(name, path)
    try:
        return Resource(name, HASH_TYPE, hash_fd(fd))
    except OSError as e:
        raise MalformedError(f"{name}: {e.strerror}") from e
    finally:
        os.close(fd)


def parallel(
    fn: Callable[[str, str], _T], files: Sequence[tuple[str, str]], workers: int | None
) -> list[_T]:
    """``fn(name, path)`` for every file, largest files first on up to ``workers`` threads
    (default: the cores, at most 8); results in the order of ``files``."""
    count = workers if workers is not None else min(os.cpu_count() or 1, _MAX_WORKERS)
    if count < 1:
        raise MalformedError("workers must be at least 1")
    if count == 1 or len(files) < 2:
        return [fn(n, p) for n, p in files]
    sizes = [_size(p) for _, p in files]
    order = sorted(range(len(files)), key=lambda i: -sizes[i])
    with ThreadPoolExecutor(max_workers=min(count, len(files))) as pool:
        futures = {i: pool.submit(fn, *files[i]) for i in order}
        return [futures[i].result() for i in range(len(files))]


def _size(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def manifest_of(
    directory: str | os.PathLike[str],
    *,
    ignore_paths: Iterable[str] = (),
    workers: int | None = None,
) -> ModelManifest:
    """The OMS manifest of ``directory`` as model-signing 1.1 computes it by default (method
    ``files``, ``sha256``, the top-level git paths ignored, symlinks refused), with
    ``ignore_paths`` (relative paths) ignored as well. Raises MalformedError for a missing
    directory, a symbolic link, a special file or a name that is not UTF-8. ``workers`` is
    how many files are hashed at once; the result does not depend on it."""
    serialization = Serialization(ignore_paths=normalize_ignore_paths(ignore_paths))
    listing = walk(directory, serialization.ignore_paths)
    resources = order_resources(parallel(digest_file, listing.files, workers))
    by_string = sorted(resources, key=lambda r: r.name)
    return ModelManifest(
        name=listing.name,
        resources=resources,
        root=root_of(resources),
        serialization=serialization,
        string_order_root=root_of(by_string),
        ignored=listing.ignored,
    )
