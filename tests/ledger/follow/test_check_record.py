"""``ledger.audit.check_record``, the audit's checks one record at a time (what a follower
replays with), agrees with the audit's replay: a clean ledger gives no finding and the same
state tables, and every kind of tampered record is found at its index by both. The records
are read from a ledger on each backend (a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import pytest

from helpers.backends import BACKENDS, location
from helpers.ledger_world import build
from ledger.audit import audit, check_record
from ledger.entries import ZERO_HASH, decode_record, encode_record
from ledger.state import LedgerState
from ledger.store import Ledger
from ledger.tlog import leaf_hash

# what one record's own bytes betray (a changed time shows only in the next record's prev, or,
# for a follower, in the leaf hash its tile gives: the follower checks that before this)
CHANGES = {
    "prev": lambda r: encode_record(
        r.index, bytes([r.prev[0] ^ 1]) + r.prev[1:], r.time, r.entry_type, r.entry
    ),
    "index": lambda r: encode_record(r.index + 1, r.prev, r.time, r.entry_type, r.entry),
    "type": lambda r: encode_record(r.index, r.prev, r.time, "note", r.entry),
    "entry-byte": lambda r: encode_record(
        r.index, r.prev, r.time, r.entry_type, r.entry[:-1] + bytes([r.entry[-1] ^ 1])
    ),
}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request):
    w = build(location(request, "world"))
    with Ledger.open(w.path) as led:
        w.rows = list(led.iter_records())
        w.vkey, w.origin = led.log_vkey, led.origin
    return w


def _step_all(w, rows):
    state = LedgerState(w.log.public_key.raw)
    prev, findings = ZERO_HASH, []
    for pos, (_, raw) in enumerate(rows):
        findings += check_record(state, pos, prev, raw)
        prev = leaf_hash(raw)
    return state, findings


def test_a_clean_ledger_steps_clean_to_the_audits_state(world):
    state, findings = _step_all(world, world.rows)
    assert findings == [] and state.size == len(world.rows)
    replay = audit(world.origin, world.vkey, lambda: iter(world.rows), [], workers=0)
    assert replay.clean and state.table_rows() == replay.state.table_rows()


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_tampered_record_is_found_at_its_index_by_both(world, change):
    for pos in range(len(world.rows)):
        rows = list(world.rows)
        rows[pos] = (pos, CHANGES[change](decode_record(rows[pos][1])))
        _, findings = _step_all(world, rows[: pos + 1])
        replay = audit(world.origin, world.vkey, lambda rows=rows: iter(rows), [], workers=0)
        assert min(f.index for f in findings) == pos, (change, pos)
        # the audit blames a broken prev on the record before when nothing follows to tell
        # (SPEC 14.4); a follower checked that record against its leaf already
        audit_first = min(f.index for f in replay.findings)
        last_prev = change == "prev" and pos == len(rows) - 1
        assert audit_first == (pos - 1 if last_prev else pos), (change, pos)
