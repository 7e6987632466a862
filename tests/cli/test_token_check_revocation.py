"""`lic token check` says whether revocation was checked, and checks it with --db (a ledger) or
--bundle (a bundle's evidence): a revoked license is no longer a PERMIT (issue 14 item 4)."""

import json

import pytest
from click.testing import CliRunner

import lic
from cli.main import cli
from keys import LicError, TrustStore
from ledger.bundle import bundle_status

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"  # the demo's weights


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("check") / "d"
    r = CliRunner().invoke(cli, ["demo", "--dir", str(d)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d


def check(d, *extra, code):
    r = CliRunner(env={"LIC_HOME": str(d / "keys")}).invoke(
        cli,
        ["token", "check", str(d / "licensee.jwt"), str(d / "contractor.jwt"),
         "--trust", str(d / "verifier-trust.json"), "--action", "run",
         "--purpose", "research.academic", "--region", "DE", "--no-data",
         "--model-digest", DIGEST, *map(str, extra)],
        catch_exceptions=False,
    )  # fmt: skip
    assert "Traceback" not in r.output
    assert r.exit_code == code, r.output
    return r.output


def test_without_evidence_the_output_says_revocation_was_not_checked(demo):
    out = check(demo, code=0)  # the contractor's license is revoked, but nothing says so here
    assert out.startswith("PERMIT") and "revocation    NOT checked" in out
    info = json.loads(check(demo, "--json", code=0))
    assert info["effect"] == "permit"
    assert info["revocation"]["checked"] is False and info["revocation"]["status"] is None


def test_the_ledger_says_revoked(demo):
    out = check(demo, "--db", demo / "ledger.db", code=1)
    assert out.startswith("DENY")
    assert "status: the token is revoked" in out and "revocation    revoked on the ledger" in out
    info = json.loads(check(demo, "--db", demo / "ledger.db", "--json", code=1))
    assert info["effect"] == "deny" and info["duties"] == []
    assert info["revocation"]["checked"] is True and info["revocation"]["status"] == "revoked"
    assert info["reasons"][-1]["field"] == "status"


def test_a_bundle_says_what_its_checkpoint_says(demo):
    # made before the revocation: active as of that checkpoint
    out = check(demo, "--bundle", demo / "contractor.bundle", code=0)
    assert out.startswith("PERMIT") and "revocation    no link is revoked" in out
    info = json.loads(check(demo, "--bundle", demo / "contractor-now.bundle", "--json", code=1))
    assert info["effect"] == "deny" and info["revocation"]["status"] == "revoked"
    assert info["revocation"]["checkpoint_size"] == 17


def test_bad_evidence_is_refused(demo, tmp_path):
    out = check(demo, "--db", demo / "ledger.db", "--bundle", demo / "contractor.bundle", code=2)
    assert "exclude each other" in out
    # a bundle for another chain
    r = CliRunner(env={"LIC_HOME": str(demo / "keys")}).invoke(
        cli, ["bundle", "create", str(demo / "licensee.jwt"), "--db", str(demo / "ledger.db"),
              "--size", "12", "--out", str(tmp_path / "root.bundle")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "not the one being checked" in check(demo, "--bundle", tmp_path / "root.bundle", code=2)
    # a checkpoint signed by a log key the trust store does not hold
    trust = json.loads((demo / "verifier-trust.json").read_text())
    trust["keys"] = [k for k in trust["keys"] if k["role"] != "log"]
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    r = CliRunner(env={"LIC_HOME": str(demo / "keys")}).invoke(
        cli,
        ["token", "check", str(demo / "licensee.jwt"), str(demo / "contractor.jwt"),
         "--trust", str(tmp_path / "trust.json"), "--action", "run", "--purpose",
         "research.academic", "--region", "DE", "--bundle", str(demo / "contractor.bundle")],
    )  # fmt: skip
    assert r.exit_code == 1 and "no trusted log key" in r.output, r.output


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
