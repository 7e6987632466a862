"""The revoked set (SPEC 12): sorted-tree root against a naive reference, non-membership and
membership proofs over random sets (Hypothesis), every mutation of a proof refused, the
checkpoint extension line and the text encoding of a proof."""

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledger.tlog
from helpers.merkle_reference import mth
from helpers.merkle_reference import path as reference_path
from keys import (
    MalformedError,
    ProofMismatchError,
    RevokedError,
    SigningKey,
    b64std_encode,
)
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import (
    EMPTY_ROOT,
    AbsenceProof,
    Checkpoint,
    Ed25519NoteSigner,
    RevokedSet,
    RevsetCommitment,
    find_revset_commitment,
    format_absence_proof,
    format_revset_extension,
    leaf_hash,
    open_checkpoint,
    parse_absence_proof,
    parse_revset_extension,
    prove_absent,
    prove_present,
    revset_leaf_hash,
    revset_root,
    sign_checkpoint,
    verify_absent,
    verify_present,
)

digests = st.binary(min_size=32, max_size=32)
digest_sets = st.lists(digests, max_size=40, unique=True).map(sorted)


def succ(d: bytes) -> bytes:
    """The digest right after ``d`` in byte order."""
    return (int.from_bytes(d, "big") + 1).to_bytes(32, "big")


def naive_root(sorted_digests):
    """RFC 9162 MTH over the tagged leaves, by the reference's recursive definition."""
    return mth([b"lic-revoked/v1\x00" + d for d in sorted_digests])


def test_leaf_is_domain_separated():
    d = bytes(range(32))
    assert revset_leaf_hash(d) == hashlib.sha256(b"\x00lic-revoked/v1\x00" + d).digest()
    assert revset_leaf_hash(d) != leaf_hash(d)


@settings(max_examples=120, deadline=None)
@given(digest_sets)
def test_root_matches_reference(ds):
    assert revset_root(ds) == naive_root(ds)
    assert RevokedSet(reversed(ds)).root == naive_root(ds)  # unsorted input is sorted
    leaves = [b"lic-revoked/v1\x00" + d for d in ds]
    s = RevokedSet(ds, presorted=True)
    for i, d in enumerate(ds):  # membership paths are the reference's audit paths
        assert list(s.prove_present(d).member.path) == reference_path(i, leaves)


def test_root_refuses_unsorted_or_duplicates():
    a, b = bytes(32), bytes([1]) * 32
    with pytest.raises(MalformedError):
        revset_root([b, a])
    with pytest.raises(MalformedError):
        revset_root([a, a])
    with pytest.raises(MalformedError):
        revset_root([b"short"])


def test_empty_set():
    assert revset_root([]) == EMPTY_ROOT
    p = prove_absent([], bytes(32))
    assert p == AbsenceProof(0, None, None)
    verify_absent(EMPTY_ROOT, 0, bytes(32), p)
    with pytest.raises(ProofMismatchError):
        verify_absent(hashlib.sha256(b"x").digest(), 0, bytes(32), p)


@settings(max_examples=150, deadline=None)
@given(digest_sets, digests)
def test_absent_digests_prove_absent(ds, d):
    s = RevokedSet(ds, presorted=True)
    if d in ds:
        with pytest.raises(RevokedError):
            s.prove_absent(d)
        return
    proof = s.prove_absent(d)
    verify_absent(s.root, s.size, d, proof)
    assert parse_absence_proof(format_absence_proof(proof)) == proof
    assert prove_absent(ds, d) == proof


@settings(max_examples=150, deadline=None)
@given(digest_sets.filter(bool), st.data())
def test_present_digests_never_prove_absent(ds, data):
    s = RevokedSet(ds, presorted=True)
    d = data.draw(st.sampled_from(ds))
    mp = prove_present(ds, d)
    verify_present(s.root, s.size, d, mp)
    # a proof that names d itself as a neighbour reveals the membership
    lying = AbsenceProof(s.size, mp.member, None)
    with pytest.raises(RevokedError):
        verify_absent(s.root, s.size, d, lying)
    # every absence proof for another digest fails for d
    other = data.draw(digests.filter(lambda x: x not in ds))
    proof = s.prove_absent(other)
    with pytest.raises((ProofMismatchError, RevokedError)):
        verify_absent(s.root, s.size, d, proof)
    # and no proof built from any pair of neighbours proves d absent
    for i in range(-1, s.size):
        left = s.prove_present(ds[i]).member if i >= 0 else None
        right = s.prove_present(ds[i + 1]).member if i + 1 < s.size else None
        with pytest.raises((ProofMismatchError, RevokedError)):
            verify_absent(s.root, s.size, d, AbsenceProof(s.size, left, right))


def _mutations(proof: AbsenceProof):
    """Every bit flip of every digest and path hash, index +-1, swapped neighbours, dropped
    neighbours, truncated and extended paths, and every wrong size nearby."""
    for side in ("left", "right"):
        n = getattr(proof, side)
        if n is None:
            continue

        def put(new, side=side):
            return dataclasses.replace(proof, **{side: new})

        for i in range(32):
            for bit in range(8):
                d = bytearray(n.digest)
                d[i] ^= 1 << bit
                yield put(dataclasses.replace(n, digest=bytes(d)))
        for k, h in enumerate(n.path):
            for i in range(32):
                hb = bytearray(h)
                hb[i] ^= 1 << (i % 8)
                path = list(n.path)
                path[k] = bytes(hb)
                yield put(dataclasses.replace(n, path=tuple(path)))
        yield put(dataclasses.replace(n, index=n.index + 1))
        if n.index:
            yield put(dataclasses.replace(n, index=n.index - 1))
        if n.path:
            yield put(dataclasses.replace(n, path=n.path[:-1]))
        yield put(dataclasses.replace(n, path=(*n.path, bytes(32))))
        yield put(None)
    if proof.left is not None and proof.right is not None:
        yield AbsenceProof(proof.size, proof.right, proof.left)
    for size in (proof.size - 1, proof.size + 1, proof.size * 2, proof.size // 2):
        if size >= 0 and size != proof.size:
            yield dataclasses.replace(proof, size=size)


@settings(max_examples=40, deadline=None)
@given(st.lists(digests, min_size=1, max_size=24, unique=True).map(sorted), digests)
def test_every_mutation_of_a_proof_is_refused(ds, d):
    s = RevokedSet(ds, presorted=True)
    if d in s:
        return
    proof = s.prove_absent(d)
    n = 0
    for bad in _mutations(proof):
        n += 1
        with pytest.raises((ProofMismatchError, RevokedError, MalformedError)):
            verify_absent(s.root, s.size, d, bad)
        # the wrong size given to the verifier is refused too
    with pytest.raises(ProofMismatchError):
        verify_absent(s.root, s.size + 1, d, proof)
    assert n > 256


def test_neighbours_that_are_not_adjacent_are_refused():
    ds = sorted(hashlib.sha256(bytes([i])).digest() for i in range(10))
    s = RevokedSet(ds, presorted=True)
    # a digest between ds[3] and ds[4]; neighbours ds[2] and ds[5] enclose it but skip two
    d = succ(ds[3])
    assert ds[3] < d < ds[4] and d not in s
    left, right = s.prove_present(ds[2]).member, s.prove_present(ds[5]).member
    with pytest.raises(ProofMismatchError):
        verify_absent(s.root, s.size, d, AbsenceProof(s.size, left, right))
    verify_absent(s.root, s.size, d, s.prove_absent(d))


def test_a_lying_commitment_verifies_alone_and_the_audit_catches_it():
    """A log that leaves a revoked digest out of its commitment yields absence proofs that
    verify against its root: the verifier alone cannot tell. The audit recomputes the set
    from the ledger and compares roots (SPEC 12.4); this pins both halves."""
    ds = sorted(hashlib.sha256(bytes([i])).digest() for i in range(6))
    hidden = ds[3]
    lying = RevokedSet([d for d in ds if d != hidden], presorted=True)
    verify_absent(lying.root, lying.size, hidden, lying.prove_absent(hidden))
    assert revset_root(ds) != lying.root  # what the audit's recomputation detects
    with pytest.raises(RevokedError):
        RevokedSet(ds).prove_absent(hidden)


def test_membership_proof_mutations():
    ds = sorted(hashlib.sha256(bytes([i])).digest() for i in range(7))
    s = RevokedSet(ds, presorted=True)
    for d in ds:
        mp = s.prove_present(d)
        verify_present(s.root, s.size, d, mp)
        with pytest.raises(ProofMismatchError):
            verify_present(s.root, s.size + 1, d, mp)
        with pytest.raises(ProofMismatchError):
            verify_present(s.root, s.size, ds[0] if d != ds[0] else ds[1], mp)
        for k in range(len(mp.member.path)):
            path = list(mp.member.path)
            path[k] = bytes(32)
            bad = dataclasses.replace(mp, member=dataclasses.replace(mp.member, path=tuple(path)))
            with pytest.raises(ProofMismatchError):
                verify_present(s.root, s.size, d, bad)
    with pytest.raises(MalformedError):
        s.prove_present(bytes(32))


# -- extension line and text encoding ----------------------------------------------------------


def test_extension_line_round_trip_and_strictness():
    ds = sorted(hashlib.sha256(bytes([i])).digest() for i in range(3))
    root = revset_root(ds)
    line = format_revset_extension(3, root)
    assert line == f"lic-revoked/v1 3 {b64std_encode(root)}"
    c = parse_revset_extension(line)
    assert (c.size, c.root) == (3, root)
    assert format_revset_extension(0, EMPTY_ROOT).startswith("lic-revoked/v1 0 ")
    bad = [
        line.replace(" 3 ", " 03 "),
        line.replace(" 3 ", " -3 "),
        line.replace(" 3 ", "  3 "),
        line + " ",
        line.replace("lic-revoked/v1", "lic-revoked/v3"),  # no such version
        line[:-2],
        f"lic-revoked/v1 0 {b64std_encode(root)}",
        "lic-revoked/v1 1",
    ]
    for b in bad:
        with pytest.raises(MalformedError):
            parse_revset_extension(b)
    assert find_revset_commitment(["other/ext 1", line]) == c
    assert find_revset_commitment(["other/ext 1"]) is None
    with pytest.raises(MalformedError):
        find_revset_commitment([line, line])
    v2 = format_revset_extension(3, root, version=2)  # the line our log signs (12.7)
    assert v2 == f"lic-revoked/v2 3 {b64std_encode(root)}"
    assert parse_revset_extension(v2) == RevsetCommitment(3, root, 2) != c
    with pytest.raises(MalformedError):  # one revoked-set line per checkpoint, of any version
        find_revset_commitment([line, v2])


def test_extension_travels_in_a_signed_checkpoint(tmp_path):
    key = SigningKey.from_seed(bytes(32))
    origin = "example.com/log"
    line = format_revset_extension(0, EMPTY_ROOT, version=2)  # what the log signs (12.3)
    led = Ledger.create(tmp_path / "l.db", origin, key.public_key)
    led.append("note", sign_entry("note", b"x", key), now=1)
    for supplied in (line, format_revset_extension(0, EMPTY_ROOT)):
        with pytest.raises(MalformedError, match="its own"):  # the log computes the line
            led.checkpoint(key, extensions=[supplied])
    cp = led.checkpoint(key)
    assert cp.checkpoint.extensions == (line,)
    assert led.latest_checkpoint().checkpoint.extensions == (line,)
    assert led.checkpoint(key).note == cp.note  # same size: unchanged
    # at an unchanged size the stored checkpoint comes back as signed (ledger-core's rule)
    again = led.checkpoint(key, extensions=["lic-revoked/v1 1 " + b64std_encode(bytes(32))])
    assert again.note == cp.note
    signer = Ed25519NoteSigner(origin, key)
    body = Checkpoint(origin, 1, led.root(1), (line,))
    signed = sign_checkpoint(body, signer)
    got, _ = open_checkpoint(signed.note, signer.verifier)
    assert find_revset_commitment(got.checkpoint.extensions).root == EMPTY_ROOT
    led.close()


def test_absence_proof_text_is_strict():
    ds = sorted(hashlib.sha256(bytes([i])).digest() for i in range(5))
    s = RevokedSet(ds, presorted=True)
    d = succ(ds[2])
    text = format_absence_proof(s.prove_absent(d))
    assert text.startswith(b"lic-absent/v1 5\nleft 2 ")
    assert parse_absence_proof(text) == s.prove_absent(d)
    for i in range(len(text)):
        for repl in (b"", b" ", b"\n", b"A"):
            bad = text[:i] + repl + text[i + 1 :]
            if bad == text:
                continue
            try:
                p = parse_absence_proof(bad)
            except MalformedError:
                continue
            with pytest.raises((ProofMismatchError, RevokedError, MalformedError)):
                verify_absent(s.root, s.size, d, p)
    with pytest.raises(MalformedError):
        parse_absence_proof(text + b"right 0 " + b64std_encode(ds[0]).encode() + b"\n")
    with pytest.raises(MalformedError):
        parse_absence_proof(b"x" * (ledger.tlog.MAX_ABSENCE_PROOF_SIZE + 1))
