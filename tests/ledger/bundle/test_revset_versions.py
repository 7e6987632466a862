"""A ledger whose early checkpoints carry the legacy lic-revoked/v1 line (signed as the log did
before lic-revoked/v2) keeps working: its audit is clean, its old bundles still verify, a
bundle made now at an old checkpoint carries v1 proofs, and the new checkpoints (v2) give v2
proofs, updates and verdicts (SPEC 12.7, ADR 0011)."""

import lic
from helpers.bundle_scenario import T0, build, policy
from ledger.audit import audit
from ledger.bundle import bundle_status, create_bundle, create_update, parse_bundle, verify_bundle
from ledger.store import Ledger
from ledger.tlog import find_revset_commitment, parse_checkpoint, parse_note

COSIGN_AT = T0 + 500
NOW = T0 + 1000


def _line_version(note: bytes) -> int:
    c = find_revset_commitment(parse_checkpoint(parse_note(note).text).extensions)
    assert c is not None
    return c.version


def _absent_headers(bundle: bytes) -> set[bytes]:
    return {x.absent.split(b" ", 1)[0] for x in parse_bundle(bundle).links}


def test_v1_checkpoints_still_audit_and_their_bundles_still_verify(tmp_path, monkeypatch):
    def legacy_line(self: Ledger, size: int) -> str:  # what the log signed before v2
        return self.state_at(size).revoked_commitment(1).line

    monkeypatch.setattr(Ledger, "_revset_extension", legacy_line)
    s = build(tmp_path / "l.db", links=3)
    s.revoke(s.tokens[2], kind="suspend")
    old_size = s.checkpoint(COSIGN_AT)
    old = create_bundle(s.led, s.tokens[:2])
    revoked_old = create_bundle(s.led, s.tokens)
    assert _line_version(parse_bundle(old).checkpoint) == 1
    assert _absent_headers(old) == {b"lic-absent/v1"}
    monkeypatch.undo()

    s.revoke(s.tokens[1])
    s.checkpoint(COSIGN_AT + 10)
    latest = s.led.latest_checkpoint()
    assert latest is not None and _line_version(latest.note) == 2
    notes = list(s.led.checkpoint_notes())
    assert {_line_version(n) for n in notes} == {1, 2}
    r = audit(s.led.origin, s.led.log_vkey, lambda: s.led.iter_raw(), notes, workers=0)
    assert r.clean, r.findings

    assert verify_bundle(old, policy(), now=NOW).effect == "valid"  # v1 proofs, v1 line
    assert verify_bundle(revoked_old, policy(), now=NOW).reason == "revoked"
    assert bundle_status(old, policy().trust, s.tokens[:2], now=NOW).status == "active"
    again = create_bundle(s.led, s.tokens[:2], size=old_size)  # an old checkpoint: v1 proofs
    assert _absent_headers(again) == {b"lic-absent/v1"}
    assert verify_bundle(again, policy(), now=NOW).effect == "valid"

    new = create_bundle(s.led, s.tokens[:2])
    assert _absent_headers(new) == {b"lic-absent/v2"}
    res = verify_bundle(new, policy(), now=NOW)
    assert res.reason == "revoked" and "link 1" in str(res.to_dict())
    assert verify_bundle(create_bundle(s.led, s.tokens[:1]), policy(), now=NOW).effect == "valid"

    update = create_update(s.led, old)  # from the v1 checkpoint to the v2 one
    held = verify_bundle(old, policy(), now=NOW, held_checkpoint=latest.note, update=update)
    assert held.reason == "revoked"
    root_only = create_bundle(s.led, s.tokens[:1], size=old_size)
    update = create_update(s.led, root_only)
    ok = verify_bundle(root_only, policy(), now=NOW, held_checkpoint=latest.note, update=update)
    assert ok.effect == "valid"
    assert lic.token_digest(s.tokens[1]) in s.led.stored_state().revoked_digests()
