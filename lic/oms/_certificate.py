"""Verify an OMS signature file made with a certificate chain (SPEC.md section 15.8).

model-signing's certificate signer puts the signing certificate and the certificates that
lead to a root in the bundle (``verificationMaterial.x509CertificateChain``, DER, signing
certificate first). Here the chain must lead to one of the roots the caller configures,
valid at the time the caller gives (never the clock), by RFC 5280 path validation
(``cryptography.x509.verification``, Web PKI rules for the CA certificates), and the signing
certificate must allow signing (key usage ``digitalSignature`` or extended key usage
``codeSigning``, as model-signing requires) and hold an EC P-256/P-384/P-521 key. The DSSE
signature and the statement are then checked exactly as for a publisher key (15.5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from keys.errors import MalformedError, UntrustedKeyError

from ._signature import (
    CURVES,
    OmsSignature,
    key_hint_of,
    parse_bundle,
    parse_statement,
    verify_dsse,
)

_MAX_ROOTS = 64
_MAX_ROOT_PEM = 64 * 1024
_MAX_DEPTH = 8


def _roots(roots: Sequence[bytes]) -> list[x509.Certificate]:
    if isinstance(roots, (bytes, str)) or not roots or len(roots) > _MAX_ROOTS:
        raise MalformedError(f"1 to {_MAX_ROOTS} root certificates (PEM) are required")
    out: list[x509.Certificate] = []
    for pem in roots:
        if not isinstance(pem, bytes) or len(pem) > _MAX_ROOT_PEM:
            raise MalformedError("root certificate: expected at most 64 KiB of PEM bytes")
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as e:
            raise MalformedError("root certificate: not a PEM certificate") from e
        out.extend(certs)
    return out


def root_certificate_pem(pem: bytes) -> bytes:
    """The canonical PEM text of one root certificate (its DER in PEM, 64-column base64, ``\n``
    line ends), so one root has one form. Raises MalformedError unless ``pem`` holds exactly
    one PEM certificate of at most 64 KiB."""
    certs = _roots([pem])
    if len(certs) != 1:
        raise MalformedError("root certificate: expected exactly one PEM certificate")
    return certs[0].public_bytes(serialization.Encoding.PEM)


def uses_certificate_chain(data: bytes) -> bool:
    """Whether an OMS signature file names a certificate chain (``verify_certificate_bundle``)
    rather than a key (``verify_signature_bundle``). Reads the file's shape only and judges
    nothing; raises MalformedError or UntrustedKeyError as the verifiers do for its shape."""
    return parse_bundle(data).certificates is not None


def _tlv(der: bytes, at: int, tag: int) -> tuple[int, int]:
    """The content span (start, end) of the DER element with ``tag`` at offset ``at``: one tag
    byte and a definite, minimally encoded length (what DER allows), within ``der``."""
    if at + 2 > len(der) or der[at] != tag:
        raise ValueError("unexpected element")
    first = der[at + 1]
    if first < 0x80:
        start, length = at + 2, first
    else:
        n = first & 0x7F
        if not 1 <= n <= 4 or at + 2 + n > len(der) or der[at + 2] == 0:
            raise ValueError("length not in DER")
        start, length = at + 2 + n, int.from_bytes(der[at + 2 : at + 2 + n], "big")
        if length < 0x80:
            raise ValueError("length not in DER")
    if start + length > len(der):
        raise ValueError("element runs past its container")
    return start, start + length


def _strict_outside(der: bytes, cert: x509.Certificate) -> None:
    """What a certificate's signature does not cover must be DER too: ``Certificate ::=
    SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }`` with nothing
    after it and no unused bits in the signature, or one certificate would have several byte
    forms (cryptography accepts a signature BIT STRING that declares unused bits)."""
    start, end = _tlv(der, 0, 0x30)
    tbs_start, tbs_end = _tlv(der, start, 0x30)
    _, alg_end = _tlv(der, tbs_end, 0x30)
    sig_start, sig_end = _tlv(der, alg_end, 0x03)
    if end != len(der) or sig_end != end or sig_start == sig_end or der[sig_start] != 0:
        raise ValueError("not DER")
    if der[start:tbs_end] != cert.tbs_certificate_bytes or tbs_start == tbs_end:
        raise ValueError("not DER")


def _certificate(der: bytes) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
        _strict_outside(der, cert)
    except (ValueError, x509.InvalidVersion) as e:
        raise MalformedError("OMS signature: a chain certificate is not DER X.509") from e
    return cert


def _may_sign(leaf: x509.Certificate) -> bool:
    try:
        if leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usages


def _leaf_key(chain: Sequence[bytes], roots: Sequence[bytes], at: int) -> ec.EllipticCurvePublicKey:
    anchors = _roots(roots)
    leaf, *intermediates = (_certificate(der) for der in chain)
    try:
        when = dt.datetime.fromtimestamp(at, dt.UTC)
    except (OverflowError, OSError, ValueError, TypeError) as e:
        raise MalformedError("the verification time is out of range") from e
    policy = (
        verification.PolicyBuilder()
        .store(verification.Store(anchors))
        .time(when)
        .max_chain_depth(_MAX_DEPTH)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
    )
    try:
        policy.build_client_verifier().verify(leaf, intermediates)
    except (verification.VerificationError, ValueError, TypeError) as e:
        raise UntrustedKeyError(
            f"OMS signature: the certificate chain does not lead to a configured root ({e})"
        ) from e
    try:
        may_sign, key = _may_sign(leaf), leaf.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise UntrustedKeyError("OMS signature: the signing certificate cannot be read") from e
    if not may_sign:
        raise UntrustedKeyError("OMS signature: the signing certificate may not sign")
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise UntrustedKeyError("OMS signature: the signing certificate has no P-256/384/521 key")
    return key


def verify_certificate_bundle(data: bytes, roots: Sequence[bytes], *, at: int) -> OmsSignature:
    """Verify an OMS signature file made with model-signing's certificate signer: its chain
    must lead to one of ``roots`` (PEM CA certificates, the configured trust anchors) with
    every certificate valid at ``at`` (integer seconds; the caller's time, never the clock),
    and its DSSE signature must verify under the signing certificate's key. Returns what it
    signs, ``key_hint`` being the hint of that key (15.5).

    Raises MalformedError for a file or root that breaks its format (and for a file signed
    with a publisher key: use ``verify_signature_bundle``), UntrustedKeyError when the chain
    does not validate or the certificate may not sign, InvalidSignatureError and
    ProofMismatchError as ``verify_signature_bundle`` does."""
    bundle = parse_bundle(data)
    if bundle.certificates is None:
        raise MalformedError(
            "OMS signature: signed with a key, not a certificate chain (verify_signature_bundle)"
        )
    key = _leaf_key(bundle.certificates, roots, at)
    hint = verify_dsse(bundle, [(key, key_hint_of(key))])
    name, root, resources, serialization = parse_statement(bundle.payload)
    return OmsSignature(name, root, resources, serialization, hint, bundle.payload)
