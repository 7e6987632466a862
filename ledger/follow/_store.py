"""The follower's state directory: one SQLite file (``follow.db``) holding the pinned log key,
the tree it verified (size, root, right edge, last leaf hash), every checkpoint it verified
with the revoked set its replay gave at that size, and the derived state of the records it
replayed in ``ledger.state``'s tables; beside it, ``evidence/`` with one JSON file per
misbehaviour found. A run changes the file in one write transaction: a crash mid-run leaves
the state of the run before."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import write_atomic
from keys.errors import MalformedError

from ..entries import ZERO_HASH
from ..state import create_state_tables, ensure_revtree, has_state_tables
from ..store import begin_write, connect, durable
from ..tlog import EMPTY_ROOT, HASH_SIZE, Frontier

__all__ = ["FOLLOW_FORMAT", "STATE_FILE", "FollowStore", "Verified"]

FOLLOW_FORMAT = "lic-follow-sqlite/v1"
STATE_FILE = "follow.db"
EVIDENCE_DIR = "evidence"

_DDL = (
    "CREATE TABLE fl_meta (id INTEGER PRIMARY KEY CHECK (id = 0), format TEXT NOT NULL, "
    "url TEXT NOT NULL, origin TEXT NOT NULL, log_vkey TEXT NOT NULL, size INTEGER NOT NULL, "
    "root BLOB NOT NULL, prev BLOB NOT NULL, edge BLOB NOT NULL, note BLOB)",
    "CREATE TABLE fl_checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, "
    "revset_size INTEGER NOT NULL, revset_root BLOB NOT NULL, note BLOB NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class Verified:
    """A checkpoint the follower verified: its size and root, the revoked set its replay gave
    at that size, and the note as the log served it."""

    size: int
    root: bytes
    revset_size: int
    revset_root: bytes
    note: bytes


class FollowStore:
    """The state file of a follower, open in one write transaction (``commit`` or
    ``rollback`` ends it; nothing is visible to another run before ``commit``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / STATE_FILE
        self.conn: sqlite3.Connection = connect(self.path)
        try:
            durable(self.conn, self.path, "follow state")
            begin_write(self.conn)
        except BaseException:
            self.conn.close()
            raise
        self.meta = self._meta()

    def _meta(self) -> dict[str, Any] | None:
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fl_meta'"
        ).fetchone()
        if found is None:
            if has_state_tables(self.conn, "main"):
                raise MalformedError(f"follow: {self.path} is not a follower's state")
            return None
        row = self.conn.execute(
            "SELECT format, url, origin, log_vkey, size, root, prev, edge, note FROM fl_meta"
        ).fetchone()
        if row is None or row[0] != FOLLOW_FORMAT:
            raise MalformedError(f"follow: {self.path} is not a follower's state")
        ensure_revtree(self.conn)  # a state made before the lic-revoked/v2 tree gains it
        keys = ("format", "url", "origin", "log_vkey", "size", "root", "prev", "edge", "note")
        return dict(zip(keys, row, strict=True))

    def initialize(self, url: str, origin: str, log_vkey: str) -> None:
        """Make the tables of a first run (in this run's transaction), pinning ``log_vkey``."""
        create_state_tables(self.conn)
        for ddl in _DDL:
            self.conn.execute(ddl)
        self.conn.execute(
            "INSERT INTO fl_meta VALUES (0, ?, ?, ?, ?, 0, ?, ?, ?, NULL)",
            (FOLLOW_FORMAT, url, origin, log_vkey, EMPTY_ROOT, ZERO_HASH, b""),
        )
        self.meta = self._meta()

    @property
    def size(self) -> int:
        """The size of the tree verified so far (0 before the first run)."""
        return int(self.meta["size"]) if self.meta else 0

    @property
    def root(self) -> bytes:
        """The root of the tree verified so far."""
        return bytes(self.meta["root"]) if self.meta else EMPTY_ROOT

    @property
    def prev(self) -> bytes:
        """The leaf hash of the last record replayed (32 zero bytes before the first)."""
        return bytes(self.meta["prev"]) if self.meta else ZERO_HASH

    def frontier(self) -> Frontier:
        """The right edge of the verified tree."""
        edge = bytes(self.meta["edge"]) if self.meta else b""
        hashes = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)]
        return Frontier(self.size, hashes)

    def verified(self, size: int) -> Verified | None:
        """The checkpoint of ``size`` the follower verified, if it did."""
        if self.meta is None:
            return None
        row = self.conn.execute(
            "SELECT size, root, revset_size, revset_root, note FROM fl_checkpoints WHERE size = ?",
            (size,),
        ).fetchone()
        if row is None:
            return None
        return Verified(int(row[0]), bytes(row[1]), int(row[2]), bytes(row[3]), bytes(row[4]))

    def latest(self) -> Verified | None:
        """The newest checkpoint the follower verified."""
        return self.verified(self.size) if self.meta and self.meta["note"] else None

    def advance(self, frontier: Frontier, prev: bytes, checkpoint: Verified) -> None:
        """Record the tree verified up to ``checkpoint`` (in this run's transaction)."""
        self.conn.execute(
            "UPDATE fl_meta SET size = ?, root = ?, prev = ?, edge = ?, note = ? WHERE id = 0",
            (frontier.size, frontier.root(), prev, b"".join(frontier.edge()), checkpoint.note),
        )
        self.conn.execute(
            "INSERT OR REPLACE INTO fl_checkpoints VALUES (?, ?, ?, ?, ?)",
            (
                checkpoint.size,
                checkpoint.root,
                checkpoint.revset_size,
                checkpoint.revset_root,
                checkpoint.note,
            ),
        )
        self.meta = self._meta()

    def commit(self) -> None:
        """Make this run's changes durable and visible, and close the file."""
        try:
            self.conn.execute("COMMIT")
        finally:
            self.conn.close()

    def rollback(self) -> None:
        """Drop this run's changes and close the file."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self.conn.close()

    def write_evidence(self, name: str, evidence: dict[str, Any]) -> Path:
        """Write ``evidence/<name>.json`` atomically (kept when it exists: the first one found
        stays) and return its path."""
        folder = self.dir / EVIDENCE_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.json"
        data = (json.dumps(evidence, indent=2, sort_keys=True) + "\n").encode("utf-8")
        if not path.exists():
            write_atomic(path, data, mode=0o644, overwrite=True)
        return path
