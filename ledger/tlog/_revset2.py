"""The revoked set v2: a compact sparse Merkle tree keyed by the digests' bits, with its
absence and membership proofs (SPEC.md section 12.7). Pure: no I/O, no clock.

- Bit i of a digest (i = 0..255) is bit ``7 - i % 8`` of byte ``i // 8``: most significant
  first. For the members S sharing their first i bits, ``H(S, i)`` is ``EMPTY = SHA-256("")``
  when S is empty, ``leaf(d) = SHA-256(0x00 || "lic-revoked/v2" || 0x00 || d)`` when S is
  ``{d}``, else ``SHA-256(0x01 || H(S0, i+1) || H(S1, i+1))`` (S0, S1: the members whose bit
  i is 0, 1). The root is ``H(all members, 0)``; a checkpoint commits to it with the line
  ``lic-revoked/v2 <size> <root>``.
- Inserting or removing one member changes the hashes on one root-to-leaf path only: a store
  keeps the nodes of two members or more (``node_key``) and updates one path per change.
- A proof for d walks d's bits from the root to the first depth k where d's subtree holds at
  most one member, and gives k, the terminal (``empty``, or ``leaf E``: E shares d's first k
  bits; E = d is membership) and the k sibling hashes, bottom-up.

The version dispatch every reader shares (a checkpoint line of either version, the proof text
of that version) is ``revoked_set_for`` and ``verify_not_revoked``, at the end.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keys import b64std_decode, b64std_encode
from keys.errors import MalformedError, ProofMismatchError, RevokedError

from ._merkle import EMPTY_ROOT, HASH_SIZE
from ._revset import (
    AbsenceProof,
    RevokedSet,
    RevsetCommitment,
    parse_absence_proof,
    proof_lines,
    strict_decimal,
    verify_absent,
)

__all__ = [
    "ABSENCE_PROOF_HEADER_V2",
    "DIGEST_BITS",
    "REVOKED_EXTENSION_V2",
    "SparseProof",
    "SparseRevokedSet",
    "digest_bit",
    "format_sparse_proof",
    "node_key",
    "parse_sparse_proof",
    "revoked_set_for",
    "sparse_leaf_hash",
    "sparse_node_hash",
    "verify_not_revoked",
    "verify_sparse_absent",
]

REVOKED_EXTENSION_V2 = "lic-revoked/v2"
ABSENCE_PROOF_HEADER_V2 = "lic-absent/v2"
LEAF_TAG_V2 = b"lic-revoked/v2\x00"
DIGEST_BITS = 8 * HASH_SIZE


def _check_digest(d: bytes) -> None:
    if not isinstance(d, bytes) or len(d) != HASH_SIZE:
        raise MalformedError("revoked set: digests must be 32 bytes")


def digest_bit(d: bytes, i: int) -> int:
    """Bit ``i`` (0..255) of a digest, most significant first."""
    return (d[i >> 3] >> (7 - (i & 7))) & 1


def node_key(d: bytes, depth: int) -> bytes:
    """The first ``depth`` bits of ``d`` as ``ceil(depth / 8)`` bytes, the bits after them
    zero: with ``depth``, the name of the subtree at that depth on d's path."""
    n, rem = divmod(depth, 8)
    if rem == 0:
        return d[:n]
    return d[:n] + bytes([d[n] & (0xFF << (8 - rem)) & 0xFF])


def sparse_leaf_hash(digest: bytes) -> bytes:
    """``SHA-256(0x00 || "lic-revoked/v2" || 0x00 || digest)``: the hash of a one-member
    subtree."""
    _check_digest(digest)
    return hashlib.sha256(b"\x00" + LEAF_TAG_V2 + digest).digest()


def sparse_node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: a subtree of two members or more."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _common_bits(a: bytes, b: bytes) -> int:
    """How many leading bits two distinct digests share."""
    x = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return DIGEST_BITS - x.bit_length()


@dataclass(frozen=True, slots=True)
class SparseProof:
    """A v2 proof about ``digest`` in a set of ``size`` members: the depth ``k`` of the
    terminal, the terminal member (None: an empty subtree) and the ``k`` sibling hashes,
    bottom-up (``siblings[0]`` is the sibling at depth k-1). Absence when ``member`` is None or
    another digest; membership when it is the digest."""

    size: int
    depth: int
    member: bytes | None
    siblings: tuple[bytes, ...]


class SparseRevokedSet:
    """The v2 tree of a set of digests held in memory (built once, O(n) hashes); proofs are
    O(log n) lookups. What a store keeps in a table, for callers that hold the members."""

    __slots__ = ("_nodes", "digests")
    version = 2

    def __init__(self, digests: Iterable[bytes], *, presorted: bool = False) -> None:
        items = list(digests)
        for d in items:
            _check_digest(d)
        if presorted:
            if any(not a < b for a, b in itertools.pairwise(items)):
                raise MalformedError("revoked set: digests must be sorted and distinct")
        else:
            items = sorted(set(items))
        self.digests: tuple[bytes, ...] = tuple(items)
        self._nodes: dict[tuple[int, bytes], tuple[bytes, int]] = {}
        self._build(0, len(items), 0)

    def _build(self, lo: int, hi: int, depth: int) -> bytes:
        """H of the members ``digests[lo:hi]`` (which share their first ``depth`` bits)."""
        if hi - lo == 0:
            return EMPTY_ROOT
        if hi - lo == 1:
            return sparse_leaf_hash(self.digests[lo])
        mid = self._split(lo, hi, depth)
        h = sparse_node_hash(self._build(lo, mid, depth + 1), self._build(mid, hi, depth + 1))
        self._nodes[(depth, node_key(self.digests[lo], depth))] = (h, hi - lo)
        return h

    def _split(self, lo: int, hi: int, depth: int) -> int:
        """The first index in [lo, hi) whose bit ``depth`` is 1 (the members are sorted)."""
        a, b = lo, hi
        while a < b:
            m = (a + b) // 2
            if digest_bit(self.digests[m], depth):
                b = m
            else:
                a = m + 1
        return a

    @property
    def size(self) -> int:
        """The number of members."""
        return len(self.digests)

    @property
    def root(self) -> bytes:
        """``H(all members, 0)``."""
        return self._subtree(bytes(HASH_SIZE), 0)[0]

    @property
    def commitment(self) -> RevsetCommitment:
        """What the set's ``lic-revoked/v2`` line states."""
        return RevsetCommitment(self.size, self.root, 2)

    def nodes(self) -> list[tuple[int, bytes, bytes, int]]:
        """(depth, prefix, hash, members) of every subtree of two members or more, by depth
        and prefix: the rows a store keeps."""
        return sorted((k[0], k[1], h, n) for k, (h, n) in self._nodes.items())

    def _range(self, d: bytes, depth: int) -> tuple[int, int]:
        """[lo, hi) of the members sharing ``d``'s first ``depth`` bits."""
        lo_key = node_key(d, depth) + bytes(HASH_SIZE - (depth + 7) // 8)
        hi_int = int.from_bytes(lo_key, "big") | ((1 << (DIGEST_BITS - depth)) - 1)
        hi_key = hi_int.to_bytes(HASH_SIZE, "big")
        return bisect.bisect_left(self.digests, lo_key), bisect.bisect_right(self.digests, hi_key)

    def _subtree(self, d: bytes, depth: int) -> tuple[bytes, int, bytes | None]:
        """(hash, members, the member when there is one) of the subtree at ``depth`` on
        ``d``'s path."""
        kept = self._nodes.get((depth, node_key(d, depth)))
        if kept is not None:
            return kept[0], kept[1], None
        lo, hi = self._range(d, depth)
        if hi == lo:
            return EMPTY_ROOT, 0, None
        return sparse_leaf_hash(self.digests[lo]), 1, self.digests[lo]

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, bytes) or len(digest) != HASH_SIZE:
            return False
        lo, hi = self._range(digest, DIGEST_BITS)
        return hi > lo

    def prove(self, digest: bytes) -> SparseProof:
        """The proof for ``digest``: absence, or membership when it is a member."""
        _check_digest(digest)
        depth = 0
        while True:
            _, n, member = self._subtree(digest, depth)
            if n <= 1:
                break
            depth += 1
        siblings = []
        for i in range(depth - 1, -1, -1):
            flipped = bytearray(digest)
            flipped[i >> 3] ^= 0x80 >> (i & 7)
            siblings.append(self._subtree(bytes(flipped), i + 1)[0])
        return SparseProof(self.size, depth, member, tuple(siblings))

    def proof_text(self, digest: bytes) -> bytes:
        """The ``lic-absent/v2`` text for ``digest`` (for a member, its membership proof)."""
        return format_sparse_proof(digest, self.prove(digest))


# -- text form ----------------------------------------------------------------------------


def format_sparse_proof(digest: bytes, proof: SparseProof) -> bytes:
    """Text form (ASCII, every line ending in a newline)::

    lic-absent/v2 <set size> <depth k>
    empty | leaf <base64 member>
    <base64 sibling at depth k-1>
    ...
    <base64 sibling at depth 0>

    ``digest`` is not written (the verifier brings it); it is checked to be a digest."""
    _check_digest(digest)
    term = "empty" if proof.member is None else "leaf " + b64std_encode(proof.member)
    lines = [f"{ABSENCE_PROOF_HEADER_V2} {proof.size} {proof.depth}", term]
    lines += [b64std_encode(h) for h in proof.siblings]
    return "".join(line + "\n" for line in lines).encode("ascii")


def parse_sparse_proof(data: bytes) -> SparseProof:
    """Strictly parse the ``lic-absent/v2`` text form (structure only: ``verify_sparse_absent``
    checks it). MalformedError for anything but the exact form."""
    lines = proof_lines(data)
    head = lines[0].split(" ")
    if len(head) != 3 or head[0] != ABSENCE_PROOF_HEADER_V2:
        raise MalformedError("absence proof: first line must be 'lic-absent/v2 <size> <depth>'")
    size = strict_decimal(head[1], "absence proof size")
    depth = strict_decimal(head[2], "absence proof depth", DIGEST_BITS)
    if len(lines) != depth + 2:
        raise MalformedError("absence proof: a terminal line and exactly <depth> hashes")
    term = lines[1].split(" ")
    member: bytes | None = None
    if term == ["empty"]:
        pass
    elif len(term) == 2 and term[0] == "leaf":
        member = b64std_decode(term[1], "absence proof member")
        _check_digest(member)
    else:
        raise MalformedError("absence proof: the terminal is 'empty' or 'leaf <digest>'")
    siblings = []
    for line in lines[2:]:
        h = b64std_decode(line, "absence proof hash")
        if len(h) != HASH_SIZE:
            raise MalformedError("absence proof: hashes must be 32 bytes")
        siblings.append(h)
    return SparseProof(size, depth, member, tuple(siblings))


def verify_sparse_absent(root: bytes, size: int, digest: bytes, proof: SparseProof) -> None:
    """Check that ``digest`` is not in the v2 set committed as (``size``, ``root``).

    Recomputes the root from the terminal up along ``digest``'s bits. Raises RevokedError when
    the proof shows ``digest`` is a member, ProofMismatchError when it proves nothing about
    this set, MalformedError on malformed arguments."""
    _check_digest(digest)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < (1 << 63):
        raise MalformedError("revoked set: size out of range")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise MalformedError("revoked set: root must be 32 bytes")
    k, member = proof.depth, proof.member
    if proof.size != size:
        raise ProofMismatchError("revoked set: the proof is for another set size")
    if not 0 <= k <= DIGEST_BITS or len(proof.siblings) != k:
        raise ProofMismatchError("revoked set: a proof of depth k has k sibling hashes")
    if k == 0 and size != (0 if member is None else 1):
        raise ProofMismatchError("revoked set: a terminal at the root is the whole set")
    if k > 0 and size < 2:
        raise ProofMismatchError("revoked set: a set of fewer than two members has no nodes")
    if k > 0 and proof.siblings[0] == EMPTY_ROOT:
        raise ProofMismatchError("revoked set: the proof does not stop at the first depth")
    if member is not None:
        _check_digest(member)
        if member != digest and _common_bits(member, digest) < k:
            raise ProofMismatchError("revoked set: the leaf is not in the digest's subtree")
    h = EMPTY_ROOT if member is None else sparse_leaf_hash(member)
    for j, sib in enumerate(proof.siblings):
        i = k - 1 - j
        h = sparse_node_hash(sib, h) if digest_bit(digest, i) else sparse_node_hash(h, sib)
    if h != root:
        raise ProofMismatchError("revoked set: the proof does not lead to the root")
    if member == digest:
        raise RevokedError("revoked set: the digest is a member (revoked or suspended)")


# -- the version dispatch -------------------------------------------------------------------


def revoked_set_for(version: int, sorted_digests: Sequence[bytes]) -> RevokedSet | SparseRevokedSet:
    """The set's tree in the given version (1: ``RevokedSet``, legacy; 2: ``SparseRevokedSet``),
    both with ``.size``, ``.root``, ``.commitment`` and ``.proof_text(d)``."""
    if version == 1:
        return RevokedSet(sorted_digests, presorted=True)
    if version == 2:
        return SparseRevokedSet(sorted_digests, presorted=True)
    raise MalformedError(f"revoked set: no version {version}")


def verify_not_revoked(commitment: RevsetCommitment, digest: bytes, proof_text: bytes) -> None:
    """Check the proof text that ``digest`` is not in the set of a checkpoint's revoked-set
    line, in the line's version: ``lic-absent/v1`` text against a ``lic-revoked/v1`` line,
    ``lic-absent/v2`` against ``lic-revoked/v2``; text of the other version is malformed.

    Raises RevokedError when the proof shows a member, ProofMismatchError when it does not
    prove absence, MalformedError for text that does not parse."""
    if commitment.version == 1:
        v1: AbsenceProof = parse_absence_proof(proof_text)
        verify_absent(commitment.root, commitment.size, digest, v1)
    elif commitment.version == 2:
        v2 = parse_sparse_proof(proof_text)
        verify_sparse_absent(commitment.root, commitment.size, digest, v2)
    else:
        raise MalformedError(f"revoked set: no version {commitment.version}")
