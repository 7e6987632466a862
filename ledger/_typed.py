"""Typed entries on top of the record layer: make, open, append. Pure except ``append_entry``.

``make_entry`` checks the payload's schema and signs it (COSE_Sign1, typ = entry type).
``append_entry`` appends it to a store after the derived state accepts it, inside the store's
write transaction, so two appenders can never both pass a check that only one of them may pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keys import SigningKey
from keys.errors import DeniedError, LicError, MalformedError
from lic import cbor, cose

from ._entry_types import entry_problems, validate_entry
from ._record import MAX_ENTRY_SIZE, Record, check_entry, decode_record, sign_entry
from ._state import Finding, LedgerState, TokenStatus

if TYPE_CHECKING:
    from ._store import Appended, Ledger

__all__ = [
    "OpenedEntry",
    "append_entry",
    "make_entry",
    "open_entry",
    "state_of",
    "token_status",
]


def make_entry(entry_type: str, payload: dict[str, Any], author: SigningKey) -> bytes:
    """Schema-check ``payload`` and sign it as a ``entry_type`` entry by ``author``."""
    validate_entry(entry_type, payload)
    return sign_entry(entry_type, cbor.encode(payload), author)


@dataclass(frozen=True, slots=True)
class OpenedEntry:
    """A record's entry, structurally parsed; the signature is NOT yet verified."""

    record: Record
    kid: str
    payload: Any
    signature: bytes
    to_be_signed: bytes


def open_entry(record: Record) -> OpenedEntry:
    """Parse the record's COSE_Sign1 and its CBOR payload strictly (no signature check)."""
    msg: cose.Sign1 = check_entry(record.entry_type, record.entry)
    kid = msg.protected[cose.HDR_KID]
    try:
        kid_text = kid.decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("entry: kid is not an ASCII key id") from e
    payload = cbor.decode(msg.payload, max_size=MAX_ENTRY_SIZE)
    return OpenedEntry(record, kid_text, payload, msg.signature, msg.to_be_signed())


def apply_record(state: LedgerState, record: Record) -> list[Finding]:
    """Apply one stored record to ``state`` WITHOUT checking its signature (the appender's own
    store; the auditor checks signatures separately). Returns the record's findings."""
    try:
        entry = open_entry(record)
    except LicError as e:
        return [Finding(record.index, f"{record.entry_type}: {e}")]
    author = state.author_key(entry.kid, entry.payload)
    if author is None:
        state.size = max(state.size, record.index + 1)
        return [Finding(record.index, f"{record.entry_type}: author key {entry.kid} is unknown")]
    return state.apply(record.index, record.time, record.entry_type, entry.payload, author)


def state_of(records: Iterable[tuple[int, bytes]], log_key: bytes) -> LedgerState:
    """Derive the state from stored records (no signature checks: for the appender)."""
    state = LedgerState(log_key)
    for _, raw in records:
        apply_record(state, decode_record(raw))
    return state


def append_entry(
    ledger: Ledger,
    entry_type: str,
    payload: dict[str, Any],
    author: SigningKey,
    *,
    now: int | None = None,
    log_key: SigningKey | None = None,
) -> Appended:
    """Append a typed entry after the derived state accepts it; refuse it with every reason.

    Raises MalformedError when the payload breaks its schema and DeniedError when the ledger's
    state refuses it (author role, cross-references, transitions). Nothing is written then.
    """
    problems = entry_problems(entry_type, payload)
    if problems:
        detail = "; ".join(f"{path or '(entry)'}: {msg}" for path, msg in problems)
        raise MalformedError(f"{entry_type} entry refused: {detail}")
    entry = make_entry(entry_type, payload, author)
    pub = author.public_key.raw

    def check(size: int, t: int) -> None:
        state = ledger.cached_state(state_of)
        if state.size != size:  # another process appended since: catch up
            for _, raw in ledger.iter_records(state.size, size):
                apply_record(state, decode_record(raw))
        findings = state.apply(size, t, entry_type, payload, pub)
        if findings:
            ledger.drop_cached_state()
            raise DeniedError("entry refused: " + "; ".join(f.message for f in findings))

    try:
        return ledger.append(entry_type, entry, now=now, log_key=log_key, check=check)
    except BaseException:
        ledger.drop_cached_state()
        raise


def token_status(ledger: Ledger, digest: bytes, at: int) -> TokenStatus:
    """A token's status at ``at`` in ``ledger``, with the records that say so."""
    state: LedgerState = ledger.cached_state(state_of)
    size = ledger.size
    if state.size != size:
        for _, raw in ledger.iter_records(state.size, size):
            apply_record(state, decode_record(raw))
    return state.status(digest, at)
