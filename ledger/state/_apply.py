"""Replay: records applied to a LedgerState, one implementation for the appender, the audit and
every other user. No signature checks here (the appender's own store; the audit checks
signatures itself). Pure: records come in as bytes, the state goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from keys.errors import LicError

from ..entries import (
    MAX_ENTRY_SIZE,
    Record,
    decode_payload,
    decode_record,
    fast_open_record,
    open_entry,
)
from ._state import Finding, LedgerState

__all__ = [
    "STATE_PROGRESS_EVERY",
    "apply_record",
    "apply_stored",
    "state_of",
]


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
