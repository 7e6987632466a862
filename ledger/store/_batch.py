"""Typed appends in batches (group commit, SPEC 16.5): entries signed by their authors are
checked one after the other against the derived state inside ONE write transaction and the
ones the state accepts are committed together, with one fsync. An entry that is refused gets
its finding and takes no index; it does not sink the others, which are written at contiguous
indexes in the order given.

Built on ``Ledger.append_batch(entries, check=...)``: ``check(size, time)`` runs inside the
write transaction before anything is written and decides, entry by entry, which of them the
state accepts (``LedgerState.author_key``, the signature, ``LedgerState.apply`` at the index
the entry will get); the list given to ``append_batch`` is then narrowed, in place, to the
accepted ones, which ``append_batch`` writes after its check returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keys import PublicKey
from keys.errors import InvalidSignatureError, MalformedError
from lic import cbor, cose

from ..entries import MAX_ENTRY_SIZE, check_entry, entry_problems
from ..state import LedgerState
from ._ledger import Appended, Ledger

__all__ = [
    "Refused",
    "SignedEntry",
    "append_signed_batch",
    "parse_signed_entry",
]


@dataclass(frozen=True, slots=True)
class SignedEntry:
    """An entry as its author signed it, parsed and schema-checked (its signature and its
    author are checked by ``append_signed_batch``, against the ledger's state)."""

    entry_type: str
    entry: bytes
    kid: str
    payload: Any
    signature: bytes
    to_be_signed: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the ledger refused an entry: ``kind`` is ``author`` (its key is not known to the
    ledger), ``signature`` (it does not verify under that key) or ``state`` (the author's role
    at that time, cross-references, transitions: SPEC 14); ``message`` says so for people."""

    kind: str
    message: str


def parse_signed_entry(
    entry: bytes, entry_type: str | None = None, *, schema: bool = True
) -> SignedEntry:
    """Parse an author-signed entry strictly (a tagged COSE_Sign1 whose payload is strict
    CBOR, SPEC 6.2) and, with ``schema``, check its payload against its type's schema (SPEC
    14.1; without, ``append_signed_batch`` refuses a payload that breaks it). The type is the
    protected ``typ`` header; ``entry_type``, when given, must equal it. MalformedError for
    anything else."""
    if not isinstance(entry, bytes) or not entry:
        raise MalformedError("entry: empty")
    if len(entry) > MAX_ENTRY_SIZE:
        raise MalformedError(f"entry: larger than {MAX_ENTRY_SIZE} bytes")
    if entry_type is None:
        msg = cose.parse_sign1(entry, max_size=MAX_ENTRY_SIZE)
        typ = msg.protected.get(cose.HDR_TYP)
        if not isinstance(typ, str):
            raise MalformedError("entry: the protected header has no text typ (the entry type)")
        entry_type = typ
    msg = check_entry(entry_type, entry)
    try:
        kid = msg.protected[cose.HDR_KID].decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("entry: kid is not an ASCII key id") from e
    payload = cbor.decode(msg.payload, max_size=MAX_ENTRY_SIZE)
    problems = entry_problems(entry_type, payload) if schema else []
    if problems:
        detail = "; ".join(f"{path or '(entry)'}: {m}" for path, m in problems)
        raise MalformedError(f"{entry_type} entry refused: {detail}")
    return SignedEntry(entry_type, entry, kid, payload, msg.signature, msg.to_be_signed())


class _NoneAccepted(Exception):
    """Raised by the batch's check when the state refused every entry: nothing to write."""


class _Keys:
    """Authors' public keys, each loaded (and checked) once per batch."""

    def __init__(self) -> None:
        self._keys: dict[bytes, PublicKey] = {}

    def verifies(self, raw: bytes, e: SignedEntry) -> bool:
        key = self._keys.get(raw)
        if key is None:
            key = self._keys[raw] = PublicKey(raw)
        try:
            key.verify(e.signature, e.to_be_signed)
        except InvalidSignatureError:
            return False
        return True


def _signature_refusal(e: SignedEntry) -> Refused:
    return Refused("signature", f"entry refused: the signature does not verify under {e.kid}")


def _admit(
    state: LedgerState, e: SignedEntry, index: int, t: int, keys: _Keys, verified: bool
) -> Refused | None:
    """Check one entry at ``index`` and time ``t`` and apply it to ``state`` if it passes."""
    author = state.author_key(e.kid, e.payload)
    if author is None:
        return Refused("author", f"entry refused: author key {e.kid} is not known to the ledger")
    if not verified and not keys.verifies(author, e):
        return _signature_refusal(e)
    findings = state.apply(index, t, e.entry_type, e.payload, author)
    if findings:
        return Refused("state", "entry refused: " + "; ".join(f.message for f in findings))
    return None


def append_signed_batch(
    ledger: Ledger, entries: Sequence[SignedEntry], *, now: int | None = None
) -> list[Appended | Refused]:
    """Append author-signed entries (from ``parse_signed_entry``) in one durable transaction:
    each is checked as ``append_signed_entry`` checks one (its author known to the ledger,
    its signature, the state's rules at the index it would get), in order, each seeing the
    ones accepted before it. Returns, per entry in the order given, its ``Appended`` (index,
    leaf hash, record) once the transaction is fsynced, or its ``Refused``. Storage errors
    raise, and then nothing was written."""
    if not entries:
        raise MalformedError("append: nothing to append")
    keys = _Keys()
    # Signatures are checked before the write lock when the author is already known: a key id
    # is the thumbprint of its key, so a later state can only add authors, never change one.
    ledger.ensure_state()
    pre = ledger.stored_state()
    verified: list[bool] = []
    early: dict[int, Refused] = {}
    for i, e in enumerate(entries):
        author = pre.author_key(e.kid, e.payload)
        ok = author is not None and keys.verifies(author, e)
        if author is not None and not ok:
            early[i] = _signature_refusal(e)
        verified.append(ok)
    outcome: list[Refused | None] = []
    pending: list[tuple[str, bytes]] = [(e.entry_type, e.entry) for e in entries]

    def check(size: int, t: int) -> None:
        outcome.clear()
        state = ledger.stored_state()  # covers the first ``size`` records (Ledger._write)
        n = size
        accepted: list[tuple[str, bytes]] = []
        for i, e in enumerate(entries):
            refusal = early.get(i) or _admit(state, e, n, t, keys, verified[i])
            outcome.append(refusal)
            if refusal is None:
                accepted.append((e.entry_type, e.entry))
                n += 1
        state.size = n  # a refused entry changed nothing, but counted itself in the size
        state.commit()  # (on the ledger's own connection: writes the meta row, no COMMIT)
        if not accepted:
            raise _NoneAccepted
        pending[:] = accepted  # append_batch writes these, after this check returns

    try:
        appended = ledger.append_batch(pending, now=now, check=check)
    except _NoneAccepted:
        return [r for r in outcome if r is not None]
    if len(appended) != len(pending):
        raise MalformedError("append: the store wrote another number of entries than accepted")
    written = iter(appended)
    return [next(written) if r is None else r for r in outcome]
