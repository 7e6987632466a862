"""Submissions to `lic serve` with group commit, as a ratio to one client in the same run.

    python bench/serve.py            # quick: 200 sequential, 64 x 25 concurrent submissions
    python bench/serve.py --full     # 500 sequential, 64 x 60 concurrent
    python bench/serve.py --smoke    # a few of each: runs, no figure

Starts `LogServer` with a log key (a checkpoint every second) in a child process on
127.0.0.1 over a fresh ledger in a temporary directory on disk, with one issuer registered.
Then, over loopback HTTP with keep-alive connections:

1. one client submits entries one after the other (`POST /entries`, no waiting for a
   receipt): every answer (200 or 202) acknowledges a record that is fsynced;
2. 64 concurrent submitters (4 client processes of 16 threads) submit the same number each;
3. 8 readers fetch random tiles and entry bundles of the latest checkpoint.

Entries are signed before each phase starts, so the clients measure the log, not their
signing. Prints acknowledged durable entries per second of both submission phases, their
ratio (concurrent / sequential), p50/p99 latency of the concurrent submissions and tile
reads per second. Every request loop is bounded in count and in time (a phase stops after
120 s). Target (issue 16): ratio >= 5, which only group commit reaches: without it every
entry costs one fsync, however many clients wait.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keys import SigningKey  # noqa: E402
from ledger.entries import make_entry  # noqa: E402
from ledger.store import Ledger, append_entry  # noqa: E402
from ledger.tlog import tiles_of  # noqa: E402

TARGET = 5.0
PHASE_LIMIT_S = 120.0
MEDIA = 'application/cose; cose-type="cose-sign1"'
LOG_SEED = hashlib.sha256(b"bench serve log").digest()
LOG = SigningKey.from_seed(LOG_SEED)
ISSUER = SigningKey.from_seed(hashlib.sha256(b"bench serve issuer").digest())
PROCS, THREADS = 4, 16
_SERVER = """
import sys
from keys import SigningKey
from ledger.serve import LogServer, WriteOptions
server = LogServer(sys.argv[1], "127.0.0.1", 0,
                   write=WriteOptions(SigningKey.from_seed(bytes.fromhex(sys.argv[2]))))
print(server.url, flush=True)
server.run()
"""


def entries(tag: str, n: int) -> list[bytes]:
    """``n`` distinct access.request entries signed by the issuer."""
    out = []
    for i in range(n):
        p = {
            "at": int(time.time()),
            "applicant": hashlib.sha256(f"{tag} {i}".encode()).digest(),
            "tier": "academic",
            "purpose": "research",
            "region": "DE",
        }
        out.append(make_entry("access.request", p, ISSUER))
    return out


def submit_all(port: int, batch: list[bytes], deadline: float) -> list[float]:
    """Submit ``batch`` in order on one keep-alive connection; the latency of each ack."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat = []
    try:
        for e in batch:
            if time.monotonic() > deadline:
                break
            start = time.perf_counter()
            conn.request("POST", "/entries", body=e, headers={"Content-Type": MEDIA})
            r = conn.getresponse()
            r.read()
            if r.status not in (200, 202):
                raise SystemExit(f"submission answered {r.status}")
            lat.append(time.perf_counter() - start)
    finally:
        conn.close()
    return lat


def _client(port: int, k: int, per: int, start_at: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One client process: THREADS submitters, entries signed before ``start_at``."""
    batches = [entries(f"p{k} t{t}", per) for t in range(THREADS)]
    lats: list[float] = []
    lock = threading.Lock()

    def run(b: list[bytes]) -> None:
        got = submit_all(port, b, start_at + PHASE_LIMIT_S)
        with lock:
            lats.extend(got)

    time.sleep(max(0.0, start_at - time.time()))
    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((lats, time.time()))


def concurrent(port: int, per: int) -> tuple[float, list[float]]:
    """64 submitters; returns acknowledged entries per second and the latencies."""
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    start_at = time.time() + 2.0 + 0.002 * per * THREADS  # time for every process to sign
    procs = [mp.Process(target=_client, args=(port, k, per, start_at, q)) for k in range(PROCS)]
    for p in procs:
        p.start()
    results = [q.get(timeout=PHASE_LIMIT_S + 60) for _ in procs]
    for p in procs:
        p.join()
    lats = [x for r in results for x in r[0]]
    end = max(r[1] for r in results)
    return len(lats) / (end - start_at), lats


def tile_reads(port: int, size: int, n: int) -> float:
    """8 readers fetch ``n`` random tiles and bundles each; reads per second."""
    paths = ["/" + t.path for t in tiles_of(size)]
    count = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + PHASE_LIMIT_S

    def run(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        done = 0
        try:
            for _ in range(n):
                if time.monotonic() > deadline:
                    break
                conn.request("GET", rng.choice(paths))
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise SystemExit(f"tile read answered {r.status}")
                done += 1
        finally:
            conn.close()
        with lock:
            count[0] += done

    threads = [threading.Thread(target=run, args=(s,)) for s in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / (time.perf_counter() - start)


def _wait_checkpoint(port: int, size: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/checkpoint")
            r = conn.getresponse()
            body = r.read()
        except OSError:
            body = b""
        finally:
            conn.close()
        lines = body.split(b"\n")
        if len(lines) > 1 and lines[1].isdigit() and int(lines[1]) >= size:
            return
        time.sleep(0.1)
    raise SystemExit("no checkpoint covering the submissions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="more submissions (steadier)")
    ap.add_argument("--smoke", action="store_true", help="a few of each: runs, no figure")
    args = ap.parse_args()
    seq_n, per, reads = (
        (20, 2, 50) if args.smoke else (500, 60, 2000) if args.full else (200, 25, 1000)
    )
    with tempfile.TemporaryDirectory(prefix="lic-bench-serve-", dir=ROOT / "bench") as tmp:
        db = Path(tmp) / "l.db"
        with Ledger.create(db, "bench.example/log", LOG) as led:
            p = {
                "at": int(time.time()),
                "key": ISSUER.public_key.raw,
                "role": "issuer",
                "name": "i",
            }
            append_entry(led, "key.add", p, LOG, log_key=LOG)
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(db), LOG_SEED.hex()],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
            _wait_checkpoint(port, 1)
            one = entries("sequential", seq_n)
            start = time.perf_counter()
            seq_lat = submit_all(port, one, time.monotonic() + PHASE_LIMIT_S)
            seq_rate = len(seq_lat) / (time.perf_counter() - start)
            conc_rate, lats = concurrent(port, per)
            total = 1 + len(seq_lat) + len(lats)
            _wait_checkpoint(port, total)
            read_rate = tile_reads(port, total, reads)
        finally:
            server.terminate()
            server.wait(60)
            if server.stdout is not None:
                server.stdout.close()
    lats.sort()
    p50 = statistics.median(lats) * 1e3
    p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1e3
    ratio = conc_rate / seq_rate
    print(f"sequential: 1 client, {len(seq_lat)} entries, {seq_rate:,.0f} entries/s, "
          f"p50 {statistics.median(seq_lat) * 1e3:.1f} ms")  # fmt: skip
    print(f"concurrent: {PROCS * THREADS} clients, {len(lats)} entries, "
          f"{conc_rate:,.0f} entries/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    print(f"tile reads: 8 readers, {read_rate:,.0f} reads/s over a tree of {total}")
    print(f"summary: group commit ratio {ratio:.2f} (target >= {TARGET:g}), "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, tile reads {read_rate:,.0f}/s")  # fmt: skip


if __name__ == "__main__":
    main()
