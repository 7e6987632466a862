"""Transparency report speed: building report.json + index.html, as a ratio to the semantic
replay (LedgerState.apply + ReportBuilder.observe) of the same records measured in the same run.

    python bench/report.py            # ~2x10^4 records (quick)
    python bench/report.py --full     # ~10^5 records

Signature checks and storage are not part of this (they belong to the audit's benchmark).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.report import render_html, report_json_bytes
from tests.helpers.report_scenario import busy


def main() -> None:
    n_requests = 32_000 if "--full" in sys.argv else 6_500
    t0 = time.perf_counter()
    replay = busy(n_requests=n_requests)
    t1 = time.perf_counter()
    report = replay.finish()
    data = report_json_bytes(report)
    page = render_html(report)
    t2 = time.perf_counter()
    replay_s, report_s = t1 - t0, t2 - t1
    print(f"records: {replay.index}")
    print(f"replay (generate + apply + observe): {replay_s:.2f} s")
    print(f"finish + report.json + index.html:   {report_s:.2f} s")
    print(f"report / replay ratio:               {report_s / replay_s:.3f}")
    print(f"report.json {len(data)} bytes, index.html {len(page)} bytes")
    print(f"suppressed cells: {report['suppression']['suppressed_cells']}")


if __name__ == "__main__":
    main()
