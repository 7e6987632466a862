"""The revoked set: a sorted Merkle tree of token digests, with membership and non-membership
proofs (SPEC.md section 12). Pure: no I/O, no clock.

- Members are distinct 32-byte token digests, sorted in ascending byte order.
- Leaf i of the tree is ``SHA-256(0x00 || "lic-revoked/v1" || 0x00 || digest_i)``; interior
  nodes and the empty tree are RFC 9162 (``H(0x01 || l || r)``, ``H("")``). The leaf data
  starts with the ASCII tag, never a CBOR map header, so a revoked-set leaf can never be taken
  for a ledger record leaf (whose data is a CBOR map) or the other way round.
- A checkpoint commits to the set with one extension line ``lic-revoked/v1 <size> <root>``.
- A non-membership proof of d names the neighbours of d in the sorted order, each with its
  index and RFC 9162 inclusion proof: ``left`` < d < ``right`` at adjacent indexes, or only
  ``right`` at index 0 (d below every member), or only ``left`` at index size-1 (d above every
  member), or neither for the empty set.

Sortedness cannot be checked from one proof: a log that commits an unsorted tree could forge
non-membership. The audit (which recomputes the set from the ledger at every checkpoint and
compares the committed root) catches that log; SPEC.md section 12 gives the argument.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keys import b64std_decode, b64std_encode
from keys.errors import MalformedError, ProofMismatchError, RevokedError

from ._merkle import EMPTY_ROOT, HASH_SIZE, Frontier, node_hash, verify_inclusion

__all__ = [
    "ABSENCE_PROOF_HEADER",
    "MAX_ABSENCE_PROOF_SIZE",
    "REVOKED_EXTENSION",
    "AbsenceProof",
    "MembershipProof",
    "Neighbour",
    "RevokedSet",
    "RevsetCommitment",
    "find_revset_commitment",
    "format_absence_proof",
    "format_revset_extension",
    "is_revset_extension",
    "parse_absence_proof",
    "parse_revset_extension",
    "prove_absent",
    "prove_present",
    "revset_commitment",
    "revset_leaf_hash",
    "revset_root",
    "verify_absent",
    "verify_present",
]

LEAF_TAG = b"lic-revoked/v1\x00"
REVOKED_EXTENSION = "lic-revoked/v1"
ABSENCE_PROOF_HEADER = "lic-absent/v1"
MAX_PROOF_HASHES = 63
MAX_SET_SIZE = (1 << 63) - 1
MAX_ABSENCE_PROOF_SIZE = 16 * 1024
_MAX_DIGITS = 19


def revset_leaf_hash(digest: bytes) -> bytes:
    """The leaf hash of one member: ``SHA-256(0x00 || "lic-revoked/v1" || 0x00 || digest)``."""
    _check_digest(digest)
    return hashlib.sha256(b"\x00" + LEAF_TAG + digest).digest()


def _check_digest(d: bytes) -> None:
    if not isinstance(d, bytes) or len(d) != HASH_SIZE:
        raise MalformedError("revoked set: digests must be 32 bytes")


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A member of the set with its index and RFC 9162 inclusion proof."""

    index: int
    digest: bytes
    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class AbsenceProof:
    """Non-membership of a digest in a set of ``size`` members (see the module doc)."""

    size: int
    left: Neighbour | None
    right: Neighbour | None


@dataclass(frozen=True, slots=True)
class MembershipProof:
    """Membership of a digest in a set of ``size`` members: the member with its inclusion
    proof."""

    size: int
    member: Neighbour


class RevokedSet:
    """A sorted set of digests with its ``lic-revoked/v1`` tree built once (O(n)); proofs are
    O(log n). Legacy: our log commits to ``lic-revoked/v2`` (``SparseRevokedSet``); this tree
    stays for checkpoints signed before."""

    __slots__ = ("_levels", "digests")
    version = 1

    def __init__(self, digests: Iterable[bytes], *, presorted: bool = False) -> None:
        items = list(digests)
        for d in items:
            _check_digest(d)
        if presorted:
            for a, b in itertools.pairwise(items):
                if not a < b:
                    raise MalformedError("revoked set: digests must be sorted and distinct")
        else:
            items = sorted(set(items))
        self.digests: tuple[bytes, ...] = tuple(items)
        level = [revset_leaf_hash(d) for d in self.digests]
        levels = [level]
        while len(level) > 1:
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])  # RFC 9162: the odd node is carried up unchanged
            levels.append(nxt)
            level = nxt
        self._levels = levels

    @property
    def size(self) -> int:
        """The number of members."""
        return len(self.digests)

    @property
    def root(self) -> bytes:
        """The root of the set's tree (SHA-256 of the empty string for the empty set)."""
        return self._levels[-1][0] if self.digests else EMPTY_ROOT

    @property
    def commitment(self) -> RevsetCommitment:
        """What the set's ``lic-revoked/v1`` line states."""
        return RevsetCommitment(self.size, self.root, 1)

    def proof_text(self, digest: bytes) -> bytes:
        """The ``lic-absent/v1`` text for ``digest``; for a member, the proof whose left
        neighbour is the digest itself (a membership proof in the non-membership syntax)."""
        if digest in self:
            member = self.prove_present(digest).member
            return format_absence_proof(AbsenceProof(self.size, member, None))
        return format_absence_proof(self.prove_absent(digest))

    def _path(self, index: int) -> tuple[bytes, ...]:
        out: list[bytes] = []
        for level in self._levels[:-1]:
            sib = index ^ 1
            if sib < len(level):
                out.append(level[sib])
            index >>= 1
        return tuple(out)

    def _neighbour(self, index: int) -> Neighbour:
        return Neighbour(index, self.digests[index], self._path(index))

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, bytes):
            return False
        i = bisect.bisect_left(self.digests, digest)
        return i < len(self.digests) and self.digests[i] == digest

    def prove_absent(self, digest: bytes) -> AbsenceProof:
        """Non-membership proof; RevokedError if ``digest`` is a member."""
        _check_digest(digest)
        i = bisect.bisect_left(self.digests, digest)
        if i < len(self.digests) and self.digests[i] == digest:
            raise RevokedError("revoked set: the digest is a member (revoked or suspended)")
        left = self._neighbour(i - 1) if i > 0 else None
        right = self._neighbour(i) if i < len(self.digests) else None
        return AbsenceProof(self.size, left, right)

    def prove_present(self, digest: bytes) -> MembershipProof:
        """Membership proof; MalformedError if ``digest`` is not a member."""
        _check_digest(digest)
        i = bisect.bisect_left(self.digests, digest)
        if i >= len(self.digests) or self.digests[i] != digest:
            raise MalformedError("revoked set: the digest is not a member")
        return MembershipProof(self.size, self._neighbour(i))


def revset_commitment(sorted_digests: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, root) of the set given as sorted, distinct 32-byte digests, streamed: memory is
    O(log n), not the O(n) tree a ``RevokedSet`` keeps for its proofs (refuses the same)."""
    frontier = Frontier(0, [])
    last: bytes | None = None
    for d in sorted_digests:
        if last is not None and not last < d:
            raise MalformedError("revoked set: digests must be sorted and distinct")
        frontier.append(revset_leaf_hash(d))
        last = d
    return frontier.size, frontier.root()


def revset_root(sorted_digests: Sequence[bytes]) -> bytes:
    """Root of the set given as sorted, distinct 32-byte digests (refuses anything else)."""
    return RevokedSet(sorted_digests, presorted=True).root


def prove_absent(sorted_digests: Sequence[bytes], digest: bytes) -> AbsenceProof:
    """``RevokedSet(sorted_digests).prove_absent(digest)`` for digests already sorted."""
    return RevokedSet(sorted_digests, presorted=True).prove_absent(digest)


def prove_present(sorted_digests: Sequence[bytes], digest: bytes) -> MembershipProof:
    """``RevokedSet(sorted_digests).prove_present(digest)`` for digests already sorted."""
    return RevokedSet(sorted_digests, presorted=True).prove_present(digest)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SET_SIZE:
        raise MalformedError("revoked set: size out of range")


def _verify_member(root: bytes, size: int, n: Neighbour) -> None:
    _check_digest(n.digest)
    verify_inclusion(n.index, size, revset_leaf_hash(n.digest), n.path, root)


def verify_absent(root: bytes, size: int, digest: bytes, proof: AbsenceProof) -> None:
    """Check that ``digest`` is not in the set committed as (``size``, ``root``).

    Raises RevokedError when the proof shows ``digest`` is a member, ProofMismatchError when
    the proof does not prove absence, MalformedError on malformed arguments."""
    _check_size(size)
    _check_digest(digest)
    if len(root) != HASH_SIZE:
        raise MalformedError("revoked set: root must be 32 bytes")
    if proof.size != size:
        raise ProofMismatchError("revoked set: the proof is for another set size")
    left, right = proof.left, proof.right
    if size == 0:
        if left is not None or right is not None or root != EMPTY_ROOT:
            raise ProofMismatchError("revoked set: an empty set has no members and root H('')")
        return
    if left is None and right is None:
        raise ProofMismatchError("revoked set: a non-empty set needs a neighbour")
    for n in (left, right):
        if n is not None:
            _verify_member(root, size, n)
            if n.digest == digest:
                raise RevokedError("revoked set: the digest is a member (revoked or suspended)")
    if left is None:
        assert right is not None
        if right.index != 0 or not digest < right.digest:
            raise ProofMismatchError("revoked set: no left neighbour, so right must be the first")
    elif right is None:
        if left.index != size - 1 or not left.digest < digest:
            raise ProofMismatchError("revoked set: no right neighbour, so left must be the last")
    elif right.index != left.index + 1 or not left.digest < digest < right.digest:
        raise ProofMismatchError("revoked set: neighbours must be adjacent and enclose the digest")


def verify_present(root: bytes, size: int, digest: bytes, proof: MembershipProof) -> None:
    """Check that ``digest`` is in the set committed as (``size``, ``root``); raises
    ProofMismatchError otherwise."""
    _check_size(size)
    _check_digest(digest)
    if proof.size != size or size == 0:
        raise ProofMismatchError("revoked set: the proof is for another set size")
    if proof.member.digest != digest:
        raise ProofMismatchError("revoked set: the proof is for another digest")
    _verify_member(root, size, proof.member)


# -- the checkpoint extension line ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevsetCommitment:
    """What a checkpoint's revoked-set line commits to: the number of members and the root of
    the revoked-set tree, in the line's ``version`` (1: ``lic-revoked/v1``, the sorted tree of
    12.2, legacy; 2: ``lic-revoked/v2``, the sparse tree of 12.7)."""

    size: int
    root: bytes
    version: int = 1

    @property
    def line(self) -> str:
        """The checkpoint extension line (no newline)."""
        return format_revset_extension(self.size, self.root, version=self.version)


def strict_decimal(s: str, what: str, top: int = MAX_SET_SIZE) -> int:
    """``s`` as a decimal without leading zeros, at most ``top`` (MalformedError otherwise):
    the sizes, indexes and depths of the revoked-set lines and proofs of both versions."""
    if (
        not s
        or len(s) > _MAX_DIGITS
        or not s.isascii()
        or not s.isdigit()
        or (s[0] == "0" and s != "0")
    ):
        raise MalformedError(f"{what}: must be decimal without leading zeros")
    n = int(s)
    if n > top:
        raise MalformedError(f"{what}: out of range")
    return n


def format_revset_extension(size: int, root: bytes, *, version: int = 1) -> str:
    """The checkpoint extension line ``lic-revoked/v<version> <size> <base64 root>`` (no
    newline); version 1 unless told (our log signs version 2: ``RevsetCommitment.line``)."""
    _check_size(size)
    if len(root) != HASH_SIZE or (size == 0 and root != EMPTY_ROOT):
        raise MalformedError("revoked set: root must be 32 bytes (H('') when empty)")
    if version not in _WORDS.values():
        raise MalformedError(f"revoked set: no version {version}")
    return f"lic-revoked/v{version} {size} {b64std_encode(root)}"


_WORDS = {REVOKED_EXTENSION: 1, "lic-revoked/v2": 2}


def parse_revset_extension(line: str) -> RevsetCommitment:
    """Strictly parse one revoked-set extension line, ``lic-revoked/v1`` or ``lic-revoked/v2``
    (the commitment's ``version`` says which)."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] not in _WORDS:
        raise MalformedError("revoked set: extension must be 'lic-revoked/v1|v2 <size> <root>'")
    size = strict_decimal(parts[1], "revoked set size")
    root = b64std_decode(parts[2], "revoked set root")
    if len(root) != HASH_SIZE:
        raise MalformedError("revoked set: root must be 32 bytes")
    if size == 0 and root != EMPTY_ROOT:
        raise MalformedError("revoked set: the empty set's root is H('')")
    return RevsetCommitment(size, root, _WORDS[parts[0]])


def is_revset_extension(line: str) -> bool:
    """Whether an extension line is a revoked-set line (its first word ``lic-revoked/v1`` or
    ``lic-revoked/v2``), well-formed or not."""
    return line.split(" ", 1)[0] in _WORDS


def find_revset_commitment(extensions: Sequence[str]) -> RevsetCommitment | None:
    """The checkpoint's revoked-set commitment, of either version: None when no extension
    line's first word is ``lic-revoked/v1`` or ``lic-revoked/v2``; MalformedError when there
    are several (of one version or both) or the one is malformed."""
    mine = [e for e in extensions if is_revset_extension(e)]
    if len(mine) > 1:
        raise MalformedError("revoked set: more than one lic-revoked extension line")
    return parse_revset_extension(mine[0]) if mine else None


# -- text encoding of an absence proof --------------------------------------------------------


def _format_neighbour(tag: str, n: Neighbour) -> list[str]:
    return [f"{tag} {n.index} {b64std_encode(n.digest)}", *(b64std_encode(h) for h in n.path)]


def format_absence_proof(proof: AbsenceProof) -> bytes:
    """Text form::

    lic-absent/v1 <set size>
    [left <index> <base64 digest>
     <base64 hash> ...]            (the left neighbour's inclusion proof, at most 63)
    [right <index> <base64 digest>
     <base64 hash> ...]

    every line ending in a newline."""
    lines = [f"{ABSENCE_PROOF_HEADER} {proof.size}"]
    if proof.left is not None:
        lines += _format_neighbour("left", proof.left)
    if proof.right is not None:
        lines += _format_neighbour("right", proof.right)
    return ("".join(line + "\n" for line in lines)).encode("ascii")


def proof_lines(data: bytes) -> list[str]:
    """The lines of an absence proof's text form (either version), each without its newline:
    MalformedError unless it is at most ``MAX_ABSENCE_PROOF_SIZE`` bytes of ASCII whose every
    line, the last included, ends in a newline."""
    if len(data) > MAX_ABSENCE_PROOF_SIZE:
        raise MalformedError("absence proof: too large")
    try:
        text = bytes(data).decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("absence proof: not ASCII") from e
    if not text.endswith("\n"):
        raise MalformedError("absence proof: must end in a newline")
    return text[:-1].split("\n")


def parse_absence_proof(data: bytes) -> AbsenceProof:
    """Strictly parse the text form (structure only; ``verify_absent`` checks it)."""
    lines = proof_lines(data)
    head = lines[0].split(" ")
    if len(head) != 2 or head[0] != ABSENCE_PROOF_HEADER:
        raise MalformedError("absence proof: first line must be 'lic-absent/v1 <size>'")
    size = strict_decimal(head[1], "absence proof size")
    found: dict[str, Neighbour] = {}
    pos = 1
    for tag in ("left", "right"):
        if pos >= len(lines) or not lines[pos].startswith(tag + " "):
            continue
        parts = lines[pos].split(" ")
        if len(parts) != 3:
            raise MalformedError(f"absence proof: '{tag} <index> <digest>'")
        index = strict_decimal(parts[1], "absence proof index")
        digest = b64std_decode(parts[2], "absence proof digest")
        _check_digest(digest)
        pos += 1
        path: list[bytes] = []
        while pos < len(lines) and not lines[pos].startswith(("left ", "right ")):
            h = b64std_decode(lines[pos], "absence proof hash")
            if len(h) != HASH_SIZE:
                raise MalformedError("absence proof: hashes must be 32 bytes")
            path.append(h)
            pos += 1
        if len(path) > MAX_PROOF_HASHES:
            raise MalformedError("absence proof: too many hashes")
        found[tag] = Neighbour(index, digest, tuple(path))
    if pos != len(lines):
        raise MalformedError("absence proof: unexpected line")
    return AbsenceProof(size, found.get("left"), found.get("right"))
