"""bench/serve.py runs (a few submissions of each kind): it drives the real server over HTTP,
and a change there must not break it unnoticed. Its figures are not checked here."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "serve.py"


def test_serve_bench_runs_and_prints_its_summary():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("summary")]
    assert len(summary) == 1 and "group commit ratio" in summary[0], done.stdout
    assert "target >= 5" in summary[0] and "tile reads" in summary[0]
