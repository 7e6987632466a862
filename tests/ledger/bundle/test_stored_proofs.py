"""The bundle, update and status proofs come from a state's stored lic-revoked/v2 tree (the
ledger's own at its latest size, a replay's at an older checkpoint) and are byte for byte the
proofs of the tree built in memory from the members at the checkpoint's size, on SQLite and
PostgreSQL (SPEC 12.7)."""

import lic
from helpers.bundle_scenario import T0, build
from ledger.bundle import create_bundle, create_update, parse_bundle, parse_update
from ledger.state import state_of
from ledger.tlog import SparseRevokedSet

COSIGN_AT = T0 + 500


def _expected(led, size: int, tokens: list[bytes]) -> list[bytes]:
    """The in-memory tree's proofs for ``tokens`` in the set of the first ``size`` records."""
    replay = state_of(led.iter_records(0, size), led.log_verifier.public_key.raw)
    ref = SparseRevokedSet(replay.revoked_digests())
    replay.close()
    return [ref.proof_text(lic.token_digest(t)) for t in tokens]


def test_bundle_and_update_proofs_are_the_in_memory_tree_s(ledger_at):
    s = build(ledger_at(), links=3)
    first = s.checkpoint(COSIGN_AT)
    s.revoke(s.tokens[2], kind="suspend")
    second = s.checkpoint(COSIGN_AT + 10)
    s.revoke(s.tokens[0])
    latest = s.checkpoint(COSIGN_AT + 20)
    s.revoke(s.tokens[1])  # after that checkpoint: the stored set is not the one it signed
    assert s.led.stored_state().size > latest
    head = s.checkpoint(COSIGN_AT + 30)  # the stored state's own size
    for size in (first, second, latest, head):
        bundle = parse_bundle(create_bundle(s.led, s.tokens, size=size))
        assert [x.absent for x in bundle.links] == _expected(s.led, size, s.tokens)
    old = create_bundle(s.led, s.tokens, size=first)
    update = parse_update(create_update(s.led, old, size=latest))
    assert list(update.absent) == _expected(s.led, latest, s.tokens)
    update = parse_update(create_update(s.led, old))
    assert list(update.absent) == _expected(s.led, head, s.tokens)
    headers = {p.split(b" ", 1)[0] for p in update.absent}
    assert headers == {b"lic-absent/v2"}
    s.led.close()
