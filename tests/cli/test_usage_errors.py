"""Errors are the one line docs/cli.md promises (`lic: error: ...`), JSON under --json, and a
missing key file is reported as missing (issue 14, item 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

USAGE_MISTAKES = [
    ["token", "verify"],  # a missing argument
    ["ledger", "status", "--bogus", "x"],  # an unknown option
    ["nosuchcommand"],  # an unknown command
    ["ledger", "prove", "--index", "minus-one"],  # a bad value
]


@pytest.mark.parametrize("args", USAGE_MISTAKES)
def test_a_usage_error_is_one_lic_error_line(lic_cli, args: list[str]) -> None:
    res = lic_cli(*args, code=2)
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("lic: error: ")
    assert "Usage:" not in res.stderr and "Error:" not in res.stderr


@pytest.mark.parametrize("args", USAGE_MISTAKES)
def test_under_json_a_usage_error_is_json(lic_cli, args: list[str]) -> None:
    res = lic_cli(*args, "--json", code=2)
    obj = json.loads(res.stderr)
    assert obj["exit_code"] == 2 and obj["error"]


def test_under_json_a_library_error_is_json(lic_cli, tmp_path: Path) -> None:
    res = lic_cli("ledger", "status", "--json", "--db", tmp_path / "none.db", "x", code=2)
    obj = json.loads(res.stderr)
    assert obj["exit_code"] == 2 and "lic: error" not in obj["error"]


def test_a_missing_log_key_file_is_reported_as_missing(lic_cli, tmp_path: Path) -> None:
    receipt = tmp_path / "r.proof"
    receipt.write_bytes(b"")
    missing = tmp_path / "keys" / "log+2.vkey"  # a '+' in a file name is no inline key
    res = lic_cli("ledger", "verify-proof", receipt, "--log-key", missing, code=2)
    assert f"file {missing} does not exist" in res.stderr
    assert "name+hash+key" in res.stderr and "expected" not in res.stderr


def test_the_real_command_prints_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "token", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("lic: error: ")
