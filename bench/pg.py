"""PostgreSQL ledger benchmark (issue 17): concurrent durable appends and inclusion proofs, as
ratios to SQLite measured in the same run.

    python bench/pg.py                  # a throwaway cluster (tests/helpers/pg.py), 10^5 records
    python bench/pg.py --records 1000000
    python bench/pg.py --url postgresql://... # an existing database (a fresh schema is made)
    python bench/pg.py --smoke          # tiny sizes, one short round (the test suite runs it)

Appends: W writer processes (1, 8, 64) each append batches of ``--batch`` entries through the
library's batch path (``Ledger.append_batch``: one durable transaction each; the writers queue
on the head row) for ``--seconds``; the figure is acknowledged records per second over the
wall-clock time. The baseline is SQLite's single-writer durable single append
(``Ledger.append``, one fsynced WAL commit each) on a file in ``--dir``. Target: 64 writers
>= 5x that baseline.

Proofs: inclusion proofs for random indexes at the full size of a ledger of ``--records``
records, on PostgreSQL and on a SQLite file with the same records. Target (at 10^6): >= 0.5x
SQLite's. A PostgreSQL proof is one query round trip to the server (its lower tree levels
are not cached by the handle); a SQLite proof reads memory-mapped pages in-process, so the
ratio is bounded by the round trip. The figures say which.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))

from keys import SigningKey  # noqa: E402
from ledger.entries import sign_entry  # noqa: E402
from ledger.store import Ledger  # noqa: E402

LOG = SigningKey.from_seed(bytes(range(32)))
AUTHOR = SigningKey.from_seed(bytes(range(1, 33)))
ORIGIN = "bench.example/log"
BUILD_BATCH = 10_000


def _pool(n: int) -> list[tuple[str, bytes]]:
    """Distinct, realistically sized entries (signing is not what is measured)."""
    return [("bench", sign_entry("bench", os.urandom(200), AUTHOR)) for _ in range(n)]


def _writer(url: str, batch: int, seconds: float, go: Any, out: Any) -> None:
    pool = _pool(batch)
    done = 0
    with Ledger.open(url) as led:
        out.put("ready")
        go.wait()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            done += len(led.append_batch(pool, now=1))
    out.put(done)


def concurrent_appends(url: str, writers: int, batch: int, seconds: float) -> float:
    """Acknowledged durable records per second with ``writers`` processes on ``url``: every
    process has opened the ledger before the round starts; each appends for ``seconds``."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(url, batch, seconds, go, q))
             for _ in range(writers)]  # fmt: skip
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=600) == "ready"
    t = time.perf_counter()
    go.set()
    total = sum(q.get(timeout=600) for _ in procs)
    wall = time.perf_counter() - t
    for p in procs:
        p.join()
    return total / wall


def round_trips(url: str, n: int) -> float:
    """Bare ``SELECT 1`` round trips per second to the server: what bounds a proof there."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        for _ in range(50):
            c.execute("SELECT 1").fetchone()
        t = time.perf_counter()
        for _ in range(n):
            c.execute("SELECT 1").fetchone()
        return n / (time.perf_counter() - t)


def sqlite_single_appends(d: Path, n: int) -> float:
    """SQLite's single-writer durable single appends per second (one commit each)."""
    with Ledger.create(d / "single.db", ORIGIN, LOG) as led:
        pool = _pool(64)
        for e in pool[:16]:
            led.append(*e, now=1)  # warm the file
        t = time.perf_counter()
        for i in range(n):
            led.append(*pool[i % len(pool)], now=1)
        return n / (time.perf_counter() - t)


def build(location: str | Path, n: int, pool: list[tuple[str, bytes]]) -> None:
    with Ledger.create(location, ORIGIN, LOG) as led:
        done = 0
        while done < n:
            k = min(BUILD_BATCH, n - done)
            led.append_batch(pool[:k], now=1)
            done += k
        led.checkpoint(LOG)


def proofs(location: str | Path, n: int, queries: int) -> float:
    """Inclusion proofs per second at size ``n``, random indexes, a warm handle."""
    rng = random.Random(7)
    with Ledger.open(location) as led:
        for _ in range(min(200, queries)):
            led.inclusion_proof(rng.randrange(n), n)
        idx = [rng.randrange(n) for _ in range(queries)]
        t = time.perf_counter()
        for i in idx:
            led.inclusion_proof(i, n)
        return queries / (time.perf_counter() - t)


def _schema_url(base: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        c.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="an existing PostgreSQL database (default: a throwaway one)")
    ap.add_argument("--dir", default=None, help="directory for the SQLite files (same disk)")
    ap.add_argument("--records", type=int, default=100_000, help="ledger size for the proofs")
    ap.add_argument("--queries", type=int, default=20_000, help="proofs measured per backend")
    ap.add_argument("--batch", type=int, default=16, help="entries per writer transaction")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each append round")
    ap.add_argument("--writers", default="1,8,64", help="writer process counts")
    ap.add_argument("--single", type=int, default=500, help="SQLite single appends measured")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, short rounds")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.queries, args.seconds, args.single = 2000, 500, 0.5, 50
        args.writers = "1,4"
    cluster = None
    d = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-pg-"))
    d.mkdir(parents=True, exist_ok=True)
    try:
        url = args.url
        if url is None:
            from helpers.pg import PgCluster, _free_port, _server_user, find_bindir

            bindir = find_bindir()
            if bindir is None:
                sys.exit("PostgreSQL not found (no initdb): install it, or give --url")
            cluster = PgCluster(Path(tempfile.mkdtemp(prefix="bench-pgdata-")), bindir,
                                _free_port(), _server_user())  # fmt: skip
            cluster.start()
            url = cluster.url
        print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; figures are "
              "wall-clock, PostgreSQL over TCP on 127.0.0.1 with fsync on")  # fmt: skip
        base = sqlite_single_appends(d, args.single)
        print(f"SQLite single-writer durable single appends: {base:,.0f}/s")
        rates = {}
        for w in (int(x) for x in args.writers.split(",")):
            u = _schema_url(url, f"bench_w{w}")
            Ledger.create(u, ORIGIN, LOG).close()
            rates[w] = concurrent_appends(u, w, args.batch, args.seconds)
            print(f"PostgreSQL, {w:>2} writer(s), batches of {args.batch}: {rates[w]:,.0f} "
                  f"durable records/s = {rates[w] / base:.1f}x SQLite's single appends",
                  flush=True)  # fmt: skip
        pool = _pool(BUILD_BATCH)
        pg_url = _schema_url(url, "bench_proofs")
        t = time.perf_counter()
        build(pg_url, args.records, pool)
        pg_build = time.perf_counter() - t
        t = time.perf_counter()
        build(d / "proofs.db", args.records, pool)
        lite_build = time.perf_counter() - t
        rtt = round_trips(url, args.queries)
        pg_inc = proofs(pg_url, args.records, args.queries)
        lite_inc = proofs(d / "proofs.db", args.records, args.queries)
        print(f"{args.records:,} records (built in {pg_build:.1f} s on PostgreSQL, "
              f"{lite_build:.1f} s on SQLite): inclusion proofs {pg_inc:,.0f}/s on PostgreSQL, "
              f"{lite_inc:,.0f}/s on SQLite = {pg_inc / lite_inc:.2f}x; bare SELECT 1 round "
              f"trips {rtt:,.0f}/s (one per proof)")  # fmt: skip
        top = max(rates)
        print(f"summary: {top} writers {rates[top] / base:.1f}x SQLite single appends "
              f"(target >= 5); proofs at {args.records:,} {pg_inc / lite_inc:.2f}x SQLite's "
              "(target >= 0.5 at 10^6)")  # fmt: skip
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.dir:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
