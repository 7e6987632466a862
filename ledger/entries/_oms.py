"""OMS signature files on the ledger (SPEC.md 14.6): publisher keys and ``attest`` entries
that carry a model publisher's signature. Pure.

A ``key.add`` with role ``publisher`` registers an EC public key (its canonical PEM text, see
``lic.oms.publisher_key_pem``), one with role ``publisher_ca`` a root certificate (its
canonical PEM, ``lic.oms.root_certificate_pem``) to which files signed through a certificate
chain must lead; both only ever verify OMS signature files and never author an entry. An
``attest`` entry with an ``oms`` member carries the signature file as received; its one
subject and its predicate type are those the file signs, and the ledger verifies the file
under the publisher keys (or roots) valid at the record's time, at append and at every audit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from keys.errors import LicError, MalformedError

from ._schema import Problem

__all__ = [
    "OMS_PREDICATE_TYPE",
    "PUBLISHER_CA_ROLE",
    "PUBLISHER_ROLE",
    "PUBLISHER_ROLES",
    "oms_attestation_payload",
    "oms_refusal",
]

OMS_PREDICATE_TYPE = "https://model_signing/signature/v1.0"  # lic.oms.PREDICATE_TYPE
PUBLISHER_ROLE = "publisher"
PUBLISHER_CA_ROLE = "publisher_ca"
PUBLISHER_ROLES = frozenset({PUBLISHER_ROLE, PUBLISHER_CA_ROLE})
MAX_KEY = 16384  # a publisher key's or root certificate's PEM; an Ed25519 key is 32 bytes


# lic.oms is imported where it is used: the record layer loads this module for every
# ledger command, and lic.oms brings a thread pool that most of them never need.


def _is_publisher_pem(key: Any) -> bool:
    from lic.oms import publisher_key_pem

    try:
        return isinstance(key, bytes) and publisher_key_pem(key) == key
    except MalformedError:
        return False


def _is_root_pem(key: Any) -> bool:
    from lic.oms import root_certificate_pem

    try:
        return isinstance(key, bytes) and root_certificate_pem(key) == key
    except MalformedError:
        return False


def key_form(v: Mapping[str, Any]) -> Iterator[Problem]:
    """``key.add``: a publisher's key is the canonical PEM of an EC P-256/384/521 key, a
    publisher CA's the canonical PEM of one certificate; every other role's key is a 32-byte
    Ed25519 public key."""
    key = v["key"]
    if v["role"] == PUBLISHER_ROLE:
        if not _is_publisher_pem(key):
            yield "key", "a publisher key is the canonical PEM of an EC P-256/384/521 key"
    elif v["role"] == PUBLISHER_CA_ROLE:
        if not _is_root_pem(key):
            yield "key", "a publisher CA is the canonical PEM of one root certificate"
    elif len(key) != 32:
        yield "key", "must be exactly 32 bytes"


def any_key_form(v: Mapping[str, Any]) -> Iterator[Problem]:
    """``key.retire``, ``key.compromised``: a 32-byte key, or a publisher key's or publisher
    CA's PEM."""
    key = v["key"]
    if len(key) != 32 and not _is_publisher_pem(key) and not _is_root_pem(key):
        yield "key", "must be exactly 32 bytes (or a publisher key's or CA's canonical PEM)"


def oms_shape(v: Mapping[str, Any]) -> Iterator[Problem]:
    """``attest`` with ``oms``: one subject, the OMS predicate type, no predicate or envelope
    (the signature file is the attestation)."""
    if "oms" not in v:
        return
    if "predicate" in v or "envelope" in v:
        yield "oms", "an OMS attestation carries no predicate or envelope besides the file"
    if v["predicate_type"] != OMS_PREDICATE_TYPE:
        yield "predicate_type", f"must be {OMS_PREDICATE_TYPE} with oms"
    if len(v["subjects"]) != 1:
        yield "subjects", "an OMS attestation has exactly the one subject the file signs"


def oms_attestation_payload(
    signature_file: bytes,
    *,
    at: int,
    consent_basis: list[str] | None = None,
    sensitive: list[str] | None = None,
) -> dict[str, Any]:
    """An ``attest`` payload carrying an OMS signature file as received: its subject (the
    model directory's name and root) as read from the file, the OMS predicate type, and the
    file as ``oms``. The signature is not checked here: the ledger checks it at append under
    the publisher keys it holds (and every audit does again)."""
    from lic.oms import signed_subject_unverified

    name, root = signed_subject_unverified(signature_file)
    out: dict[str, Any] = {
        "at": at,
        "subjects": [{"name": name, "sha256": bytes.fromhex(root)}],
        "predicate_type": OMS_PREDICATE_TYPE,
        "oms": signature_file,
    }
    if consent_basis:
        out["consent_basis"] = consent_basis
    if sensitive is not None:
        out["sensitive"] = sensitive
    return out


def oms_refusal(
    payload: Mapping[str, Any], keys: Sequence[tuple[bytes, str]], at: int
) -> str | None:
    """Why an ``attest`` entry's OMS signature file must be refused at time ``at``, or None.
    ``keys`` are the ledger's keys valid at ``at`` with their roles: a file signed with a key
    must verify under one with role ``publisher``, a file signed through a certificate chain
    must lead to one with role ``publisher_ca`` with every certificate valid at ``at``; and
    the file's subject must be the entry's. None for an entry without ``oms``."""
    from lic.oms import uses_certificate_chain, verify_certificate_bundle, verify_signature_bundle

    data = payload.get("oms")
    if data is None:
        return None
    try:
        chained = uses_certificate_chain(data)
        role = PUBLISHER_CA_ROLE if chained else PUBLISHER_ROLE
        trusted = [k for k, r in keys if r == role]
        if not trusted:
            what = "publisher CA" if chained else "publisher key"
            return f"OMS signature: no {what} is registered (and valid) on the ledger"
        if chained:
            signed = verify_certificate_bundle(data, trusted, at=at)
        else:
            signed = verify_signature_bundle(data, trusted)
    except LicError as e:
        return f"OMS signature refused: {e}"
    subject = {"name": signed.subject_name, "sha256": bytes.fromhex(signed.root)}
    if list(payload["subjects"]) != [subject]:
        return "OMS signature: the entry's subject is not the one the file signs"
    return None
