"""Token status with its evidence (SPEC 16.5): ``GET /status/<digest>`` answers a token's
status (SPEC 14.5) as of the latest checkpoint, with what a verifier checks offline: the
cosigned checkpoint note, for the token and each of its ancestors the revoked-set proof of
SPEC 12 against the note's revoked-set line (``lic-revoked/v2``, or ``v1``) and the receipt
of its grant, and the receipts of the withdrawals that make it revoked or suspended.

``StatusView`` is the edge (a read-only handle whose derived state is kept at the latest
checkpoint's size, never beyond); ``verify_status`` is the pure check of an answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from keys import json_loads_strict
from keys.errors import LedgerIntegrityError, MalformedError, ProofMismatchError, RevokedError

from ..entries import decode_record, open_entry, verify_receipt
from ..state import LedgerState, StoredRevokedSet, replay_into, revoked_set_in, state_of
from ..store import Ledger, open_read_only
from ..tlog import (
    NoteVerifier,
    RevokedSet,
    find_revset_commitment,
    open_checkpoint,
    verify_not_revoked,
)
from ._storage import location_of, storage_errors

__all__ = ["MAX_STATUS_ANSWER", "StatusEvidence", "StatusView", "verify_status"]

MAX_STATUS_ANSWER = 4 * 1024 * 1024
_MAX_DEPTH = 64  # ancestors followed (a chain is far shorter; the bound keeps it finite)
_WITHDRAWALS = ("revoke", "suspend")


class StatusView:
    """Status answers over the ledger ``db`` (a file or a ``postgresql://`` URL), as of its
    latest checkpoint. Thread-safe: requests take turns on one read-only handle (closed, and
    opened again by the next request, when storage fails). What it keeps between requests
    is keyed by the checkpoint's size, and the records below a checkpoint never change, so
    another writer on the same ledger (another server) invalidates nothing."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.db = location_of(db)
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None
        self._st: LedgerState | None = None  # the state as of the latest checkpoint served
        self._revset: RevokedSet | StoredRevokedSet | None = None  # a v1 tree, kept
        self._revset_size = -1

    def close(self) -> None:
        """Close the handle (a later request opens a new one)."""
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None
            if self._st is not None:
                self._st.close()
                self._st = None

    def _state(self, led: Ledger, size: int) -> LedgerState:
        """The state of the first ``size`` records, kept in a private temporary database
        and caught up as checkpoints advance (the stored state covers every record, which
        may be more than the checkpoint does): one replay on first use, then only new ones."""
        st = self._st
        if st is not None and st.size > size:
            st.close()
            st = None
        if st is None:
            st = state_of(led.iter_records(0, size), led.log_verifier.public_key.raw)
        elif st.size < size:
            replay_into(st, led.iter_records(st.size, size))
        self._st = st
        return st

    def _revset_of(
        self, state: LedgerState, size: int, version: int
    ) -> RevokedSet | StoredRevokedSet:
        """The revoked set of ``state`` (at ``size``) in ``version``: v2 read from the state's
        tree on each request (a few indexed reads a proof); a v1 tree (legacy) is built in
        memory once per checkpoint size."""
        if version == 2:
            return StoredRevokedSet(state.conn)
        if self._revset is None or self._revset_size != size:
            self._revset = revoked_set_in(state.conn, version)
            self._revset_size = size
        return self._revset

    def answer(self, digest: bytes, now: int) -> dict[str, Any] | None:
        """The status of the token ``digest`` at ``now`` as of the latest checkpoint, with its
        evidence (see the module doc); None before the first checkpoint."""
        with self._lock:
            if self._ledger is None:
                self._ledger = open_read_only(self.db)
            try:
                return self._answer(self._ledger, digest, now)
            except storage_errors():
                self._ledger.close()
                self._ledger = None
                raise

    def _answer(self, led: Ledger, digest: bytes, now: int) -> dict[str, Any] | None:
        cp = led.cosigned_checkpoint()
        if cp is None:
            return None
        size = cp.checkpoint.size
        state = self._state(led, size)
        commitment = find_revset_commitment(cp.checkpoint.extensions)
        version = 2 if commitment is None else commitment.version
        revset = self._revset_of(state, size, version)
        if commitment is None or revset.commitment != commitment:
            raise LedgerIntegrityError("status: the checkpoint's revoked set is not the state's")
        st = state.status(digest, now)
        links = []
        for d in _chain(state, digest):
            g = state.grants.get(d)
            links.append(
                {
                    "digest": d.hex(),
                    "grant": None if g is None else g.index,
                    "grant_receipt": None if g is None else _receipt(led, g.index, cp),
                    "absent": revset.proof_text(d).decode("ascii"),
                }
            )
        withdrawn = st.status in ("revoked", "suspended")
        return {
            "digest": digest.hex(),
            "status": st.status,
            "at": now,
            "size": size,
            "checkpoint": cp.note.decode("utf-8"),
            "evidence": list(st.evidence),
            "via": None if st.via is None else st.via.hex(),
            "links": links,
            "withdrawals": [
                {"index": i, "receipt": _receipt(led, i, cp)}
                for i in (st.evidence if withdrawn else ())
            ],
        }


def _receipt(led: Ledger, index: int, cp: Any) -> str:
    return led.receipt(index, cp).decode("utf-8")


def _chain(state: LedgerState, digest: bytes) -> Iterator[bytes]:
    """The token, then its ancestors as granted, nearest first."""
    seen: set[bytes] = set()
    d: bytes | None = digest
    while d is not None and d not in seen and len(seen) < _MAX_DEPTH:
        seen.add(d)
        yield d
        g = state.grants.get(d)
        d = None if g is None else g.parent


# -- offline check --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusEvidence:
    """What a checked status answer shows: the status the log states at ``at`` as of the
    checkpoint of ``size``; ``members``, the links (token first, then ancestors) in that
    checkpoint's revoked set; ``grants`` and ``withdrawals``, the record indexes proved."""

    digest: bytes
    status: str
    at: int
    size: int
    members: tuple[bytes, ...]
    grants: tuple[int, ...]
    withdrawals: tuple[int, ...]

    @property
    def in_revoked_set(self) -> bool:
        """Whether the token or an ancestor is in the checkpoint's revoked set."""
        return bool(self.members)


def _get(m: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(m, dict) or key not in m:
        raise MalformedError(f"status: {what} has no {key}")
    v = m[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        raise MalformedError(f"status: {what}: {key} has the wrong type")
    return v


def _digest(text: str, what: str) -> bytes:
    try:
        d = bytes.fromhex(text)
    except ValueError:
        d = b""
    if len(d) != 32 or d.hex() != text:
        raise MalformedError(f"status: {what} is not 64 lowercase hex digits")
    return d


def _proved_record(
    text: str, log: NoteVerifier, others: Iterable[NoteVerifier], size: int, root: bytes
) -> Any:
    receipt, cp = verify_receipt(text.encode("utf-8"), log, others=others)
    if (cp.size, cp.root) != (size, root):
        raise ProofMismatchError("status: a receipt is not at the answer's checkpoint")
    if receipt.extra is None:
        raise MalformedError("status: a receipt carries no record")
    return decode_record(receipt.extra)


def verify_status(
    data: bytes,
    digest: bytes,
    log: NoteVerifier,
    others: Iterable[NoteVerifier] = (),
) -> StatusEvidence:
    """Check a ``GET /status`` answer offline: its checkpoint verifies under the log key
    (and ``others``, witness verifiers, whose lines must then verify), every link's
    revoked-set proof verifies against the checkpoint's revoked-set line (``lic-revoked/v2``,
    or ``v1``), every grant receipt proves, at that checkpoint, a grant of that link whose
    ``parent`` is the next link, and every withdrawal receipt proves a revoke or suspend
    record. Raises
    (MalformedError, ProofMismatchError, InvalidSignatureError, ...) when anything fails;
    returns what the evidence shows. Witness quorum and age are a trust policy's business."""
    others = tuple(others)
    m = json_loads_strict(data, max_size=MAX_STATUS_ANSWER, what="status answer")
    if _digest(_get(m, "digest", str, "answer"), "digest") != digest:
        raise MalformedError("status: the answer is about another token")
    note = _get(m, "checkpoint", str, "answer").encode("utf-8")
    signed, _ = open_checkpoint(note, log, others)
    cp = signed.checkpoint
    if _get(m, "size", int, "answer") != cp.size:
        raise MalformedError("status: size differs from the checkpoint's")
    commitment = find_revset_commitment(cp.extensions)
    if commitment is None:
        raise MalformedError("status: the checkpoint makes no revocation statement")
    links = _get(m, "links", list, "answer")
    if not links or len(links) > _MAX_DEPTH:
        raise MalformedError("status: 1 to 64 links")
    members: list[bytes] = []
    grants: list[int] = []
    expect = digest
    for i, link in enumerate(links):
        what = f"link {i}"
        d = _digest(_get(link, "digest", str, what), f"{what} digest")
        if d != expect:
            raise MalformedError(f"status: {what} is not the parent named by the link before")
        try:
            proof = _get(link, "absent", str, what).encode("ascii")
            verify_not_revoked(commitment, d, proof)
        except RevokedError:
            members.append(d)
        receipt = link.get("grant_receipt")
        if receipt is None:
            if i + 1 != len(links):
                raise MalformedError(f"status: {what} has no grant but a link follows")
            break
        rec = _proved_record(_get(link, "grant_receipt", str, what), log, others, cp.size, cp.root)
        payload = open_entry(rec).payload if rec.entry_type == "grant" else None
        if not isinstance(payload, dict) or payload.get("token_digest") != d:
            raise ProofMismatchError(f"status: {what}: the receipt is not its grant")
        if _get(link, "grant", int, what) != rec.index:
            raise MalformedError(f"status: {what}: grant index differs from its receipt")
        grants.append(rec.index)
        parent = payload.get("parent")
        if parent is None:
            if i + 1 != len(links):
                raise MalformedError(f"status: {what} has no parent but a link follows")
            break
        expect = parent
    else:
        raise MalformedError("status: the chain of links is cut short")
    withdrawals: list[int] = []
    for i, w in enumerate(_get(m, "withdrawals", list, "answer")):
        rec = _proved_record(
            _get(w, "receipt", str, f"withdrawal {i}"), log, others, cp.size, cp.root
        )
        if rec.entry_type not in _WITHDRAWALS or _get(w, "index", int, "withdrawal") != rec.index:
            raise ProofMismatchError(f"status: withdrawal {i} is not a revoke or suspend record")
        withdrawals.append(rec.index)
    status = _get(m, "status", str, "answer")
    return StatusEvidence(
        digest,
        status,
        _get(m, "at", int, "answer"),
        cp.size,
        tuple(members),
        tuple(grants),
        tuple(withdrawals),
    )
