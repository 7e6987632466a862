"""Crash and concurrency tests: real processes, SIGKILL at random moments, parallel writers."""

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import ledger.tlog
from helpers.merkle_reference import mth
from helpers.paths import ROOT
from keys import SigningKey
from ledger.entries import ZERO_HASH, decode_record, verify_entry
from ledger.store import Ledger
from ledger.tlog import EMPTY_ROOT, leaf_hash, verify_checkpoint_consistency, verify_consistency

WORKER = str(Path(__file__).resolve().parent / "ledger_worker.py")
LOG = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
ORIGIN = "example.com/lic-log"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _acks(lines):
    out = {}
    for line in lines:
        if line.startswith("ack "):
            _, i, h = line.split()
            out[int(i)] = bytes.fromhex(h)
    return out


def _check_store(db, acked, seen=None):
    """The store opens; every acknowledged record is there; chain, stored hashes, root and
    checkpoints agree with a recomputation from the records. ``seen`` (index -> bytes) carries
    records decoded in an earlier round: they must be unchanged and are not decoded again."""
    seen = {} if seen is None else seen
    led = Ledger.open(db)
    size = led.size
    leaves, prev = [], ZERO_HASH
    for i, raw in led.iter_records():
        if i in seen:
            assert seen[i] == raw
        else:
            rec = decode_record(raw)
            assert rec.index == i and rec.prev == prev
            seen[i] = raw
        prev = leaf_hash(raw)
        leaves.append(raw)
    assert len(leaves) == size
    for i, h in acked.items():
        assert i < size, f"acknowledged record {i} lost"
        assert leaf_hash(leaves[i]) == h
    for n, length in led._conn.execute("SELECT idx, length(hashes) FROM tree"):
        assert length == 32 * ledger.tlog.row_hash_count(n)
    root = mth(leaves)  # the naive reference, from the records alone
    assert led.root() == root
    cps = list(led.checkpoints())  # each verified: log signature and root at its size
    latest = led.latest_checkpoint()
    assert latest is not None and latest.note == cps[-1].note
    for cp in cps:  # every checkpoint is a prefix of the recomputed tree
        c = cp.checkpoint
        if c.size:
            p = led.consistency_proof(c.size, size)
            verify_consistency(c.size, size, p, c.root, root)
        else:
            assert c.root == EMPTY_ROOT
    led.close()
    return size, cps


@pytest.mark.slow
def test_crash_sigkill_loses_no_acknowledged_record(tmp_path):
    db = tmp_path / "crash.db"
    Ledger.create(db, ORIGIN, LOG).close()
    rng = random.Random(20261127)
    acked: dict[int, bytes] = {}
    killed_mid_write = 0  # rounds in which the child had acknowledged appends when killed
    seen: dict[int, bytes] = {}
    r = 0
    while killed_mid_write < 20:
        r += 1
        assert r <= 60, "the child never got to append before being killed"
        proc = subprocess.Popen(
            [sys.executable, WORKER, "crash", str(db), str(r)],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=str(ROOT),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(proc.stdout,))
        reader.start()
        time.sleep(rng.uniform(0.02, 0.35))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join()
        assert proc.returncode == -signal.SIGKILL
        new = _acks(lines)
        if new:
            killed_mid_write += 1
        for i, h in new.items():
            assert acked.get(i, h) == h, "an acknowledged index was reused"
        acked.update(new)
        size, _ = _check_store(db, acked, seen)
    assert killed_mid_write >= 20
    assert len(acked) > 100 and size >= max(acked) + 1


@pytest.mark.slow
def test_four_processes_append_500_each(ledger_at):
    """Four writer processes on one ledger (a SQLite file; a PostgreSQL schema, where they
    queue on the head row): no index lost or duplicated, every checkpoint kept and consistent."""
    db = ledger_at("conc")
    Ledger.create(db, ORIGIN, LOG).close()
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "append", str(db), f"w{k}", "500"],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=str(ROOT),
        )
        for k in range(4)
    ]
    acks = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        acks.append(_acks(out.splitlines()))
    assert [len(a) for a in acks] == [500] * 4
    all_idx = [i for a in acks for i in a]
    assert sorted(all_idx) == list(range(2000))  # none lost, none duplicated
    led = Ledger.open(db)
    final = led.checkpoint(LOG)
    assert final.checkpoint.size == 2000
    payloads = {verify_entry(led.record(i), _author()) for i in range(2000)}
    assert payloads == {f"w{k}-{j}".encode() for k in range(4) for j in range(500)}
    led.close()
    merged = {i: h for a in acks for i, h in a.items()}
    size, cps = _check_store(db, merged)
    assert size == 2000 and cps[-1].checkpoint.size == 2000
    assert len(cps) >= 1 + 4 * 25  # every writer's in-transaction checkpoints were kept
    led = Ledger.open(db)
    for a, b in itertools.pairwise(cps[1:]):  # consecutive ones are consistent too
        p = led.consistency_proof(a.checkpoint.size, b.checkpoint.size)
        verify_checkpoint_consistency(a.checkpoint, b.checkpoint, p)
    led.close()


def _author():
    return SigningKey.from_seed(
        bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    ).public_key
