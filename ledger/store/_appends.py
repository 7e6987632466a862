"""Typed entries on top of the record layer: make, open, append. Pure except ``append_entry``.

``make_entry`` checks the payload's schema and signs it (COSE_Sign1, typ = entry type).
``append_entry`` appends it to a store after the derived state accepts it, inside the store's
write transaction, so two appenders can never both pass a check that only one of them may pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keys import PublicKey, SigningKey
from keys.errors import DeniedError, LicError, MalformedError, UntrustedKeyError
from lic import cbor, cose

from ._entry_types import entry_problems, validate_entry
from ._payload import decode_payload
from ._record import (
    MAX_ENTRY_SIZE,
    Record,
    check_entry,
    decode_record,
    fast_open_record,
    sign_entry,
)
from ._state import Finding, LedgerState, TokenStatus

if TYPE_CHECKING:
    from ._store import Appended, Ledger

__all__ = [
    "OpenedEntry",
    "append_entry",
    "append_signed_entry",
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
    return _apply_opened(
        state, record.index, record.time, record.entry_type, entry.kid, entry.payload
    )


def _apply_opened(
    state: LedgerState, index: int, time: int, etype: str, kid: str, payload: Any
) -> list[Finding]:
    author = state.author_key(kid, payload)
    if author is None:
        state.size = max(state.size, index + 1)
        return [Finding(index, f"{etype}: author key {kid} is unknown")]
    return state.apply(index, time, etype, payload, author)


def apply_stored(state: LedgerState, raw: bytes) -> list[Finding]:
    """``apply_record(state, decode_record(raw))``, by the byte-exact fast paths where they
    apply (see fast_open_record and decode_payload): the same result, much sooner."""
    fast = fast_open_record(raw)
    if fast is None:
        return apply_record(state, decode_record(raw))
    index, _, time, etype, kid, payload_bytes, _, _ = fast
    try:
        payload = decode_payload(payload_bytes, max_size=MAX_ENTRY_SIZE)
    except LicError as e:
        return [Finding(index, f"{etype}: {e}")]
    return _apply_opened(state, index, time, etype, kid, payload)


STATE_PROGRESS_EVERY = 8192  # records between two progress calls while a state is built


def state_of(
    records: Iterable[tuple[int, bytes]],
    log_key: bytes,
    progress: Callable[[int], None] | None = None,
) -> LedgerState:
    """Derive the state from stored records (no signature checks: for the appender).
    ``progress(n)`` is called every ``STATE_PROGRESS_EVERY`` records and at the end, when
    there were that many."""
    state = LedgerState(log_key)
    if progress is None:
        for _, raw in records:
            apply_stored(state, raw)
        return state
    n = 0
    for _, raw in records:
        apply_stored(state, raw)
        n += 1
        if n % STATE_PROGRESS_EVERY == 0:
            progress(n)
    if n >= STATE_PROGRESS_EVERY and n % STATE_PROGRESS_EVERY:
        progress(n)
    return state


def append_entry(
    ledger: Ledger,
    entry_type: str,
    payload: dict[str, Any],
    author: SigningKey,
    *,
    now: int | None = None,
    log_key: SigningKey | None = None,
    progress: Callable[[int], None] | None = None,
) -> Appended:
    """Sign ``payload`` as ``author`` and append it (see ``append_signed_entry``)."""
    problems = entry_problems(entry_type, payload)
    if problems:
        detail = "; ".join(f"{path or '(entry)'}: {msg}" for path, msg in problems)
        raise MalformedError(f"{entry_type} entry refused: {detail}")
    entry = make_entry(entry_type, payload, author)
    return append_signed_entry(
        ledger, entry_type, entry, now=now, log_key=log_key, progress=progress
    )


def append_signed_entry(
    ledger: Ledger,
    entry_type: str,
    entry: bytes,
    *,
    now: int | None = None,
    log_key: SigningKey | None = None,
    progress: Callable[[int], None] | None = None,
) -> Appended:
    """Append an entry its author signed, after every check the audit makes of it.

    Structure and schema problems raise MalformedError; an unknown author, a bad signature or a
    refusal by the ledger's state (author role at this time, cross-references, transitions)
    raise a VerificationError or DeniedError. The state checks run inside the store's write
    transaction, so two appenders cannot both pass a check only one may pass. Nothing is
    written when anything fails.

    The handle's derived state is built (a replay of every record, on a handle's first typed
    append) before that transaction, reporting to ``progress`` (see ``state_of``); inside
    it, only the records appended meanwhile are applied, so other writers do not wait for
    the replay.
    """
    msg = check_entry(entry_type, entry)
    try:
        kid = msg.protected[cose.HDR_KID].decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("entry: kid is not an ASCII key id") from e
    payload = cbor.decode(msg.payload, max_size=MAX_ENTRY_SIZE)
    problems = entry_problems(entry_type, payload)
    if problems:
        detail = "; ".join(f"{path or '(entry)'}: {m}" for path, m in problems)
        raise MalformedError(f"{entry_type} entry refused: {detail}")

    _caught_up(ledger, ledger.size, progress)

    def check(size: int, t: int) -> None:
        state = _caught_up(ledger, size)
        author = state.author_key(kid, payload)
        if author is None:
            raise UntrustedKeyError(f"entry refused: author key {kid} is not known to the ledger")
        PublicKey(author).verify(msg.signature, msg.to_be_signed())
        findings = state.apply(size, t, entry_type, payload, author)
        if findings:
            ledger.drop_cached_state()
            raise DeniedError("entry refused: " + "; ".join(f.message for f in findings))

    try:
        return ledger.append(entry_type, entry, now=now, log_key=log_key, check=check)
    except BaseException:
        ledger.drop_cached_state()
        raise


def _caught_up(
    ledger: Ledger, size: int, progress: Callable[[int], None] | None = None
) -> LedgerState:
    """The ledger handle's cached state, brought up to ``size`` records."""
    state: LedgerState = ledger.cached_state(state_of, progress)
    if state.size != size:  # another process appended since: catch up
        for _, raw in ledger.iter_records(state.size, size):
            apply_stored(state, raw)
    return state


def token_status(ledger: Ledger, digest: bytes, at: int) -> TokenStatus:
    """A token's status at ``at`` in ``ledger``, with the records that say so."""
    return _caught_up(ledger, ledger.size).status(digest, at)
