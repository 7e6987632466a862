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

Group commit through `lic serve` (``--clients``, default 1,8,64): a `LogServer` with the log
key in a child process over a fresh PostgreSQL schema (and, for comparison, over a SQLite
file), with one issuer registered; C concurrent submitting clients over loopback HTTP with
keep-alive connections (up to 4 client processes of threads), each POSTing author-signed
entries (as ``lic ledger ... --submit URL`` makes them, signed before the round starts) one
after the other, for ``--seconds`` and at most ``--serve-entries`` in all. An answer (200 or
202) means the record is durable (the server's one transaction per group, committed with
``synchronous_commit``/fsync). The figure is acknowledged entries per second over the
round, as a ratio to SQLite's single-writer durable appends, and the server process's CPU
time per acknowledged entry (user + system, from /proc), which says whether the server's
CPU is the bound.

Proofs: inclusion proofs for random indexes at the full size of a ledger of ``--records``
records, on PostgreSQL and on a SQLite file with the same records, each from a handle warmed
by ``--warm`` proofs (200; its cache of the tree's upper levels fills as proofs read them).
Target (at 10^6): >= 0.5x SQLite's, judged over TCP (the many-machines case);
the same proofs through the server's Unix-domain socket (how a server on the same host is
reached) are printed beside it, never instead. SQLite is measured before and after the
PostgreSQL rounds and the ratio taken to their mean (the machine's load drifts). A
PostgreSQL proof is one query round trip (the handle caches only the tree's upper levels, so
each proof reads its lower siblings); a SQLite proof reads memory-mapped pages in-process.
So beside the rates the bench prints the CPU per proof (the client's, and the server
backend's when the server runs on this host), which a loaded machine disturbs less than
wall-clock rates, and the bare round trips per second through libpq (a prepared ``SELECT
1``), the floor of one read. Figures and why: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))

from keys import SigningKey  # noqa: E402
from ledger.entries import make_entry, sign_entry  # noqa: E402
from ledger.store import Ledger, append_entry  # noqa: E402

LOG = SigningKey.from_seed(bytes(range(32)))
AUTHOR = SigningKey.from_seed(bytes(range(1, 33)))
ORIGIN = "bench.example/log"
BUILD_BATCH = 10_000
ISSUER = SigningKey.from_seed(hashlib.sha256(b"bench pg issuer").digest())
MEDIA = 'application/cose; cose-type="cose-sign1"'
CLIENT_PROCS = 4
_SERVER = """
import sys
from keys import SigningKey
from ledger.serve import LogServer, WriteOptions
server = LogServer(sys.argv[1], "127.0.0.1", 0,
                   write=WriteOptions(SigningKey.from_seed(bytes.fromhex(sys.argv[2]))))
print(server.url, flush=True)
server.run()
"""


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


def _requests(tag: str, n: int) -> list[bytes]:
    """``n`` distinct access.request entries signed by the issuer (what --submit sends)."""
    now = int(time.time())
    return [
        make_entry(
            "access.request",
            {
                "at": now,
                "applicant": hashlib.sha256(f"{tag} {i}".encode()).digest(),
                "tier": "academic",
                "purpose": "research",
                "region": "DE",
            },
            ISSUER,
        )
        for i in range(n)
    ]


def _submitter(port: int, entries: list[bytes], deadline: float, done: list[int]) -> None:
    """POST ``entries`` in order on one keep-alive connection until ``deadline``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    try:
        for e in entries:
            if time.monotonic() > deadline:
                break
            conn.request("POST", "/entries", body=e, headers={"Content-Type": MEDIA})
            r = conn.getresponse()
            r.read()
            if r.status not in (200, 202):
                raise SystemExit(f"submission answered {r.status}")
            n += 1
    finally:
        conn.close()
    done.append(n)


def _client(port: int, k: int, threads: int, per: int, start_at: float, secs: float,
            out: Any) -> None:  # fmt: skip
    """One client process: ``threads`` submitters with ``per`` entries each, signed before
    ``start_at`` (wall clock); reports the acknowledged count and when it finished."""
    batches = [_requests(f"p{k} t{t} {start_at}", per) for t in range(threads)]
    done: list[int] = []
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + secs
    ts = [threading.Thread(target=_submitter, args=(port, b, deadline, done)) for b in batches]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((sum(done), time.time()))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_appends(
    location: str | Path, clients: int, seconds: float, most: int
) -> tuple[float, float]:
    """Acknowledged durable entries per second with ``clients`` concurrent submitters to a
    `lic serve` over ``location`` (created here), and the server's CPU ms per entry."""
    with Ledger.create(location, ORIGIN, LOG) as led:
        p = {"at": int(time.time()), "key": ISSUER.public_key.raw, "role": "issuer", "name": "i"}
        append_entry(led, "key.add", p, LOG, log_key=LOG)
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(location), bytes(range(32)).hex()],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        _submitter(port, _requests(f"warm {clients}", 20), time.monotonic() + 60, [])
        procs_n = min(CLIENT_PROCS, clients)
        per = max(1, most // clients)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        start_at = time.time() + 3.0 + 0.0003 * per * clients  # time for every process to sign
        procs = [
            ctx.Process(target=_client,
                        args=(port, k, clients // procs_n + (k < clients % procs_n), per,
                              start_at, seconds, q))
            for k in range(procs_n)
        ]  # fmt: skip
        for p in procs:
            p.start()
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = _cpu_seconds(server.pid)
        results = [q.get(timeout=seconds + 600) for _ in procs]
        cpu = _cpu_seconds(server.pid) - cpu0
        for p in procs:
            p.join()
    finally:
        server.terminate()
        server.wait(60)
        if server.stdout is not None:
            server.stdout.close()
    total = sum(r[0] for r in results)
    wall = max(r[1] for r in results) - start_at
    return total / wall, cpu * 1e3 / max(total, 1)


def round_trips(url: str, n: int) -> float:
    """Bare round trips per second to the server through libpq, as a proof's read goes (a
    prepared statement, no cursor): the floor of one PostgreSQL proof."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        pg = c.pgconn
        pg.prepare(b"bench_rtt", b"SELECT 1")
        for _ in range(50):
            pg.exec_prepared(b"bench_rtt", None)
        t = time.perf_counter()
        for _ in range(n):
            pg.exec_prepared(b"bench_rtt", None)
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


@dataclass
class ProofRate:
    """Inclusion proofs per second, and the CPU per proof in microseconds: this process's,
    and the PostgreSQL server backend's (None for SQLite, or a server on another host)."""

    rate: float
    client_us: float
    server_us: float | None

    def cpu(self) -> str:
        server = "" if self.server_us is None else f" + {self.server_us:.0f} us server"
        return f"{self.client_us:.0f} us client{server} CPU per proof"


def _backend_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of a server backend process on this host, else None (no
    such process here, or not a PostgreSQL one: a server on another host)."""
    if pid is None:
        return None
    try:
        if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proofs(location: str | Path, n: int, queries: int, warm: int = 200) -> ProofRate:
    """Inclusion proofs per second at size ``n``, random indexes, a handle warmed by ``warm``
    proofs (its cache of the tree's upper levels fills as proofs read them)."""
    rng = random.Random(7)
    with Ledger.open(location) as led:
        for _ in range(warm):
            led.inclusion_proof(rng.randrange(n), n)
        idx = [rng.randrange(n) for _ in range(queries)]
        raw = getattr(led.connection, "raw", None)  # PostgreSQL: psycopg's connection
        pid = None if raw is None else raw.info.backend_pid
        s0 = _backend_cpu(pid)
        c0 = time.process_time()
        t = time.perf_counter()
        for i in idx:
            led.inclusion_proof(i, n)
        wall = time.perf_counter() - t
        client = time.process_time() - c0
        s1 = _backend_cpu(pid)
    server = None if s0 is None or s1 is None else (s1 - s0) / queries * 1e6
    return ProofRate(queries / wall, client / queries * 1e6, server)


def _socket_url(url: str, socket_dir: str) -> str:
    """``url`` (same role, database, port and options) through the Unix-domain socket that
    the server keeps in ``socket_dir``."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    query = [("host", socket_dir), ("port", str(parts.port or 5432))]
    query += [(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")]
    return urlunsplit((parts.scheme, user, parts.path, urlencode(query), ""))


def proof_phase(
    url: str, socket_dir: str | None, d: Path, records: int, queries: int, warm: int
) -> float:
    """Build the proofs' ledgers, measure, print; return PostgreSQL's ratio over TCP."""
    pool = _pool(BUILD_BATCH)
    pg_url = _schema_url(url, "bench_proofs")
    t = time.perf_counter()
    build(pg_url, records, pool)
    pg_build = time.perf_counter() - t
    t = time.perf_counter()
    build(d / "proofs.db", records, pool)
    lite_build = time.perf_counter() - t
    print(f"{records:,} records (built in {pg_build:.1f} s on PostgreSQL, {lite_build:.1f} s "
          f"on SQLite), inclusion proofs after {warm:,} warming ones, load average "
          f"{os.getloadavg()[0]:.2f}:")  # fmt: skip
    lite1 = proofs(d / "proofs.db", records, queries, warm)
    tcp = proofs(pg_url, records, queries, warm)
    rtt = round_trips(url, queries)
    sock = sock_rtt = None
    if socket_dir is not None:
        sock = proofs(_socket_url(pg_url, socket_dir), records, queries, warm)
        sock_rtt = round_trips(_socket_url(url, socket_dir), queries)
    lite2 = proofs(d / "proofs.db", records, queries, warm)
    base = 2 / (1 / lite1.rate + 1 / lite2.rate)  # the mean time per proof of both rounds
    lite_cpu = (lite1.client_us + lite2.client_us) / 2
    print(f"  SQLite: {lite1.rate:,.0f}/s before, {lite2.rate:,.0f}/s after "
          f"(mean {base:,.0f}/s), {lite_cpu:.0f} us CPU per proof")  # fmt: skip
    for name, r, trips in (("TCP", tcp, rtt), ("Unix socket", sock, sock_rtt)):
        if r is None or trips is None:
            continue
        pg_cpu = r.client_us + (r.server_us or 0.0)
        print(f"  PostgreSQL over {name}: {r.rate:,.0f}/s = {r.rate / base:.2f}x SQLite's; "
              f"{r.cpu()} (SQLite's CPU per proof / this = {lite_cpu / pg_cpu:.2f}); bare "
              f"round trips {trips:,.0f}/s (one per proof)", flush=True)  # fmt: skip
    side = "" if sock is None else f"; {sock.rate / base:.2f}x over the Unix socket"
    print(f"proofs: {tcp.rate / base:.2f}x SQLite's over TCP (target >= 0.5 at 10^6){side}")
    return tcp.rate / base


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
    ap.add_argument("--socket", help="with --url: the server's Unix socket directory (also "
                    "measure proofs through it)")  # fmt: skip
    ap.add_argument("--dir", default=None, help="directory for the SQLite files (same disk)")
    ap.add_argument("--records", type=int, default=100_000, help="ledger size for the proofs")
    ap.add_argument("--queries", type=int, default=20_000, help="proofs measured per backend")
    ap.add_argument("--warm", type=int, default=200, help="proofs that warm each handle first")
    ap.add_argument("--batch", type=int, default=16, help="entries per writer transaction")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each append round")
    ap.add_argument("--writers", default="1,8,64", help="writer process counts")
    ap.add_argument("--single", type=int, default=500, help="SQLite single appends measured")
    ap.add_argument("--clients", default="1,8,64", help="`lic serve` submitting client counts")
    ap.add_argument("--serve-entries", type=int, default=6000,
                    help="entries submitted at most per `lic serve` round")  # fmt: skip
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, short rounds")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.queries, args.seconds, args.single = 2000, 500, 0.5, 50
        args.writers, args.clients = "1,4", "4"
        args.serve_entries = 40
    cluster = None
    d = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-pg-"))
    d.mkdir(parents=True, exist_ok=True)
    try:
        url = args.url
        socket_dir = args.socket
        if url is None:
            from helpers.pg import PgCluster, _free_port, _server_user, find_bindir

            bindir = find_bindir()
            if bindir is None:
                sys.exit("PostgreSQL not found (no initdb): install it, or give --url")
            cluster = PgCluster(Path(tempfile.mkdtemp(prefix="bench-pgdata-")), bindir,
                                _free_port(), _server_user())  # fmt: skip
            cluster.start()
            url = cluster.url
            socket_dir = str(cluster.root)
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
        served: dict[tuple[str, int], float] = {}
        for c in (int(x) for x in args.clients.split(",")):
            for backend in ("PostgreSQL", "SQLite"):
                where: str | Path = (
                    _schema_url(url, f"bench_serve_{c}")
                    if backend == "PostgreSQL"
                    else d / f"serve_{c}.db"
                )
                rate, cpu_ms = serve_appends(where, c, args.seconds, args.serve_entries)
                served[backend, c] = rate
                print(f"lic serve on {backend}, {c:>2} client(s): {rate:,.0f} durable entries/s "
                      f"= {rate / base:.1f}x SQLite's single appends; server CPU "
                      f"{cpu_ms:.2f} ms per entry ({rate * cpu_ms / 1e3:.2f} cores busy)",
                      flush=True)  # fmt: skip
        proof_ratio = proof_phase(url, socket_dir, d, args.records, args.queries, args.warm)
        top = max(rates)
        most = max(c for _, c in served)
        print(f"summary: {top} writers {rates[top] / base:.1f}x SQLite single appends "
              f"(target >= 5); lic serve with {most} clients on PostgreSQL "
              f"{served['PostgreSQL', most] / base:.1f}x, on SQLite "
              f"{served['SQLite', most] / base:.1f}x (target >= 5); proofs at "
              f"{args.records:,} {proof_ratio:.2f}x SQLite's over TCP "
              "(target >= 0.5 at 10^6)")  # fmt: skip
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.dir:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
