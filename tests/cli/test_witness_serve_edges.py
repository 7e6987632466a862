"""``lic witness serve`` at the edges of HTTP (issue 14 item 11): a Content-Length that is not
ASCII digits is a 400, every method but POST is a plain 405 (SPEC 13.3), and clients that
disconnect early leave nothing on the server's standard error."""

import signal
import socket
import subprocess
import sys

import pytest

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import Ed25519NoteSigner
from ledger.witness import format_add_checkpoint_request

ORIGIN = "edges.example/log"
LOG_KEY = SigningKey.from_seed(bytes([5]) * 32)
LOG_VKEY = Ed25519NoteSigner(ORIGIN, LOG_KEY).verifier.vkey


def exchange(port, data, *, read=True):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def head_of(response):
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


@pytest.fixture
def server(tmp_path, lic_cli):
    ring = tmp_path / "ring"
    lic_cli("keys", "new", "w1", "--keyring", ring)
    db = tmp_path / "w.db"
    res = lic_cli("witness", "init", "--key", "w1", "--log", f"{ORIGIN}={LOG_VKEY}",
                  "--db", db, "--keyring", ring, "--json")  # fmt: skip
    assert res.json["vkey"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import main; main()", "witness", "serve",
         "--db", str(db), "--keyring", str(ring)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield proc, int(line.rsplit(":", 1)[1])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return err.decode()


@pytest.mark.parametrize("value", [b"\xb2", b"\xc2\xb2", b"\xd9\xa3", b"+5", b"5 5", b"-1"])
def test_content_length_must_be_ascii_digits(server, value):
    proc, port = server
    got = exchange(port, b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: " + value
                   + b"\r\n\r\nold 0\n\n")  # fmt: skip
    status, headers, _ = head_of(got)
    assert status.startswith("HTTP/1.1 400 "), got
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert stop(proc) == "lic: terminated\n"


def test_every_other_method_is_a_plain_405(server):
    proc, port = server
    for method in (b"PUT", b"DELETE", b"HEAD", b"PATCH", b"OPTIONS", b"GET", b"BREW"):
        got = exchange(port, method + b" /add-checkpoint HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip
        status, headers, body = head_of(got)
        assert status.startswith("HTTP/1.1 405 "), (method, got)
        assert headers["Allow"] == "POST"
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert b"<" not in body
        assert body == (b"" if method == b"HEAD" else b"only POST /add-checkpoint\n")
    assert stop(proc) == "lic: terminated\n"


def test_clients_that_disconnect_early_leave_no_traceback(server, tmp_path):
    proc, port = server
    with Ledger.create(tmp_path / "l.db", ORIGIN, LOG_KEY.public_key) as led:
        led.append("note", sign_entry("note", b"one", LOG_KEY), now=1_700_000_000)
        note = led.checkpoint(LOG_KEY).note
    body = format_add_checkpoint_request(0, [], note)
    request = b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    for _ in range(5):
        exchange(port, request + body, read=False)  # gone before the answer
        exchange(port, request + body[:10], read=False)  # gone in the middle of the body
        exchange(port, b"POST /add-che", read=False)  # gone in the request line
    got = exchange(port, request + body)  # and the witness still answers
    assert head_of(got)[0].startswith("HTTP/1.1 409 ")  # (the first one was cosigned)
    assert stop(proc) == "lic: terminated\n"
