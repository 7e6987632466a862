"""The token and start-up benches run (tiny sizes, one round): they read the product's
internals (or start the real `lic`), and a change there must not break them unnoticed. Their
figures are not checked here."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", ["tokens.py", "token_floor.py"])
def test_token_bench_runs_and_prints_its_summary(script):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("summary")]
    assert len(summary) == 1 and "JWT" in summary[0] and "CWT" in summary[0]


def test_startup_bench_runs_and_prints_its_summary():
    done = subprocess.run(
        [sys.executable, str(BENCH / "startup.py"), "--smoke"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("summary")]
    assert len(summary) == 1 and "--version" in summary[0] and "token verify" in summary[0]
    assert "target <= 2.0" in summary[0]


def test_pg_bench_runs_and_prints_its_summary(pg_cluster):
    """bench/pg.py on the session's throwaway cluster (its own schemas), tiny sizes, with its
    group commit phase through a real `lic serve` on both backends; proofs over TCP and over
    the cluster's Unix socket."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "pg.py"), "--smoke", "--url", pg_cluster.url,
         "--socket", str(pg_cluster.root)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("summary")]
    assert len(summary) == 1 and "writers" in summary[0] and "proofs at 2,000" in summary[0]
    assert "lic serve with 4 clients on PostgreSQL" in summary[0] and "on SQLite" in summary[0]
    assert "PostgreSQL over TCP" in done.stdout and "PostgreSQL over Unix socket" in done.stdout
