"""RFC 9162 Merkle tree: public vectors, the stored tree against a naive recursive reference
(Hypothesis), and a systematic mutation suite for inclusion and consistency proofs."""

import hashlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.merkle_reference import mth, path, proof
from helpers.paths import load_vector
from keys import ProofMismatchError, SigningKey
from ledger import tlog as _merkle
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion

RFC8032_TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
REF_SIZE = 2500


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


# -- public vectors ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mv():
    return load_vector("merkle.json")


def _tree(leaves):
    """Stored hashes of a tree built by the same incremental code the store uses."""
    rows = {}
    f = _merkle.Frontier(0, [])
    for n, d in enumerate(leaves):
        rows[n] = f.append(leaf_hash(d))
    return rows


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 300),
    chunks=st.lists(st.integers(1, 70), min_size=1, max_size=6),
)
def test_frontier_extend_equals_one_append_per_leaf(start, chunks):
    """The batch path (extend) stores exactly the rows, edge and root of single appends."""
    leaves = [H(i.to_bytes(4, "big")) for i in range(start + sum(chunks))]
    one, many = _merkle.Frontier(0, []), _merkle.Frontier(0, [])
    rows_one = [one.append(h) for h in leaves]
    rows_many = many.extend(leaves[:start])
    pos = start
    for k in chunks:
        rows_many += many.extend(leaves[pos : pos + k])
        pos += k
        assert many.size == pos and many.root() == mth_of_hashes(leaves[:pos])
    assert rows_many == rows_one
    assert many.edge() == one.edge() and many.size == one.size


def mth_of_hashes(hashes):
    """Naive RFC 9162 MTH over leaf hashes (the reference splits at the largest power of 2)."""
    if not hashes:
        return H(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return H(b"\x01" + mth_of_hashes(hashes[:k]) + mth_of_hashes(hashes[k:]))


def test_path_parts_match_the_reference_plan_for_every_small_tree():
    """path_parts (peak found by bit arithmetic) names exactly the nodes whose hashes the naive
    reference puts in every inclusion and consistency proof of trees up to 70 leaves."""
    leaves = [i.to_bytes(2, "big") for i in range(70)]
    rows = _tree(leaves)

    def hashes(plan):
        return [_merkle.fold([_merkle.node_hash_at(rows, n) for n in el]) for el in plan]

    for size in range(1, 71):
        tree = leaves[:size]
        for index in range(size):
            assert hashes(_merkle.inclusion_plan(index, size)) == path(index, tree)
        for size1 in range(1, size + 1):
            assert hashes(_merkle.consistency_plan(size1, size)) == proof(size1, tree)


def test_vector_leaf_hashes_and_roots(mv):
    leaves = [bytes.fromhex(x) for x in mv["leaves_hex"]]
    assert [leaf_hash(d).hex() for d in leaves] == mv["leaf_hashes_hex"]
    hashes = _tree(leaves)
    for n, root in enumerate(mv["roots_by_size_hex"]):
        nodes = _merkle.root_plan(n)
        assert _merkle.fold([_merkle.node_hash_at(hashes, x) for x in nodes]).hex() == root
        assert mth(leaves[:n]).hex() == root  # the reference agrees with the vector too
    assert EMPTY_ROOT.hex() == mv["roots_by_size_hex"][0]


def test_vector_inclusion_proofs(mv):
    leaves = [bytes.fromhex(x) for x in mv["leaves_hex"]]
    hashes = _tree(leaves)
    roots = [bytes.fromhex(r) for r in mv["roots_by_size_hex"]]
    for case in mv["inclusion"]:
        i, n = case["index"], case["size"]
        got = _merkle.assemble(_merkle.inclusion_plan(i, n), hashes)
        assert [h.hex() for h in got] == case["proof_hex"]
        verify_inclusion(i, n, leaf_hash(leaves[i]), got, roots[n])


def test_vector_consistency_proofs(mv):
    leaves = [bytes.fromhex(x) for x in mv["leaves_hex"]]
    hashes = _tree(leaves)
    roots = [bytes.fromhex(r) for r in mv["roots_by_size_hex"]]
    for case in mv["consistency"]:
        m, n = case["size1"], case["size2"]
        got = _merkle.assemble(_merkle.consistency_plan(m, n), hashes)
        assert [h.hex() for h in got] == case["proof_hex"]
        verify_consistency(m, n, got, roots[m], roots[n])


def test_vector_must_fail_edge_cases(mv):
    roots = [bytes.fromhex(r) for r in mv["roots_by_size_hex"]]
    leaves = [bytes.fromhex(x) for x in mv["leaves_hex"]]
    hashes = _tree(leaves)
    p28 = _merkle.assemble(_merkle.consistency_plan(2, 8), hashes)
    # consistency with size1 = 0 (even with the empty root and an empty proof)
    with pytest.raises(ProofMismatchError):
        verify_consistency(0, 8, [], roots[0], roots[8])
    with pytest.raises(ProofMismatchError):
        verify_consistency(0, 0, [], roots[0], roots[0])
    # size1 > size2
    with pytest.raises(ProofMismatchError):
        verify_consistency(8, 2, p28, roots[8], roots[2])
    # equal sizes with a non-empty proof
    with pytest.raises(ProofMismatchError):
        verify_consistency(8, 8, [roots[8]], roots[8], roots[8])
    # equal sizes, empty proof, different roots
    with pytest.raises(ProofMismatchError):
        verify_consistency(8, 8, [], roots[8], roots[7])
    # different sizes with an empty proof
    with pytest.raises(ProofMismatchError):
        verify_consistency(4, 8, [], roots[4], roots[8])
    # inclusion with index >= size, and in a tree of size 0
    with pytest.raises(ProofMismatchError):
        verify_inclusion(8, 8, leaf_hash(leaves[0]), [], roots[8])
    with pytest.raises(ProofMismatchError):
        verify_inclusion(0, 0, leaf_hash(b""), [], roots[0])
    # hashes of the wrong length
    with pytest.raises(ProofMismatchError):
        verify_inclusion(0, 1, leaf_hash(leaves[0])[:31], [], roots[1])
    with pytest.raises(ProofMismatchError):
        verify_consistency(2, 8, [*p28[:-1], p28[-1] + b"\x00"], roots[2], roots[8])


# -- the stored tree against the naive reference -----------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One store of REF_SIZE records, built incrementally with mixed single and batch appends."""
    path = tmp_path_factory.mktemp("merkle") / "ref.db"
    key = SigningKey.from_seed(RFC8032_TEST1)
    led = Ledger.create(path, "example.com/ref", key.public_key)
    entry = sign_entry("test", b"reference", key)
    rng = random.Random(9162)
    while led.size < REF_SIZE:
        k = min(REF_SIZE - led.size, rng.choice([1, 1, 2, 3, 7, 64, 300]))
        if k == 1:
            led.append("test", entry, now=led.size)
        else:
            led.append_batch([("test", entry)] * k, now=led.size)
    leaves = [raw for _, raw in led.iter_records()]
    yield led, leaves
    led.close()


def test_every_root_matches_reference_up_to_512(big):
    led, leaves = big
    for n in range(513):
        assert led.root(n) == mth(leaves[:n]), n


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_roots_and_proofs_match_reference(big, data):
    led, leaves = big
    n = data.draw(st.integers(1, REF_SIZE), label="size")
    m = data.draw(st.integers(0, n - 1), label="index")
    s1 = data.draw(st.integers(1, n), label="size1")
    tree = leaves[:n]
    root = led.root(n)
    assert root == mth(tree)
    inc = led.inclusion_proof(m, n)
    assert inc == path(m, tree)
    verify_inclusion(m, n, leaf_hash(leaves[m]), inc, root)
    con = led.consistency_proof(s1, n)
    assert con == proof(s1, tree)
    verify_consistency(s1, n, con, mth(leaves[:s1]), root)


def test_proof_reads_are_logarithmic(big):
    """Each proof names O(log n) stored hashes, whatever the size."""
    for n in (1, 2, 3, 1000, REF_SIZE, 10**6, 2**40 + 12345):
        for m in (0, n // 2, n - 1):
            assert len(_merkle.plan_rows(_merkle.inclusion_plan(m, n))) <= 2 * n.bit_length()
        for s1 in (1, n // 3 or 1, n):
            ids = _merkle.plan_rows(_merkle.consistency_plan(s1, n))
            assert len(ids) <= 2 * n.bit_length() + 1


def test_each_row_stores_the_subtrees_its_leaf_completes(big):
    led, leaves = big
    rows = dict(led._conn.execute("SELECT idx, hashes FROM tree"))
    assert len(rows) == REF_SIZE
    for n, blob in rows.items():
        assert len(blob) == 32 * _merkle.row_hash_count(n)
        for level in range(_merkle.row_hash_count(n)):
            lo = n + 1 - (1 << level)
            assert blob[32 * level : 32 * level + 32] == mth(leaves[lo : n + 1])


# -- mutation suite ------------------------------------------------------------------------------


def _bitflips(proof_hashes):
    for j, h in enumerate(proof_hashes):
        for bit in range(len(h) * 8):
            b = bytearray(h)
            b[bit // 8] ^= 1 << (bit % 8)
            yield [*proof_hashes[:j], bytes(b), *proof_hashes[j + 1 :]]


def _shape_changes(proof_hashes):
    junk = H(b"junk")
    for k in range(len(proof_hashes)):  # every truncation
        yield proof_hashes[:k]
        yield proof_hashes[k + 1 :]
        yield [*proof_hashes[:k], *proof_hashes[k + 1 :]]  # one hash removed
    yield [*proof_hashes, junk]  # extensions
    yield [junk, *proof_hashes]
    yield [*proof_hashes, proof_hashes[-1]] if proof_hashes else [junk]
    if len(proof_hashes) > 1:
        yield list(reversed(proof_hashes))


CASES = [(0, 1), (0, 2), (1, 2), (2, 3), (5, 8), (0, 7), (6, 7), (13, 100), (99, 100), (1023, 1024)]
CASES += [(1024, 1025), (777, 2049), (2048, 2049), (1234, REF_SIZE), (REF_SIZE - 1, REF_SIZE)]


@pytest.mark.parametrize(("m", "n"), CASES)
def test_inclusion_mutations_are_refused(big, m, n):
    led, leaves = big
    root = led.root(n)
    leaf = leaf_hash(leaves[m])
    p = led.inclusion_proof(m, n)
    verify_inclusion(m, n, leaf, p, root)
    bad = list(_bitflips(p)) + list(_shape_changes(p))
    for q in bad:
        with pytest.raises(ProofMismatchError):
            verify_inclusion(m, n, leaf, q, root)
    # index +-1 and size x2 or /2 (size +-1 alone may share the path shape: the root, which a
    # checkpoint binds to its size, is what pins the size)
    for m2, n2 in [(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n // 2)]:
        if (m2, n2) != (m, n):
            with pytest.raises(ProofMismatchError):
                verify_inclusion(m2, n2, leaf, p, root)
    for h in _bitflips([leaf]):  # wrong leaf
        with pytest.raises(ProofMismatchError):
            verify_inclusion(m, n, h[0], p, root)
    with pytest.raises(ProofMismatchError):  # wrong root
        verify_inclusion(m, n, leaf, p, led.root(n - 1) if n > 1 else H(b"x"))


CCASES = [(1, 2), (1, 8), (2, 5), (3, 7), (4, 8), (6, 8), (7, 8), (100, 1000), (512, 1024)]
CCASES += [(1000, 1024), (1023, 1025), (1, REF_SIZE), (1500, REF_SIZE), (REF_SIZE - 1, REF_SIZE)]


@pytest.mark.parametrize(("m", "n"), CCASES)
def test_consistency_mutations_are_refused(big, m, n):
    led, _ = big
    r1, r2 = led.root(m), led.root(n)
    p = led.consistency_proof(m, n)
    verify_consistency(m, n, p, r1, r2)
    for q in list(_bitflips(p)) + list(_shape_changes(p)):
        with pytest.raises(ProofMismatchError):
            verify_consistency(m, n, q, r1, r2)
    # size1 +-1 (and ^2), size2 x2 or /2, swapped sizes (as transparency-dev/merkle does; size2
    # +-1 alone may share the proof's shape and is pinned by the checkpoint binding size to root)
    sizes = [(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n // 2), (n, m)]
    for m2, n2 in sizes:
        if (m2, n2) != (m, n):
            with pytest.raises(ProofMismatchError):
                verify_consistency(m2, n2, p, r1, r2)
    with pytest.raises(ProofMismatchError):  # swapped roots
        verify_consistency(m, n, p, r2, r1)
    for r in _bitflips([r1]):
        with pytest.raises(ProofMismatchError):
            verify_consistency(m, n, p, r[0], r2)
    for r in _bitflips([r2]):
        with pytest.raises(ProofMismatchError):
            verify_consistency(m, n, p, r1, r[0])


def test_store_refuses_sizes_beyond_the_tree(big):
    from keys import MalformedError

    led, _ = big
    with pytest.raises(MalformedError):
        led.root(REF_SIZE + 1)
    with pytest.raises(MalformedError):
        led.inclusion_proof(0, REF_SIZE + 1)
    with pytest.raises(MalformedError):
        led.inclusion_proof(5, 5)
    with pytest.raises(MalformedError):
        led.consistency_proof(0, 5)
    with pytest.raises(MalformedError):
        led.consistency_proof(6, 5)
    with pytest.raises(MalformedError):
        led.consistency_proof(5, REF_SIZE + 1)
