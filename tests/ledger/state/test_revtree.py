"""The stored lic-revoked/v2 tree (st_revtree, SPEC 12.7 and 14.7): after any sequence of
members joining and leaving, its rows are exactly the nodes of two members or more of the tree
built from scratch, and its commitment is the naive reference's; on a ledger (SQLite and
PostgreSQL) the checkpoint's line comes from it, and the audit compares the table."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from keys import SigningKey
from ledger.audit import audit, audit_db
from ledger.state import LedgerState, ensure_revtree, state_of
from ledger.state._revtree import add_member, remove_member, revtree_commitment
from ledger.store import Ledger, synthesize
from ledger.tlog import (
    SparseRevokedSet,
    find_revset_commitment,
    format_revset_extension,
)

LOG_KEY = bytes([10]) * 32
pool = st.one_of(
    st.binary(min_size=32, max_size=32),
    st.builds(lambda t: b"\x5a" * 29 + t, st.binary(min_size=3, max_size=3)),  # deep nodes
)


def ref_hash(members: frozenset[bytes], i: int = 0) -> bytes:
    """SPEC 12.7's recursive definition over a Python set, nothing shared with the library."""
    if len(members) <= 1:
        return hashlib.sha256(b"".join(b"\x00lic-revoked/v2\x00" + d for d in members)).digest()
    s0 = frozenset(d for d in members if not (d[i // 8] >> (7 - i % 8)) & 1)
    return hashlib.sha256(b"\x01" + ref_hash(s0, i + 1) + ref_hash(members - s0, i + 1)).digest()


def _rows(conn) -> list[tuple]:
    rows = conn.execute("SELECT depth, prefix, hash, size FROM st_revtree ORDER BY depth, prefix")
    return [(int(a), bytes(b), bytes(c), int(d)) for a, b, c, d in rows.fetchall()]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), pool), max_size=60))
def test_any_sequence_of_changes_leaves_the_tree_built_from_scratch(ops):
    state = LedgerState(LOG_KEY)
    counts: dict[bytes, int] = {}
    for join, d in ops:
        if join:
            add_member(state.conn, d)
            counts[d] = counts.get(d, 0) + 1
        elif d in counts:
            remove_member(state.conn, d)
            counts[d] -= 1
            if counts[d] == 0:
                del counts[d]
        members = frozenset(counts)
        c = revtree_commitment(state.conn)
        assert (c.size, c.root, c.version) == (len(members), ref_hash(members), 2)
    assert _rows(state.conn) == SparseRevokedSet(counts).nodes()
    assert state.revoked_digests() == sorted(counts)
    state.close()


def test_a_state_made_before_the_tree_gains_it():
    state = LedgerState(LOG_KEY)
    members = [hashlib.sha256(bytes([i])).digest() for i in range(50)]
    for d in members:
        add_member(state.conn, d)
    want = _rows(state.conn)
    state.conn.execute("DROP TABLE st_revtree")
    ensure_revtree(state.conn)
    assert _rows(state.conn) == want
    ensure_revtree(state.conn)  # once only
    assert state.revoked_commitment().root == ref_hash(frozenset(members))
    state.close()


def test_a_ledger_keeps_the_tree_in_its_transactions(ledger_at):
    log = SigningKey.from_seed(bytes([3]) * 32)
    where = ledger_at()
    with Ledger.create(where, "example.com/log", log) as led:
        synthesize(led, 600, log_key=log, batch=100)
        replay = state_of(led.iter_records(0, led.size), log.public_key.raw)
        members = replay.revoked_digests()
        assert len(members) >= 2
        stored = led.stored_state()
        assert _rows(stored.conn) == SparseRevokedSet(members).nodes()
        cp = led.checkpoint(log)
        line = format_revset_extension(len(members), ref_hash(frozenset(members)), version=2)
        assert cp.checkpoint.extensions[0] == line
        for c in led.checkpoints():  # every checkpoint signed with an append: v2 as well
            assert find_revset_commitment(c.checkpoint.extensions).version == 2
        notes = list(led.checkpoint_notes())
        r = audit(led.origin, led.log_vkey, lambda: led.iter_raw(), notes, workers=0)
        assert r.clean, r.findings
    r = audit_db(where, workers=0)  # the stored tree compared with the replay's
    assert r.clean and r.stored_state == "equal", r.findings
