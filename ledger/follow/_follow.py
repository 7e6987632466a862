"""Following a log (SPEC 16.7): verify its latest checkpoint under the pinned log key (and a
witness policy), check it extends the last one verified (a consistency proof computed from the
log's own hash tiles), fetch only the new entry bundles, check every record against its leaf
and the tree against the checkpoint's root, replay the records with the audit's checks into
the state kept in the directory, and check the checkpoint's ``lic-revoked/v1`` line against
the replayed set. A run either advances the state to the checkpoint in one transaction or
leaves it as it was; misbehaviour comes back as ``Evidence`` (and is written to the
directory)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keys.errors import LicError, MalformedError, ProofMismatchError, UntrustedKeyError

from ..audit import check_record
from ..bundle import TrustPolicy
from ..state import LedgerState
from ..tlog import (
    EMPTY_ROOT,
    MAX_INLINE_ENTRY,
    BlobRef,
    Checkpoint,
    Ed25519NoteVerifier,
    Frontier,
    RevsetCommitment,
    Tile,
    find_revset_commitment,
    leaf_hash,
    open_checkpoint,
    parse_checkpoint,
    parse_entry_bundle,
    parse_note,
    tiles_added,
    verify_consistency,
)
from ._http import MAX_BLOB, MAX_BUNDLE, MAX_CHECKPOINT, Fetch, HttpLog, UnreachableError
from ._store import FollowStore, Verified
from ._tiles import TileReader

__all__ = ["Evidence", "FollowResult", "follow_log"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What shows the log misbehaved: ``kind`` is ``fork`` (a checkpoint the last verified one
    does not extend: two signed notes), ``revoked-set`` (a ``lic-revoked/v1`` line that is not
    the set the records give), ``record`` (a record that fails the audit's checks, at
    ``index``) or ``entries`` (entries or tiles the log serves that do not make its signed
    tree)."""

    kind: str
    size: int
    message: str
    notes: tuple[bytes, ...] = ()
    index: int | None = None

    @property
    def name(self) -> str:
        """The evidence file's name (without ``.json``)."""
        return f"{self.kind}-{self.size}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the notes as their text."""
        return {
            "kind": self.kind,
            "size": self.size,
            "index": self.index,
            "message": self.message,
            "notes": [n.decode("utf-8", "replace") for n in self.notes],
        }


@dataclass
class FollowResult:
    """One run: what the log served, what was verified and fetched, and any evidence.
    ``status``: ``advanced`` (the state now covers the checkpoint), ``unchanged`` (a checkpoint
    verified before), ``older`` (a smaller checkpoint, consistent with the state), or
    ``misbehaving`` (``evidence`` says how; the state was not changed)."""

    url: str
    origin: str
    log_vkey: str
    first_use: bool
    old_size: int
    size: int
    root: bytes
    status: str = "unchanged"
    records: int = 0
    revoked: int | None = None
    fetched: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    evidence_files: list[str] = field(default_factory=list)
    note: bytes = b""

    @property
    def ok(self) -> bool:
        """Whether the log behaved (no evidence)."""
        return not self.evidence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (roots in hex)."""
        return {
            "url": self.url,
            "origin": self.origin,
            "log_key": self.log_vkey,
            "first_use": self.first_use,
            "status": self.status,
            "old_size": self.old_size,
            "size": self.size,
            "root": self.root.hex(),
            "records": self.records,
            "revoked": self.revoked,
            "fetched": list(self.fetched),
            "evidence": [e.to_dict() for e in self.evidence],
            "evidence_files": list(self.evidence_files),
        }


def _same_key(a: Ed25519NoteVerifier, b: Ed25519NoteVerifier) -> bool:
    return (a.name, a.public_key.raw) == (b.name, b.public_key.raw)


def _log_key(
    store: FollowStore,
    log_vkey: str | None,
    policy: TrustPolicy | None,
    note: bytes,
    now: int,
) -> Ed25519NoteVerifier:
    """The key the checkpoint must verify under: the one pinned in the directory; on a first
    run the one given (``log_vkey``, or the policy's key for the note's origin). A key given
    later must be the pinned one."""
    given = [Ed25519NoteVerifier.from_vkey(log_vkey)] if log_vkey is not None else []
    if policy is not None:
        origin = note.split(b"\n", 1)[0].decode("utf-8", "replace")
        given.append(policy.log_verifier(origin, now))
    if store.meta is not None:
        pinned = Ed25519NoteVerifier.from_vkey(str(store.meta["log_vkey"]))
        for g in given:
            if not _same_key(g, pinned):
                raise UntrustedKeyError(
                    f"follow: the log key {g.vkey} is not the one pinned in {store.path} "
                    f"({pinned.vkey})"
                )
        return pinned
    if not given:
        raise MalformedError(
            "follow: no log key: give --log-key VKEY (or --policy) on the first run; "
            "it is then pinned in the state directory"
        )
    if len(given) == 2 and not _same_key(given[0], given[1]):
        raise UntrustedKeyError("follow: --log-key is not the policy's log key for the origin")
    return given[0]


def _revset_problem(
    cp: Checkpoint, expected: Callable[[int], RevsetCommitment]
) -> tuple[str | None, RevsetCommitment | None]:
    """Why the checkpoint's revoked-set line is not ``expected(version)`` for its version
    (None if it is), and the line's commitment (None when it has no well-formed one)."""
    try:
        got = find_revset_commitment(cp.extensions)
    except LicError as e:
        return f"malformed lic-revoked line: {e}", None
    if got is None:
        return "no lic-revoked/v1 line nor v2 (the log states no revoked set)", None
    want = expected(got.version)
    if got.version != want.version:
        return (
            f"a lic-revoked/v{got.version} line for a tree verified with a "
            f"lic-revoked/v{want.version} line (one tree has one revoked-set line)"
        ), got
    if (got.size, got.root) != (want.size, want.root):
        return (
            f"false lic-revoked/v{got.version} line: the checkpoint says {got.size} member(s), "
            f"root {got.root.hex()}; the replayed records give {want.size}, root "
            f"{want.root.hex()}"
        ), got
    return None, got


def _known_line(known: Verified) -> Callable[[int], RevsetCommitment]:
    """The revoked-set line a verified checkpoint had (its note's own, checked true then)."""
    line = find_revset_commitment(parse_checkpoint(parse_note(known.note).text).extensions)
    version = 2 if line is None else line.version
    return lambda _v: RevsetCommitment(known.revset_size, known.revset_root, version)


class _Run:
    """One run over an open state file."""

    def __init__(self, store: FollowStore, fetch: Fetch, result: FollowResult, key: bytes):
        self.store, self.fetch, self.result, self.key = store, fetch, result, key

    def evidence(
        self, kind: str, size: int, message: str, *notes: bytes, index: int | None = None
    ) -> None:
        self.result.evidence.append(Evidence(kind, size, message, tuple(notes), index))
        self.result.status = "misbehaving"

    def known(self, cp: Checkpoint, note: bytes, known: Verified) -> None:
        """A size verified before: the same root and the same revoked-set line."""
        if known.root != cp.root:
            self.evidence(
                "fork",
                cp.size,
                f"fork: two signed checkpoints of size {cp.size} with different roots",
                known.note,
                note,
            )
            return
        problem, _ = _revset_problem(cp, _known_line(known))
        if problem is not None:
            self.evidence(
                "revoked-set", cp.size, f"checkpoint at size {cp.size}: {problem}", known.note, note
            )
        self.result.revoked = known.revset_size

    def older(self, cp: Checkpoint, note: bytes) -> None:
        """A size below the verified one, never verified itself: it must be a prefix."""
        store, latest = self.store, self.store.latest()
        assert latest is not None
        try:
            if cp.size == 0:
                if cp.root != EMPTY_ROOT:
                    raise ProofMismatchError("a size-0 tree has the root H('')")
            else:
                proof = TileReader(self.fetch, store.size).consistency(cp.size)
                verify_consistency(cp.size, store.size, proof, cp.root, store.root)
        except ProofMismatchError as e:
            self.evidence(
                "fork",
                cp.size,
                f"fork: the checkpoint of size {cp.size} is not a "
                f"prefix of the verified tree of size {store.size}: {e}",
                latest.note,
                note,
            )
            return
        self.result.status = "older"

    def advance(self, cp: Checkpoint, note: bytes) -> None:
        """A larger tree: consistency from the tiles, the new records, the revoked set."""
        store, old = self.store, self.store.size
        reader = TileReader(self.fetch, cp.size)
        if old > 0:
            latest = store.latest()
            assert latest is not None
            try:
                verify_consistency(old, cp.size, reader.consistency(old), store.root, cp.root)
            except ProofMismatchError as e:
                self.evidence(
                    "fork",
                    cp.size,
                    f"fork: the checkpoint of size {cp.size} does "
                    f"not extend the verified one of size {old} (consistency proof "
                    f"from the log's own tiles: {e})",
                    latest.note,
                    note,
                )
                return
        elif cp.size == 0 and cp.root != EMPTY_ROOT:
            self.evidence("fork", 0, "a size-0 checkpoint whose root is not H('')", note)
            return
        state = LedgerState(self.key, store.conn)
        try:
            frontier, prev = self.records(reader, cp, state)
            if frontier is None:
                return
            if frontier.root() != cp.root:
                self.evidence(
                    "entries",
                    cp.size,
                    "the records the log serves do not hash to the checkpoint's root",
                    note,
                )
                return
            problem, got = _revset_problem(cp, state.revoked_commitment)
            if problem is not None or got is None:
                self.evidence(
                    "revoked-set", cp.size, f"checkpoint at size {cp.size}: {problem}", note
                )
                return
            state.commit()
        finally:
            state.close()
        store.advance(frontier, prev, Verified(cp.size, cp.root, got.size, got.root, note))
        self.result.status, self.result.revoked = "advanced", got.size

    def records(
        self, reader: TileReader, cp: Checkpoint, state: LedgerState
    ) -> tuple[Frontier | None, bytes]:
        """Fetch the entry bundles the tree grew by, check and replay each new record."""
        frontier, prev, old = self.store.frontier(), self.store.prev, self.store.size
        for t in tiles_added(old, cp.size):
            if not t.entries:
                continue
            data = self.fetch(t.path, MAX_BUNDLE)
            if data is None:
                raise UnreachableError(f"the log does not serve {t.path} (size {cp.size}) yet")
            try:
                entries = parse_entry_bundle(data, t.width)
            except MalformedError as err:
                self.evidence("entries", cp.size, f"{t.path}: {err}", index=t.start)
                return None, prev
            leaves = reader.leaves(Tile(0, t.index, t.width))
            for i, e in enumerate(entries):
                pos = t.start + i
                if pos < old:
                    continue
                raw = self.blob(e, pos, cp) if isinstance(e, BlobRef) else e
                if raw is None:
                    return None, prev
                lh = leaf_hash(raw)
                if lh != leaves[i]:
                    self.evidence(
                        "entries",
                        cp.size,
                        f"record {pos} in {t.path} does not hash "
                        f"to its leaf in tile/0 (size {cp.size})",
                        index=pos,
                    )
                    return None, prev
                findings = check_record(state, pos, prev, raw)
                if findings:
                    f = findings[0]
                    self.evidence(
                        "record", cp.size, f"record {f.index}: {f.message}", index=f.index
                    )
                    return None, prev
                frontier.append(lh)
                prev = lh
                self.result.records += 1
        return frontier, prev

    def blob(self, ref: BlobRef, pos: int, cp: Checkpoint) -> bytes | None:
        """The bytes of a record over 65,535 bytes, checked against its stub."""
        data = self.fetch(ref.path, MAX_BLOB)
        if data is None:
            raise UnreachableError(f"the log does not serve {ref.path} (record {pos}) yet")
        if hashlib.sha256(data).digest() != ref.sha256 or len(data) <= MAX_INLINE_ENTRY:
            why = "its SHA-256, or a record small enough to be inline"
            self.evidence("entries", cp.size, f"{ref.path} is not record {pos} ({why})", index=pos)
            return None
        return data


def follow_log(
    url: str,
    state_dir: str | os.PathLike[str],
    *,
    now: int,
    log_vkey: str | None = None,
    policy: TrustPolicy | None = None,
    note: bytes | None = None,
    fetch: Fetch | None = None,
) -> FollowResult:
    """Follow the log at ``url`` once, keeping the state in ``state_dir`` (module doc).
    ``note``: follow to this checkpoint instead of the one ``/checkpoint`` serves (an
    auditing witness, asked to cosign it). ``policy``: the checkpoint must be cosigned by its
    witness quorum at ``now``. ``fetch`` replaces the HTTP client (it keeps the paths it
    fetched in ``FollowResult.fetched`` when it is an ``HttpLog``). Raises UnreachableError
    (exit 3) when the log cannot be read, a VerificationError when the checkpoint does not
    verify under the pinned key or the policy; misbehaviour is in the result."""
    client = HttpLog(url) if fetch is None else fetch
    if note is None:
        note = client("checkpoint", MAX_CHECKPOINT)
        if note is None:
            raise UnreachableError(f"{url}: the log serves no checkpoint yet")
    store = FollowStore(state_dir)
    try:
        verifier = _log_key(store, log_vkey, policy, note, now)
        try:
            signed, _ = open_checkpoint(note, verifier)
        except LicError as e:
            raise type(e)(
                f"follow: the log's checkpoint does not verify under the log key "
                f"{verifier.vkey}: {e}"
            ) from e
        if policy is not None:
            policy.witnessed_by(note, now)
        cp = signed.checkpoint
        first_use = store.meta is None
        if first_use:
            store.initialize(url, cp.origin, verifier.vkey)
        result = FollowResult(
            url, cp.origin, verifier.vkey, first_use, store.size, cp.size, cp.root, note=signed.note
        )
        run = _Run(store, client, result, verifier.public_key.raw)
        known = store.verified(cp.size)
        if known is not None:
            run.known(cp, signed.note, known)
        elif cp.size < store.size:
            run.older(cp, signed.note)
        else:
            run.advance(cp, signed.note)
    except BaseException:
        store.rollback()
        raise
    if result.status == "advanced":
        store.commit()
    else:
        store.rollback()
    if isinstance(client, HttpLog):
        result.fetched = list(client.fetched)
    for ev in result.evidence:
        path = store.write_evidence(ev.name, {"url": url, "origin": cp.origin, **ev.to_dict()})
        result.evidence_files.append(str(path))
    return result
