"""`lic ledger report` end to end on a synthesized ledger: replay (the audit, with the report
observer) + report.json + index.html written, as a ratio to the plain audit of the same ledger
measured in the same run; and the peak memory of a fresh process doing it, at two sizes.
Targets: 10^5 records reported in under a minute (issue 8); the ratio at 10^5 within 0.9x of
what it was before the report read the state tables with SQL, and the peak at 10^6 at most
1.2x the peak at 10^5 (issue 15).

    python bench/report_replay.py                 # 2x10^4 records (quick)
    python bench/report_replay.py --full          # 10^5 records
    python bench/report_replay.py --memory        # peak memory at 10^4 and 10^5
    python bench/report_replay.py --memory --full # peak memory at 10^5 and 10^6
    ... --audit                                   # with --memory: the audit's peaks as well
    ... --dir DIR                                 # keep the ledgers in DIR, reuse them there

Recorded figures: bench/RESULTS.md.
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keys import SigningKey  # noqa: E402
from ledger.audit import audit_db  # noqa: E402
from ledger.report import replay_report, write_report  # noqa: E402
from ledger.store import Ledger, synthesize  # noqa: E402


def make(db: Path, n: int) -> None:
    """A synthesized ledger of ``n`` records with a checkpoint, unless ``db`` exists."""
    if db.exists():
        return
    log = SigningKey.from_seed(hashlib.sha256(b"bench log").digest())
    t0 = time.perf_counter()
    with Ledger.create(db, "bench.example/log", log) as led:
        synthesize(led, n, log_key=log)
        led.checkpoint(log)
    print(f"  generated {n:,} records in {time.perf_counter() - t0:.1f} s", flush=True)


def peak_rss_mb(db: Path, what: str) -> float:
    """Peak resident memory (VmHWM) of a fresh process that runs the audit (``audit``) or the
    report (``report``: replay_report and write_report) of ``db``."""
    run = (
        "r = audit_db(db); assert r.clean"
        if what == "audit"
        else "rep, r = replay_report(db=db); assert r.clean; write_report(rep, out)"
    )
    code = (
        f"import sys, tempfile; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path\n"
        "from ledger.audit import audit_db\nfrom ledger.report import replay_report, write_report\n"
        f"db = Path({str(db)!r}); out = Path(tempfile.mkdtemp())\n{run}\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def speed(d: Path, n: int) -> None:
    db = d / f"l{n}.db"
    make(db, n)
    t1 = time.perf_counter()
    audit = audit_db(db)
    t2 = time.perf_counter()
    report, result = replay_report(db=db)
    write_report(report, d / "report")
    t3 = time.perf_counter()
    assert audit.clean and result.clean and result.size == n
    size = sum(f.stat().st_size for f in (d / "report").iterdir())
    audit_s, report_s = t2 - t1, t3 - t2
    print(f"records:                              {n}")
    print(f"audit alone (baseline):               {audit_s:.1f} s")
    print(f"report (replay + json + html, disk):  {report_s:.1f} s  (target < 60 s at 10^5)")
    print(f"report / audit ratio:                 {report_s / audit_s:.2f}")
    print(f"report files:                         {size} bytes")


def memory(d: Path, small: int, large: int, with_audit: bool) -> None:
    peaks = {}
    for n in (small, large):
        db = d / f"l{n}.db"
        make(db, n)
        peaks[n] = peak_rss_mb(db, "report")
        audit = f", audit {peak_rss_mb(db, 'audit'):.1f} MB" if with_audit else ""
        print(f"peak at {n:>9,}: report {peaks[n]:.1f} MB{audit}", flush=True)
    ratio = peaks[large] / peaks[small]
    print(f"report peak {large:,} / {small:,}: x{ratio:.2f} (target <= 1.2)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="10^5 records (memory: 10^5 and 10^6)")
    ap.add_argument("--memory", action="store_true", help="peak memory at two sizes")
    ap.add_argument("--audit", action="store_true", help="with --memory: the audit's peaks too")
    ap.add_argument("--dir", type=Path, help="keep the ledgers here and reuse them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.dir or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        if args.memory:
            memory(d, *((10**5, 10**6) if args.full else (10**4, 10**5)), args.audit)
        else:
            speed(d, 100_000 if args.full else 20_000)


if __name__ == "__main__":
    main()
