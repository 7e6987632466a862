"""Building typed entry payloads from the things authors hold: tokens, in-toto documents. Pure.

The CLI parses options; these functions turn a verified token into a grant's public metadata,
an identifier and salt into a commitment, and an in-toto Statement or DSSE envelope into an
attestation payload (checking the envelope's signature where its key is known).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from keys import PublicKey, json_loads_strict
from keys.errors import InvalidSignatureError, MalformedError
from lic import VerifiedToken

__all__ = [
    "DSSE_PAYLOAD_TYPE",
    "IN_TOTO_STATEMENT_TYPES",
    "MAX_ATTESTATION",
    "attestation_payload",
    "commitment",
    "grant_payload",
]

IN_TOTO_STATEMENT_TYPES = frozenset(
    {"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}
)
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_ATTESTATION = 1 << 20


def commitment(salt: bytes, identifier: str) -> bytes:
    """A salted commitment to a person or organisation: SHA-256(salt || UTF-8 identifier).

    The salt (at least 16 bytes) stays with the person; the ledger holds only the digest."""
    if len(salt) < 16:
        raise MalformedError("commitment: the salt must be at least 16 bytes")
    if not identifier:
        raise MalformedError("commitment: the identifier is empty")
    return hashlib.sha256(salt + identifier.encode("utf-8")).digest()


def grant_payload(
    token: VerifiedToken, licensee: bytes, *, at: int, request: int | None = None
) -> dict[str, Any]:
    """The public metadata of a grant: digest, holder key, tier, terms, window, parent."""
    lic = token.license
    out: dict[str, Any] = {
        "at": at,
        "token_digest": token.digest,
        "holder": token.holder.raw,
        "licensee": licensee,
        "tier": lic.tier,
        "terms": {"id": lic.terms.id, "version": lic.terms.version},
        "not_before": token.nbf,
        "not_after": token.exp,
    }
    if lic.parent is not None:
        out["parent"] = bytes.fromhex(lic.parent)
    if request is not None:
        out["request"] = request
    return out


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _b64_any(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedError(f"{what}: must be a base64 string")
    try:
        pad = "=" * (-len(text) % 4)
        alt = b"-_" if ("-" in text or "_" in text) else None
        return base64.b64decode(text + pad, altchars=alt, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MalformedError(f"{what}: not base64") from e


def _statement(doc: Any) -> tuple[list[dict[str, Any]], str, Any]:
    if not isinstance(doc, dict) or doc.get("_type") not in IN_TOTO_STATEMENT_TYPES:
        raise MalformedError("attestation: not an in-toto Statement (v0.1 or v1)")
    subjects = []
    for i, s in enumerate(doc.get("subject") or []):
        digest = s.get("digest") if isinstance(s, dict) else None
        sha = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(sha, str) or len(sha) != 64:
            raise MalformedError(f"attestation: subject[{i}] needs a sha256 digest")
        try:
            subjects.append({"name": str(s.get("name", "")) or sha, "sha256": bytes.fromhex(sha)})
        except ValueError as e:
            raise MalformedError(f"attestation: subject[{i}] digest is not hex") from e
    if not subjects:
        raise MalformedError("attestation: the Statement names no subject")
    ptype = doc.get("predicateType")
    if not isinstance(ptype, str) or not ptype:
        raise MalformedError("attestation: the Statement has no predicateType")
    return subjects, ptype, doc.get("predicate")


def attestation_payload(
    document: bytes,
    *,
    at: int,
    known_keys: Mapping[str, PublicKey],
    consent_basis: list[str] | None = None,
    sensitive: list[str] | None = None,
) -> dict[str, Any]:
    """An ``attest`` payload from an in-toto Statement or a DSSE envelope, kept as it is.

    A DSSE signature whose ``keyid`` names a key in ``known_keys`` (RFC 7638 thumbprints) must
    verify over the DSSE PAE; signatures by unknown keys are carried but not judged.
    """
    doc = json_loads_strict(document, max_size=MAX_ATTESTATION, what="attestation")
    if isinstance(doc, dict) and "payloadType" in doc:
        if doc.get("payloadType") != DSSE_PAYLOAD_TYPE:
            raise MalformedError(f"attestation: DSSE payloadType must be {DSSE_PAYLOAD_TYPE}")
        payload = _b64_any(doc.get("payload"), "attestation: DSSE payload")
        sigs = doc.get("signatures")
        if not isinstance(sigs, list) or not sigs:
            raise MalformedError("attestation: DSSE envelope has no signatures")
        for i, s in enumerate(sigs):
            if not isinstance(s, dict):
                raise MalformedError(f"attestation: DSSE signatures[{i}] must be an object")
            key = known_keys.get(s.get("keyid", ""))
            if key is not None:
                sig = _b64_any(s.get("sig"), f"attestation: DSSE signatures[{i}]")
                try:
                    key.verify(sig, _pae(DSSE_PAYLOAD_TYPE, payload))
                except InvalidSignatureError as e:
                    raise InvalidSignatureError(
                        f"attestation: DSSE signature by known key {s['keyid']} does not verify"
                    ) from e
        statement = json_loads_strict(payload, max_size=MAX_ATTESTATION, what="DSSE payload")
        subjects, ptype, _ = _statement(statement)
        out: dict[str, Any] = {"envelope": document}
    else:
        subjects, ptype, _ = _statement(doc)
        out = {"envelope": document}
    out.update(at=at, subjects=subjects, predicate_type=ptype)
    if consent_basis:
        out["consent_basis"] = consent_basis
    if sensitive is not None:
        out["sensitive"] = sensitive
    return out
