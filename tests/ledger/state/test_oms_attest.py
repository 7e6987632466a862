"""OMS signature files as ledger provenance (SPEC 14.6): a publisher's EC key registered by
key.add, attest entries carrying a signature file made by the real model-signing package,
verified at append and at every audit; two signing runs of one model are one model. The
ledgers are on both backends (``ledger_at``)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.ledger_world import T0, key
from helpers.oms_bundles import Signed, reencode, resign, sign_with_package
from helpers.oms_dirs import package_sign
from helpers.oms_ledger import ATTESTER, Led
from keys.errors import DeniedError, MalformedError
from ledger.audit import audit_db
from ledger.entries import (
    KEY_ROLES,
    OMS_PREDICATE_TYPE,
    entry_problems,
    oms_attestation_payload,
)
from ledger.report import replay_report
from lic.oms import PREDICATE_TYPE, manifest_of


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> Signed:
    return sign_with_package(tmp_path_factory.mktemp("oms"))


@pytest.fixture(scope="module")
def signed_again(tmp_path_factory, signed) -> Signed:
    """The same model directory signed again with the same key: another file, one model."""
    d = tmp_path_factory.mktemp("again")
    private = d / "key.pem"
    private.write_bytes(
        signed.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    package_sign(signed.model, private, d / "again.sig")
    return Signed(signed.model, (d / "again.sig").read_bytes(), signed.private, signed.public_pem)


@pytest.fixture
def led(ledger_at, signed) -> Led:
    return Led(ledger_at("l"), signed.public_pem)


def test_a_package_signature_becomes_an_attestation_of_the_model(led, signed):
    index = led.attest(signed.data)
    r = audit_db(led.path, workers=0)
    assert r.clean, r.findings
    root = bytes.fromhex(manifest_of(signed.model).root)
    assert r.state.attestations[root] == [index]
    p = oms_attestation_payload(signed.data, at=1)
    assert p["subjects"] == [{"name": "llama-tiny", "sha256": root}]
    assert p["predicate_type"] == OMS_PREDICATE_TYPE == PREDICATE_TYPE
    assert p["oms"] == signed.data  # the file as received


def test_the_publisher_key_never_authors(led, signed):
    r = audit_db(led.path, workers=0)
    assert signed.public_pem in r.state.keys
    assert signed.public_pem not in set(r.state.kids.values())
    assert "publisher" in KEY_ROLES


def _edited_payload(b):
    statement = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
    statement["subject"][0]["name"] = "other-model"
    b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()


@pytest.mark.parametrize(
    "tamper, why",
    [
        (_edited_payload, "does not verify"),
        (lambda b: b["dsseEnvelope"]["signatures"][0].update(sig="MEQCIA=="), "does not verify"),
        (lambda b: b.update(mediaType="x"), "mediaType"),
    ],
    ids=["edited payload", "changed signature", "bad shape"],
)
def test_a_tampered_file_is_refused_at_append(led, signed, tamper, why):
    bad = reencode(signed, tamper)
    root = bytes.fromhex(manifest_of(signed.model).root)
    p = {
        "subjects": [{"name": "llama-tiny", "sha256": root}],
        "predicate_type": OMS_PREDICATE_TYPE,
        "oms": bad,
    }
    with pytest.raises(DeniedError, match=f"OMS signature refused: .*{why}"):
        led.add("attest", p, ATTESTER)
    assert audit_db(led.path, workers=0).clean


def test_a_file_signed_by_an_unregistered_key_is_refused(ledger_at, signed):
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    led = Led(ledger_at("l"), pem)
    with pytest.raises(DeniedError, match="not a publisher key"):
        led.attest(signed.data)


def test_without_a_publisher_key_nothing_verifies(ledger_at, signed):
    led = Led(ledger_at("l"), None)
    with pytest.raises(DeniedError, match="no publisher key"):
        led.attest(signed.data)


def test_a_subject_other_than_the_signed_one_is_refused(led, signed):
    with pytest.raises(DeniedError, match="not the one the file signs"):
        led.attest(signed.data, subjects=[{"name": "renamed", "sha256": bytes(32)}])


@pytest.mark.parametrize(
    "extra, member",
    [
        ({"predicate": {"x": 1}}, "oms"),
        ({"envelope": b"{}"}, "oms"),
        ({"predicate_type": "https://slsa.dev/provenance/v1"}, "predicate_type"),
    ],
)
def test_an_oms_attestation_is_the_file_alone(signed, extra, member):
    p = {**oms_attestation_payload(signed.data, at=1), **extra}
    assert [path for path, _ in entry_problems("attest", p)] == [member]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_tampered_stored_record_is_found_by_the_audit(led, signed, workers):
    good = led.attest(signed.data)
    p = oms_attestation_payload(signed.data, at=0)
    del p["at"]
    bad = led.raw_attest({**p, "oms": resign(signed, lambda s: s.update(predicateType="x"))})
    forged = led.raw_attest({**p, "oms": reencode(signed, _edited_payload)})
    after = led.attest(signed.data)
    r = audit_db(led.path, workers=workers)
    assert [f.index for f in r.findings] == [bad, forged]
    assert all("OMS signature refused" in f.message for f in r.findings)
    root = p["subjects"][0]["sha256"]
    assert r.state.attestations[root] == [good, after]


def test_two_signing_runs_are_one_model(led, signed, signed_again):
    assert signed.data != signed_again.data  # a new ECDSA signature every run
    first, second = led.attest(signed.data), led.attest(signed_again.data)
    r = audit_db(led.path, workers=0)
    assert r.clean
    root = bytes.fromhex(manifest_of(signed.model).root)
    assert r.state.attestations[root] == [first, second]
    report, _ = replay_report(db=led.path)
    assert report["provenance"]["signed_models"] == 1
    assert report["provenance"]["datasets"] == 0


def test_a_retired_or_compromised_publisher_key_verifies_no_later_file(led, signed):
    before = led.attest(signed.data)
    led.add("key.retire", {"key": signed.public_pem, "effective": led.t + 5})
    with pytest.raises(DeniedError, match="no publisher key"):
        led.attest(signed.data)
    assert audit_db(led.path, workers=0).clean
    assert before


def test_a_publisher_key_not_yet_valid_verifies_nothing(ledger_at, signed):
    led = Led(ledger_at("l"), None)
    led.add(
        "key.add",
        {"key": signed.public_pem, "role": "publisher", "name": "p", "not_before": T0 + 10**6},
    )
    with pytest.raises(DeniedError, match="no publisher key"):
        led.attest(signed.data)


def _pem(curve: ec.EllipticCurve) -> bytes:
    return (
        ec.generate_private_key(curve)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize(
    "role, key, ok",
    [
        ("publisher", _pem(ec.SECP256R1()), True),
        ("publisher", _pem(ec.SECP384R1()), True),
        ("publisher", _pem(ec.SECP521R1()), True),
        ("publisher", _pem(ec.SECP256K1()), False),
        ("publisher", _pem(ec.SECP256R1()).replace(b"\n", b"\r\n"), False),  # not canonical
        ("publisher", _pem(ec.SECP256R1()) + b"\n", False),
        ("publisher", key(9).public_key.raw, False),
        ("issuer", _pem(ec.SECP256R1()), False),
        ("issuer", key(9).public_key.raw, True),
        ("issuer", bytes(33), False),
    ],
)
def test_key_add_takes_an_ec_key_for_a_publisher_only(role, key, ok):
    p = {"at": 1, "key": key, "role": role, "name": "k"}
    assert (entry_problems("key.add", p) == []) is ok


@pytest.mark.parametrize("etype", ["key.retire", "key.compromised"])
def test_retire_and_compromised_name_a_publisher_key_too(etype):
    member = "effective" if etype == "key.retire" else "since"
    assert entry_problems(etype, {"at": 1, "key": _pem(ec.SECP256R1()), member: 2}) == []
    assert entry_problems(etype, {"at": 1, "key": bytes(31), member: 2}) != []
    assert entry_problems(etype, {"at": 1, "key": b"x" * 64, member: 2}) != []


def test_an_oversized_signature_file_is_refused_before_signing(signed):
    with pytest.raises(MalformedError):
        oms_attestation_payload(b" " * (33 * 1024 * 1024), at=1)
    p = {**oms_attestation_payload(signed.data, at=1), "oms": signed.data + b" " * (1 << 20)}
    assert [path for path, _ in entry_problems("attest", p)] == ["oms"]
