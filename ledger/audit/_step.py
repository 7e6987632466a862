"""One record of the auditor's replay, for a replay that resumes (a monitor following a log,
SPEC 16.7): the record-level checks of ``audit`` (SPEC 14.4) on one stored record, applied to
a state the caller keeps. The Merkle root and the checkpoints are the caller's to check."""

from __future__ import annotations

from keys import verify_raw

from ..state import Finding, LedgerState
from ._core import _UNOPENED, _open

__all__ = ["check_record"]


def check_record(state: LedgerState, pos: int, prev: bytes, raw: bytes) -> list[Finding]:
    """Check the record ``raw`` stored at position ``pos`` whose predecessor's leaf hash is
    ``prev`` (32 zero bytes at 0) as ``audit`` does: strict decoding, its index, its prev
    link, its author (a registered key, a holder, or a one-time signer), its signature and
    what ``state`` makes of it (schema, role, cross-references). A record whose checks pass
    is applied to ``state``; the state then covers ``pos`` either way. Returns the
    findings (none: the record is sound)."""
    findings: list[Finding] = []
    fields = _open(raw, pos, findings)
    if fields is not None:
        index, link, time, etype, payload, kid, sig, tbs, payload_raw = fields
        if index != pos:
            findings.append(Finding(pos, f"record says index {index}, expected {pos}"))
        if link != prev:
            findings.append(Finding(pos, "prev is not the leaf hash of the previous record"))
        if payload is not _UNOPENED and not findings:
            author = state.author_key(kid, payload)
            if author is None:
                findings.append(Finding(pos, f"{etype}: author key {kid} is unknown"))
            elif not verify_raw(author, sig, tbs):
                findings.append(Finding(pos, f"{etype}: signature does not verify"))
            else:
                findings.extend(state.apply(pos, time, etype, payload, author, raw=payload_raw))
    state.skip(pos)
    return findings
