"""RFC 9162 Merkle tree math. Pure: no I/O, no clock.

Hashing (RFC 9162 section 2.1.1): leaf ``H(0x00 || d)``, node ``H(0x01 || left || right)``,
the empty tree hashes to ``H("")``.

Storage addressing is Go's ``golang.org/x/mod/sumdb/tlog`` grouped by leaf: appending leaf n
stores exactly the hashes of the complete subtrees that leaf completes (the leaf and one per
trailing one bit of n), all in row n, so the store only ever appends one row per leaf. Every
root, inclusion proof and consistency proof is a fold of O(log n) complete-subtree hashes: the
``*_plan`` functions name the nodes needed (``row << 6 | slot``; the store answers them in one
query) and ``assemble`` builds the result. Nothing here reads storage.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step and refuse the edge
cases: size 0, index >= size, size1 = 0, size1 > size2, equal sizes with a non-empty proof, and
hashes that are not 32 bytes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence

from keys.errors import ProofMismatchError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_PROOF_HASHES",
    "Frontier",
    "assemble",
    "consistency_plan",
    "fold",
    "inclusion_plan",
    "leaf_hash",
    "node_hash",
    "node_hash_at",
    "node_location",
    "path_parts",
    "plan_rows",
    "root_from_inclusion_proof",
    "root_plan",
    "row_hash_count",
    "subtrees",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
MAX_PROOF_HASHES = 64  # a tree of 2**63 leaves needs at most 63 (inclusion) or 64 (consistency)
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_SIZE = 1 << 63

_sha256 = hashlib.sha256

Node = int  # row << 6 | slot: see node_location
Plan = list[list[Node]]  # each proof element: the stored hashes to fold, left to right


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of the exact bytes given: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def node_location(level: int, k: int) -> int:
    """Where the hash of complete subtree ``k`` at ``level`` is stored, as a node id
    ``row << 6 | slot``.

    Appending leaf n completes the subtrees that end at n: the leaf itself (level 0) and one
    more per trailing one bit of n. They are stored together in row n, slot = level, so the
    subtree covering ``[k * 2**L, (k + 1) * 2**L)`` lives in row ``(k + 1) * 2**L - 1``.
    """
    return (((k + 1) << level) - 1) << 6 | level


def row_hash_count(n: int) -> int:
    """How many hashes row n holds: the leaf plus one per trailing one bit of n."""
    return 1 + ((n ^ (n + 1)) >> 1).bit_length()


def subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """Complete subtrees (level, k) covering ``[lo, hi)``, left to right, largest first.

    ``lo`` must be aligned as every range in RFC 9162's recursive definitions is: a multiple
    of the largest power of two not exceeding ``hi - lo``.
    """
    out: list[tuple[int, int]] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo & ((1 << level) - 1):
            raise ValueError("unaligned range")
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def _range_ids(lo: int, hi: int) -> list[int]:
    out: list[int] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo & ((1 << level) - 1):
            raise ValueError("unaligned range")
        lo += 1 << level
        out.append((lo - 1) << 6 | level)
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its complete subtrees (left to right): right-to-left node hashes."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(b"\x01" + h + acc).digest()
    return acc


def root_plan(size: int) -> list[Node]:
    """Stored hashes whose fold is the root of the tree of ``size`` leaves."""
    if not 0 <= size < MAX_SIZE:
        raise ValueError("size out of range")
    return _range_ids(0, size)


@functools.lru_cache(maxsize=256)
def _peak_parts(size: int, d: int) -> tuple[tuple[Node, ...], tuple[Node, ...]]:
    """For the peak of level ``d`` of a tree of ``size`` leaves (bit ``d`` of ``size`` is set):
    the peaks to its right (to fold into one hash) and the peaks to its left, nearest first.
    The peak of level ``b`` covers ``2**b`` leaves from ``(size >> b + 1) << b + 1``."""
    right = tuple(
        (((size >> b + 1) << b + 1) + (1 << b) - 1) << 6 | b
        for b in range(d - 1, -1, -1)
        if size >> b & 1
    )
    left = tuple(
        (((size >> b + 1) << b + 1) + (1 << b) - 1) << 6 | b
        for b in range(d + 1, size.bit_length())
        if size >> b & 1
    )
    return right, left


_LEVEL_BITS = tuple((lv, 1 << lv) for lv in range(64))


def path_parts(
    start: int, level: int, size: int
) -> tuple[list[Node], tuple[Node, ...], tuple[Node, ...]]:
    """Inclusion path of the complete subtree of ``2**level`` leaves starting at leaf ``start``
    in the tree of ``size`` leaves (transparency-dev/merkle's formulation of RFC 9162 PATH),
    as three parts: the siblings inside the peak holding the node, bottom up; the peaks to its
    right, whose fold is one path element (empty: no element); the peaks to its left, nearest
    first, one element each. The tree of ``size`` leaves is a list of perfect subtrees
    ("peaks"), largest first; the node lies in the peak of level ``d``, the highest bit where
    ``start`` and ``size`` differ (``start < size``, so it is set in ``size``)."""
    d = (start ^ size).bit_length() - 1
    # the sibling at level lv: flip bit lv of start; its row is the last leaf it covers
    siblings = [((start ^ b) | (b - 1)) << 6 | lv for lv, b in _LEVEL_BITS[level:d]]
    right, left = _peak_parts(size, d)
    return siblings, right, left


def _path(start: int, level: int, size: int) -> Plan:
    siblings, right, left = path_parts(start, level, size)
    out: Plan = [[n] for n in siblings]
    if right:
        out.append(list(right))
    out.extend([n] for n in left)
    return out


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 section 2.1.3.1 PATH(index, D[0:size]), as stored hashes per element."""
    if not 0 <= index < size < MAX_SIZE + 1:
        raise ValueError("index must be in [0, size)")
    return _path(index, 0, size)


def consistency_plan(size1: int, size2: int) -> Plan:
    """RFC 9162 section 2.1.4.1 PROOF(size1, D[0:size2]) as stored hashes per element.

    The largest perfect subtree ending at ``size1`` (omitted when ``size1`` is a power of two:
    the verifier holds it as the old root), then its inclusion path in the tree of ``size2``.
    """
    if not 0 < size1 <= size2 < MAX_SIZE + 1:
        raise ValueError("sizes must satisfy 0 < size1 <= size2")
    if size1 == size2:
        return []
    level = (size1 & -size1).bit_length() - 1
    start = size1 - (1 << level)
    path = _path(start, level, size2)
    if start == 0:
        return path
    return [[(size1 - 1) << 6 | level], *path]


def plan_rows(plan: Iterable[Iterable[Node]]) -> list[int]:
    """Every row a plan needs, once each (for one storage query)."""
    seen: dict[int, None] = {}
    for element in plan:
        for node in element:
            seen[node >> 6] = None
    return list(seen)


def node_hash_at(rows: Mapping[int, bytes], node: Node) -> bytes:
    """The hash of ``node`` from stored rows (row index -> the row's concatenated hashes)."""
    slot = node & 63
    return rows[node >> 6][slot * HASH_SIZE : (slot + 1) * HASH_SIZE]


def assemble(plan: Plan, rows: Mapping[int, bytes]) -> list[bytes]:
    """Build the proof hashes of a plan from the rows it named."""
    out = []
    for element in plan:
        if len(element) == 1:
            out.append(node_hash_at(rows, element[0]))
        else:
            out.append(fold([node_hash_at(rows, n) for n in element]))
    return out


class Frontier:
    """The right edge of a tree: hashes of the complete subtrees that make up ``size`` leaves.

    ``append`` takes a leaf hash and returns the row to store for it (the leaf hash followed
    by the hashes of the subtrees it completes, by level). ``root()`` folds the edge. Memory
    is O(log n).
    """

    __slots__ = ("_edge", "size")

    def __init__(self, size: int, edge: Sequence[bytes]) -> None:
        """``edge`` holds the hashes of ``subtrees(0, size)``, largest first."""
        if len(edge) != size.bit_count():
            raise ValueError("frontier does not match size")
        self.size = size
        self._edge = list(edge)

    def append(self, leaf: bytes) -> bytes:
        """Add a leaf hash; return the row to store for it (the leaf hash, then the hashes of
        the subtrees it completes)."""
        n = self.size
        h = leaf
        parts = [h]
        edge = self._edge
        while n & 1:
            h = _sha256(b"\x01" + edge.pop() + h).digest()
            parts.append(h)
            n >>= 1
        edge.append(h)
        self.size += 1
        return b"".join(parts)

    def extend(self, leaves: Iterable[bytes]) -> list[bytes]:
        """``append`` for each leaf hash in turn (the batch hot path): the rows to store."""
        n = self.size
        edge = self._edge
        pop, push = edge.pop, edge.append
        sha256 = _sha256
        rows: list[bytes] = []
        add = rows.append
        for h in leaves:
            if n & 1:
                parts = [h]
                m = n
                while m & 1:
                    h = sha256(b"\x01" + pop() + h).digest()
                    parts.append(h)
                    m >>= 1
                add(b"".join(parts))
            else:
                add(h)
            push(h)
            n += 1
        self.size = n
        return rows

    def root(self) -> bytes:
        """The root of the tree of ``size`` leaves."""
        return fold(self._edge)

    def edge(self) -> list[bytes]:
        """The hashes of the complete subtrees, largest first."""
        return list(self._edge)


# -- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) -----------------------------------


def _check_hashes(what: str, proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofMismatchError(f"{what}: proof has too many hashes")
    for p in proof:
        if not isinstance(p, bytes) or len(p) != HASH_SIZE:
            raise ProofMismatchError(f"{what}: every proof hash must be 32 bytes")


def _check_size(what: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < MAX_SIZE:
        raise ProofMismatchError(f"{what}: size or index out of range")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2 steps 1-4); raises on misuse."""
    _check_size("inclusion", index)
    _check_size("inclusion", size)
    if index >= size:
        raise ProofMismatchError("inclusion: index must be smaller than the tree size")
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
        raise ProofMismatchError("inclusion: leaf hash must be 32 bytes")
    _check_hashes("inclusion", proof)
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofMismatchError("inclusion: proof is too long")
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofMismatchError("inclusion: proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofMismatchError unless ``proof`` shows leaf hash ``leaf`` at ``index``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofMismatchError("inclusion: proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise ProofMismatchError unless ``proof`` shows tree ``size2`` extends tree ``size1``."""
    _check_size("consistency", size1)
    _check_size("consistency", size2)
    for r in (root1, root2):
        if not isinstance(r, bytes) or len(r) != HASH_SIZE:
            raise ProofMismatchError("consistency: roots must be 32 bytes")
    _check_hashes("consistency", proof)
    if size1 == 0:
        raise ProofMismatchError("consistency: size1 must not be 0")
    if size1 > size2:
        raise ProofMismatchError("consistency: size1 must not exceed size2")
    if size1 == size2:
        if proof:
            raise ProofMismatchError("consistency: equal sizes need an empty proof")
        if root1 != root2:
            raise ProofMismatchError("consistency: equal sizes with different roots")
        return
    # RFC 9162 section 2.1.4.2.
    if not proof:  # step 1
        raise ProofMismatchError("consistency: empty proof for different sizes")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is an exact power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofMismatchError("consistency: proof is too long")
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofMismatchError("consistency: proof is too short")
    if fr != root1:
        raise ProofMismatchError("consistency: proof does not lead to the first root")
    if sr != root2:
        raise ProofMismatchError("consistency: proof does not lead to the second root")
