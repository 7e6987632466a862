"""The revoked-set commitment (SPEC 12) wired into checkpoints and the audit: every checkpoint
the log signs carries the set as of its size, and a replay reports a log that commits to a
wrong set, or to none. On both backends (``ledger_at``)."""

import lic
from helpers.bundle_scenario import ISSUER, LOG, ORIGIN, build
from ledger.audit import audit
from ledger.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    Ed25519NoteSigner,
    RevokedSet,
    SparseRevokedSet,
    find_revset_commitment,
    format_revset_extension,
    sign_checkpoint,
)


def replay(led, extra_notes=()):
    notes = [*led.checkpoint_notes(), *extra_notes]
    return audit(ORIGIN, led.log_vkey, lambda: led.iter_raw(), notes, workers=0)


def test_each_checkpoint_commits_to_the_set_as_of_its_size(ledger_at):
    s = build(ledger_at("l"), links=3)
    root, child, grand = (lic.token_digest(t) for t in s.tokens)
    sets = {}
    sets[s.led.checkpoint(LOG).checkpoint.size] = set()
    s.revoke(s.tokens[1], kind="suspend")
    sets[s.led.checkpoint(LOG).checkpoint.size] = {child}
    s.revoke(s.tokens[0])
    sets[s.led.checkpoint(LOG).checkpoint.size] = {child, root}
    s.append("reinstate", {"tokens": [child], "effective": s.t, "cascade": False}, ISSUER)
    sets[s.led.checkpoint(LOG).checkpoint.size] = {root}
    seen = {}
    for cp in s.led.checkpoints():
        c = find_revset_commitment(cp.checkpoint.extensions)
        assert c is not None, cp.note  # every checkpoint, the size-0 one included
        seen[cp.checkpoint.size] = (c.size, c.root)
    for size, members in sets.items():
        expected = SparseRevokedSet(members)  # the log signs lic-revoked/v2 (12.7)
        assert seen[size] == (expected.size, expected.root), size
    assert seen[0] == (0, EMPTY_ROOT)
    # the state's set agrees with its statuses: a member is revoked or suspended by its own
    # live withdrawal (as of the last record's time); a non-member is not
    state = s.led.state_at(s.led.size)
    for d in (root, child, grand):
        own = [w for w in state.withdrawals_of(d) if w.lifted_by is None]
        assert (d in state.revoked_digests()) == bool(own)
    assert state.status(child, s.t).status == "revoked"  # cascades from the root, not a member
    assert grand not in state.revoked_digests()
    assert replay(s.led).clean


def test_audit_reports_a_wrong_or_missing_commitment(ledger_at):
    s = build(ledger_at("l"))
    s.revoke(s.tokens[0])
    size = s.led.checkpoint(LOG).checkpoint.size
    assert replay(s.led).clean
    signer = Ed25519NoteSigner(ORIGIN, LOG)
    root = s.led.root(size)
    lies = {
        "mismatch": (format_revset_extension(0, EMPTY_ROOT),),  # hides the revocation
        "missing": (),
        "malformed": ("lic-revoked/v1 01 " + "A" * 43 + "=",),
    }
    for what, lines in lies.items():
        forged = sign_checkpoint(Checkpoint(ORIGIN, size, root, lines), signer).note
        r = replay(s.led, [forged])
        assert [f.index for f in r.findings] == [size - 1], (what, r.findings)
        assert what in r.findings[0].message or (
            what == "missing" and "no lic-revoked/v1 line" in r.findings[0].message
        ), r.findings
    # an earlier checkpoint that claims the later set is wrong too
    early = sign_checkpoint(
        Checkpoint(ORIGIN, size - 1, s.led.root(size - 1), (format_revset_extension(
            1, RevokedSet([lic.token_digest(s.tokens[0])]).root),)), signer
    ).note  # fmt: skip
    r = replay(s.led, [early])
    assert [f.index for f in r.findings] == [size - 2]
    assert "mismatch" in r.findings[0].message


def test_cli_checkpoint_prints_the_revoked_set_line(tmp_path, ledger_at, lic_cli):
    run = lic_cli.with_env(P="pw")
    common = ["--keyring", str(tmp_path / "k"), "--passphrase-env", "P"]
    db = str(ledger_at("l"))
    res = run("keys", "new", "log", *common, code=None)
    assert res.exit_code == 0, res.output
    res = run("ledger", "init", "--origin", "example.com/log", "--key", "log", "--db", db,
        *common, code=None)  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run("ledger", "checkpoint", "--db", db, *common, code=None)
    assert res.exit_code == 0, res.output
    assert format_revset_extension(0, EMPTY_ROOT, version=2) in res.output.splitlines()


def test_an_ended_suspension_leaves_the_set_only_by_a_reinstate_record(ledger_at):
    s = build(ledger_at("l"))
    child = lic.token_digest(s.tokens[1])
    payload = {"tokens": [child], "reason": "prohibited_use", "effective": s.t, "cascade": False}
    s.append("suspend", {**payload, "until": s.t + 5}, ISSUER)
    state = s.led.state_at(s.led.size)
    assert state.status(child, s.t + 10).status == "active"  # over by the clock ...
    assert state.revoked_digests() == [child]  # ... but the set follows records only
    s.t += 20
    s.append("reinstate", {"tokens": [child], "effective": s.t, "cascade": False}, ISSUER)
    assert s.led.state_at(s.led.size).revoked_digests() == []
    s.led.checkpoint(LOG)
    assert replay(s.led).clean


def test_random_withdrawals_keep_the_set_equal_to_live_own_withdrawals(ledger_at):
    """Against the status side of the state (``Withdrawal.live``, not the set's counters):
    with every effective time "now", a digest is a member exactly when one of its own
    withdrawals is live now. Checkpoints after every step; the replay agrees with all."""
    import random

    rnd = random.Random(6)
    s = build(ledger_at("l"), links=3)
    digests = [lic.token_digest(t) for t in s.tokens]
    for _ in range(30):
        kind = rnd.choice(["revoke", "suspend", "reinstate", "reinstate"])
        targets = rnd.sample(digests, rnd.randint(1, 3))
        payload = {"tokens": targets, "effective": s.t + 1, "cascade": rnd.random() < 0.5}
        if kind != "reinstate":
            payload["reason"] = "prohibited_use"
        s.append(kind, payload, ISSUER)
        s.led.checkpoint(LOG)
        state = s.led.state_at(s.led.size)
        live = {d for d in digests if any(w.live(s.t) for w in state.withdrawals_of(d))}
        assert set(state.revoked_digests()) == live
    assert replay(s.led).clean
