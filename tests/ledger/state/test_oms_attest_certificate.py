"""OMS signature files signed through a certificate chain on the ledger (SPEC 14.6): a root
certificate registered with role publisher_ca; the chain is judged at the record's
integration time, at append and at every audit, so the replay decides the same ever after.
The ledgers are on both backends (``ledger_at``)."""

from __future__ import annotations

import pytest

from helpers.oms_bundles import sign_with_package
from helpers.oms_certs import NOT_BEFORE, CertSigned, sign_with_certificate
from helpers.oms_ledger import ISSUER, Led
from keys.errors import DeniedError
from ledger.audit import audit_db
from ledger.entries import PUBLISHER_CA_ROLE, entry_problems, oms_attestation_payload
from ledger.report import replay_report
from lic.oms import manifest_of

EXPIRES = int(NOT_BEFORE.timestamp()) + 365 * 86400


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> CertSigned:
    return sign_with_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def led(ledger_at, signed) -> Led:
    led = Led(ledger_at("l"), None)
    led.add("key.add", {"key": signed.root_pem, "role": PUBLISHER_CA_ROLE, "name": "root"})
    return led


def test_a_chain_to_a_registered_root_is_accepted_and_audited(led, signed):
    index = led.attest(signed.data)
    r = audit_db(led.path, workers=0)
    assert r.clean, r.findings
    root = bytes.fromhex(manifest_of(signed.model).root)
    assert r.state.attestations[root] == [index]
    assert signed.root_pem not in set(r.state.kids.values())  # a CA authors nothing
    report, _ = replay_report(db=led.path)
    assert report["provenance"]["signed_models"] == 1


def test_a_chain_to_another_root_is_refused(tmp_path, ledger_at, signed):
    other = sign_with_certificate(tmp_path / "other")
    led = Led(ledger_at("l"), None)
    led.add("key.add", {"key": other.root_pem, "role": PUBLISHER_CA_ROLE, "name": "other"})
    with pytest.raises(DeniedError, match="configured root"):
        led.attest(signed.data)


def test_a_chain_needs_a_publisher_ca_and_a_key_file_a_publisher_key(
    tmp_path, ledger_at, led, signed
):
    bare = Led(ledger_at("bare"), signed.signing_public_pem)  # the right key, no root
    with pytest.raises(DeniedError, match="no publisher CA"):
        bare.attest(signed.data)
    by_key = sign_with_package(tmp_path / "k")
    with pytest.raises(DeniedError, match="no publisher key"):
        led.attest(by_key.data)  # a root does not vouch for a bare key


def test_the_chain_is_judged_at_the_record_time(led, signed):
    led.t = EXPIRES + 10  # every record from now on is integrated after the chain expired
    with pytest.raises(DeniedError, match="configured root"):
        led.attest(signed.data)
    assert audit_db(led.path, workers=0).clean


def test_a_stored_record_with_an_expired_chain_is_found_by_the_audit(led, signed):
    ok = led.attest(signed.data)
    led.t = EXPIRES + 10
    p = oms_attestation_payload(signed.data, at=0)
    del p["at"]
    bad = led.raw_attest(p)
    r = audit_db(led.path, workers=0)
    assert [f.index for f in r.findings] == [bad] and ok < bad
    assert "OMS signature refused" in r.findings[0].message


def test_a_retired_root_vouches_for_no_later_file(led, signed):
    led.add("key.retire", {"key": signed.root_pem, "effective": led.t + 5})
    with pytest.raises(DeniedError, match="no publisher CA"):
        led.attest(signed.data)


@pytest.mark.parametrize(
    "key, ok",
    [("root", True), ("root crlf", False), ("two roots", False), ("ec key", False)],
)
def test_a_publisher_ca_is_one_canonical_certificate(signed, key, ok):
    value = {
        "root": signed.root_pem,
        "root crlf": signed.root_pem.replace(b"\n", b"\r\n"),
        "two roots": signed.root_pem * 2,
        "ec key": signed.signing_public_pem,
    }[key]
    p = {"at": 1, "key": value, "role": PUBLISHER_CA_ROLE, "name": "r"}
    assert (entry_problems("key.add", p) == []) is ok
    retire = {"at": 1, "key": value, "effective": 2}
    assert (entry_problems("key.retire", retire) == []) is (ok or key == "ec key")


def test_attester_role_still_required(led, signed):
    p = oms_attestation_payload(signed.data, at=0)
    del p["at"]
    with pytest.raises(DeniedError, match="role 'issuer'"):
        led.add("attest", p, ISSUER)
