"""``lic ledger audit --log-key`` pins the log key; unpinned, the summary names the key it
trusted (issue 14 item 6): an export re-signed by another key of the same origin must not
audit clean against the real key."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from keys import SigningKey
from ledger.store import Ledger, synthesize

ORIGIN = "pin.example/log"
REAL = SigningKey.from_seed(bytes([1]) * 32)
OTHER = SigningKey.from_seed(bytes([2]) * 32)


def export(tmp_path, key, name):
    with Ledger.create(tmp_path / f"{name}.db", ORIGIN, key) as led:
        synthesize(led, 40, log_key=key)
        led.checkpoint(key)
        with open(tmp_path / f"{name}.jsonl", "w") as f:
            led.export_jsonl(f)
    return tmp_path / f"{name}.jsonl"


def audit(*args):
    r = CliRunner().invoke(cli, ["ledger", "audit", "--quiet", *map(str, args)])
    assert "Traceback" not in r.output
    return r.exit_code, r.output


@pytest.fixture
def files(tmp_path):
    real_vkey = REAL.public_key.verifier_key(ORIGIN)
    (tmp_path / "log.vkey").write_text(real_vkey + "\n")
    return tmp_path, export(tmp_path, REAL, "real"), export(tmp_path, OTHER, "forged"), real_vkey


def test_a_re_signed_export_fails_against_the_pinned_key(files):
    d, _, forged, real_vkey = files
    for pin in (real_vkey, d / "log.vkey"):
        code, out = audit("--jsonl", forged, "--log-key", pin)
        assert code == 1, out
        assert out.startswith("lic: error: ") and len(out.strip().splitlines()) == 1
        assert "not the pinned log key" in out


def test_the_real_export_audits_clean_against_the_pinned_key(files):
    d, real, _, real_vkey = files
    for pin in (real_vkey, d / "log.vkey"):
        code, out = audit("--jsonl", real, "--log-key", pin)
        assert code == 0, out
        assert f"log key: {real_vkey} (pinned)" in out
    code, out = audit("--jsonl", real, "--log-key", pin, "--json")
    assert json.loads(out)["log_key"] == {
        "vkey": real_vkey,
        "key_hash": real_vkey.split("+")[1],
        "pinned": True,
    }


def test_a_pin_applies_to_a_ledger_file_too(files):
    d, *_ = files
    code, out = audit("--db", d / "forged.db", "--log-key", d / "log.vkey")
    assert code == 1 and "not the pinned log key" in out
    assert audit("--db", d / "real.db", "--log-key", d / "log.vkey")[0] == 0


def test_without_a_pin_the_summary_names_the_key_it_trusted(files):
    _, _, forged, _ = files
    forged_vkey = OTHER.public_key.verifier_key(ORIGIN)
    code, out = audit("--jsonl", forged, "--json")
    assert code == 0
    assert json.loads(out)["log_key"] == {
        "vkey": forged_vkey,
        "key_hash": forged_vkey.split("+")[1],
        "pinned": False,
    }
    code, out = audit("--jsonl", forged)
    assert f"log key: {forged_vkey} (from the export, not pinned: pass --log-key)" in out


def test_a_missing_pin_file_is_reported_as_missing(files):
    d, real, *_ = files
    code, out = audit("--jsonl", real, "--log-key", d / "nope.vkey")
    assert code == 2 and "does not exist" in out
