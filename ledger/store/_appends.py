"""Typed appends: an author-signed entry is appended after the derived state accepts it, inside
the store's write transaction, so two appenders can never both pass a check that only one of
them may pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keys import PublicKey, SigningKey
from keys.errors import DeniedError, MalformedError, UntrustedKeyError
from lic import cbor, cose

from ..entries import MAX_ENTRY_SIZE, check_entry, entry_problems, make_entry
from ..state import TokenStatus
from ._ledger import Appended, Ledger

__all__ = [
    "append_entry",
    "append_signed_entry",
    "token_status",
]


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

    The stored state (ADR 0008) is read and updated inside that transaction: no replay.
    ``progress`` hears of a one-time build of the state tables for a ledger file made before
    they existed (see ``Ledger.ensure_state``).
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

    ledger.ensure_state(progress)

    def check(size: int, t: int) -> None:
        state = ledger.stored_state()  # covers the first ``size`` records (see Ledger._write)
        author = state.author_key(kid, payload)
        if author is None:
            raise UntrustedKeyError(f"entry refused: author key {kid} is not known to the ledger")
        PublicKey(author).verify(msg.signature, msg.to_be_signed())
        findings = state.apply(size, t, entry_type, payload, author, raw=msg.payload)
        if findings:  # nothing was written but the meta row, which the rollback undoes
            raise DeniedError("entry refused: " + "; ".join(f.message for f in findings))

    return ledger.append(entry_type, entry, now=now, log_key=log_key, check=check)


def token_status(ledger: Ledger, digest: bytes, at: int) -> TokenStatus:
    """A token's status at ``at`` in ``ledger``, with the records that say so: indexed reads
    of the stored state, in one read transaction (one snapshot)."""
    conn = ledger.connection
    if conn.in_transaction:  # the caller's transaction is the snapshot
        return ledger.state_at(ledger.size).status(digest, at)
    conn.execute("BEGIN")
    try:
        return ledger.state_at(ledger.size).status(digest, at)
    finally:
        conn.execute("COMMIT")
