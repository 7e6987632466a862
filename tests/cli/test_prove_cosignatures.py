"""``lic ledger prove`` receipts carry the cosignatures stored for their size (issue 14 item 8),
so that a receipt alone shows which witnesses vouched for its checkpoint."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from ledger.tlog import CosignatureV1Verifier, Ed25519NoteVerifier, open_checkpoint, parse_receipt


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("prove") / "d"
    r = CliRunner().invoke(cli, ["demo", "--dir", str(d), "--quiet"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d


def test_a_receipt_carries_the_stored_cosignatures(demo):
    r = CliRunner().invoke(
        cli, ["ledger", "prove", "--index", "3", "--db", str(demo / "ledger.db")]
    )
    assert r.exit_code == 0, r.output
    note = parse_receipt(r.output.encode()).checkpoint_note
    log = Ed25519NoteVerifier.from_vkey((demo / "log.vkey").read_text().strip())
    witness = CosignatureV1Verifier.from_vkey((demo / "witness.vkey").read_text().strip())
    _, verified = open_checkpoint(note, log, [witness])
    assert verified.signed_by(witness)
    r = CliRunner().invoke(
        cli, ["ledger", "verify-proof", "-", "--log-key", str(demo / "log.vkey")], input=r.output
    )
    assert r.exit_code == 0, r.output


def test_a_receipt_alone_meets_a_witness_policy(demo):
    db = str(demo / "ledger.db")
    r = CliRunner().invoke(cli, ["ledger", "prove", "--index", "3", "--db", db])
    receipt = r.output
    r = CliRunner().invoke(
        cli,
        ["ledger", "verify-proof", "-", "--policy", str(demo / "policy.json"), "--json"],
        input=receipt,
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["witnesses"] == ["witness.example"]
    # the log's signature alone does not meet the policy
    log_only = receipt[: receipt.index("\n— witness.example")] + "\n"
    r = CliRunner().invoke(
        cli, ["ledger", "verify-proof", "-", "--policy", str(demo / "policy.json")], input=log_only
    )
    assert r.exit_code == 1 and "0 of 1 policy witnesses cosigned, need 1" in r.output
    r = CliRunner().invoke(cli, ["ledger", "verify-proof", "-"], input=receipt)
    assert r.exit_code == 2  # a log key or a policy is needed
