"""The stored derived state (issue 15, ADR 0008): what one command costs on a large ledger, as a
ratio to the same on a small one, measured in one run.

    python bench/state.py --quick    # library at 10^3 and 10^5 records; CLI at 100 and 10^5
    python bench/state.py            # library at 10^3 and 10^6 records (10^6 takes minutes)
    python bench/state.py --ledger COPY.db   # library at 10^3 and an existing large ledger

Library (one open handle on each ledger, both open at once): a typed append of a grant, a
checkpoint after it (the revoked set unchanged), a typed append of its revocation (both
appends durable: an fsync each), a checkpoint after that, and a status query
(``token_status``). Rounds alternate between the two ledgers (``--rounds R``, ten of each
operation a round, each timed alone by ``time.process_time``); printed: the median and the
least CPU per operation and ledger, and their ratios. Target: cost at the large size <= 1.2x
the cost at 10^3. (Until 2026-12-03 the bench took the best of 7 on one ledger, then the best
of 7 on the other: on a shared machine that ratio moved by 30% and more between runs, the
medians of hundreds of interleaved samples do not; bench/RESULTS.md.)
CLI (a new process each, as an operator runs them): ``lic ledger status``,
``lic ledger incident report --anonymous`` and ``lic ledger checkpoint``. Target: wall time on
a 10^5-record ledger <= 1.3x the same on a 100-record ledger.

``--ledger PATH`` measures the library rows on an existing ledger instead of synthesizing the
large one (it appends to it: give it a copy), made with the log key of seed
``sha256(--log-seed)`` (default ``bench log``, as bench/report_replay.py makes its ledgers); the
CLI rows are then skipped. The checkpoint after a revoke reads the ``lic-revoked/v2`` root from
the stored tree, which the revoke updated along one path (SPEC 12.7): no O(set size) step.
Recorded figures: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keys import Keyring, SigningKey  # noqa: E402
from ledger.store import Ledger, append_entry, synthesize, token_status  # noqa: E402

ORIGIN = "bench.example/log"


def make(path: Path, n: int, log: SigningKey) -> None:
    t0 = time.perf_counter()
    with Ledger.create(path, ORIGIN, log, log_key_name="log") as led:
        synthesize(led, n, log_key=log, seed=7)
        led.checkpoint(log)
    print(f"  generated {n:,} records in {time.perf_counter() - t0:.1f} s", flush=True)


class _Ops:
    """The library operations on one open ledger, each timed alone."""

    def __init__(self, led: Ledger, log: SigningKey) -> None:
        self.led, self.log = led, log
        self.issuer = SigningKey.from_seed(hashlib.sha256(b"bench issuer").digest())
        self.t = led.record(led.size - 1).time + 10
        if self.issuer.public_key.raw not in led.stored_state().keys:  # a ledger run before
            payload = {"key": self.issuer.public_key.raw, "role": "issuer", "name": "bench"}
            append_entry(led, "key.add", {"at": self.t, **payload}, log, now=self.t)
        self.salt = os.urandom(8)  # new token digests on every run
        self.n = 0
        self.last = b""

    def grant(self) -> None:
        self.n += 1
        self.t += 1
        self.last = hashlib.sha256(self.salt + b"bench token %d" % self.n).digest()
        p = {"at": self.t, "token_digest": self.last, "holder": self.issuer.public_key.raw,
             "licensee": bytes(32), "tier": "academic", "not_before": self.t,
             "not_after": self.t + 10**7}  # fmt: skip
        append_entry(self.led, "grant", p, self.issuer, now=self.t)

    def revoke(self) -> None:
        self.t += 1
        p = {"at": self.t, "tokens": [self.last], "reason": "duty_breach",
             "effective": self.t, "cascade": True}  # fmt: skip
        append_entry(self.led, "revoke", p, self.issuer, now=self.t)

    def grant_and_revoke(self) -> None:
        self.grant()
        self.revoke()

    def status(self) -> None:
        token_status(self.led, self.last, self.t)

    def checkpoint(self) -> None:
        self.led.checkpoint(self.log)


def cli(path: Path, home: Path) -> dict[str, float]:
    lic = [sys.executable, "-m", "cli.main"]
    env = {**os.environ, "LIC_HOME": str(home), "PYTHONPATH": str(ROOT)}
    with Ledger.open(path) as led:
        digest = led.stored_state().grants.keys().__next__().hex()
    cmds = {
        "lic ledger status": ["ledger", "status", digest, "--db", str(path)],
        "lic ledger incident report": [
            "ledger", "incident", "report", "--anonymous", "--harm", "psychological",
            "--severity", "low", "--description", "bench", "--db", str(path),
        ],
        "lic ledger checkpoint": ["ledger", "checkpoint", "--db", str(path)],
    }  # fmt: skip
    out = {}
    for name, args in cmds.items():
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = subprocess.run([*lic, *args], env=env, cwd=ROOT, capture_output=True, text=True)
            if r.returncode not in (0, 1) or (r.returncode and name != "lic ledger status"):
                raise SystemExit(f"{name} failed: {r.stderr}")
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def library(small: Path, large: Path, log: SigningKey, rounds: int) -> None:
    """Per-operation CPU on both ledgers, interleaved (see the module doc)."""
    names = ("typed append (grant)", "checkpoint (set unchanged)", "typed append (revoke)",
             "checkpoint (after a revoke)", "status query")  # fmt: skip
    cpu: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    with Ledger.open(small) as a, Ledger.open(large) as b:
        ops = (_Ops(a, log), _Ops(b, log))
        for o in ops:  # warm: statements prepared, pages read
            o.grant_and_revoke()
            o.checkpoint()
        for _ in range(rounds):
            for side, o in enumerate(ops):
                for _ in range(10):
                    steps = (o.grant, o.checkpoint, o.revoke, o.checkpoint, o.status)
                    for name, fn in zip(names, steps, strict=True):
                        c0 = time.process_time()
                        fn()
                        cpu[name][side].append(time.process_time() - c0)
        sizes = f"{a.size:,} vs {b.size:,} records"
    print(f"library, CPU, {rounds} alternated rounds of 10: {sizes} (target <= 1.2x)")
    head = f"{'median':>8}    {'median':>8}    ratio  {'least':>8}    {'least':>8}    ratio"
    print(f"  {'':30} {head}")
    for name, (x, y) in cpu.items():
        mx, my = statistics.median(x), statistics.median(y)
        print(
            f"  {name:30} {mx * 1e3:8.3f} ms {my * 1e3:8.3f} ms {my / mx:5.2f}x "
            f"{min(x) * 1e3:8.3f} ms {min(y) * 1e3:8.3f} ms {min(y) / min(x):5.2f}x"
        )


def existing(path: Path, seed: str, rounds: int) -> None:
    """The library rows: a fresh 10^3-record ledger (same log key) against ``path``."""
    log = SigningKey.from_seed(hashlib.sha256(seed.encode()).digest())
    with Ledger.open(path) as led:
        if led.log_verifier.public_key != log.public_key:
            raise SystemExit(f"{path}: its log key is not the one of seed sha256({seed!r})")
        led.ensure_state()  # a ledger made before the current state schema: built once
        large, members = led.size, led.stored_state().revoked_commitment().size
    print(f"  {path}: {large:,} records, {members:,} revoked-set members", flush=True)
    with tempfile.TemporaryDirectory() as d:
        small = Path(d) / "l1000.db"
        make(small, 10**3, log)
        library(small, path, log, rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^3/10^5 records (not 10^3/10^6)")
    ap.add_argument("--sizes", type=int, nargs=3, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--ledger", type=Path, help="an existing large ledger (a copy: appended to)")
    ap.add_argument("--log-seed", default="bench log", help="its log key: seed sha256(TEXT)")
    ap.add_argument("--rounds", type=int, default=20, metavar="R",
                    help="library rounds alternating between the ledgers (default 20)")  # fmt: skip
    args = ap.parse_args()
    if args.ledger is not None:
        existing(args.ledger, args.log_seed, args.rounds)
        return
    small, large = (10**3, 10**5) if args.quick else (10**3, 10**6)
    cli_small, cli_large = 100, 10**5
    if args.sizes:  # a smoke run of the bench itself
        cli_small, small, large = args.sizes
        cli_large = large
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        log = Keyring(home).create("log")
        paths = {n: Path(d) / f"l{n}.db" for n in sorted({cli_small, small, large, cli_large})}
        for n, p in paths.items():
            make(p, n, log)
        library(paths[small], paths[large], log, args.rounds)
        c, e = cli(paths[cli_small], home), cli(paths[cli_large], home)
        print(f"CLI, median of 5: {cli_small:,} vs {cli_large:,} records (target <= 1.3x)")
        for k in c:
            print(f"  {k:30} {c[k] * 1e3:8.0f} ms {e[k] * 1e3:8.0f} ms  {e[k] / c[k]:.2f}x")


if __name__ == "__main__":
    main()
