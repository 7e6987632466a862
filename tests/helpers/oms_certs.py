"""Certificate chains for the OMS certificate tests (a root, an intermediate, a signing
certificate), and OMS signature files made with model-signing's certificate signer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import model_signing.signing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers.oms_dirs import TREES, make_tree

NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T_VALID = int(NOT_BEFORE.timestamp()) + 86400  # a day into every certificate's validity
DAYS = 365


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def certificate(
    key: ec.EllipticCurvePrivateKey,
    subject: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer: str,
    *,
    ca: bool,
    key_usage: bool = True,
    code_signing: bool = True,
    days: int = DAYS,
    not_before: dt.datetime = NOT_BEFORE,
) -> x509.Certificate:
    """A certificate for ``key``: a CA (basic constraints, keyCertSign) or a signing
    certificate (digitalSignature unless ``key_usage`` is False, codeSigning unless
    ``code_signing`` is False)."""
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if ca or key_usage:
        b = b.add_extension(_usage(sign=not ca, ca=ca), critical=True)
    if not ca and code_signing:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertSigned:
    """A model directory signed through a chain: the signature file's bytes, the root's PEM,
    the signing key's public PEM, and the model directory."""

    model: Path
    data: bytes
    root_pem: bytes
    signing_public_pem: bytes


def sign_with_certificate(
    tmp: Path,
    *,
    curve: ec.EllipticCurve | None = None,
    intermediate: bool = True,
    intermediate_is_ca: bool = True,
    key_usage: bool = True,
    code_signing: bool = True,
    not_before: dt.datetime = NOT_BEFORE,
) -> CertSigned:
    """Sign a fresh model directory with model-signing's certificate signer; every
    certificate is valid from ``not_before`` (by default a fixed time, ``NOT_BEFORE``)."""
    tmp.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = certificate(
        root_key, "Example Root", root_key, "Example Root", ca=True, not_before=not_before
    )
    leaf_key = ec.generate_private_key(curve or ec.SECP256R1())
    chain: list[x509.Certificate] = []
    issuer_key, issuer = root_key, "Example Root"
    if intermediate:
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = certificate(
            inter_key,
            "Example Models CA",
            root_key,
            "Example Root",
            ca=intermediate_is_ca,
            not_before=not_before,
        )
        chain.append(inter)
        issuer_key, issuer = inter_key, "Example Models CA"
    leaf = certificate(
        leaf_key,
        "acme-models",
        issuer_key,
        issuer,
        ca=False,
        key_usage=key_usage,
        code_signing=code_signing,
        not_before=not_before,
    )
    (tmp / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp / "leaf.pem").write_bytes(pem(leaf))
    # model-signing needs a chain file; signed by the root itself, the chain is the root
    (tmp / "chain.pem").write_bytes(b"".join(pem(c) for c in chain or [root]))
    model = make_tree(tmp / "llama-tiny", TREES["nested"])
    config = model_signing.signing.Config().use_certificate_signer(
        private_key=tmp / "leaf.key",
        signing_certificate=tmp / "leaf.pem",
        certificate_chain=[tmp / "chain.pem"],
    )
    config.sign(model, tmp / "model.sig")
    public = leaf_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CertSigned(model, (tmp / "model.sig").read_bytes(), pem(root), public)
