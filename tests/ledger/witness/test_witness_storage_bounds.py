"""The witness's storage is bounded against anonymous requests (issue 14 item 11): a same-tree
resubmission is cosigned afresh but stored once, signature lines by unknown keys are dropped
before a note is stored, and evidence is deduplicated and capped per log. The log lives on each
backend (``ledger_at``); the witness's store is a SQLite file."""

import base64

import pytest

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import Ed25519NoteSigner, open_checkpoint, parse_note, verify_cosignature
from ledger.witness import MAX_EVIDENCE_PER_LOG, Witness

ORIGIN = "bounds.example/log"
LOG_KEY = SigningKey.from_seed(bytes([3]) * 32)
LOG = Ed25519NoteSigner(ORIGIN, LOG_KEY).verifier
WITNESS_KEY = SigningKey.from_seed(bytes([4]) * 32)
NOW = 1_760_000_000


def junk_lines(n):
    """Signature lines by keys nobody knows, as an anonymous client may append them."""
    out = b""
    for i in range(n):
        blob = base64.b64encode(i.to_bytes(4, "big") + bytes([i % 251]) * 64)
        out += f"— junk.example/k{i} ".encode() + blob + b"\n"
    return out


@pytest.fixture
def world(tmp_path, ledger_at):
    led = Ledger.create(ledger_at("l"), ORIGIN, LOG_KEY.public_key)
    w = Witness.create(tmp_path / "w.db", "witness.example/w", WITNESS_KEY, [LOG.vkey])

    def grow(k):
        for _ in range(k):
            n = led.size
            led.append("note", sign_entry("note", b"entry %d" % n, LOG_KEY), now=NOW + n)
        return led.checkpoint(LOG_KEY)

    yield led, w, grow
    w.close()
    led.close()


def test_a_same_tree_resubmission_is_cosigned_afresh_and_stored_once(world):
    _, w, grow = world
    cp = grow(3)
    assert w.add_checkpoint(0, [], cp.note, NOW).status == 200
    for i in range(1, 20):
        out = w.add_checkpoint(3, [], cp.note + junk_lines(i), NOW + i)
        assert out.status == 200, out.reason
        (line,) = out.cosignatures
        _, t = verify_cosignature(cp.note + line.encode(), w.verifier)
        assert t == NOW + i  # a fresh timestamp: freshness can be renewed
    (kept,) = w.cosigned(ORIGIN)
    assert kept.note == cp.note and kept.time == NOW
    assert w.head(ORIGIN).note == cp.note


def test_unknown_signature_lines_are_dropped_before_storing(world):
    led, w, grow = world
    cp3 = grow(3)
    assert w.add_checkpoint(0, [], cp3.note + junk_lines(40), NOW).status == 200
    assert w.head(ORIGIN).note == cp3.note
    assert w.cosigned(ORIGIN)[0].note == cp3.note
    cp5 = grow(2)
    proof = led.consistency_proof(3, 5)
    assert (
        w.add_checkpoint(3, [bytes(32)] * len(proof), cp5.note + junk_lines(40), NOW).status == 422
    )
    (ev,) = w.evidence()
    assert (ev.note, ev.stored_note) == (cp5.note, cp3.note)
    open_checkpoint(ev.note, LOG)
    assert len(parse_note(ev.note).signatures) == 1


def test_evidence_is_deduplicated_and_capped_per_log(world):
    led, w, grow = world
    cp3 = grow(3)
    assert w.add_checkpoint(0, [], cp3.note, NOW).status == 200
    cp5 = grow(2)
    for i in range(5):  # the same note with other bad proofs and other junk: stored once
        bad = [bytes([i + 1]) * 32] * 2
        assert w.add_checkpoint(3, bad, cp5.note + junk_lines(i), NOW + i).status == 422
    assert len(w.evidence()) == 1
    for _ in range(MAX_EVIDENCE_PER_LOG + 5):  # each a new signed note
        cp = grow(1)
        out = w.add_checkpoint(3, [bytes(32)] * 3, cp.note, NOW)
        assert out.status == 422
    assert len(w.evidence()) == MAX_EVIDENCE_PER_LOG
    good = grow(1)
    proof = led.consistency_proof(3, good.checkpoint.size)
    assert w.add_checkpoint(3, proof, good.note, NOW).status == 200  # still a witness
