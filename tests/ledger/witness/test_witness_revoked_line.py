"""A witness refuses the tree it cosigned with another revoked-set line, as a split view
(issue 14 item 7): one tree has one true revoked-set line (SPEC 12.3). The log's ledger
lives on each backend (``ledger_at``)."""

import dataclasses

from keys import SigningKey
from ledger.store import Ledger, synthesize
from ledger.tlog import (
    EMPTY_ROOT,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    format_revset_extension,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
)
from ledger.witness import (
    AddCheckpointRequest,
    StoredHead,
    decide_add_checkpoint,
    split_view_result,
)

ORIGIN = "witness-lines.example/log"
LOG = SigningKey.from_seed(bytes([8]) * 32)


def test_a_witness_refuses_the_stored_tree_with_another_line(ledger_at):
    where = ledger_at("l")
    with Ledger.create(where, ORIGIN, LOG) as led:
        synthesize(led, 300, log_key=LOG)
        signed = led.checkpoint(LOG)
    cp, true = signed.checkpoint, signed.note
    size = cp.size
    lie = dataclasses.replace(cp, extensions=(format_revset_extension(0, EMPTY_ROOT, version=2),))
    forged = sign_checkpoint(lie, Ed25519NoteSigner(ORIGIN, LOG)).note
    log = Ed25519NoteVerifier(ORIGIN, LOG.public_key)
    assert parse_checkpoint(parse_note(true).text) == cp
    head = StoredHead(size, cp.root, true)
    same = decide_add_checkpoint(head, log, AddCheckpointRequest(size, (), true))
    assert same.status == 200
    out = decide_add_checkpoint(head, log, AddCheckpointRequest(size, (), forged))
    assert (out.status, out.split_view) == (409, True)
    assert split_view_result(true, forged, log).verdict == "split"
    # the same tree with a true line of the legacy version: one tree has one line (SPEC 12.3)
    with Ledger.open(where) as led:
        v1 = led.stored_state().revoked_commitment(1).line
    other = sign_checkpoint(
        dataclasses.replace(cp, extensions=(v1,)), Ed25519NoteSigner(ORIGIN, LOG)
    )
    out = decide_add_checkpoint(head, log, AddCheckpointRequest(size, (), other.note))
    assert (out.status, out.split_view) == (409, True)
    assert split_view_result(true, other.note, log).verdict == "split"
