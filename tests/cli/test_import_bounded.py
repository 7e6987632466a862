"""``lic ledger import`` reads its export bounded, as the audit's reader does (issue 14 item 10)."""

import subprocess
import sys
from pathlib import Path

PROBE = """
import resource, sys
from click.testing import CliRunner
from cli.main import cli
r = CliRunner().invoke(cli, ["ledger", "import", "--db", sys.argv[2], "--quiet", sys.argv[1]])
print(r.exit_code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(r.output.strip())
"""


def run_import(source: str, db: Path) -> tuple[int, int, str]:
    p = subprocess.run(
        [sys.executable, "-c", PROBE, source, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first, _, output = p.stdout.partition("\n")
    code, rss = first.split()
    return int(code), int(rss), output.strip()


def test_an_endless_line_ends_with_an_error(tmp_path):
    code, _, output = run_import("/dev/zero", tmp_path / "z.db")
    assert code == 2
    assert output == "lic: error: import: line 1 longer than 2097152 bytes"
    assert not (tmp_path / "z.db").exists()


def test_300_mb_of_zero_bytes_cost_no_memory(tmp_path):
    big = tmp_path / "zeros.jsonl"
    with open(big, "wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: no disk, the reader sees zero bytes
    code, rss_kib, output = run_import(str(big), tmp_path / "z.db")
    assert code == 2
    assert "longer than" in output
    assert rss_kib < 200 * 1024, rss_kib  # was 640 MiB: the whole "line" in memory
