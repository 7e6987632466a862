"""verify_signature_bundle: signature files made by the real model-signing package verify
under the publisher's EC key and give our manifest; every tamper (edited payload, wrong key,
changed signature, every single-byte change, bad bundle or statement shape) is refused with an
error of our tree, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from helpers.oms_bundles import Signed, reencode, resign, sign_with_package
from keys.errors import (
    InvalidSignatureError,
    LicError,
    MalformedError,
    ProofMismatchError,
    UntrustedKeyError,
)
from lic.oms import (
    MAX_SIGNATURE_FILE,
    manifest_of,
    publisher_key_hint,
    publisher_key_pem,
    signed_subject_unverified,
    verify_signature_bundle,
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Signed:
    return sign_with_package(tmp_path_factory.mktemp("sig"))


def _other_key_pem(curve: ec.EllipticCurve | None = None) -> bytes:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()], ids=["P-256", "P-384", "P-521"]
)
def test_a_package_signature_verifies_and_gives_our_manifest(tmp_path, curve):
    s = sign_with_package(tmp_path, curve=curve)
    result = verify_signature_bundle(s.data, [s.public_pem])
    ours = manifest_of(s.model)
    assert result.subject_name == "llama-tiny" == ours.name
    assert result.root == ours.root
    assert result.digest == ours.digest
    assert result.resources == ours.resources
    assert result.serialization.ignore_paths == ours.serialization.ignore_paths
    assert result.serialization.allow_symlinks is False
    assert result.key_hint == s.bundle()["verificationMaterial"]["publicKey"]["hint"]
    assert result.key_hint == publisher_key_hint(s.public_pem)
    assert result.key_hint == hashlib.sha256(s.public_pem).hexdigest()
    assert result.payload == base64.b64decode(s.bundle()["dsseEnvelope"]["payload"])


def test_the_key_is_found_among_several_publisher_keys(signed):
    keys = [_other_key_pem(), _other_key_pem(ec.SECP384R1()), signed.public_pem]
    assert verify_signature_bundle(signed.data, keys).key_hint == publisher_key_hint(
        signed.public_pem
    )


def test_a_bundle_without_a_hint_tries_every_key(signed):
    def drop_hint(b):
        del b["verificationMaterial"]["publicKey"]["hint"]

    data = reencode(signed, drop_hint)
    result = verify_signature_bundle(data, [_other_key_pem(), signed.public_pem])
    assert result.key_hint == publisher_key_hint(signed.public_pem)
    with pytest.raises(InvalidSignatureError):
        verify_signature_bundle(data, [_other_key_pem()])


def test_a_bundle_without_tlog_entries_member_verifies(signed):
    def drop(b):
        del b["verificationMaterial"]["tlogEntries"]

    assert verify_signature_bundle(reencode(signed, drop), [signed.public_pem]).root


def test_a_wrong_key_is_refused(signed):
    with pytest.raises(UntrustedKeyError):
        verify_signature_bundle(signed.data, [_other_key_pem()])


def test_a_wrong_key_claiming_the_hint_is_refused(signed):
    other = _other_key_pem()

    def claim(b):
        b["verificationMaterial"]["publicKey"]["hint"] = publisher_key_hint(other)

    with pytest.raises(InvalidSignatureError):
        verify_signature_bundle(reencode(signed, claim), [other])


def test_an_edited_payload_is_refused(signed):
    def edit(b):
        statement = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
        statement["subject"][0]["name"] = "other-model"
        b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    with pytest.raises(InvalidSignatureError):
        verify_signature_bundle(reencode(signed, edit), [signed.public_pem])


def _with_sig(signed: Signed, sig: bytes) -> bytes:
    def put(b):
        b["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(sig).decode()

    return reencode(signed, put)


def test_every_changed_signature_byte_is_refused(signed):
    sig = base64.b64decode(signed.bundle()["dsseEnvelope"]["signatures"][0]["sig"])
    for i in range(len(sig)):
        for flip in (0x01, 0x80):
            bad = sig[:i] + bytes([sig[i] ^ flip]) + sig[i + 1 :]
            with pytest.raises(InvalidSignatureError):
                verify_signature_bundle(_with_sig(signed, bad), [signed.public_pem])


@pytest.mark.parametrize(
    "sig",
    [b"", b"\x30\x00", b"\x00" * 70, "trailing", "truncated", "long form length"],
)
def test_a_malformed_signature_is_refused(signed, sig):
    good = base64.b64decode(signed.bundle()["dsseEnvelope"]["signatures"][0]["sig"])
    if sig == "trailing":
        sig = good + b"\x00"
    elif sig == "truncated":
        sig = good[:-1]
    elif sig == "long form length":  # the same signature, its length not in shortest form
        sig = b"\x30\x81" + good[1:]
    with pytest.raises(InvalidSignatureError):
        verify_signature_bundle(_with_sig(signed, sig), [signed.public_pem])


def test_the_other_s_of_an_ecdsa_signature_verifies_too(signed):
    """ECDSA signatures are not unique: (r, n - s) verifies as (r, s) does. Nothing rests on
    the signature bytes (the ledger counts a model by its signed root), so both verify, as
    they do for model-signing."""
    good = base64.b64decode(signed.bundle()["dsseEnvelope"]["signatures"][0]["sig"])
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order
    r, s = decode_dss_signature(good)
    other = _with_sig(signed, encode_dss_signature(r, n - s))
    assert verify_signature_bundle(other, [signed.public_pem]).root == (
        verify_signature_bundle(signed.data, [signed.public_pem]).root
    )


def test_every_single_byte_change_of_the_file_is_refused(signed):
    data = signed.data
    for i in range(len(data)):
        bad = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(LicError):
            verify_signature_bundle(bad, [signed.public_pem])


def test_every_truncation_of_the_file_is_refused(signed):
    for n in range(0, len(signed.data), 7):
        with pytest.raises(MalformedError):
            verify_signature_bundle(signed.data[:n], [signed.public_pem])
    with pytest.raises(MalformedError):
        verify_signature_bundle(signed.data + b"x", [signed.public_pem])


def _drop(*path):
    def edit(doc):
        target = doc
        for p in path[:-1]:
            target = target[p]
        del target[path[-1]]

    return edit


def _put(value, *path):
    def edit(doc):
        target = doc
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value

    return edit


BUNDLE_TAMPERS = {
    "no mediaType": _drop("mediaType"),
    "no verificationMaterial": _drop("verificationMaterial"),
    "no dsseEnvelope": _drop("dsseEnvelope"),
    "no publicKey": _drop("verificationMaterial", "publicKey"),
    "no payload": _drop("dsseEnvelope", "payload"),
    "no payloadType": _drop("dsseEnvelope", "payloadType"),
    "no signatures": _drop("dsseEnvelope", "signatures"),
    "no sig": _drop("dsseEnvelope", "signatures", 0, "sig"),
    "extra member": _put(1, "messageSignature"),
    "extra material": _put([], "verificationMaterial", "timestampVerificationData"),
    "extra key member": _put("x", "verificationMaterial", "publicKey", "rawBytes"),
    "extra envelope member": _put("x", "dsseEnvelope", "extra"),
    "old media type": _put("application/vnd.dev.sigstore.bundle+json;version=0.2", "mediaType"),
    "media type not text": _put(3, "mediaType"),
    "payload type": _put("application/json", "dsseEnvelope", "payloadType"),
    "no signature": _put([], "dsseEnvelope", "signatures"),
    "signatures not a list": _put({}, "dsseEnvelope", "signatures"),
    "two signatures": lambda b: b["dsseEnvelope"]["signatures"].append(
        dict(b["dsseEnvelope"]["signatures"][0])
    ),
    "sig not text": _put(5, "dsseEnvelope", "signatures", 0, "sig"),
    "keyid not text": _put(5, "dsseEnvelope", "signatures", 0, "keyid"),
    "hint upper case": lambda b: _put(
        b["verificationMaterial"]["publicKey"]["hint"].upper(),
        "verificationMaterial",
        "publicKey",
        "hint",
    )(b),
    "hint short": _put("ab", "verificationMaterial", "publicKey", "hint"),
    "tlog entry": _put([{}], "verificationMaterial", "tlogEntries"),
    "payload url-safe": lambda b: _put(
        b["dsseEnvelope"]["payload"].replace("+", "-").replace("/", "_") + "-",
        "dsseEnvelope",
        "payload",
    )(b),
    "payload unpadded": lambda b: _put(
        b["dsseEnvelope"]["payload"].rstrip("=") + "A", "dsseEnvelope", "payload"
    )(b),
    "payload not text": _put(None, "dsseEnvelope", "payload"),
    "sig too long": _put("A" * 400, "dsseEnvelope", "signatures", 0, "sig"),
    "not an object": lambda b: [b],
    "material not an object": _put([], "verificationMaterial"),
}


@pytest.mark.parametrize("tamper", list(BUNDLE_TAMPERS))
def test_a_bundle_of_another_shape_is_malformed(signed, tamper):
    with pytest.raises(MalformedError):
        verify_signature_bundle(reencode(signed, BUNDLE_TAMPERS[tamper]), [signed.public_pem])


def test_a_keyless_sigstore_bundle_is_not_supported(signed):
    def cert(b):
        b["verificationMaterial"] = {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": []}

    with pytest.raises(UntrustedKeyError):
        verify_signature_bundle(reencode(signed, cert), [signed.public_pem])


def _dup_root(s):
    s["subject"].append(dict(s["subject"][0]))


STATEMENT_TAMPERS = {
    "statement type": _put("https://in-toto.io/Statement/v0.1", "_type"),
    "predicate type": _put("https://model_signing/Digests/v0.1", "predicateType"),
    "two subjects": _dup_root,
    "no subject": _put([], "subject"),
    "subject not a list": _put({}, "subject"),
    "extra statement member": _put(1, "extra"),
    "no predicate": _drop("predicate"),
    "extra predicate member": _put(1, "predicate", "extra"),
    "no resources": _drop("predicate", "resources"),
    "no serialization": _drop("predicate", "serialization"),
    "subject name empty": _put("", "subject", 0, "name"),
    "subject name not text": _put(1, "subject", 0, "name"),
    "subject other digest": _put({"sha512": "00"}, "subject", 0, "digest"),
    "subject two digests": lambda s: s["subject"][0]["digest"].update(sha512="00"),
    "root upper case": lambda s: _put(
        s["subject"][0]["digest"]["sha256"].upper(), "subject", 0, "digest", "sha256"
    )(s),
    "root short": _put("ab", "subject", 0, "digest", "sha256"),
    "extra subject member": _put({}, "subject", 0, "annotations"),
    "shard method": _put("shards", "predicate", "serialization", "method"),
    "other hash": _put("blake2", "predicate", "serialization", "hash_type"),
    "symlinks not bool": _put("false", "predicate", "serialization", "allow_symlinks"),
    "ignore paths not a list": _put(".git", "predicate", "serialization", "ignore_paths"),
    "ignore path escapes": _put(["../x"], "predicate", "serialization", "ignore_paths"),
    "shard size": _put(1000, "predicate", "serialization", "shard_size"),
    "resource extra member": _put(1, "predicate", "resources", 0, "size"),
    "resource other algorithm": _put("sha512", "predicate", "resources", 0, "algorithm"),
    "resource bad name": _put("../x", "predicate", "resources", 0, "name"),
    "resources not a list": _put({}, "predicate", "resources"),
    "duplicate resource": lambda s: s["predicate"]["resources"].append(
        dict(s["predicate"]["resources"][0])
    ),
}


@pytest.mark.parametrize("tamper", list(STATEMENT_TAMPERS))
def test_a_signed_statement_of_another_shape_is_malformed(signed, tamper):
    data = resign(signed, STATEMENT_TAMPERS[tamper])
    with pytest.raises(MalformedError):
        verify_signature_bundle(data, [signed.public_pem])


def test_resources_must_hash_to_the_root_in_their_order(signed):
    def swap(s):
        r = s["predicate"]["resources"]
        r[0], r[1] = r[1], r[0]

    def change(s):
        s["predicate"]["resources"][0]["digest"] = "0" * 64

    def drop(s):
        s["predicate"]["resources"].pop()

    def root(s):
        s["subject"][0]["digest"]["sha256"] = "0" * 64

    for edit in (swap, change, drop, root):
        with pytest.raises(ProofMismatchError):
            verify_signature_bundle(resign(signed, edit), [signed.public_pem])


def test_a_renamed_resource_still_hashes_but_is_what_was_signed(signed):
    def rename(s):
        s["predicate"]["resources"][0]["name"] = "renamed.json"

    result = verify_signature_bundle(resign(signed, rename), [signed.public_pem])
    assert result.resources[0].name == "renamed.json"  # names are bound by the signature only


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"\xff\xfe", b'{"_type": 1, "_type": 2}', b"[]", b'{"a": NaN}'],
    ids=["text", "not utf-8", "duplicate member", "array", "nan"],
)
def test_a_signed_payload_that_is_not_a_statement_is_malformed(signed, raw):
    with pytest.raises(MalformedError):
        verify_signature_bundle(resign(signed, lambda s: None, raw=raw), [signed.public_pem])


@pytest.mark.parametrize(
    "data",
    [b"", b"null", b"[]", b"\xff", b'{"mediaType": 1, "mediaType": 2}', b"{" * 100_000],
    ids=["empty", "null", "array", "not utf-8", "duplicate member", "deep"],
)
def test_garbage_is_malformed(signed, data):
    with pytest.raises(MalformedError):
        verify_signature_bundle(data, [signed.public_pem])


def test_an_oversized_file_is_refused_before_parsing(signed):
    with pytest.raises(MalformedError, match="larger than"):
        verify_signature_bundle(b" " * (MAX_SIGNATURE_FILE + 1), [signed.public_pem])


def _ed25519_pem() -> bytes:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [b"not a key"],
        [_ed25519_pem()],
        [_other_key_pem(ec.SECP256K1())],
        [b"x" * 5000],
    ],
    ids=["none", "not pem", "ed25519", "secp256k1", "too long"],
)
def test_publisher_keys_must_be_supported_ec_keys(signed, keys):
    with pytest.raises(MalformedError):
        verify_signature_bundle(signed.data, keys)


def test_a_single_pem_is_not_a_key_list(signed):
    with pytest.raises(MalformedError):
        verify_signature_bundle(signed.data, signed.public_pem)  # type: ignore[arg-type]


def test_a_private_key_pem_is_not_a_publisher_key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(MalformedError):
        publisher_key_hint(pem)


def test_a_publisher_key_has_one_canonical_pem(signed):
    assert publisher_key_pem(signed.public_pem) == signed.public_pem
    for variant in (
        signed.public_pem.replace(b"\n", b"\r\n"),
        b"\n" + signed.public_pem + b"\n",
    ):
        assert publisher_key_pem(variant) == signed.public_pem
        assert publisher_key_hint(variant) == hashlib.sha256(signed.public_pem).hexdigest()


def test_the_unverified_subject_reader_judges_no_signature(signed):
    name, root = signed_subject_unverified(signed.data)
    assert (name, root) == ("llama-tiny", manifest_of(signed.model).root)
    unsigned = _with_sig(signed, b"\x30\x00")
    assert signed_subject_unverified(unsigned) == (name, root)
    for tamper in ("no payload", "payload type"):
        with pytest.raises(MalformedError):
            signed_subject_unverified(reencode(signed, BUNDLE_TAMPERS[tamper]))

    def drop(s):
        s["predicate"]["resources"].pop()

    with pytest.raises(ProofMismatchError):
        signed_subject_unverified(resign(signed, drop))
