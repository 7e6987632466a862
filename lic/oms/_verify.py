"""Check a model directory against an expected manifest, and read what was checked.

Each expected file is opened once (no symlink followed), hashed from that descriptor and the
descriptor kept: what a host later reads through ``VerifiedModel`` is the file that was
hashed, and a file changed or replaced since is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from keys.errors import MalformedError, ProofMismatchError

from ._manifest import (
    HASH_TYPE,
    Resource,
    check_name,
    hash_fd,
    normalize_ignore_paths,
    open_regular,
    parallel,
    path_order_key,
    root_of,
    walk,
)

_MAX_RESOURCES = 1_000_000


class ModelMismatchError(ProofMismatchError):
    """A model directory does not match its expected manifest. ``changed``, ``missing`` and
    ``extra`` name the files (a renamed file is one missing and one extra name); ``ignored``
    names files under ignored paths that were present while not allowed."""

    def __init__(
        self,
        changed: Sequence[str] = (),
        missing: Sequence[str] = (),
        extra: Sequence[str] = (),
        ignored: Sequence[str] = (),
    ) -> None:
        self.changed = tuple(changed)
        self.missing = tuple(missing)
        self.extra = tuple(extra)
        self.ignored = tuple(ignored)
        parts = [
            f"{what}: {', '.join(names)}"
            for what, names in (
                ("changed", self.changed),
                ("missing", self.missing),
                ("extra", self.extra),
                ("ignored path present", self.ignored),
            )
            if names
        ]
        super().__init__("model directory does not match its manifest: " + "; ".join(parts))


def resources_from_json(items: Any) -> tuple[Resource, ...]:
    """Resource descriptors (``[{"name", "algorithm", "digest"}, ...]``, as in an OMS
    predicate or ``lic model digest --json``) as ``Resource`` values, in the order given.
    Unknown members, other algorithms, bad digests, bad or duplicate names are malformed."""
    if not isinstance(items, list) or len(items) > _MAX_RESOURCES:
        raise MalformedError("resources: expected a list of resource descriptors")
    out = []
    for item in items:
        if not isinstance(item, Mapping) or set(item) != {"name", "algorithm", "digest"}:
            raise MalformedError("resources: each item has exactly name, algorithm, digest")
        name, algorithm, digest = item["name"], item["algorithm"], item["digest"]
        if algorithm != HASH_TYPE or not isinstance(digest, str):
            raise MalformedError(f"{name!r}: not a sha256 resource")
        out.append(Resource(check_name(name), algorithm, digest))
    root_of(out)  # checks every digest's form
    _unique(out)
    return tuple(out)


def _unique(resources: Sequence[Resource]) -> None:
    seen: set[str] = set()
    for r in resources:
        if r.name in seen:
            raise MalformedError(f"{r.name}: listed twice")
        seen.add(r.name)


@dataclass(frozen=True)
class VerifiedFile:
    """One checked file: its name, its hex SHA-256 and its size in bytes."""

    name: str
    digest: str
    size: int


@dataclass(frozen=True)
class _Held:
    file: VerifiedFile
    fd: int
    path: str
    stat: os.stat_result


class _PositionalReader(io.RawIOBase):
    """Reads a kept descriptor with ``pread`` at its own position; never closes it."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd, self._size, self._pos = fd, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = os.preadv(self._fd, [view], self._pos)
        self._pos += n
        return n


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


class VerifiedModel:
    """The files of a model directory that matched its manifest, each held open on the
    descriptor it was hashed from. ``open`` and ``read_bytes`` read that descriptor, and
    refuse (ProofMismatchError) when the file's size, mtime, ctime or inode has changed since
    it was hashed, or another file now sits at its path. ``read_bytes`` also hashes the bytes
    it returns. Close it (or use it as a context manager) to release the descriptors."""

    def __init__(self, directory: Path, root: str, held: Sequence[_Held]) -> None:
        self.directory = directory
        self.root = root
        self._held = {h.file.name: h for h in held}
        self.files = tuple(h.file for h in held)

    @property
    def names(self) -> tuple[str, ...]:
        """The verified file names, in manifest order."""
        return tuple(f.name for f in self.files)

    def _check(self, name: str) -> _Held:
        held = self._held.get(name)
        if held is None:
            raise MalformedError(f"{name}: not a verified file of this model")
        if held.fd < 0:
            raise MalformedError("the verified model is closed")
        try:
            now = os.stat(held.path, follow_symlinks=False)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (held.stat.st_dev, held.stat.st_ino):
            raise ProofMismatchError(f"{name}: replaced or removed since it was verified")
        if not _same(os.fstat(held.fd), held.stat):
            raise ProofMismatchError(f"{name}: changed since it was verified")
        return held

    def open(self, name: str) -> BinaryIO:
        """A binary reader over the verified file ``name``: the very file that was hashed.
        Each reader has its own position; closing it keeps the model's descriptor."""
        held = self._check(name)
        reader = _PositionalReader(held.fd, held.file.size)
        return io.BufferedReader(reader, 1024 * 1024)

    def read_bytes(self, name: str) -> bytes:
        """The whole verified file ``name``, hashed again as read: what is returned is what
        matched the manifest, or ProofMismatchError."""
        held = self._check(name)
        data = os.pread(held.fd, held.file.size + 1, 0)
        if len(data) != held.file.size or hashlib.sha256(data).hexdigest() != held.file.digest:
            raise ProofMismatchError(f"{name}: changed since it was verified")
        return data

    def close(self) -> None:
        """Release every descriptor. Reading afterwards is refused."""
        for name, held in self._held.items():
            if held.fd >= 0:
                os.close(held.fd)
                self._held[name] = _Held(held.file, -1, held.path, held.stat)

    def __enter__(self) -> VerifiedModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if hasattr(self, "_held"):
            self.close()


def _hold(name: str, path: str) -> _Held:
    fd, before = open_regular(name, path)
    try:
        digest = hash_fd(fd)
        after = os.fstat(fd)
    except OSError as e:
        os.close(fd)
        raise MalformedError(f"{name}: {e.strerror}") from e
    if not _same(before, after):
        os.close(fd)
        raise ProofMismatchError(f"{name}: changed while it was hashed")
    return _Held(VerifiedFile(name, digest, after.st_size), fd, path, after)


def verify_directory(
    directory: str | os.PathLike[str],
    resources: Iterable[Resource],
    root: str,
    *,
    allow_extra: bool = False,
    allow_ignored: bool = False,
    ignore_paths: Iterable[str] = (),
    workers: int | None = None,
) -> VerifiedModel:
    """Check ``directory`` against an expected manifest (its ``resources`` and ``root``, as
    signed) and return its files held open, in manifest order.

    The expected resources must hash to ``root`` in the order given (else
    ProofMismatchError). Every listed file must be present with its digest; a file present
    but not listed (``extra``) or under an ignored path is refused unless ``allow_extra`` or
    ``allow_ignored``. Any difference raises ModelMismatchError naming every changed,
    missing, extra and ignored file. A symbolic link, a special file or a name that is not
    UTF-8 anywhere in the directory raises MalformedError, as ``manifest_of`` does."""
    expected = tuple(resources)
    _unique([Resource(check_name(r.name), r.algorithm, r.digest) for r in expected])
    if root_of(expected) != root:
        raise ProofMismatchError("the expected resources do not hash to the expected root")
    listing = walk(directory, normalize_ignore_paths(ignore_paths))
    present = dict(listing.files)
    ignored_present = dict(_ignored_paths(Path(directory), listing.ignored))
    want = {r.name: r for r in expected}
    missing = [n for n in want if n not in present and n not in ignored_present]
    extra = sorted((n for n in present if n not in want), key=path_order_key)
    ignored = [n for n in ignored_present if n not in want]
    found = {**ignored_present, **present}
    to_hash = [(r.name, found[r.name]) for r in expected if r.name in found]
    held = hold_all(to_hash, workers)
    changed = [h.file.name for h in held if h.file.digest != want[h.file.name].digest]
    refused_extra = [] if allow_extra else extra
    refused_ignored = [] if allow_ignored else ignored
    model = VerifiedModel(Path(directory), root, held)
    if changed or missing or refused_extra or refused_ignored:
        model.close()
        raise ModelMismatchError(changed, missing, refused_extra, refused_ignored)
    return model


def _ignored_paths(directory: Path, names: Sequence[str]) -> Iterable[tuple[str, str]]:
    for name in names:
        yield name, str(directory.joinpath(*name.split("/")))


def hold_all(files: Sequence[tuple[str, str]], workers: int | None) -> list[_Held]:
    """Open and hash every file; on any failure close what was opened and raise."""
    done: list[_Held] = []

    def hold(name: str, path: str) -> _Held:
        h = _hold(name, path)
        done.append(h)
        return h

    try:
        return parallel(hold, files, workers)
    except BaseException:
        for h in done:
            os.close(h.fd)
        raise
