"""A bundle's ledger evidence read for a token chain that a verifier has already checked
(``lic token check --bundle``): each link granted in the tree of the bundle's log-signed
checkpoint, and whether any link is in its revoked set (SPEC 10.7). Pure: bytes in, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import lic
from keys import TrustStore
from keys.errors import MalformedError, RevokedError, UntrustedKeyError

from ..entries import open_entry
from ..tlog import (
    Ed25519NoteVerifier,
    find_revset_commitment,
    open_checkpoint,
    verify_not_revoked,
)
from ._bundle import _included, parse_bundle

__all__ = ["BundleStatus", "bundle_status"]


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """What a bundle says of its chain's revocation: ``status`` is ``revoked`` (a link is in
    the revoked set: revoked or suspended) or ``active`` (none is), as of the checkpoint of
    ``checkpoint_size``; ``detail`` says so for people."""

    status: str
    checkpoint_size: int
    detail: str


def _log_verifier(trust: TrustStore, origin: str, now: int) -> Ed25519NoteVerifier:
    for e in trust.by_role("log"):
        if e.name == origin and e.valid_at(now):
            return Ed25519NoteVerifier(e.name, e.public_key)
    raise UntrustedKeyError(f"bundle: no trusted log key for origin {origin!r}")


def bundle_status(
    bundle_bytes: bytes, trust: TrustStore, chain: Sequence[bytes], *, now: int
) -> BundleStatus:
    """The revocation status of ``chain`` (token bytes, root first) by the bundle's evidence.

    The bundle's chain must be ``chain``; its checkpoint must be signed by a ``log`` key of
    ``trust`` named as its origin and valid at ``now``; every link's receipt must prove, in
    that checkpoint's tree, a grant record of that link; and every link's proof must verify
    against the checkpoint's revoked-set line (``lic-revoked/v2``, or ``v1``). Raises
    (MalformedError, UntrustedKeyError, InvalidSignatureError, ...) when any of that fails.
    Witness quorum and checkpoint age are a trust policy's business ('lic verify'); they are
    not checked here."""
    b = parse_bundle(bundle_bytes)
    digests = [lic.token_digest(x.token) for x in b.links]
    if digests != [lic.token_digest(t) for t in chain]:
        raise MalformedError("bundle: its token chain is not the one being checked")
    origin = b.checkpoint.split(b"\n", 1)[0].decode("utf-8", "replace")
    signed, _ = open_checkpoint(b.checkpoint, _log_verifier(trust, origin, now))
    cp = signed.checkpoint
    for i, (x, d) in enumerate(zip(b.links, digests, strict=True)):
        record = _included(i, x.receipt, b.checkpoint, cp.size, cp.root)
        payload = open_entry(record).payload if record.entry_type == "grant" else None
        if not isinstance(payload, dict) or payload.get("token_digest") != d:
            raise MalformedError(f"bundle: link {i}: record {record.index} does not grant it")
    commitment = find_revset_commitment(cp.extensions)
    if commitment is None:
        raise MalformedError("bundle: the checkpoint makes no revocation statement")
    for i, (x, d) in enumerate(zip(b.links, digests, strict=True)):
        try:
            verify_not_revoked(commitment, d, x.absent)
        except RevokedError:
            detail = f"link {i} is revoked or suspended as of checkpoint size {cp.size}"
            return BundleStatus("revoked", cp.size, detail)
    detail = f"no link is revoked or suspended as of checkpoint size {cp.size}"
    return BundleStatus("active", cp.size, detail)
