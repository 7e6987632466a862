"""`lic ledger follow` against a real `lic serve`: from empty, then incrementally (only the new
entry bundles are fetched), resumed after a kill -9 mid-run, and exit 3 with the state
untouched when the log cannot be read. Its replayed state equals the audit's."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from helpers import bundle_scenario as bs
from helpers.paths import ROOT
from keys import SigningKey
from ledger.audit import audit_db
from ledger.follow import STATE_FILE
from ledger.state import LedgerState
from ledger.tlog import tiles_added

LOG_VKEY = bs.LOG.public_key.verifier_key(bs.ORIGIN)


def _follow(lic_cli, served, state: Path, *extra: str, code: int = 0):
    return lic_cli("ledger", "follow", served.url, "--state", state, *extra, "--json", code=code)


def _meta_size(state: Path) -> int:
    with sqlite3.connect(state / STATE_FILE) as conn:
        row = conn.execute("SELECT size FROM fl_meta").fetchone()
    return int(row[0])


def _state_rows(state: Path) -> dict:
    conn = sqlite3.connect(state / STATE_FILE, isolation_level=None)
    try:
        conn.execute("BEGIN")
        return LedgerState(bs.LOG.public_key.raw, conn).table_rows()
    finally:
        conn.close()


def _bundles(old: int, new: int) -> list[str]:
    return [t.path for t in tiles_added(old, new) if t.entries]


def test_follow_from_empty_then_only_new_bundles(served, lic_cli, tmp_path):
    state = tmp_path / "follower"
    first = _follow(lic_cli, served, state, "--log-key", LOG_VKEY).json
    assert (first["status"], first["old_size"], first["size"]) == ("advanced", 0, 4)
    assert first["first_use"] and first["records"] == 4 and first["revoked"] == 0
    asked = served.proxy.take()
    assert [p for p in asked if p.startswith("tile/entries/")] == _bundles(0, 4)

    served.add_keys(300)
    served.s.revoke(served.s.tokens[1])
    size = served.s.checkpoint(bs.T0 + 200)
    assert size == 305
    second = _follow(lic_cli, served, state).json  # the key is pinned now: no --log-key
    assert (second["status"], second["old_size"], second["size"]) == ("advanced", 4, 305)
    assert not second["first_use"] and second["records"] == 301 and second["revoked"] == 1
    asked = served.proxy.take()
    fetched_bundles = [p for p in asked if p.startswith("tile/entries/")]
    assert fetched_bundles == _bundles(4, 305) == ["tile/entries/000", "tile/entries/001.p/49"]
    assert asked[0] == "checkpoint" and len(asked) == len(set(asked))  # each resource once
    assert not [p for p in asked if p.startswith(("tile/entries/000.p", "blob/"))]

    third = _follow(lic_cli, served, state).json
    assert third["status"] == "unchanged" and served.proxy.take() == ["checkpoint"]
    assert _meta_size(state) == 305
    # what the follower replayed is what the auditor replays from the file itself
    assert _state_rows(state) == audit_db(served.s.path, workers=0).state.table_rows()


def test_first_use_is_said_and_the_key_stays_pinned(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    res = lic_cli("ledger", "follow", served.url, "--state", state, code=2)
    assert "--log-key" in res.stderr
    res = lic_cli("ledger", "follow", served.url, "--state", state, "--log-key", LOG_VKEY)
    assert "TRUST ON FIRST USE" in res.stdout and LOG_VKEY in res.stdout
    other = bs.key("another log").public_key.verifier_key(bs.ORIGIN)
    res = lic_cli("ledger", "follow", served.url, "--state", state, "--log-key", other, code=1)
    assert "pinned" in res.stderr
    res = lic_cli("ledger", "follow", served.url, "--state", state, "--once")
    assert "TRUST ON FIRST USE" not in res.stdout and "nothing new" in res.stdout


def test_a_policy_requires_the_witness_quorum(served, lic_cli, tmp_path):
    policy = tmp_path / "policy.json"
    bs.policy(quorum=2).save(policy)
    ok = lic_cli("ledger", "follow", served.url, "--state", tmp_path / "a", "--policy", policy)
    assert "TRUST ON FIRST USE" in ok.stdout  # the policy named the key
    bs.policy(quorum=3).save(policy)
    res = lic_cli("ledger", "follow", served.url, "--state", tmp_path / "b", "--policy", policy,
                  code=1)  # fmt: skip
    assert "need 3" in res.stderr


def test_network_errors_exit_3_and_leave_the_state(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served, state, "--log-key", LOG_VKEY)
    served.add_keys(300)
    served.s.checkpoint(bs.T0 + 200)
    served.proxy.fail = {"tile/entries/001.p/48"}  # the second new bundle
    res = _follow(lic_cli, served, state, code=3)
    assert "500" in res.stderr and len(res.stderr.strip().splitlines()) <= 2
    assert _meta_size(state) == 4
    served.proxy.fail = set()
    assert _follow(lic_cli, served, state).json["size"] == 304
    res = lic_cli("ledger", "follow", "http://127.0.0.1:9", "--state", state, code=3)
    assert "cannot read the log" in res.stderr
    assert _meta_size(state) == 304


def test_resume_after_kill_9_mid_run(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served, state, "--log-key", LOG_VKEY)
    served.add_keys(600)
    served.s.checkpoint(bs.T0 + 200)  # size 604: bundles 000, 001 and 002.p/92
    served.proxy.hold = "tile/entries/002.p/92"  # the follower has replayed 000 and 001 then
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ledger", "follow", served.url, "--state", str(state)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert served.proxy.held.wait(60), proc.communicate(timeout=5)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    served.proxy.hold = None
    served.proxy.release.set()
    assert _meta_size(state) == 4  # the killed run left the state of the run before
    again = _follow(lic_cli, served, state).json
    assert (again["status"], again["old_size"], again["size"]) == ("advanced", 4, 604)
    assert _state_rows(state) == audit_db(served.s.path, workers=0).state.table_rows()


def test_a_record_over_65535_bytes_comes_from_its_blob(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served, state, "--log-key", LOG_VKEY)
    served.add_keys(1)  # an attester
    attester = SigningKey.from_seed(hashlib.sha256(b"follow test key 0").digest())
    payload = {
        "subjects": [{"name": "model", "sha256": bytes(32)}],
        "predicate_type": "https://in-toto.io/Statement/v1",
        "envelope": bytes(range(256)) * 400,  # ~100 KB: the record is carried as a blob
    }
    index = served.s.append("attest", payload, attester)
    served.s.checkpoint(bs.T0 + 200)
    served.proxy.take()
    out = _follow(lic_cli, served, state).json
    assert (out["status"], out["size"]) == ("advanced", index + 1)
    blobs = [p for p in served.proxy.take() if p.startswith("blob/")]
    digest = hashlib.sha256(served.s.led.record_bytes(index)).hexdigest()
    assert blobs == [f"blob/{digest}"]


def test_interval_follows_until_stopped_and_outlives_an_outage(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served, state, "--log-key", LOG_VKEY)
    served.proxy.fail = {"checkpoint"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ledger", "follow", served.url, "--state", str(state),
         "--interval", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "500" in proc.stderr.readline()  # the outage: reported, and the next round
        served.proxy.fail = set()
        assert "nothing new" in proc.stdout.readline()
        served.add_keys(2)
        served.s.checkpoint(bs.T0 + 200)
        deadline = time.monotonic() + 30
        while "verified size 6 (was 4)" not in proc.stdout.readline():
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143 and "Traceback" not in err
    assert _meta_size(state) == 6
