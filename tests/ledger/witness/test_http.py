"""The witness over real HTTP on 127.0.0.1 (ephemeral ports, servers that stop by themselves):
each status code with its body and content type, loopback-only binding, the `lic witness
serve` process, and 2-of-3 cosignature collection by `lic ledger checkpoint --witness`. The
logs live on each backend (conftest: ``new_log``, ``ledger_at``); witness stores are files."""

import contextlib
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import ledger.witness
from helpers.paths import ROOT
from helpers.witnesses import (
    LOG,
    LOG_KEY,
    ORIGIN,
    WITNESS_KEYS,
    WITNESS_NAMES,
    new_witness,
    witness_verifier,
)
from keys import KeyStoreError, MalformedError, SigningKey, b64std_encode
from ledger.store import Ledger
from ledger.tlog import (
    EMPTY_ROOT,
    Checkpoint,
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from ledger.witness import (
    Witness,
    collect_cosignatures,
    format_add_checkpoint_request,
    make_witness_server,
    post_add_checkpoint,
    split_view_result,
)
from lic import cbor

NOW = 1_760_000_000


@contextlib.contextmanager
def serving(db: Path, key, **kw):
    """A witness server on 127.0.0.1:0 in a thread; always shut down and joined (bounded)."""
    server = make_witness_server(db, key, "127.0.0.1", 0, clock=lambda: NOW, **kw)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.daemon = True
    t.start()
    try:
        yield server, f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        t.join(10)
        assert not t.is_alive()


def raw_request(port: int, method: str, path: str, body: bytes | None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def test_each_status_code_over_http(tmp_path, new_log):
    log = new_log("l")
    new_witness(tmp_path / "w.db").close()
    with serving(tmp_path / "w.db", WITNESS_KEYS[0]) as (server, url):
        cp3 = log.grow(3)
        ans = post_add_checkpoint(url, 0, [], cp3.note)
        assert ans.status == 200
        assert ans.body.startswith("— ".encode()) and ans.body.endswith(b"\n")
        _, t = verify_cosignature(cp3.note + ans.body, witness_verifier(0))
        assert t == NOW
        # 409 with the stored size, text/x.tlog.size
        ans = post_add_checkpoint(url, 0, [], cp3.note)
        assert (ans.status, ans.content_type, ans.body) == (409, "text/x.tlog.size", b"3\n")
        cp7 = log.grow(4)
        # 422: a wrong consistency proof
        ans = post_add_checkpoint(url, 3, [bytes(32)] * 3, cp7.note)
        assert ans.status == 422
        # 403: signed by another key under the log's name
        other = Ed25519NoteSigner(ORIGIN, SigningKey.from_seed(bytes([5]) * 32))
        fake = sign_checkpoint(cp7.checkpoint, other).note
        assert post_add_checkpoint(url, 3, log.proof(3, 7), fake).status == 403
        # 404: unknown origin
        stranger = Ed25519NoteSigner("other.example/log", LOG_KEY)
        odd = sign_checkpoint(Checkpoint("other.example/log", 0, EMPTY_ROOT), stranger)
        assert post_add_checkpoint(url, 0, [], odd.note).status == 404
        # 400: malformed bodies, old > size
        for body in (
            b"old x\n\n" + cp7.note,
            b"nonsense",
            b"old 3\n" + b"A" * 10 + b"\n\n" + cp7.note,
        ):
            status, _, _ = raw_request(server.port, "POST", "/add-checkpoint", body)
            assert status == 400, body[:20]
        assert post_add_checkpoint(url, 9, [], cp7.note).status == 400
        # wrong path, wrong method, no length, too large
        body = format_add_checkpoint_request(3, log.proof(3, 7), cp7.note)
        assert raw_request(server.port, "POST", "/other", body)[0] == 404
        assert raw_request(server.port, "GET", "/add-checkpoint", None)[0] == 405
        too_big = {"Content-Length": str(ledger.witness.MAX_ADD_CHECKPOINT_BODY + 1)}
        assert raw_request(server.port, "POST", "/add-checkpoint", None, too_big)[0] == 400
        # and the good request still succeeds afterwards: nothing above changed the state
        ans = post_add_checkpoint(url, 3, log.proof(3, 7), cp7.note)
        assert ans.status == 200
    log.led.close()


def test_split_view_over_http_answers_409_and_is_recorded(tmp_path, new_log):
    log, fork = new_log("a"), new_log("b", salt=b"fork")
    new_witness(tmp_path / "w.db").close()
    with serving(tmp_path / "w.db", WITNESS_KEYS[0]) as (_, url):
        a, b = log.grow(5), fork.grow(5)
        assert post_add_checkpoint(url, 0, [], a.note).status == 200
        ans = post_add_checkpoint(url, 5, [], b.note)
        assert ans.status == 409 and b"split view" in ans.body
    with Witness.open(tmp_path / "w.db") as w:
        (ev,) = w.evidence()
        assert ev.kind == "split-view"
        assert split_view_result(ev.stored_note, ev.note, LOG).verdict == "split"


def test_server_stops_by_itself_after_max_requests(tmp_path, new_log):
    log = new_log("l")
    new_witness(tmp_path / "w.db").close()
    server = make_witness_server(tmp_path / "w.db", WITNESS_KEYS[0], max_requests=2)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.port}"
    cp = log.grow(2)
    assert post_add_checkpoint(url, 0, [], cp.note).status == 200
    assert post_add_checkpoint(url, 0, [], cp.note).status == 409
    t.join(10)
    assert not t.is_alive()
    server.server_close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.com", "10.0.0.1"])
def test_non_loopback_addresses_are_refused(tmp_path, host):
    new_witness(tmp_path / "w.db").close()
    with pytest.raises(MalformedError):
        make_witness_server(tmp_path / "w.db", WITNESS_KEYS[0], host, 0)


def test_wrong_key_refused_before_binding(tmp_path):
    new_witness(tmp_path / "w.db").close()
    with pytest.raises(KeyStoreError):
        make_witness_server(tmp_path / "w.db", WITNESS_KEYS[1])


def test_cli_serve_process_on_an_ephemeral_port(tmp_path, lic_cli, new_log):
    """`lic witness serve` as a real process: prints its port, answers, stops after one."""
    ring = tmp_path / "ring"
    run = lic_cli
    assert run("keys", "new", "w1", "--keyring", str(ring), code=None).exit_code == 0
    db = tmp_path / "w.db"
    res = run("witness", "init", "--key", "w1", "--log", f"{ORIGIN}={LOG.vkey}", "--db", str(db),
        "--keyring", str(ring), "--json", code=None)  # fmt: skip
    assert res.exit_code == 0, res.output
    wv = CosignatureV1Verifier.from_vkey(json.loads(res.output)["vkey"])
    res = run("witness", "serve", "--listen", "0.0.0.0", "--db", str(db), "--keyring", str(ring),
        code=None)  # fmt: skip
    assert res.exit_code == 2 and "loopback" in res.output
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "witness",
            "serve",
            "--db",
            str(db),
            "--keyring",
            str(ring),
            "--max-requests",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split()[-1]
        log = new_log("l")
        cp = log.grow(2)
        ans = post_add_checkpoint(url, 0, [], cp.note)
        assert ans.status == 200
        verify_cosignature(cp.note + ans.body, wv)
        assert proc.wait(timeout=20) == 0
        log.led.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_two_of_three_quorum_collection(tmp_path, lic_cli, ledger_at):
    """Three witnesses: two know the log, the third does not (404). The log (on this test's
    backend) collects 2 of 3 through `lic ledger checkpoint --witness`, stores them, and a
    later checkpoint goes through the 409-then-proof exchange."""
    run = lic_cli
    ring = tmp_path / "ring"
    assert run("keys", "new", "log", "--keyring", str(ring), code=None).exit_code == 0
    db = ledger_at("l")
    res = run("ledger", "init", "--origin", ORIGIN, "--key", "log", "--db", str(db), "--keyring",
        str(ring), "--json", code=None)  # fmt: skip
    assert res.exit_code == 0, res.output
    log_vkey = json.loads(res.output)["log_vkey"]
    for k in range(5):  # typed entries the log key may append: fresh issuer keys
        key = SigningKey.from_seed(hashlib.sha256(b"witness-http %d" % k).digest())
        payload = {"at": 1, "key": key.public_key.raw, "role": "issuer", "name": f"k{k}"}
        (tmp_path / f"e{k}").write_bytes(cbor.encode(payload))
    for n in range(3):
        r = run("ledger", "append", "--type", "key.add", "--file", str(tmp_path / f"e{n}"),
            "--key", "log", "--db", str(db), "--keyring", str(ring), code=None)  # fmt: skip
        assert r.exit_code == 0, r.output
    for i in range(3):
        logs = (
            [log_vkey] if i < 2 else [Ed25519NoteSigner("other.example/log", LOG_KEY).verifier.vkey]
        )
        new_witness(tmp_path / f"w{i}.db", i, logs).close()
    wkeys = [witness_verifier(i).vkey for i in range(3)]
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(serving(tmp_path / f"w{i}.db", WITNESS_KEYS[i]))[1]
            for i in range(3)
        ]
        base = ["ledger", "checkpoint", "--db", str(db), "--keyring", str(ring)]
        for u in urls:
            base += ["--witness", u]
        for k in wkeys:
            base += ["--witness-key", k]
        res = run(*base, "--quorum", "2", "--json", code=None)
        assert res.exit_code == 0, res.output
        info = json.loads(res.output)
        assert info["cosigners"] == list(WITNESS_NAMES[:2])
        assert [w["ok"] for w in info["witnesses"]] == [True, True, False]
        assert "HTTP 404" in info["witnesses"][2]["detail"]
        note = info["note"].encode()
        _, verified = open_checkpoint(
            note,
            Ed25519NoteVerifier.from_vkey(log_vkey),
            [witness_verifier(i) for i in range(3)],
        )
        assert {s.name for s in verified.verified} == {ORIGIN, *WITNESS_NAMES[:2]}
        # all three required: exit 1, yet the two valid cosignatures are kept (no duplicates)
        res = run(*base, code=None)
        assert res.exit_code == 1 and "2 of the 3" in res.output
        with Ledger.open(db) as led:
            assert len(led.cosignatures(3)) == 2
            stored = led.cosigned_checkpoint()
            assert stored.note == note
        # the log grows; the witnesses answer 409 with size 3, then accept the proof
        for n in (3, 4):
            run("ledger", "append", "--type", "key.add", "--file", str(tmp_path / f"e{n}"),
                "--key", "log", "--db", str(db), "--keyring", str(ring), code=None)  # fmt: skip
        res = run(*base, "--quorum", "2", "--json", code=None)
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["size"] == 5
        with Ledger.open(db) as led:
            assert len(led.cosignatures(5)) == 2
            coll = collect_cosignatures(led, urls[:1], [witness_verifier(0)], 1)
            # cosigned again at the same (fixed) time: the same line, already stored
            assert coll.met and coll.stored == 0
    for i in range(2):
        with Witness.open(tmp_path / f"w{i}.db") as w:
            # every cosigned tree is kept once: size 3, then 5 (a resubmission is not stored)
            assert [r.size for r in w.cosigned(ORIGIN)] == [3, 5]


def test_unreachable_witness_is_reported_not_raised(tmp_path, new_log):
    log = new_log("l")
    log.grow(2)
    coll = collect_cosignatures(
        log.led, ["http://127.0.0.1:9"], [witness_verifier(0)], 1, timeout=2
    )
    assert not coll.met and "unreachable" in coll.reports[0].detail
    with pytest.raises(MalformedError):
        collect_cosignatures(log.led, ["file:///etc/passwd"], [witness_verifier(0)], 1)
    with pytest.raises(MalformedError):
        collect_cosignatures(log.led, ["http://127.0.0.1:9"], [witness_verifier(0)], 2)
    log.led.close()


def test_cosignature_line_format_in_response(tmp_path, new_log):
    log = new_log("l")
    new_witness(tmp_path / "w.db").close()
    with serving(tmp_path / "w.db", WITNESS_KEYS[0]) as (_, url):
        cp = log.grow(1)
        body = post_add_checkpoint(url, 0, [], cp.note).body.decode()
    (line,) = body.splitlines()
    name, sig = line.removeprefix("— ").split(" ")
    assert name == WITNESS_NAMES[0] and len(sig) == len(b64std_encode(bytes(76)))
    log.led.close()
