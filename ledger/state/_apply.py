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
from ._model import Finding
from ._state import LedgerState

__all__ = [
    "STATE_PROGRESS_EVERY",
    "apply_record",
    "apply_stored",
    "replay_into",
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
    state: LedgerState,
    index: int,
    time: int,
    etype: str,
    kid: str,
    payload: Any,
    raw: bytes | None = None,
) -> list[Finding]:
    author = state.author_key(kid, payload)
    if author is None:
        state.skip(index)
        return [Finding(index, f"{etype}: author key {kid} is unknown")]
    return state.apply(index, time, etype, payload, author, raw=raw)


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
    return _apply_opened(state, index, time, etype, kid, payload, payload_bytes)


STATE_PROGRESS_EVERY = 8192  # records between two progress calls while a state is built


def state_of(
    records: Iterable[tuple[int, bytes]],
    log_key: bytes,
    progress: Callable[[int], None] | None = None,
) -> LedgerState:
    """Derive the state from stored records (no signature checks: for the appender), into a
    state of its own (a private temporary database). ``progress`` as in ``replay_into``."""
    state = LedgerState(log_key)
    replay_into(state, records, progress)
    return state


def replay_into(
    state: LedgerState,
    records: Iterable[tuple[int, bytes]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Apply the records ``state`` does not cover yet (index at or past its size), in order;
    a record whose entry cannot be opened still counts (``LedgerState.skip``), so the state
    then covers exactly the records given. ``progress(n)`` is called every
    ``STATE_PROGRESS_EVERY`` records and at the end, when there were that many. Returns the
    number of records read."""
    n = 0
    for index, raw in records:
        if index >= state.size:
            apply_stored(state, raw)
            state.skip(index)
        n += 1
        if progress is not None and n % STATE_PROGRESS_EVERY == 0:
            progress(n)
    if progress is not None and n >= STATE_PROGRESS_EVERY and n % STATE_PROGRESS_EVERY:
        progress(n)
    return n
