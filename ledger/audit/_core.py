"""The auditor's replay: stream every record, check everything, derive the state. Pure core.

``audit`` takes the log's identity, an iterator of stored ``(index, bytes)`` rows and the stored
checkpoint notes, and checks: strict encoding, contiguous indexes, the prev chain, the Merkle
root at every checkpoint and each checkpoint's log signature, every entry's signature and its
author's role at that time, every schema and cross-reference. It never trusts anything the
store derived (stored hashes, the latest checkpoint): it recomputes.

Signatures are checked on both cores: the replay applies entries optimistically while worker
processes verify signatures in batches; if any signature fails, the replay runs again
sequentially so that the findings (and the state) are exactly those of a one-by-one replay.
Rows stream and the tree is a frontier, so nothing is kept per record except the derived
state, which lives in the tables of a private temporary database (ADR 0008): memory is flat.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from keys import verify_raw
from keys.errors import LicError, MalformedError, UntrustedKeyError

from .. import tlog as mk
from ..entries import (
    MAX_ENTRY_SIZE,
    ZERO_HASH,
    decode_payload,
    decode_record,
    fast_open_record,
    open_entry,
)
from ..state import TOKEN_STATUSES, Finding, LedgerState
from ..tlog import (
    Checkpoint,
    Ed25519NoteVerifier,
    RevsetCommitment,
    find_revset_commitment,
    open_checkpoint,
)

__all__ = ["AuditResult", "Observer", "audit", "audit_summary"]

Observer = Callable[[int, int, str, Any, bytes], None]
"""Called as observer(index, time, entry_type, payload, author) for each record that applied."""
_BATCH = 1024  # signatures per worker task
_AHEAD = 8  # batches in flight at most (bounds memory)


@dataclass
class AuditResult:
    """What a replay found and derived."""

    origin: str
    size: int
    root: bytes
    findings: list[Finding]
    state: LedgerState
    checkpoints: list[Checkpoint] = field(default_factory=list)
    latest_note: bytes | None = None
    observer: Observer | None = None
    log_vkey: str = ""  # the log key the replay trusted (C2SP verifier key)
    log_key_pinned: bool = False  # True when the caller pinned it, False when taken from the input
    # the derived state the ledger file stores, against the replay's (audit_db): "equal",
    # "differs", "absent" (no state tables, or not a file), "not compared" (it grew meanwhile)
    stored_state: str = "absent"

    @property
    def clean(self) -> bool:
        """Whether the replay found nothing."""
        return not self.findings


def _worker_start() -> None:
    """Signals that reach the whole process group (Ctrl-C, ``kill -TERM -PGID``) are the
    parent's to handle: a worker ignores SIGINT (the parent unwinds and shuts the pool down,
    see ``audit``) and ends on SIGTERM by the default action, quietly, instead of printing
    the traceback of a handler inherited from the parent (the CLI unwinds on SIGTERM)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _verify_batch(batch: list[tuple[int, bytes, bytes, bytes]]) -> list[int]:
    """Worker: indexes of the entries in ``batch`` whose signature does not verify."""
    return [index for index, raw_key, sig, tbs in batch if not verify_raw(raw_key, sig, tbs)]


class _Checkpoints:
    """The stored checkpoints, verified and indexed by size (roots only: 40 bytes each)."""

    def __init__(self, notes: Iterable[bytes], verifier: Ed25519NoteVerifier) -> None:
        self.roots: dict[int, bytes] = {}
        self.extensions: dict[int, list[tuple[str, ...]]] = {}  # size -> extension lines
        self.parsed: list[Checkpoint] = []
        self.findings: list[Finding] = []
        self.latest: bytes | None = None
        for note in notes:
            try:
                signed, _ = open_checkpoint(note, verifier)
            except LicError as e:
                self.findings.append(Finding(-1, f"checkpoint does not verify: {e}"))
                continue
            cp = signed.checkpoint
            if cp.size in self.roots and self.roots[cp.size] != cp.root:
                self.findings.append(
                    Finding(cp.size - 1, f"two checkpoints of size {cp.size} differ")
                )
            self.roots[cp.size] = cp.root
            self.extensions.setdefault(cp.size, []).append(cp.extensions)
            if not self.parsed or cp.size >= max(c.size for c in self.parsed):
                self.latest = signed.note
            self.parsed.append(cp)


def audit(
    origin: str,
    log_vkey: str,
    records: Callable[[], Iterable[tuple[int, bytes]]],
    notes: Iterable[bytes],
    *,
    since: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    make_observer: Callable[[], Observer] | None = None,
    workers: int | None = None,
    pinned_log_key: str | None = None,
) -> AuditResult:
    """Replay a ledger. ``records()`` must return a fresh iterator each call (a second pass is
    needed only when a signature fails). ``since`` is a checkpoint note saved earlier that the
    ledger must still extend. ``make_observer()`` gives a fresh observer for each pass; the one
    of the pass that counts is ``AuditResult.observer``. ``workers`` defaults to the number of
    CPUs (0: verify inline). ``pinned_log_key`` (a verifier key the auditor trusts): the
    input's ``log_vkey`` must be that key (UntrustedKeyError otherwise); without it the replay
    trusts the input's key and says so in ``AuditResult.log_key_pinned``."""
    verifier = Ed25519NoteVerifier.from_vkey(log_vkey)
    if verifier.name != origin:
        raise MalformedError("audit: the log key's name differs from the origin")
    if pinned_log_key is not None:
        _check_pin(verifier, Ed25519NoteVerifier.from_vkey(pinned_log_key))
    cps = _Checkpoints(notes, verifier)
    since_cp: Checkpoint | None = None
    if since is not None:
        since_cp = open_checkpoint(since, verifier)[0].checkpoint
    n = (os.cpu_count() or 1) if workers is None else workers
    if n > 0:
        observer = make_observer() if make_observer is not None else None
        pool = ProcessPoolExecutor(max_workers=n, initializer=_worker_start)
        try:
            result = _replay(origin, verifier, records(), cps, since_cp, progress, observer, pool)
        except BaseException:
            # Interrupted (an error, or a signal the caller turned into an exception): drop the
            # queued batches so the workers finish the one in hand and exit, and wait for them.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if result is not None:
            result.observer = observer
            result.log_vkey, result.log_key_pinned = verifier.vkey, pinned_log_key is not None
            return result
    observer = make_observer() if make_observer is not None else None
    result = _replay(origin, verifier, records(), cps, since_cp, progress, observer, None)
    assert result is not None
    result.observer = observer
    result.log_vkey, result.log_key_pinned = verifier.vkey, pinned_log_key is not None
    return result


def _check_pin(got: Ed25519NoteVerifier, pin: Ed25519NoteVerifier) -> None:
    """The input's log key must be the pinned one: same name, same key."""
    if (got.name, got.public_key.raw) != (pin.name, pin.public_key.raw):
        raise UntrustedKeyError(
            f"audit: the input's log key {got.name}+{got.key_hash.hex()} is not the pinned "
            f"log key {pin.name}+{pin.key_hash.hex()}"
        )


def _replay(
    origin: str,
    verifier: Ed25519NoteVerifier,
    rows: Iterable[tuple[int, bytes]],
    cps: _Checkpoints,
    since: Checkpoint | None,
    progress: Callable[[int], None] | None,
    observer: Observer | None,
    pool: Executor | None,
) -> AuditResult | None:
    """One pass. With ``pool`` (optimistic), returns None as soon as a signature fails."""
    state = LedgerState(verifier.public_key.raw)
    findings: list[Finding] = list(cps.findings)
    frontier = mk.Frontier(0, [])
    prev = ZERO_HASH
    batch: list[tuple[int, bytes, bytes, bytes]] = []
    inflight: deque[Future[list[int]]] = deque()
    revset = _RevsetCheck(state)
    findings.extend(revset.check(0, -1, cps.extensions.get(0, ())))
    if since is not None and since.size == 0:
        findings.extend(revset.check(0, -1, [since.extensions], "saved checkpoint"))
    size = 0
    pending: tuple[int, bool] | None = None  # an unexplained chain break: (position, index bad)
    matched: set[int] = set()  # checkpoint sizes whose root matched
    for pos, (idx, raw) in enumerate(rows):
        size = pos + 1
        if idx != pos:
            findings.append(
                Finding(pos, f"stored at index {idx}: a record is missing, inserted or moved")
            )
        lh = mk.leaf_hash(raw)
        fields = _open(raw, pos, findings)
        index_problem = idx != pos
        broken = False
        if fields is not None:
            if fields[0] != pos:
                index_problem = True
                findings.append(Finding(pos, f"record says index {fields[0]}, expected {pos}"))
            broken = fields[1] != prev
        # A changed record shows only in the next record's prev; so a chain break is blamed
        # with one record of lookahead (see _blame).
        if pending is not None:
            findings.append(_blame(pending, next_broken=broken))
        pending = (pos, index_problem or pos in matched) if broken else None
        frontier.append(lh)
        prev = lh
        root = cps.roots.get(size)
        if root is not None:
            if root != frontier.root():
                findings.append(
                    Finding(pos, f"checkpoint at size {size}: root differs from records")
                )
            else:
                matched.add(size)
        if since is not None and since.size == size and since.root != frontier.root():
            findings.append(
                Finding(pos, f"saved checkpoint at size {size}: history was rewritten (fork)")
            )
        if fields is not None and fields[4] is not _UNOPENED:
            _, _, time, etype, payload, kid, sig, tbs, payload_raw = fields
            author = state.author_key(kid, payload)
            if author is None:
                findings.append(Finding(pos, f"{etype}: author key {kid} is unknown"))
            else:
                if pool is not None:
                    batch.append((pos, author, sig, tbs))
                    if len(batch) >= _BATCH:
                        inflight.append(pool.submit(_verify_batch, batch))
                        batch = []
                        if not _drain(inflight, _AHEAD):
                            state.close()  # this pass's state is dropped: delete it now
                            return None
                    ok = True
                else:
                    ok = verify_raw(author, sig, tbs)
                    if not ok:
                        findings.append(Finding(pos, f"{etype}: signature does not verify"))
                if ok:
                    found = state.apply(pos, time, etype, payload, author, raw=payload_raw)
                    if found:
                        findings.extend(found)
                    elif observer is not None:
                        observer(pos, time, etype, payload, author)
        if size in cps.extensions:
            findings.extend(revset.check(size, pos, cps.extensions[size]))
        if since is not None and since.size == size:  # its line, against the replay too
            findings.extend(revset.check(size, pos, [since.extensions], "saved checkpoint"))
        if progress is not None and size % 1000 == 0:
            progress(size)
    if pool is not None:
        if batch:
            inflight.append(pool.submit(_verify_batch, batch))
        if not _drain(inflight, 0):
            state.close()
            return None
    findings += _after_rows(cps, since, size, pending, matched)
    if progress is not None:
        progress(size)
    findings.sort(key=lambda f: f.index)
    return AuditResult(origin, size, frontier.root(), findings, state, cps.parsed, cps.latest)


def _drain(inflight: deque[Future[list[int]]], limit: int) -> bool:
    """Wait for signature batches until at most ``limit`` are in flight; False as soon as one
    had a failed signature."""
    while len(inflight) > limit:
        if inflight.popleft().result():
            return False
    return True


def _after_rows(
    cps: _Checkpoints,
    since: Checkpoint | None,
    size: int,
    pending: tuple[int, bool] | None,
    matched: set[int],
) -> list[Finding]:
    """The findings known only once every record was read."""
    out = []
    if pending is not None:  # a break at the last record: a matching checkpoint just
        b, bad_index = pending  # before it clears the record before it
        out.append(_blame((b, bad_index or b in matched), next_broken=False))
    for cp in cps.parsed:
        if cp.size > size:
            out.append(
                Finding(size, f"checkpoint at size {cp.size} lies beyond the {size} records")
            )
    if since is not None and since.size > size:
        out.append(
            Finding(size, f"saved checkpoint at size {since.size}: the ledger has only {size}")
        )
    return out


class _RevsetCheck:
    """SPEC 12.5: each checkpoint's revoked-set line, in its own version, against the set the
    records give: v2 from the replay's stored tree (a few reads), v1 (legacy) folded."""

    def __init__(self, state: LedgerState) -> None:
        self.state = state
        self.cached: tuple[int, RevsetCommitment] | None = None  # (state version, v1)

    def commitment(self, version: int) -> RevsetCommitment:
        if version != 1:
            return self.state.revoked_commitment(version)
        v = self.state.revset_version
        if self.cached is None or self.cached[0] != v:
            # folded from the replay's own table of members, in order: memory flat
            self.cached = (v, self.state.revoked_commitment(1))
        return self.cached[1]

    def check(
        self, size: int, pos: int, all_lines: Iterable[tuple[str, ...]], what: str = "checkpoint"
    ) -> list[Finding]:
        out = []
        for lines in all_lines:
            where = f"{what} at size {size}"
            try:
                got = find_revset_commitment(lines)
            except LicError as e:
                out.append(Finding(pos, f"{where}: malformed lic-revoked line: {e}"))
                continue
            if got is None:
                out.append(
                    Finding(pos, f"{where}: no lic-revoked/v1 line nor v2 (revoked set missing)")
                )
                continue
            want = self.commitment(got.version)
            if (got.size, got.root) != (want.size, want.root):
                out.append(
                    Finding(
                        pos,
                        f"{where}: revoked-set commitment mismatch: the checkpoint's "
                        f"lic-revoked/v{got.version} line says {got.size} member(s), root "
                        f"{got.root.hex()[:16]}...; the records give {want.size}, root "
                        f"{want.root.hex()[:16]}...",
                    )
                )
        return out


_Fields = tuple[int, bytes, int, str, Any, str, bytes, bytes, bytes | None]
"""(index, prev, time, type, payload, kid, signature, to-be-signed, payload bytes or None) of
a record; payload _UNOPENED when only the record layer decoded (its entry's finding is already
noted)."""
_UNOPENED = object()


def _open(raw: bytes, pos: int, findings: list[Finding]) -> _Fields | None:
    """Decode a record and open its entry. The byte-exact fast path covers every record our
    encoder writes; anything else takes the strict path, whose errors become the findings."""
    fast = fast_open_record(raw)
    if fast is not None:
        index, prev, time, etype, kid, payload_bytes, sig, tbs = fast
        try:
            payload = decode_payload(payload_bytes, max_size=MAX_ENTRY_SIZE)
        except LicError as e:
            findings.append(Finding(pos, f"{etype}: {e}"))
            return index, prev, time, etype, _UNOPENED, kid, sig, tbs, None
        return index, prev, time, etype, payload, kid, sig, tbs, payload_bytes
    try:
        rec = decode_record(raw)
    except LicError as e:
        findings.append(Finding(pos, f"encoding: {e}"))
        return None
    try:
        entry = open_entry(rec)
    except LicError as e:
        findings.append(Finding(pos, f"{rec.entry_type}: {e}"))
        return rec.index, rec.prev, rec.time, rec.entry_type, _UNOPENED, "", b"", b"", None
    return (
        rec.index,
        rec.prev,
        rec.time,
        rec.entry_type,
        entry.payload,
        entry.kid,
        entry.signature,
        entry.to_be_signed,
        None,
    )


def _blame(brk: tuple[int, bool], *, next_broken: bool) -> Finding:
    """Record b's prev is not the leaf hash of record b-1. If record b also has an index
    problem (a record removed, inserted or moved) or record b+1's prev breaks too (b's own
    bytes changed), record b is at fault; otherwise record b-1 changed after b was written."""
    b, index_problem = brk
    if index_problem or next_broken or b == 0:
        return Finding(b, "prev is not the leaf hash of the previous record")
    return Finding(b - 1, f"record changed: its leaf hash is not the prev of record {b}")


def audit_summary(r: AuditResult, *, at: int | None = None) -> dict[str, Any]:
    """A JSON-ready summary of a replay: integrity, findings and the derived state, as of
    ``at`` (default: the time of the last record; never the wall clock)."""
    st = r.state
    t = at if at is not None else st.last_time
    counts = {s: 0 for s in TOKEN_STATUSES if s != "unknown"}  # a granted token is known
    for digest in st.grants:
        counts[st.status(digest, t).status] += 1
    return {
        "origin": r.origin,
        "log_key": {
            "vkey": r.log_vkey,
            "key_hash": r.log_vkey.split("+")[1] if r.log_vkey else None,
            "pinned": r.log_key_pinned,
        },
        "size": r.size,
        "root": r.root.hex(),
        "checkpoints": len(r.checkpoints),
        "latest_checkpoint": r.latest_note.decode("utf-8") if r.latest_note else None,
        "clean": r.clean,
        "stored_state": r.stored_state,
        "findings": [{"index": f.index, "message": f.message} for f in r.findings],
        "as_of": t,
        "licenses": counts,
        "open_incidents": [i.index for i in st.open_incidents()],
        "terms_in_force": {k: v["version"] for k, v in sorted(st.terms_in_force(t).items())},
    }
