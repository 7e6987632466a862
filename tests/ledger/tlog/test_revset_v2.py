"""The lic-revoked/v2 tree (SPEC 12.7) against a naive reference written here from the
recursive definition over a Python set, its lic-absent/v2 text, systematic mutations of every
proof, the version dispatch, and our vectors (tests/vectors/lic_revset_v2.json: the test
regenerates them, requires them unchanged, and checks each against the reference)."""

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.paths import load_vector
from keys import b64std_encode
from keys.errors import MalformedError, ProofMismatchError, RevokedError
from ledger.tlog import (
    EMPTY_ROOT,
    RevokedSet,
    RevsetCommitment,
    SparseProof,
    SparseRevokedSet,
    format_revset_extension,
    format_sparse_proof,
    parse_revset_extension,
    parse_sparse_proof,
    revoked_set_for,
    verify_not_revoked,
    verify_sparse_absent,
)

FILE = "lic_revset_v2.json"


# -- the naive reference: SPEC 12.7's definition, nothing shared with the library --------------


def bit(d: bytes, i: int) -> int:
    return (d[i // 8] >> (7 - i % 8)) & 1


def ref_hash(members: frozenset[bytes], i: int = 0) -> bytes:
    if not members:
        return hashlib.sha256(b"").digest()
    if len(members) == 1:
        (d,) = members
        return hashlib.sha256(b"\x00" + b"lic-revoked/v2" + b"\x00" + d).digest()
    s0 = frozenset(d for d in members if bit(d, i) == 0)
    s1 = members - s0
    return hashlib.sha256(b"\x01" + ref_hash(s0, i + 1) + ref_hash(s1, i + 1)).digest()


def ref_proof(members: frozenset[bytes], d: bytes) -> tuple[int, bytes | None, list[bytes]]:
    """(k, terminal member or None, siblings bottom-up) by walking d's bits from the root."""
    k, here, siblings = 0, members, []
    while len(here) >= 2:
        side = frozenset(x for x in here if bit(x, k) == bit(d, k))
        siblings.append(ref_hash(here - side, k + 1))
        here, k = side, k + 1
    return k, (next(iter(here)) if here else None), siblings[::-1]


def ref_text(members: frozenset[bytes], d: bytes) -> bytes:
    k, member, siblings = ref_proof(members, d)
    lines = [f"lic-absent/v2 {len(members)} {k}"]
    lines.append("empty" if member is None else f"leaf {b64std_encode(member)}")
    lines += [b64std_encode(h) for h in siblings]
    return "".join(x + "\n" for x in lines).encode()


def digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


digests = st.binary(min_size=32, max_size=32)
# digests that share long prefixes, so that deep and chained nodes occur
clustered = st.builds(
    lambda head, tail: head + tail, st.sampled_from([b"\x00" * 30, b"\xff" * 30]),
    st.binary(min_size=2, max_size=2),
)  # fmt: skip
members_st = st.sets(st.one_of(digests, clustered), max_size=40)


@settings(max_examples=150, deadline=None)
@given(members_st, st.one_of(digests, clustered))
def test_the_tree_and_its_proofs_equal_the_reference(members, d):
    ms = frozenset(members)
    s = SparseRevokedSet(ms)
    assert (s.size, s.root) == (len(ms), ref_hash(ms))
    text = s.proof_text(d)
    assert text == ref_text(ms, d)
    assert parse_sparse_proof(text) == s.prove(d)
    if d in ms:
        with pytest.raises(RevokedError):
            verify_sparse_absent(s.root, s.size, d, s.prove(d))
    else:
        verify_sparse_absent(s.root, s.size, d, s.prove(d))
    for m in list(ms)[:3]:  # every member proves its membership
        with pytest.raises(RevokedError):
            verify_not_revoked(s.commitment, m, s.proof_text(m))


@settings(max_examples=60, deadline=None)
@given(members_st.filter(lambda m: len(m) >= 2), digests)
def test_a_proof_for_another_set_or_digest_is_refused(members, d):
    ms = sorted(members)
    s = SparseRevokedSet(ms, presorted=True)
    hidden = ms[0]
    lying = SparseRevokedSet(ms[1:], presorted=True)  # a set without the member
    with pytest.raises(ProofMismatchError):
        verify_sparse_absent(s.root, s.size, hidden, lying.prove(hidden))
    if d not in members:
        with pytest.raises((ProofMismatchError, RevokedError)):
            verify_sparse_absent(s.root, s.size, hidden, s.prove(d))


def _mutations(text: bytes):
    """Every single-byte change (each byte replaced by a neighbouring base64 character or a
    space), every line dropped, duplicated or swapped with the next, truncations and
    trailing garbage."""
    for i in range(len(text)):
        for b in {ord("A"), ord("B"), ord("0"), ord(" "), ord("\n")} - {text[i]}:
            yield text[:i] + bytes([b]) + text[i + 1 :]
    lines = text.split(b"\n")[:-1]
    for i in range(len(lines)):
        yield b"".join(x + b"\n" for j, x in enumerate(lines) if j != i)
        yield b"".join(x + b"\n" for x in lines[: i + 1] + lines[i:])
        if i + 1 < len(lines) and lines[i] != lines[i + 1]:
            swapped = [*lines[:i], lines[i + 1], lines[i], *lines[i + 2 :]]
            yield b"".join(x + b"\n" for x in swapped)
    yield text[:-1]
    yield text + b"x\n"
    yield text.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17])
def test_every_mutation_of_a_proof_is_refused(n):
    ms = [digest(f"member {i}") for i in range(n)]
    s = SparseRevokedSet(ms)
    absent = digest("not a member")
    for target in [absent, *ms[:1]]:
        text = s.proof_text(target)
        for bad in _mutations(text):
            with pytest.raises((MalformedError, ProofMismatchError)):
                verify_not_revoked(s.commitment, target, bad)


def test_non_canonical_proofs_are_refused():
    ms = [digest(f"member {i}") for i in range(8)]
    s = SparseRevokedSet(ms)
    d = digest("absent")
    p = s.prove(d)
    # one level deeper than the first depth with at most one member: an EMPTY sibling
    deeper = SparseProof(p.size, p.depth + 1, None, (EMPTY_ROOT, *p.siblings))
    if p.member is None:
        with pytest.raises(ProofMismatchError):
            verify_sparse_absent(s.root, s.size, d, deeper)
    # a terminal leaf that does not share the digest's prefix
    single = SparseRevokedSet([ms[0]])
    far = bytes(x ^ 0xFF for x in ms[0])
    with pytest.raises(ProofMismatchError):
        verify_sparse_absent(single.root, 1, far, SparseProof(1, 0, None, ()))
    verify_sparse_absent(single.root, 1, far, single.prove(far))
    # the size is checked against the commitment and the shape
    with pytest.raises(ProofMismatchError):
        verify_sparse_absent(s.root, s.size + 1, d, p)
    with pytest.raises(ProofMismatchError):
        verify_sparse_absent(EMPTY_ROOT, 0, d, SparseProof(0, 0, ms[0], ()))
    with pytest.raises(MalformedError):
        parse_sparse_proof(b"lic-absent/v2 1 257\nempty\n")
    with pytest.raises(MalformedError):
        parse_sparse_proof(b"x" * (16 * 1024 + 1))


def test_the_version_dispatch_refuses_mixed_versions():
    ms = [digest(f"member {i}") for i in range(5)]
    d = digest("absent")
    v1, v2 = revoked_set_for(1, sorted(ms)), revoked_set_for(2, sorted(ms))
    assert isinstance(v1, RevokedSet) and isinstance(v2, SparseRevokedSet)
    assert v1.commitment.version == 1 and v2.commitment.version == 2
    verify_not_revoked(v1.commitment, d, v1.proof_text(d))
    verify_not_revoked(v2.commitment, d, v2.proof_text(d))
    for c, text in ((v1.commitment, v2.proof_text(d)), (v2.commitment, v1.proof_text(d))):
        with pytest.raises(MalformedError):  # a proof of the other version does not parse
            verify_not_revoked(c, d, text)
    with pytest.raises(MalformedError):
        revoked_set_for(3, [])
    with pytest.raises(MalformedError):
        verify_not_revoked(RevsetCommitment(0, EMPTY_ROOT, 3), d, b"")
    line = v2.commitment.line
    assert line == f"lic-revoked/v2 5 {b64std_encode(v2.root)}"
    assert parse_revset_extension(line) == v2.commitment
    with pytest.raises(MalformedError):  # size 0 requires H("")
        parse_revset_extension(f"lic-revoked/v2 0 {b64std_encode(v2.root)}")
    assert format_revset_extension(0, EMPTY_ROOT, version=2) == (
        "lic-revoked/v2 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    )


# -- vectors ----------------------------------------------------------------------------------


def _set_case(name: str, ms: list[bytes], probes: list[bytes]) -> dict:
    s = SparseRevokedSet(ms)
    return {
        "name": name,
        "members_hex": [d.hex() for d in s.digests],
        "root_hex": s.root.hex(),
        "extension_line": s.commitment.line,
        "proofs": [
            {"digest_hex": p.hex(), "member": p in s, "proof": s.proof_text(p).decode()}
            for p in probes
        ],
    }


def generate() -> dict:
    many = [digest(f"lic-ledger revoked token {i}") for i in range(12)]
    # two members that share their first 12 bits: a chain of one-sided nodes above them
    near = [bytes.fromhex("abc0") + bytes(30), bytes.fromhex("abc8") + bytes(30)]
    absent = digest("lic-ledger token not revoked")
    one = digest("lic-ledger revoked token 0")
    member = SparseRevokedSet(many).prove(absent)
    wrong = SparseProof(13, member.depth, member.member, member.siblings)  # size 12
    bad_size = format_sparse_proof(absent, wrong).decode()
    return {
        "source": "lic-ledger, generated by tests/ledger/tlog/test_revset_v2.py (SPEC 12.7); "
        "each root and proof is checked there against a naive recursive reference",
        "sets": [
            _set_case("empty", [], [absent]),
            _set_case("one", [one], [absent, one]),
            _set_case("two", many[:2], [absent, many[0]]),
            _set_case("three", many[:3], [absent, many[2]]),
            _set_case(
                "two with a long common prefix",
                near,
                [near[0][:31] + b"\x01", bytes.fromhex("abc4") + bytes(30), near[1]],
            ),
            _set_case("many", many, [absent, many[5]]),
        ],
        "malformed": [
            "lic-absent/v2 12 04\nempty\n",
            "lic-absent/v2 0 0\nempty",
            "lic-absent/v2 0 0\nnothing\n",
            "lic-absent/v1 0\n",
            "lic-absent/v2 0 1\nempty\n",
            "lic-absent/v2 1 0\nleaf AAAA\n",
            "lic-absent/v2  0 0\nempty\n",
        ],
        "mismatch": [{"set": "many", "digest_hex": absent.hex(), "proof": bad_size}],
    }


def test_vectors_regenerate_unchanged():
    assert generate() == load_vector(FILE)


def test_vectors_against_the_reference():
    v = load_vector(FILE)
    sets = {}
    for case in v["sets"]:
        ms = frozenset(bytes.fromhex(h) for h in case["members_hex"])
        sets[case["name"]] = ms
        root = ref_hash(ms)
        assert case["root_hex"] == root.hex()
        assert case["extension_line"] == f"lic-revoked/v2 {len(ms)} {b64std_encode(root)}"
        c = parse_revset_extension(case["extension_line"])
        for p in case["proofs"]:
            d = bytes.fromhex(p["digest_hex"])
            assert p["member"] == (d in ms)
            assert p["proof"].encode() == ref_text(ms, d)
            if p["member"]:
                with pytest.raises(RevokedError):
                    verify_not_revoked(c, d, p["proof"].encode())
            else:
                verify_not_revoked(c, d, p["proof"].encode())
    assert {len(ms) for ms in sets.values()} >= {0, 1, 2, 3, 12}
    empty = RevsetCommitment(0, EMPTY_ROOT, 2)
    for text in v["malformed"]:
        with pytest.raises(MalformedError):
            verify_not_revoked(empty, digest("x"), text.encode())
    for case in v["mismatch"]:
        ms = sets[case["set"]]
        c = RevsetCommitment(len(ms), ref_hash(ms), 2)
        with pytest.raises(ProofMismatchError):
            verify_not_revoked(c, bytes.fromhex(case["digest_hex"]), case["proof"].encode())


def test_every_pair_of_small_sets_has_distinct_roots():
    pool = [digest(f"p{i}") for i in range(5)]
    roots = {
        ref_hash(frozenset(c))
        for r in range(len(pool) + 1)
        for c in itertools.combinations(pool, r)
    }
    assert len(roots) == 2 ** len(pool)
    assert {
        SparseRevokedSet(c).root for r in range(6) for c in itertools.combinations(pool, r)
    } == roots
