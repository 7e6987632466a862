"""`lic serve` as a process: it prints where it listens, serves the read API, stops cleanly on
SIGTERM (143) and SIGINT (130) with no traceback, and refuses what it cannot serve."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from helpers.paths import ROOT
from helpers.serve_world import make_small
from helpers.tiles_client import HttpSource, TilesClient, fetch_status


def _start(db):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--db", str(db), "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), (line, proc.poll())
    return proc, line.split()[-1]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_serve_answers_and_stops_cleanly(tmp_path, sig, code):
    led = make_small(tmp_path / "l.db")
    proc, url = _start(led.path)
    try:
        deadline = time.monotonic() + 20
        while True:  # (the socket listens before the line: see the test below)
            try:
                status, _, _ = fetch_status(f"{url}/checkpoint")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert status == 200
        client = TilesClient(HttpSource(url))
        _, size, root, _ = client.checkpoint()
        assert client.root(size) == root == led.root(size)
        assert fetch_status(f"{url}/tile/0/000.p/0")[0] == 400
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        led.close()
    assert proc.returncode == code, err
    assert "Traceback" not in err


def test_serve_refuses_what_it_cannot_serve(tmp_path, lic_cli):
    led = make_small(tmp_path / "l.db")
    led.close()
    db = str(tmp_path / "l.db")
    res = lic_cli("serve", "--db", db, "--listen", "0.0.0.0:0", code=2)
    assert "non-loopback" in res.stderr
    for bad in ("127.0.0.1", "127.0.0.1:x", ":80", "127.0.0.1:70000", "127.0.0.1:-1"):
        res = lic_cli("serve", "--db", db, "--listen", bad, code=2)
        assert "--listen" in res.stderr, bad
    res = lic_cli("serve", "--db", str(tmp_path / "none.db"), "--listen", "127.0.0.1:0", code=2)
    assert "no ledger" in res.stderr
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    lic_cli("serve", "--db", str(tmp_path / "junk.db"), "--listen", "127.0.0.1:0", code=2)


def test_serve_accepts_a_connection_as_soon_as_it_says_it_listens(tmp_path):
    """The 'listening on' line is printed once the socket listens: a client that connects
    right after reading it waits in the backlog for uvicorn instead of being refused."""
    led = make_small(tmp_path / "l.db")
    proc, url = _start(led.path)
    try:
        status, _, _ = fetch_status(f"{url}/checkpoint")  # no retry: the first try must work
        assert status == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        led.close()


def test_serve_on_postgresql_never_prints_the_password(pg_cluster, lic_cli):
    """`lic serve --db postgresql://...` serves as for a file; the URL's password is never
    printed, when it serves or when it refuses a schema without a ledger."""

    def with_password(url):  # trust auth: the password is carried, never checked
        user, rest = url.split("://", 1)[1].split("@", 1)
        return f"postgresql://{user}:s3cret-pw@{rest}"

    url = with_password(pg_cluster.new_url("served"))
    led = make_small(url)
    proc, served = _start(url)
    try:
        client = TilesClient(HttpSource(served))
        _, size, root, _ = client.checkpoint()
        assert (size, client.root(size)) == (321, root) and root == led.root(size)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        led.close()
    assert proc.returncode == 143 and "Traceback" not in err
    assert "s3cret-pw" not in out + err
    empty = with_password(pg_cluster.new_url("empty"))
    res = lic_cli("serve", "--db", empty, "--listen", "127.0.0.1:0", code=2)
    assert "no ledger" in res.stderr and "s3cret-pw" not in res.output + res.stderr
