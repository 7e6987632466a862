"""``lic ledger prove`` receipts carry the cosignatures stored for their size (issue 14 item 8),
so that a receipt alone shows which witnesses vouched for its checkpoint. The demo's ledger on
both backends (``module_ledger_at``: the file, or its export imported into a schema)."""

import pytest

from helpers.backends import copy_ledger
from ledger.tlog import CosignatureV1Verifier, Ed25519NoteVerifier, open_checkpoint, parse_receipt


@pytest.fixture(scope="module")
def demo(demo_dir, module_ledger_at):
    """The demo's directory, and its ledger on this module's backend."""
    d = demo_dir("prove")
    if module_ledger_at.backend == "sqlite":
        return d, d / "ledger.db"
    return d, copy_ledger(d / "ledger.db", module_ledger_at("prove"))


def test_a_receipt_carries_the_stored_cosignatures(demo, lic_cli):
    demo, db = demo
    receipt = lic_cli("ledger", "prove", "--index", "3", "--db", db).output
    note = parse_receipt(receipt.encode()).checkpoint_note
    log = Ed25519NoteVerifier.from_vkey((demo / "log.vkey").read_text().strip())
    witness = CosignatureV1Verifier.from_vkey((demo / "witness.vkey").read_text().strip())
    _, verified = open_checkpoint(note, log, [witness])
    assert verified.signed_by(witness)
    lic_cli("ledger", "verify-proof", "-", "--log-key", demo / "log.vkey", input=receipt)


def test_a_receipt_alone_meets_a_witness_policy(demo, lic_cli):
    demo, db = demo
    receipt = lic_cli("ledger", "prove", "--index", "3", "--db", db).output
    r = lic_cli("ledger", "verify-proof", "-", "--policy", demo / "policy.json", "--json",
                input=receipt)  # fmt: skip
    assert r.json["witnesses"] == ["witness.example"]
    # the log's signature alone does not meet the policy
    log_only = receipt[: receipt.index("\n— witness.example")] + "\n"
    out = lic_cli("ledger", "verify-proof", "-", "--policy", demo / "policy.json",
                  input=log_only, code=1).output  # fmt: skip
    assert "0 of 1 policy witnesses cosigned, need 1" in out
    lic_cli("ledger", "verify-proof", "-", input=receipt, code=2)  # a log key or a policy is needed
