"""`lic token check` says whether revocation was checked, and checks it with --db (a ledger) or
--bundle (a bundle's evidence): a revoked license is no longer a PERMIT (issue 14 item 4)."""

import json

import pytest

import lic
from keys import LicError, TrustStore
from ledger.bundle import bundle_status

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"  # the demo's weights


@pytest.fixture(scope="module")
def demo(demo_dir):
    return demo_dir("check")


@pytest.fixture(scope="module")
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo / "keys")


def check(run, d, *extra, code):
    """`lic token check` of the demo's chain for a use it permits, with EXTRA options."""
    return run("token", "check", d / "licensee.jwt", d / "contractor.jwt",
               "--trust", d / "verifier-trust.json", "--action", "run",
               "--purpose", "research.academic", "--region", "DE", "--no-data",
               "--model-digest", DIGEST, *extra, code=code)  # fmt: skip


def test_without_evidence_the_output_says_revocation_was_not_checked(demo, run):
    # the contractor's license is revoked, but nothing says so here
    out = check(run, demo, code=0).output
    assert out.startswith("PERMIT") and "revocation    NOT checked" in out
    info = check(run, demo, "--json", code=0).json
    assert info["effect"] == "permit"
    assert info["revocation"]["checked"] is False and info["revocation"]["status"] is None


def test_the_ledger_says_revoked(demo, run):
    out = check(run, demo, "--db", demo / "ledger.db", code=1).output
    assert out.startswith("DENY")
    assert "status: the token is revoked" in out and "revocation    revoked on the ledger" in out
    info = check(run, demo, "--db", demo / "ledger.db", "--json", code=1).json
    assert info["effect"] == "deny" and info["duties"] == []
    assert info["revocation"]["checked"] is True and info["revocation"]["status"] == "revoked"
    assert info["reasons"][-1]["field"] == "status"


def test_a_bundle_says_what_its_checkpoint_says(demo, run):
    # made before the revocation: active as of that checkpoint
    out = check(run, demo, "--bundle", demo / "contractor.bundle", code=0).output
    assert out.startswith("PERMIT") and "revocation    no link is revoked" in out
    info = check(run, demo, "--bundle", demo / "contractor-now.bundle", "--json", code=1).json
    assert info["effect"] == "deny" and info["revocation"]["status"] == "revoked"
    assert info["revocation"]["checkpoint_size"] == 17


def test_bad_evidence_is_refused(demo, run, tmp_path):
    bundle = demo / "contractor.bundle"
    out = check(run, demo, "--db", demo / "ledger.db", "--bundle", bundle, code=2).output
    assert "exclude each other" in out
    # a bundle for another chain
    run("bundle", "create", demo / "licensee.jwt", "--db", demo / "ledger.db",
        "--size", "12", "--out", tmp_path / "root.bundle")  # fmt: skip
    out = check(run, demo, "--bundle", tmp_path / "root.bundle", code=2).output
    assert "not the one being checked" in out
    # a checkpoint signed by a log key the trust store does not hold
    trust = json.loads((demo / "verifier-trust.json").read_text())
    trust["keys"] = [k for k in trust["keys"] if k["role"] != "log"]
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    out = run("token", "check", demo / "licensee.jwt", demo / "contractor.jwt",
              "--trust", tmp_path / "trust.json", "--action", "run", "--purpose",
              "research.academic", "--region", "DE", "--bundle", bundle, code=1).output  # fmt: skip
    assert "no trusted log key" in out, out


def test_no_single_bit_flip_hides_a_revocation(demo):
    """Every one-bit change of a bundle whose chain is revoked is refused or still says
    revoked: forged evidence never makes a revoked chain active."""
    trust = TrustStore.load(demo / "verifier-trust.json")
    chain = [(demo / n).read_bytes().strip() for n in ("licensee.jwt", "contractor.jwt")]
    data = (demo / "contractor-now.bundle").read_bytes()
    now = lic.decode_unverified(chain[-1]).nbf
    assert bundle_status(data, trust, chain, now=now).status == "revoked"
    outcomes = set()
    for i in range(len(data)):
        bad = data[:i] + bytes([data[i] ^ (1 << (i % 8))]) + data[i + 1 :]
        try:
            outcomes.add(bundle_status(bad, trust, chain, now=now).status)
        except LicError:
            outcomes.add("refused")
    assert outcomes <= {"revoked", "refused"} and "refused" in outcomes
