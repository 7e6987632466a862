"""`lic ledger key add --role publisher` and `lic ledger attest --oms` from the shell, with a
signature file made by the real model-signing package (SPEC 14.6)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from helpers.oms_bundles import reencode, sign_with_package
from helpers.oms_certs import sign_with_certificate
from lic.oms import manifest_of


@pytest.fixture
def sh(tmp_path, monkeypatch, lic_cli):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIC_HOME", str(tmp_path / "keys"))
    return lic_cli.output


@pytest.fixture
def world(sh, tmp_path):
    for name in ("log", "attester"):
        sh("keys", "new", name)
    sh("ledger", "init", "--origin", "example.com/log", "--key", "log")
    (tmp_path / "attester.pem").write_text(sh("keys", "export", "attester", "--format", "pem"))
    sh("ledger", "key", "add", "attester.pem", "--role", "attester", "--name", "attester")
    signed = sign_with_package(tmp_path / "models", "llama-tiny")
    (tmp_path / "model.sig").write_bytes(signed.data)
    # a publisher key file as people write them: CRLF line ends (stored canonical)
    (tmp_path / "publisher.pub").write_bytes(signed.public_pem.replace(b"\n", b"\r\n"))
    return signed


def idx(out):
    return int(out.rsplit(" ", 1)[1])


def test_a_signature_file_becomes_an_audited_attestation(sh, world, tmp_path):
    k = idx(sh("ledger", "key", "add", "publisher.pub", "--role", "publisher", "--name", "acme"))
    key_entry = json.loads(sh("ledger", "show", "--index", k, "--json"))
    a = idx(sh("ledger", "attest", "--oms", "model.sig", "--key", "attester"))
    sh("ledger", "attest", "--oms", "model.sig", "--consent-basis", "licensed", "--key",
       "attester")  # fmt: skip
    sh("ledger", "checkpoint")
    summary = json.loads(sh("ledger", "audit", "--json", "--quiet"))
    assert summary["clean"]
    sh("ledger", "report", "--out", "report", "--quiet")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["provenance"]["signed_models"] == 1
    shown = json.dumps(json.loads(sh("ledger", "show", "--index", a, "--json")))
    assert manifest_of(world.model).root in shown
    assert world.public_pem.hex() in json.dumps(key_entry)  # stored canonical (LF line ends)


def test_a_tampered_signature_file_is_refused_with_a_reason(sh, world, tmp_path):
    sh("ledger", "key", "add", "publisher.pub", "--role", "publisher", "--name", "acme")
    (tmp_path / "bad.sig").write_bytes(
        reencode(world, lambda b: b["dsseEnvelope"]["signatures"][0].update(sig="MEQCIA=="))
    )
    out = sh("ledger", "attest", "--oms", "bad.sig", "--key", "attester", code=1)
    assert "OMS signature refused" in out and "does not verify" in out


def test_without_a_publisher_key_the_file_is_refused(sh, world):
    out = sh("ledger", "attest", "--oms", "model.sig", "--key", "attester", code=1)
    assert "no publisher key" in out


def test_a_file_that_is_no_signature_is_bad_input(sh, world, tmp_path):
    (tmp_path / "x.sig").write_text("{}")
    out = sh("ledger", "attest", "--oms", "x.sig", "--key", "attester", code=2)
    assert "OMS signature" in out


def test_oms_takes_no_other_attestation_options(sh, world):
    out = sh("ledger", "attest", "--oms", "model.sig", "--predicate-type", "x", code=2)
    assert "--oms records the signature file alone" in out


def test_a_publisher_key_must_be_an_ec_key(sh, world, tmp_path):
    out = sh("ledger", "key", "add", "attester.pem", "--role", "publisher", "--name", "p", code=2)
    assert "attester.pem" in out and "EC P-256" in out
    out = sh("ledger", "key", "add", "publisher.pub", "--role", "issuer", "--name", "p", code=2)
    assert "publisher.pub" in out


def test_a_publisher_key_is_retired_by_its_pem(sh, world):
    sh("ledger", "key", "add", "publisher.pub", "--role", "publisher", "--name", "acme")
    sh("ledger", "key", "retire", "publisher.pub")
    out = sh("ledger", "attest", "--oms", "model.sig", "--key", "attester", code=1)
    assert "no publisher key" in out
    sh("ledger", "checkpoint")
    assert json.loads(sh("ledger", "audit", "--json", "--quiet"))["clean"]


def test_a_file_signed_through_a_chain_needs_a_publisher_ca(sh, world, tmp_path):
    # the CLI's records take the log's clock: certificates valid from a day before it
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    chained = sign_with_certificate(tmp_path / "pki", not_before=since)
    (tmp_path / "chained.sig").write_bytes(chained.data)
    (tmp_path / "root.pem").write_bytes(chained.root_pem)
    out = sh("ledger", "attest", "--oms", "chained.sig", "--key", "attester", code=1)
    assert "no publisher CA" in out
    sh("ledger", "key", "add", "root.pem", "--role", "publisher_ca", "--name", "acme-root")
    sh("ledger", "attest", "--oms", "chained.sig", "--key", "attester")
    sh("ledger", "key", "retire", "root.pem")
    out = sh("ledger", "attest", "--oms", "chained.sig", "--key", "attester", code=1)
    assert "no publisher CA" in out
    sh("ledger", "checkpoint")
    assert json.loads(sh("ledger", "audit", "--json", "--quiet"))["clean"]
