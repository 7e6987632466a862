"""The witness's durable state: one SQLite file (the edge around ``_protocol``'s decision).

- ``logs``: for each known origin, the log's verifier key and the latest cosigned checkpoint
  (size, root, note). It only moves forward, by the decision in ``_protocol``.
- ``cosigned``: every checkpoint note the witness cosigned, with the cosignature and its time
  (append-only), so that a split view can be shown to anyone with two signed notes.
- ``evidence``: requests that prove or suggest log misbehaviour (a same-size different-root
  checkpoint, a consistency proof that fails), with the stored note they contradict.

Storage is bounded against anonymous requests: a note is stored with the log's signature
only (lines by other keys are dropped), a resubmission of the stored tree is cosigned afresh
but not stored again, and evidence is kept once per (kind, note) and at most
``MAX_EVIDENCE_PER_LOG`` rows per log.

``add_checkpoint`` reads the state, decides, signs and stores in one ``BEGIN IMMEDIATE``
transaction: two submitters (threads or processes) can never both be cosigned from the same
old size, and a cosignature is durable (``synchronous=FULL``) before it is returned.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keys import SigningKey, check_note_key_name
from keys.errors import KeyStoreError, MalformedError

from ..store import begin_write, connect, durable
from ..tlog import (
    CosignatureV1Signer,
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    NoteSignature,
    parse_note,
)
from ._protocol import AddCheckpointOutcome, AddCheckpointRequest, StoredHead, decide_add_checkpoint

__all__ = ["MAX_EVIDENCE_PER_LOG", "WITNESS_FORMAT", "CosignedRecord", "EvidenceRecord", "Witness"]

WITNESS_FORMAT = "lic-witness-sqlite/v1"
MAX_EVIDENCE_PER_LOG = 64  # evidence rows kept per log: the first ones prove the point
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE logs (origin TEXT PRIMARY KEY, vkey TEXT NOT NULL, size INTEGER NOT NULL,
                   root BLOB, note BLOB);
CREATE TABLE cosigned (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL,
                       size INTEGER NOT NULL, root BLOB NOT NULL, time INTEGER NOT NULL,
                       note BLOB NOT NULL, cosignature TEXT NOT NULL);
CREATE TABLE evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL,
                       kind TEXT NOT NULL, time INTEGER NOT NULL, old_size INTEGER NOT NULL,
                       proof TEXT NOT NULL, stored_note BLOB, note BLOB NOT NULL);
CREATE TRIGGER cosigned_append_only_u BEFORE UPDATE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are append-only'); END;
CREATE TRIGGER cosigned_append_only_d BEFORE DELETE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are append-only'); END;
CREATE TRIGGER evidence_append_only_u BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
CREATE TRIGGER evidence_append_only_d BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
CREATE TRIGGER logs_forward_only BEFORE UPDATE ON logs
WHEN NEW.size < OLD.size BEGIN SELECT RAISE(ABORT, 'a witness never goes back'); END
"""


@dataclass(frozen=True, slots=True)
class CosignedRecord:
    """A checkpoint the witness cosigned: origin, size, root, the cosignature's time, the note
    and the cosignature line."""

    origin: str
    size: int
    root: bytes
    time: int
    note: bytes
    cosignature: str


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """A request the witness refused as evidence against the log: a split view or a failed
    consistency proof, with the stored note it contradicts."""

    origin: str
    kind: str  # "split-view" or "bad-consistency-proof"
    time: int
    old_size: int
    proof: tuple[bytes, ...]
    stored_note: bytes | None
    note: bytes


def _connect(path: Path) -> sqlite3.Connection:
    conn = connect(path, busy_timeout_ms=BUSY_TIMEOUT_MS)
    try:
        durable(conn, path, "witness")
    except BaseException:
        conn.close()
        raise
    return conn


class Witness:
    """An open witness state file. ``signing_key`` is needed only to cosign."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, signing_key: SigningKey | None = None
    ) -> None:
        self._conn = conn
        self.path = path
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != WITNESS_FORMAT or "vkey" not in meta:
            raise MalformedError(f"witness: {path} is not a {WITNESS_FORMAT} file")
        self.verifier = CosignatureV1Verifier.from_vkey(meta["vkey"])
        self.name: str = self.verifier.name
        self.key_name: str | None = meta.get("key_name")
        self._key: SigningKey | None = None
        if signing_key is not None:
            self.use_key(signing_key)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        name: str,
        key: SigningKey,
        log_vkeys: Sequence[str],
        *,
        key_name: str | None = None,
    ) -> Witness:
        """Create a witness state file for witness ``name`` (its cosigner key name) that
        cosigns the logs whose Ed25519 note verifier keys are ``log_vkeys``."""
        check_note_key_name(name)
        if not log_vkeys:
            raise MalformedError("witness: at least one log")
        logs = [Ed25519NoteVerifier.from_vkey(v) for v in log_vkeys]
        if len({v.name for v in logs}) != len(logs):
            raise MalformedError("witness: one key per log origin")
        p = Path(path)
        if p.exists():
            raise MalformedError(f"witness: {p} already exists")
        vkey = CosignatureV1Verifier(name, key.public_key).vkey
        conn = _connect(p)
        try:
            begin_write(conn)
            for stmt in _SCHEMA.split(";\n"):
                conn.execute(stmt)
            meta = [("format", WITNESS_FORMAT), ("vkey", vkey)]
            if key_name:
                meta.append(("key_name", key_name))
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta)
            conn.executemany(
                "INSERT INTO logs (origin, vkey, size) VALUES (?, ?, 0)",
                [(v.name, v.vkey) for v in logs],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
            raise
        return cls(conn, p, key)

    @classmethod
    def open(cls, path: str | os.PathLike[str], signing_key: SigningKey | None = None) -> Witness:
        """Open an existing witness state file; ``signing_key`` is needed only to cosign."""
        p = Path(path)
        if not p.is_file():
            raise MalformedError(f"witness: no witness state at {p} (run 'lic witness init')")
        try:
            conn = _connect(p)
            return cls(conn, p, signing_key)
        except sqlite3.DatabaseError as e:
            raise MalformedError(f"witness: {p} is not a witness state file: {e}") from e

    def close(self) -> None:
        """Close the state file."""
        self._conn.close()

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def use_key(self, key: SigningKey) -> None:
        """Cosign with ``key``; refuse a key that is not the witness's."""
        if key.public_key != self.verifier.public_key:
            raise KeyStoreError("witness: this is not the witness's key")
        self._key = key

    @property
    def vkey(self) -> str:
        """The witness's cosignature verifier key."""
        return self.verifier.vkey

    # -- reads ---------------------------------------------------------------------------
    def logs(self) -> dict[str, str]:
        """origin -> log verifier key."""
        return dict(self._conn.execute("SELECT origin, vkey FROM logs ORDER BY origin"))

    def head(self, origin: str) -> StoredHead | None:
        """The latest checkpoint cosigned for ``origin``, or None for a log it does not know."""
        row = self._conn.execute(
            "SELECT size, root, note FROM logs WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        size, root, note = row
        return StoredHead(int(size), None if root is None else bytes(root), _b(note))

    def cosigned(self, origin: str | None = None) -> list[CosignedRecord]:
        """Every checkpoint cosigned (for ``origin``, when given), oldest first."""
        q = "SELECT origin, size, root, time, note, cosignature FROM cosigned"
        args: tuple[str, ...] = ()
        if origin is not None:
            q += " WHERE origin = ?"
            args = (origin,)
        rows = self._conn.execute(q + " ORDER BY id", args).fetchall()
        return [
            CosignedRecord(o, int(s), bytes(r), int(t), bytes(n), c) for o, s, r, t, n, c in rows
        ]

    def evidence(self) -> list[EvidenceRecord]:
        """Every recorded split view and failed consistency proof, oldest first."""
        rows = self._conn.execute(
            "SELECT origin, kind, time, old_size, proof, stored_note, note FROM evidence "
            "ORDER BY id"
        ).fetchall()
        out = []
        for o, k, t, old, proof, stored, note in rows:
            hashes = tuple(bytes.fromhex(h) for h in proof.split()) if proof else ()
            out.append(EvidenceRecord(o, k, int(t), int(old), hashes, _b(stored), bytes(note)))
        return out

    # -- the protocol ----------------------------------------------------------------------
    def add_checkpoint(
        self, old_size: int, proof: Sequence[bytes], note: bytes, now: int
    ) -> AddCheckpointOutcome:
        """C2SP tlog-witness add-checkpoint: check and store atomically; on 200 the outcome's
        ``cosignatures`` hold the cosignature line. ``now`` is the cosignature timestamp."""
        if self._key is None:
            raise KeyStoreError("witness: no signing key loaded")
        req = AddCheckpointRequest(old_size, tuple(proof), bytes(note))
        conn = self._conn
        begin_write(conn)
        try:
            origin = _origin_of(req.note)
            row = conn.execute(
                "SELECT vkey, size, root, note FROM logs WHERE origin = ?", (origin,)
            ).fetchone()
            log = stored = None
            if row is not None:
                log = Ed25519NoteVerifier.from_vkey(row[0])
                stored = StoredHead(int(row[1]), _b(row[2]), _b(row[3]))
            outcome = decide_add_checkpoint(stored, log, req)
            cp = outcome.checkpoint
            if outcome.accepted:
                assert cp is not None and log is not None
                signer = CosignatureV1Signer(self.name, self._key, now)
                text = parse_note(req.note).text.encode("utf-8")  # as signed, not re-serialized
                line = NoteSignature(self.name, signer.key_hash, signer.sign(text)).line()
                note = _log_signed_only(req.note, log)
                if not _same_tree(stored, note):  # a resubmission is cosigned, not stored again
                    self._store_cosigned(origin, req.old_size, cp.size, cp.root, now, note, line)
                outcome = dataclasses.replace(outcome, cosignatures=(line,))
            elif cp is not None and (
                outcome.split_view or (outcome.status == 422 and 0 < req.old_size < cp.size)
            ):  # a signed checkpoint that contradicts the stored one (or its proof fails)
                assert log is not None
                kind = "split-view" if outcome.split_view else "bad-consistency-proof"
                self._store_evidence(
                    origin, kind, now, req, stored, _log_signed_only(req.note, log)
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcome

    def _store_cosigned(
        self, origin: str, old_size: int, size: int, root: bytes, now: int, note: bytes, line: str
    ) -> None:
        cur = self._conn.execute(
            "UPDATE logs SET size = ?, root = ?, note = ? WHERE origin = ? AND size = ?",
            (size, root, note, origin, old_size),
        )
        if cur.rowcount != 1:  # cannot happen under the write lock; refuse anyway
            raise sqlite3.OperationalError("witness: state changed under the lock")
        self._conn.execute(
            "INSERT INTO cosigned (origin, size, root, time, note, cosignature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (origin, size, root, now, note, line),
        )

    def _store_evidence(
        self,
        origin: str,
        kind: str,
        now: int,
        req: AddCheckpointRequest,
        stored: StoredHead | None,
        note: bytes,
    ) -> None:
        """Keep the evidence once per (kind, note), and at most MAX_EVIDENCE_PER_LOG per log."""
        seen, count = self._conn.execute(
            "SELECT COALESCE(SUM(kind = ? AND note = ?), 0), COUNT(*) FROM evidence "
            "WHERE origin = ?",
            (kind, note, origin),
        ).fetchone()
        if seen or count >= MAX_EVIDENCE_PER_LOG:
            return
        self._conn.execute(
            "INSERT INTO evidence (origin, kind, time, old_size, proof, stored_note, "
            "note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                origin,
                kind,
                now,
                req.old_size,
                " ".join(h.hex() for h in req.proof),
                stored.note if stored else None,
                note,
            ),
        )


def _log_signed_only(note: bytes, log: Ed25519NoteVerifier) -> bytes:
    """The note with only the log's signature line(s): lines by other keys (anyone may add
    them) are not the witness's to keep. The text stays byte for byte as signed."""
    parsed = parse_note(note)
    mine = [s for s in parsed.signatures if (s.name, s.key_hash) == (log.name, log.key_hash)]
    return parsed.text.encode("utf-8") + b"\n" + "".join(s.line() for s in mine).encode("utf-8")


def _same_tree(stored: StoredHead | None, note: bytes) -> bool:
    """The stored checkpoint again (same text; the decision already checked size and root)."""
    return (
        stored is not None
        and stored.note is not None
        and parse_note(stored.note).text == parse_note(note).text
    )


def _b(v: object) -> bytes | None:
    return None if v is None else bytes(v)  # type: ignore[call-overload]


def _origin_of(note: bytes) -> str:
    """The origin line, only to find the log's row (the decision parses the note strictly)."""
    return note.split(b"\n", 1)[0].decode("utf-8", "replace")
