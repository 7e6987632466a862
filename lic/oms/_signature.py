"""Verify an OMS signature file made with a publisher's EC key (SPEC.md section 15.5).

An OMS signature file is a Sigstore bundle (JSON, media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) holding a DSSE envelope whose payload, of
type ``application/vnd.in-toto+json``, is an in-toto Statement v1 about one model directory.
model-signing 1.1 signs the DSSE pre-authentication encoding (PAE) of the payload with ECDSA
under a P-256, P-384 or P-521 key (SHA-256, SHA-384, SHA-512 by curve; DER signatures) and
names the key by its hint: the hex SHA-256 of the public key's PEM text.

Everything is parsed strictly and checked in this order: the bundle's size and shape, the key
(by hint), the signature over the PAE, and only then the signed statement's shape and that its
resources hash to its subject's root. Pure: bytes in, a value or an error of ``keys.errors``
out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from keys import b64std_decode, json_loads_strict
from keys.errors import (
    InvalidSignatureError,
    MalformedError,
    ProofMismatchError,
    UntrustedKeyError,
)

from ._manifest import HASH_TYPE, METHOD, Resource, Serialization, check_name, root_of
from ._verify import resources_from_json

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
MAX_SIGNATURE_FILE = 32 * 1024 * 1024
_MAX_SIG = 256  # a DER ECDSA P-521 signature is at most 139 bytes
_MAX_KEY_PEM = 4096
_MAX_CHAIN = 10
CURVES: dict[str, hashes.HashAlgorithm] = {
    "secp256r1": hashes.SHA256(),
    "secp384r1": hashes.SHA384(),
    "secp521r1": hashes.SHA512(),
}
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class OmsSignature:
    """A verified OMS signature: the in-toto subject's ``subject_name`` (the model
    directory's name) and ``root`` (hex SHA-256, SPEC 15.2), the signed ``resources`` in the
    order signed (they hash to ``root``), the signed ``serialization``, the ``key_hint`` of
    the publisher key that verified it, and the signed ``payload`` bytes (the statement)."""

    subject_name: str
    root: str
    resources: tuple[Resource, ...]
    serialization: Serialization
    key_hint: str
    payload: bytes

    @property
    def digest(self) -> str:
        """The subject's root as ``sha256:<hex>``, as ``lic model digest`` prints it."""
        return f"sha256:{self.root}"


@dataclass(frozen=True)
class Bundle:
    """A parsed signature file: the key hint or the certificate chain, the DSSE payload and
    signature."""

    hint: str | None
    payload: bytes
    signature: bytes
    certificates: tuple[bytes, ...] | None = None  # DER, the signing certificate first


def publisher_key_hint(pem: bytes) -> str:
    """The OMS key hint of a publisher's public key (PEM, SubjectPublicKeyInfo): the hex
    SHA-256 of its PEM text as model-signing writes it. Raises MalformedError unless it is
    an EC public key on P-256, P-384 or P-521."""
    return key_hint_of(_load_key(pem))


def publisher_key_pem(pem: bytes) -> bytes:
    """The canonical PEM text of a publisher's public key (SubjectPublicKeyInfo, uncompressed
    point, ``\n`` line ends, as model-signing writes it): the text whose SHA-256 is the key's
    hint, so one key has one form. Raises MalformedError as ``publisher_key_hint`` does."""
    return _pem(_load_key(pem))


def _load_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    if not isinstance(pem, bytes) or len(pem) > _MAX_KEY_PEM:
        raise MalformedError("publisher key: expected at most 4 KiB of PEM bytes")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise MalformedError("publisher key: not a PEM public key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise MalformedError("publisher key: not an EC P-256, P-384 or P-521 public key")
    return key


def _pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_hint_of(key: ec.EllipticCurvePublicKey) -> str:
    """The OMS key hint: hex SHA-256 of the key's canonical PEM text."""
    return hashlib.sha256(_pem(key)).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of ``payload`` (what the signature covers)."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _members(
    value: Any, what: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    if not isinstance(value, Mapping):
        raise MalformedError(f"{what}: expected a JSON object")
    keys = set(value)
    if not required <= keys or not keys <= required | optional:
        allowed = ", ".join(sorted(required | optional))
        raise MalformedError(f"{what}: members must be {allowed} (got {', '.join(sorted(keys))})")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedError(f"{what}: expected a string")
    return value


def parse_bundle(data: bytes) -> Bundle:
    """The signature file's parts (step 1 of SPEC 15.5, and the chain's shape of 15.8)."""
    if not isinstance(data, bytes):
        raise MalformedError("OMS signature: expected bytes")
    doc = json_loads_strict(data, max_size=MAX_SIGNATURE_FILE, what="OMS signature")
    _members(doc, "OMS signature", {"mediaType", "verificationMaterial", "dsseEnvelope"})
    if doc["mediaType"] != BUNDLE_MEDIA_TYPE:
        raise MalformedError(f"OMS signature: mediaType must be {BUNDLE_MEDIA_TYPE}")
    hint, certificates = _material(doc["verificationMaterial"])
    envelope = doc["dsseEnvelope"]
    _members(envelope, "dsseEnvelope", {"payload", "payloadType", "signatures"})
    if envelope["payloadType"] != DSSE_PAYLOAD_TYPE:
        raise MalformedError(f"dsseEnvelope: payloadType must be {DSSE_PAYLOAD_TYPE}")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise MalformedError("dsseEnvelope: exactly one signature is expected")
    _members(signatures[0], "dsseEnvelope.signatures[0]", {"sig"}, frozenset({"keyid"}))
    if len(_text(signatures[0].get("keyid", ""), "dsseEnvelope keyid")) > 256:
        raise MalformedError("dsseEnvelope keyid: longer than 256 characters")
    payload = b64std_decode(_text(envelope["payload"], "dsseEnvelope payload"), "payload")
    sig_text = _text(signatures[0]["sig"], "dsseEnvelope sig")
    if len(sig_text) > _MAX_SIG:
        raise MalformedError("dsseEnvelope sig: too long for an ECDSA signature")
    sig = b64std_decode(sig_text, "dsseEnvelope sig")
    return Bundle(hint or None, payload, sig, certificates)


def _material(material: Any) -> tuple[str | None, tuple[bytes, ...] | None]:
    """The key hint (or None), or the certificate chain (DER, signing certificate first)."""
    what = "verificationMaterial"
    if isinstance(material, Mapping) and "certificate" in material:
        raise UntrustedKeyError(
            "OMS signature: Sigstore keyless signing (a certificate with a transparency log "
            "entry) is not supported; sign with a publisher key or a certificate chain"
        )
    if isinstance(material, Mapping) and "x509CertificateChain" in material:
        _members(material, what, {"x509CertificateChain"}, frozenset({"tlogEntries"}))
        chain = material["x509CertificateChain"]
        _members(chain, f"{what}.x509CertificateChain", {"certificates"})
        items = chain["certificates"]
        if not isinstance(items, list) or not 1 <= len(items) <= _MAX_CHAIN:
            raise MalformedError(f"{what}: 1 to {_MAX_CHAIN} certificates are expected")
        for item in items:
            _members(item, f"{what} certificate", {"rawBytes"})
        certs = tuple(b64std_decode(_text(c["rawBytes"], "rawBytes"), "rawBytes") for c in items)
        hint, out = None, certs
    else:
        _members(material, what, {"publicKey"}, frozenset({"tlogEntries"}))
        public = material["publicKey"]
        _members(public, f"{what}.publicKey", set(), frozenset({"hint"}))
        hint, out = public.get("hint"), None
        if hint is not None and not (isinstance(hint, str) and _HEX64.fullmatch(hint)):
            raise MalformedError(f"{what}.publicKey.hint: not 64 lowercase hex digits")
    if material.get("tlogEntries", []) != []:
        raise MalformedError(f"{what}: tlogEntries must be empty (no transparency log is used)")
    return hint, out


def _check_signature(bundle: Bundle, publisher_keys: Sequence[bytes]) -> str:
    if isinstance(publisher_keys, (bytes, str)) or not publisher_keys:
        raise MalformedError("at least one publisher key is required")
    keys = [_load_key(pem) for pem in publisher_keys]
    if bundle.certificates is not None:
        raise UntrustedKeyError(
            "OMS signature: signed with a certificate chain, not a publisher key "
            "(verify it under configured roots: verify_certificate_bundle)"
        )
    candidates = [(k, h) for k in keys if bundle.hint in (None, h := key_hint_of(k))]
    if not candidates:
        raise UntrustedKeyError("OMS signature: signed by a key that is not a publisher key")
    return verify_dsse(bundle, candidates)


def verify_dsse(bundle: Bundle, candidates: Sequence[tuple[ec.EllipticCurvePublicKey, str]]) -> str:
    """The hint of the first candidate key the bundle's DSSE signature verifies under."""
    try:
        r, s = decode_dss_signature(bundle.signature)
        canonical = encode_dss_signature(r, s) == bundle.signature
    except ValueError:
        canonical = False
    if canonical:
        message = pae(DSSE_PAYLOAD_TYPE, bundle.payload)
        for key, hint in candidates:
            try:
                key.verify(bundle.signature, message, ec.ECDSA(CURVES[key.curve.name]))
            except InvalidSignature:
                continue
            return hint
    raise InvalidSignatureError("OMS signature: the signature does not verify")


def parse_statement(payload: bytes) -> tuple[str, str, tuple[Resource, ...], Serialization]:
    """Subject name, root, resources and serialization of a signed statement (steps 4-5)."""
    doc = json_loads_strict(payload, max_size=MAX_SIGNATURE_FILE, what="in-toto statement")
    _members(doc, "statement", {"_type", "subject", "predicateType", "predicate"})
    if doc["_type"] != STATEMENT_TYPE:
        raise MalformedError(f"statement: _type must be {STATEMENT_TYPE}")
    if doc["predicateType"] != PREDICATE_TYPE:
        raise MalformedError(f"statement: predicateType must be {PREDICATE_TYPE}")
    subjects = doc["subject"]
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise MalformedError("statement: exactly one subject is expected")
    _members(subjects[0], "statement subject", {"name", "digest"})
    name = _text(subjects[0]["name"], "subject name")
    if not name or len(name) > 4096:
        raise MalformedError("subject name: expected a non-empty name")
    _members(subjects[0]["digest"], "subject digest", {"sha256"})
    root = _text(subjects[0]["digest"]["sha256"], "subject sha256")
    if not _HEX64.fullmatch(root):
        raise MalformedError("subject sha256: not 64 lowercase hex digits")
    predicate = doc["predicate"]
    _members(predicate, "predicate", {"serialization", "resources"})
    resources = resources_from_json(predicate["resources"])
    if root_of(resources) != root:
        raise ProofMismatchError("OMS signature: the resources do not hash to the subject root")
    return name, root, resources, _serialization(predicate["serialization"])


def _serialization(value: Any) -> Serialization:
    what = "predicate serialization"
    _members(value, what, {"method", "hash_type", "allow_symlinks", "ignore_paths"})
    if value["method"] != METHOD or value["hash_type"] != HASH_TYPE:
        raise MalformedError(f"{what}: method must be {METHOD}, hash_type {HASH_TYPE}")
    if not isinstance(value["allow_symlinks"], bool):
        raise MalformedError(f"{what}: allow_symlinks must be a boolean")
    paths = value["ignore_paths"]
    if not isinstance(paths, list) or len(paths) > 4096:
        raise MalformedError(f"{what}: ignore_paths must be a list of paths")
    ignore = sorted({check_name(_text(p, "ignore path")) for p in paths})
    return Serialization(ignore_paths=tuple(ignore), allow_symlinks=value["allow_symlinks"])


def verify_signature_bundle(data: bytes, publisher_keys: Sequence[bytes]) -> OmsSignature:
    """Verify an OMS signature file (the bytes of a Sigstore bundle JSON) under one of
    ``publisher_keys`` (EC P-256/P-384/P-521 public keys, PEM) and return what it signs.

    Raises MalformedError for a file that breaks the bundle, DSSE or statement shape (or is
    larger than ``MAX_SIGNATURE_FILE``) and for a key that is not a supported EC key;
    UntrustedKeyError when the bundle's key hint names none of the keys (or it carries a
    certificate instead of a key hint); InvalidSignatureError when the DSSE signature does not
    verify; ProofMismatchError when the signed resources do not hash to the subject's root."""
    bundle = parse_bundle(data)
    hint = _check_signature(bundle, publisher_keys)
    name, root, resources, serialization_ = parse_statement(bundle.payload)
    return OmsSignature(name, root, resources, serialization_, hint, bundle.payload)


def signed_subject_unverified(data: bytes) -> tuple[str, str]:
    """The subject name and root an OMS signature file claims, WITHOUT checking its signature:
    the file and its statement are parsed and checked as ``verify_signature_bundle`` does
    (shape, resources hashing to the root), the signature not at all. For building an entry
    that the ledger then verifies; never a reason to trust the model."""
    name, root, _, _ = parse_statement(parse_bundle(data).payload)
    return name, root
