"""The state tables (ADR 0008): a view against a dict, the revoked set's commitment from
stored leaf hashes, and a state that keeps nothing it did not write."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import SigningKey
from keys.errors import MalformedError
from ledger.state import open_scratch, scratch_table
from ledger.store import Ledger, begin_write
from ledger.tlog import RevokedSet, revset_commitment


@settings(max_examples=60, deadline=None)
@given(st.sets(st.binary(min_size=32, max_size=32), max_size=40))
def test_streamed_revset_commitment_equals_the_revoked_set_tree(digests):
    members = sorted(digests)
    rs = RevokedSet(members, presorted=True)
    assert revset_commitment(iter(members)) == (rs.size, rs.root)
    if len(members) >= 2:
        for bad in (members[::-1], [*members, members[-1]]):
            with pytest.raises(MalformedError):
                revset_commitment(bad)


_ops = st.lists(
    st.tuples(st.sampled_from(["set", "get", "has", "setdefault"]), st.integers(-5, 40)),
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(_ops, st.sampled_from([int, bytes, str]))
def test_a_scratch_table_behaves_like_a_dict_in_key_order(ops, key_type):
    conn = open_scratch()
    m = scratch_table(conn, key_type)
    ref: dict = {}

    def k(i):
        return {int: i, bytes: i.to_bytes(2, "big", signed=True), str: f"k{i:+03d}"}[key_type]

    for n, (op, i) in enumerate(ops):
        key = k(i)
        if op == "set":
            m[key] = [n, str(n)]
            ref[key] = [n, str(n)]
        elif op == "get":
            assert m.get(key) == ref.get(key)
        elif op == "has":
            assert (key in m) == (key in ref)
        else:
            assert m.setdefault(key, [n]) == ref.setdefault(key, [n])
    assert list(m.items()) == sorted(ref.items())
    assert len(m) == len(ref) and bool(m) == bool(ref)
    conn.close()


def test_the_revoked_set_commitment_is_kept_until_the_set_changes(ledger_at):
    """On the state a ledger stores, on both backends (``ledger_at``)."""
    log = SigningKey.from_seed(bytes([10]) * 32)
    led = Ledger.create(ledger_at("kept"), "example.com/log", log)
    begin_write(led.connection)
    st_ = led.stored_state()
    assert st_.revset_commitment() == (0, RevokedSet([], presorted=True).root)
    st_.conn.execute(
        "INSERT INTO st_revoked (digest, count, leaf) VALUES (?, 1, ?)", (b"\1" * 32, b"x" * 32)
    )
    # the set did not change through the state: the kept commitment is read, not recomputed
    assert st_.revset_commitment() == (0, RevokedSet([], presorted=True).root)
    st_.revset_version += 1
    n, root = st_.revset_commitment()
    assert n == 1 and root != RevokedSet([b"\1" * 32], presorted=True).root  # the stored leaf
    led.connection.execute("ROLLBACK")
    led.close()
