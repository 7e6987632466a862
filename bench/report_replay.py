"""`lic ledger report` end to end on a synthesized ledger: replay (the audit, with the report
observer) + report.json + index.html written, as a ratio to the plain audit of the same ledger
measured in the same run. The issue's target: 10^5 records reported in under a minute.

    python bench/report_replay.py            # 2x10^4 records (quick)
    python bench/report_replay.py --full     # 10^5 records
"""

import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keys import SigningKey
from ledger.audit import audit_db
from ledger.report import replay_report, write_report
from ledger.store import Ledger, synthesize


def main() -> None:
    n = 100_000 if "--full" in sys.argv else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        log = SigningKey.from_seed(hashlib.sha256(b"bench log").digest())
        t0 = time.perf_counter()
        with Ledger.create(db, "bench.example/log", log) as led:
            synthesize(led, n, log_key=log)
            led.checkpoint(log)
        t1 = time.perf_counter()
        audit = audit_db(db)
        t2 = time.perf_counter()
        report, result = replay_report(db=db)
        write_report(report, Path(tmp) / "report")
        t3 = time.perf_counter()
        assert audit.clean and result.clean and result.size == n
        size = sum(f.stat().st_size for f in (Path(tmp) / "report").iterdir())
    audit_s, report_s = t2 - t1, t3 - t2
    print(f"records:                              {n}")
    print(f"synthesize + checkpoint:              {t1 - t0:.1f} s")
    print(f"audit alone (baseline):               {audit_s:.1f} s")
    print(f"report (replay + json + html, disk):  {report_s:.1f} s  (target < 60 s at 10^5)")
    print(f"report / audit ratio:                 {report_s / audit_s:.2f}")
    print(f"report files:                         {size} bytes")


if __name__ == "__main__":
    main()
