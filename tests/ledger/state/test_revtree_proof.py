"""Proofs from the stored lic-revoked/v2 tree (``StoredRevokedSet``, ``revtree_proof``): for
every digest, member or not, after any joins and leaves, the text is byte for byte the one of
the tree built in memory (``SparseRevokedSet.proof_text``), on SQLite and PostgreSQL; and the
bundle a ledger makes carries those proofs."""

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import SigningKey
from keys.errors import MalformedError, RevokedError
from ledger.state import LedgerState, StoredRevokedSet, revoked_set_in
from ledger.state._revtree import add_member, remove_member
from ledger.store import Ledger, synthesize
from ledger.tlog import RevokedSet, SparseRevokedSet, verify_not_revoked

LOG_KEY = bytes([10]) * 32
DEEP = b"\x5a" * 29  # digests sharing 232 bits: deep paths, siblings of one member or none
pool = st.one_of(
    st.binary(min_size=32, max_size=32),
    st.builds(lambda t: DEEP + t, st.binary(min_size=3, max_size=3)),
)


def _members(conn) -> list[bytes]:
    return [bytes(r[0]) for r in conn.execute("SELECT digest FROM st_revoked").fetchall()]


def _probes(members: list[bytes], rng: random.Random) -> list[bytes]:
    """Members, digests one bit away from members (the longest shared prefixes), digests
    between members, and random ones."""
    out = [*members, rng.randbytes(32), DEEP + rng.randbytes(3), bytes(32), b"\xff" * 32]
    for d in rng.sample(members, min(8, len(members))):
        bit = rng.randrange(256)
        flipped = bytearray(d)
        flipped[bit >> 3] ^= 0x80 >> (bit & 7)
        out += [bytes(flipped), d[:31] + bytes([d[31] ^ 1])]
    return out


def _check_same(conn, rng: random.Random) -> None:
    members = _members(conn)
    ref = SparseRevokedSet(members)
    stored = StoredRevokedSet(conn)
    assert stored.commitment == ref.commitment
    assert (stored.size, stored.root) == (ref.size, ref.root)
    for d in _probes(members, rng):
        text = stored.proof_text(d)
        assert text == ref.proof_text(d), d.hex()
        if d in ref:
            with pytest.raises(RevokedError):
                verify_not_revoked(ref.commitment, d, text)
        else:
            verify_not_revoked(ref.commitment, d, text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), pool), max_size=50), st.integers(0, 2**32))
def test_stored_proofs_are_the_in_memory_tree_s_after_any_changes(ops, seed):
    rng = random.Random(seed)
    state = LedgerState(LOG_KEY)
    _check_same(state.conn, rng)  # the empty set
    present: set[bytes] = set()
    for join, d in ops:
        if join:
            add_member(state.conn, d)
            present.add(d)
        elif d in present:
            remove_member(state.conn, d)  # (a count of one: it leaves)
            present.discard(d)
        _check_same(state.conn, rng)
    state.close()


def test_stored_proofs_on_a_ledger_after_joins_and_leaves(ledger_at):
    """A synthesized ledger's stored tree, then members joining and leaving it directly (the
    SQL of the proof read on both backends; the records are not the point here)."""
    log = SigningKey.from_seed(hashlib.sha256(b"revtree proof log").digest())
    rng = random.Random(ledger_at.backend)
    with Ledger.create(ledger_at(), "example.com/log", log) as led:
        synthesize(led, 500, log_key=log, batch=100)
        conn = led.stored_state().conn
        assert len(_members(conn)) >= 2
        _check_same(conn, rng)
        joined: list[bytes] = []
        for step in range(60):
            members = _members(conn)
            if step % 3 == 2 and members:
                d = rng.choice(members)
                remove_member(conn, d)  # (counted twice, a synthesized member stays)
            else:
                d = rng.randbytes(32) if step % 2 else DEEP + rng.randbytes(3)
                add_member(conn, d)
                joined.append(d)
            _check_same(conn, rng)
        for d in joined:  # every joined one leaves again
            if d in _members(conn):
                remove_member(conn, d)
        _check_same(conn, rng)


def test_the_legacy_version_is_built_in_memory():
    state = LedgerState(LOG_KEY)
    members = sorted(hashlib.sha256(bytes([i])).digest() for i in range(20))
    for d in members:
        add_member(state.conn, d)
    v1 = revoked_set_in(state.conn, 1)
    assert isinstance(v1, RevokedSet)
    assert v1.proof_text(members[3]) == RevokedSet(members).proof_text(members[3])
    assert isinstance(revoked_set_in(state.conn, 2), StoredRevokedSet)
    with pytest.raises(MalformedError):
        revoked_set_in(state.conn, 3)
    state.close()
