"""A false revoked-set line is caught by what a verifier runs (issue 14 item 7): the audit
with --since compares the saved note's line with its replay at that size, and split-view
compares the lines of two notes of one size. The ledger on both backends
(``module_ledger_at``)."""

import dataclasses

import pytest

from keys import SigningKey
from ledger.store import Ledger, synthesize
from ledger.tlog import (
    EMPTY_ROOT,
    Ed25519NoteSigner,
    find_revset_commitment,
    format_revset_extension,
    sign_checkpoint,
)

ORIGIN = "lines.example/log"
LOG = SigningKey.from_seed(bytes([7]) * 32)


@pytest.fixture(scope="module")
def notes(tmp_path_factory, module_ledger_at):
    d = tmp_path_factory.mktemp("lines")
    db = module_ledger_at("lines")
    with Ledger.create(db, ORIGIN, LOG) as led:
        synthesize(led, 300, log_key=LOG)
        true = led.checkpoint(LOG)
    cp = true.checkpoint
    assert find_revset_commitment(cp.extensions).size > 0  # something was revoked
    lie = dataclasses.replace(cp, extensions=(format_revset_extension(0, EMPTY_ROOT, version=2),))
    forged = sign_checkpoint(lie, Ed25519NoteSigner(ORIGIN, LOG))
    (d / "true.note").write_bytes(true.note)
    (d / "forged.note").write_bytes(forged.note)
    (d / "log.vkey").write_text(LOG.public_key.verifier_key(ORIGIN))
    return d, db, cp.size


def test_audit_since_a_note_with_a_false_revoked_line(notes, lic_cli):
    d, db, size = notes
    lic_cli("ledger", "audit", "--db", db, "--since", d / "true.note", "--quiet")
    out = lic_cli("ledger", "audit", "--db", db, "--since", d / "forged.note", "--quiet",
                  code=1).output  # fmt: skip
    assert f"record {size - 1}: saved checkpoint at size {size}: revoked-set commitment" in out


def test_split_view_of_two_lines_for_one_tree(notes, lic_cli):
    d, _, _ = notes
    out = lic_cli("witness", "split-view", "--log-key", d / "log.vkey", d / "true.note",
                  d / "forged.note", code=1).output  # fmt: skip
    assert "verdict: split" in out
    assert "the same tree with different lic-revoked lines" in out
    out = lic_cli("witness", "split-view", "--log-key", d / "log.vkey", d / "true.note",
                  d / "true.note").output  # fmt: skip
    assert "verdict: consistent" in out
