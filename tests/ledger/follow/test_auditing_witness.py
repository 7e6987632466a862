"""`lic witness serve --follow URL`: the auditing witness follows the log (a real `lic serve`)
to each checkpoint before it cosigns. It refuses a checkpoint whose lic-revoked/v1 line is
false (422, naming it), cosigns the honest one, and answers 503 with Retry-After for a
checkpoint the log does not serve yet, then cosigns it once the log does."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from helpers import bundle_scenario as bs
from helpers.paths import ROOT
from ledger.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    format_revset_extension,
    open_checkpoint,
    sign_checkpoint,
)
from ledger.witness import NOT_YET_RETRY_AFTER, format_add_checkpoint_request

SIGNER = Ed25519NoteSigner(bs.ORIGIN, bs.LOG)


def _note(size: int, root: bytes, members: int, revset_root: bytes) -> bytes:
    line = format_revset_extension(members, revset_root, version=2)  # the log's version
    cp = Checkpoint(bs.ORIGIN, size, root, (line,))
    return sign_checkpoint(cp, SIGNER).note


def _post(url: str, old: int, proof: list[bytes], note: bytes) -> tuple[int, dict, str]:
    req = urllib.request.Request(
        f"{url}/add-checkpoint", data=format_add_checkpoint_request(old, proof, note),
        method="POST",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read().decode()


@pytest.fixture
def witness(served, lic_cli, tmp_path) -> Iterator[tuple[str, CosignatureV1Verifier]]:
    """`lic witness serve --follow` (a subprocess) for the served log; its URL and verifier."""
    ring, db = tmp_path / "ring", tmp_path / "w.db"
    lic_cli("keys", "new", "w1", "--keyring", ring)
    vkey = SIGNER.verifier.vkey
    log = f"{bs.ORIGIN}={vkey}"
    res = lic_cli("witness", "init", "--key", "w1", "--name", "auditor.example/w", "--log", log,
                  "--db", db, "--keyring", ring, "--json")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "witness", "serve", "--db", str(db), "--keyring",
         str(ring), "--follow", served.url],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on http://127.0.0.1:"), (line, proc.poll())
        assert proc.stdout.readline().startswith(f"auditing: following {served.url} (state in")
        yield line.split()[-1], CosignatureV1Verifier.from_vkey(res.json["vkey"])
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        assert "Traceback" not in err
    assert (db.parent / "w.db.follow" / "follow.db").exists()


def test_the_auditing_witness_vouches_for_the_revoked_set(served, witness, lic_cli, tmp_path):
    url, verifier = witness
    led = served.s.led
    # its follower's state primed by lic ledger follow (docs/serve.md): the same format
    primed = lic_cli("ledger", "follow", served.url, "--state", tmp_path / "w.db.follow",
                     "--log-key", SIGNER.verifier.vkey, "--json").json  # fmt: skip
    assert primed["size"] == 4
    served.s.revoke(served.s.tokens[1])
    size = served.s.checkpoint(bs.T0 + 200)
    lie = _note(size, led.root(size), 0, EMPTY_ROOT)  # the true set has one member
    status, _, body = _post(url, 0, [], lie)
    assert status == 422 and "false lic-revoked/v2 line" in body, body
    (evidence,) = (tmp_path / "w.db.follow" / "evidence").glob("revoked-set-*.json")
    assert json.loads(evidence.read_text())["notes"] == [lie.decode()]  # the signed lie, kept

    honest = led.checkpoint_at(size).note
    status, _, body = _post(url, 0, [], honest)
    assert status == 200, body
    _, verified = open_checkpoint(honest + body.encode(), SIGNER.verifier, [verifier])
    assert verified.signed_by(verifier)

    # a checkpoint the log does not serve yet: "not yet", then cosigned once it does
    for i in range(3):
        key = bs.key(f"later key {i}").public_key.raw
        served.s.append("key.add", {"key": key, "role": "attester", "name": f"l{i}"}, bs.LOG)
    new = size + 3
    revset = led.revoked_set(new)
    ahead = _note(new, led.root(new), revset.size, revset.root)
    proof = led.consistency_proof(size, new)
    status, headers, body = _post(url, size, proof, ahead)
    assert status == 503 and "not yet" in body, body
    assert headers["Retry-After"] == str(NOT_YET_RETRY_AFTER)
    assert led.checkpoint(bs.LOG).note == ahead  # the log publishes that very checkpoint
    status, _, body = _post(url, size, proof, ahead)
    assert status == 200, body
