"""Bundle updates (SPEC 10.6): the evidence that ties a bundle to a newer checkpoint a verifier
holds, so that a revocation after the bundle's checkpoint is found offline.

An update is ``lic-bundle-update/v1\\n`` followed by one deterministic CBOR map: the two sizes,
the RFC 9162 consistency proof between the bundle's checkpoint and the held one, and, when the
held checkpoint is the newer, one ``lic-absent`` proof per link against its revoked-set
line. It carries no checkpoint: the verifier brings its own. Pure: bytes in, checks out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keys.errors import LicError, MalformedError, ProofMismatchError, RevokedError
from lic import cbor

from ..tlog import (
    HASH_SIZE,
    MAX_ABSENCE_PROOF_SIZE,
    MAX_PROOF_HASHES,
    Checkpoint,
    find_revset_commitment,
    verify_checkpoint_consistency,
    verify_not_revoked,
)
from ._envelope import open_envelope

__all__ = [
    "MAX_UPDATE_SIZE",
    "UPDATE_MAGIC",
    "BundleUpdate",
    "check_held_absent",
    "check_held_consistency",
    "encode_update",
    "parse_update",
]

UPDATE_MAGIC = b"lic-bundle-update/v1\n"
MAX_UPDATE_LINKS = 17  # as a bundle's
MAX_UPDATE_SIZE = 512 * 1024
_KEYS = {"old_size", "new_size", "consistency", "absent"}


@dataclass(frozen=True, slots=True)
class BundleUpdate:
    """A parsed update: ``old_size`` is the bundle's checkpoint size, ``new_size`` the held
    checkpoint's; ``consistency`` proves the smaller tree a prefix of the larger; ``absent``
    holds one lic-absent text (of the held line's version) per link (root first) when
    ``new_size > old_size``, else none."""

    old_size: int
    new_size: int
    consistency: tuple[bytes, ...]
    absent: tuple[bytes, ...]


def _size(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise MalformedError(f"bundle update: {what} must be an unsigned integer below 2^63")
    return value


def parse_update(data: bytes) -> BundleUpdate:
    """Parse an update strictly (SPEC 10.6); MalformedError on anything else."""
    not_it = "does not start with 'lic-bundle-update/v1'"
    doc = open_envelope(data, UPDATE_MAGIC, MAX_UPDATE_SIZE, "bundle update", not_it)
    if not isinstance(doc, dict) or set(doc) != _KEYS:
        raise MalformedError(f"bundle update: the body must be a map with exactly {sorted(_KEYS)}")
    old, new = _size(doc["old_size"], "old_size"), _size(doc["new_size"], "new_size")
    proof, absent = doc["consistency"], doc["absent"]
    if not isinstance(proof, list) or len(proof) > MAX_PROOF_HASHES:
        raise MalformedError(
            f"bundle update: consistency must be an array of 0..{MAX_PROOF_HASHES}"
        )
    if any(not isinstance(h, bytes) or len(h) != HASH_SIZE for h in proof):
        raise MalformedError("bundle update: consistency hashes must be 32-byte strings")
    if not isinstance(absent, list) or len(absent) > MAX_UPDATE_LINKS:
        raise MalformedError(f"bundle update: absent must be an array of 0..{MAX_UPDATE_LINKS}")
    if any(not isinstance(a, bytes) or not 0 < len(a) <= MAX_ABSENCE_PROOF_SIZE for a in absent):
        raise MalformedError(
            f"bundle update: each absent proof must be a byte string of 1..{MAX_ABSENCE_PROOF_SIZE}"
        )
    if (new > old) != bool(absent):
        raise MalformedError("bundle update: absent proofs come exactly when new_size > old_size")
    return BundleUpdate(old, new, tuple(proof), tuple(absent))


def encode_update(update: BundleUpdate) -> bytes:
    """The bytes of ``update`` (SPEC 10.6)."""
    body = {
        "old_size": update.old_size,
        "new_size": update.new_size,
        "consistency": list(update.consistency),
        "absent": list(update.absent),
    }
    out = UPDATE_MAGIC + cbor.encode(body)
    if len(out) > MAX_UPDATE_SIZE:
        raise MalformedError(f"bundle update: larger than {MAX_UPDATE_SIZE} bytes")
    return out


def check_held_consistency(update: BundleUpdate, bundle_cp: Checkpoint, held: Checkpoint) -> str:
    """Raise unless the held checkpoint and the bundle's are one log's consistent trees: the
    update is for these two sizes, its proof verifies from the smaller to the larger, and at
    equal sizes the revoked-set lines agree too (one tree has one revoked set, SPEC 12.1).
    Returns what was shown."""
    if (update.old_size, update.new_size) != (bundle_cp.size, held.size):
        raise ProofMismatchError(
            f"the update is for sizes {update.old_size} -> {update.new_size}, not the bundle's "
            f"{bundle_cp.size} and the held checkpoint's {held.size}"
        )
    small, large = sorted((bundle_cp, held), key=lambda cp: cp.size)
    if small.size == 0:
        if update.consistency or held.origin != bundle_cp.origin:
            raise ProofMismatchError("every tree extends the empty one: the proof must be empty")
    else:
        verify_checkpoint_consistency(small, large, update.consistency)
    if small.size == large.size:
        a, b = find_revset_commitment(small.extensions), find_revset_commitment(large.extensions)
        if a is not None and b is not None and a != b:
            raise ProofMismatchError(
                "the held checkpoint has the bundle's tree with another lic-revoked line "
                "(a split view: the log signed two revoked sets for one tree)"
            )
        return f"the held checkpoint is the bundle's tree (size {held.size})"
    return f"the tree of size {large.size} extends the tree of size {small.size}"


def check_held_absent(update: BundleUpdate, held: Checkpoint, digests: Sequence[bytes]) -> str:
    """Raise unless every link is absent from the held checkpoint's revoked set (RevokedError
    when one is a member). Only when the held checkpoint is the newer; returns what was shown."""
    if held.size <= update.old_size:
        return f"the bundle's checkpoint (size {update.old_size}) is not older than the held one"
    commitment = find_revset_commitment(held.extensions)
    if commitment is None:
        raise ProofMismatchError("the held checkpoint makes no revocation statement")
    if len(update.absent) != len(digests):
        raise ProofMismatchError(
            f"the update has {len(update.absent)} absent proofs for {len(digests)} links"
        )
    for i, (d, text) in enumerate(zip(digests, update.absent, strict=True)):
        try:
            verify_not_revoked(commitment, d, text)
        except RevokedError as e:
            raise RevokedError(
                f"link {i} (token {d.hex()[:16]}...) is revoked or suspended as of the held "
                f"checkpoint (size {held.size})"
            ) from e
        except LicError as e:
            raise type(e)(f"link {i}: {e}") from e
    return f"no link is in the revoked set ({commitment.size} members) at size {held.size}"
