"""SIGTERM to ``lic ledger audit`` ends its worker processes, as SIGINT does (issue 14 item 12).

A real process: the audit reads an export from a FIFO; the first pass gets the whole export,
the second gets enough records to start the workers and then stalls, so the audit is certainly
running, with live workers, when the signal arrives."""

import os
import signal
import subprocess
import sys
import time

from keys import SigningKey
from ledger.store import Ledger, synthesize

LIC = [sys.executable, "-c", "from cli.main import main; main()"]


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def holds(pid, path):
    fds = f"/proc/{pid}/fd"
    return any(os.path.realpath(os.path.join(fds, fd)) == str(path) for fd in os.listdir(fds))


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_sigterm_ends_the_audit_and_its_workers(tmp_path):
    log = SigningKey.from_seed(bytes(32))
    with Ledger.create(tmp_path / "l.db", "synth.example/log", log) as led:
        synthesize(led, 3000, log_key=log)
        led.checkpoint(log)
        with open(tmp_path / "e.jsonl", "w") as f:
            led.export_jsonl(f)
    lines = (tmp_path / "e.jsonl").read_bytes().splitlines(keepends=True)
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    audit = subprocess.Popen(
        [*LIC, "ledger", "audit", "--jsonl", str(fifo), "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    try:
        with open(fifo, "wb") as w:  # the first pass reads everything
            w.writelines(lines)
        assert wait_until(lambda: not holds(audit.pid, fifo), 30), "first pass did not end"
        with open(fifo, "wb") as stall:  # the second pass: 2,500 records, then nothing
            stall.writelines(lines[:2500])
            stall.flush()
            assert wait_until(lambda: len(children(audit.pid)) == 2, 30), "no workers started"
            workers = children(audit.pid)
            audit.send_signal(signal.SIGTERM)
            _, err = audit.communicate(timeout=15)  # no worker holds the output open
            assert audit.returncode == 128 + signal.SIGTERM
            assert err.decode().strip() == "lic: terminated"
            assert wait_until(lambda: not any(alive(p) for p in workers), 10), "workers left"
    finally:
        for pid in [audit.pid, *workers]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        audit.wait()
