"""`lic serve --log-key` as a process with a witness, and the typed commands with --submit:
entries signed here land in the served ledger at the printed index, -o writes a receipt that
'lic ledger verify-proof' accepts (cosigned by the witness), GET /status reports the
revocation, and every failure is one line with a meaningful exit code."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.paths import ROOT
from helpers.submit_world import request
from ledger.store import Ledger


class _Process:
    def __init__(self, args: list[str], home: Path, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=cwd or ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**__import__("os").environ, "LIC_HOME": str(home)},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, self.proc.poll())
        self.url = line.split()[2]

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=60)
        return err


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_dir):
    d = demo_dir("submit")
    home = d / "keys"
    witness = _Process(["witness", "serve", "--db", str(d / "witness.db"), "--port", "0"], home)
    log = _Process(
        [
            "serve",
            "--db",
            str(d / "ledger.db"),
            "--listen",
            "127.0.0.1:0",
            "--log-key",
            "log",
            "--checkpoint-interval",
            "0.1",
            "--witness",
            witness.url,
            "--witness-key",
            str(d / "witness.vkey"),
        ],
        home,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(log.url, "GET", "/checkpoint", timeout=5).status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "lic serve did not start"
        time.sleep(0.05)
    yield d, log.url
    err = log.stop()
    assert "Traceback" not in err, err
    witness.stop()


def test_typed_commands_submit_and_receipts_verify(world, lic_cli):
    d, url = world
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    with Ledger.open(d / "ledger.db") as led:
        size = led.size
    receipt = d / "request.proof"
    res = run(
        "ledger", "request", "--applicant", "carol@uni.example", "--salt-file", d / "carol.salt",
        "--tier", "academic", "--purpose", "research", "--region", "de",
        "--key", "issuer", "--submit", url, "-o", receipt, "--json",
    )  # fmt: skip
    assert res.json["index"] == size
    assert res.json["receipt"] == str(receipt)
    assert "\u2014 witness.example " in receipt.read_text()  # the witness cosigned its note
    run("ledger", "verify-proof", receipt, "--policy", d / "policy.json")
    with Ledger.open(d / "ledger.db") as led:
        assert led.record(size).entry_type == "access.request"
    res = run("ledger", "incident", "report", "--harm", "privacy", "--severity", "low",
              "--description", "seen in the wild", "--anonymous", "--submit", url)  # fmt: skip
    assert res.stdout.startswith(f"incident.report: submitted as record {size + 1} (")
    run("ledger", "incident", "ack", size + 1, "--key", "responder", "--submit", url)
    res = run("ledger", "revoke", "--token", d / "licensee.jwt", "--reason", "legal_order",
              "--key", "issuer", "--submit", url, "--json")  # fmt: skip
    revoked_at = res.json["index"]
    assert revoked_at == size + 3
    digest = run("token", "inspect", d / "licensee.jwt", "--json").json["digest"]
    deadline = time.monotonic() + 20
    while True:
        status = json.loads(request(url, "GET", f"/status/{digest}").body)
        if status["size"] > revoked_at:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "revoked"
    assert revoked_at in [w["index"] for w in status["withdrawals"]]


def test_failures_are_one_line(world, lic_cli, tmp_path):
    d, url = world
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    res = run("ledger", "revoke", "--token", "ab" * 32, "--reason", "legal_order",
              "--key", "issuer", "--submit", url, code=1)  # fmt: skip
    assert "refused the entry" in res.stderr and "never granted" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = run("ledger", "key", "add", d / "issuer.pem", "--role", "issuer", "--name", "again",
              "--submit", url, code=2)  # fmt: skip
    assert "--key LOGKEY" in res.stderr
    res = run("ledger", "decide", "--request", 0, "--decision", "approved", "--key", "issuer",
              "--submit", "http://127.0.0.1:9", code=1)  # fmt: skip
    assert "cannot reach http://127.0.0.1:9" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    run("ledger", "decide", "--request", 0, "--decision", "approved", "--key", "issuer",
        "--submit", "ftp://127.0.0.1/", code=2)  # fmt: skip
    res = run("ledger", "decide", "--request", 0, "--decision", "approved", "--key", "issuer",
              "--db", d / "ledger.db", "-o", tmp_path / "r", code=2)  # fmt: skip
    assert "--submit" in res.stderr


def test_serve_refuses_bad_write_options(world, lic_cli):
    d, _ = world
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    db = d / "ledger.db"
    base = ["serve", "--db", db, "--listen", "127.0.0.1:0"]
    res = run(*base, "--witness", "http://127.0.0.1:9", code=2)
    assert "--log-key" in res.stderr
    res = run(*base, "--log-key", "log", "--witness", "http://127.0.0.1:9", code=2)
    assert "--witness-key" in res.stderr
    res = run(*base, "--log-key", "issuer", code=2)
    assert "not this ledger's log key" in res.stderr
