"""``lic ledger audit --log-key`` pins the log key; unpinned, the summary names the key it
trusted (issue 14 item 6): an export re-signed by another key of the same origin must not
audit clean against the real key."""

import functools

import pytest

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


@pytest.fixture
def files(tmp_path):
    real_vkey = REAL.public_key.verifier_key(ORIGIN)
    (tmp_path / "log.vkey").write_text(real_vkey + "\n")
    return tmp_path, export(tmp_path, REAL, "real"), export(tmp_path, OTHER, "forged"), real_vkey


@pytest.fixture
def audit(lic_cli):
    """`lic ledger audit --quiet ARGS`, which must exit with ``code`` (0 unless given)."""
    return functools.partial(lic_cli, "ledger", "audit", "--quiet")


def test_a_re_signed_export_fails_against_the_pinned_key(files, audit):
    d, _, forged, real_vkey = files
    for pin in (real_vkey, d / "log.vkey"):
        out = audit("--jsonl", forged, "--log-key", pin, code=1).output
        assert out.startswith("lic: error: ") and len(out.strip().splitlines()) == 1
        assert "not the pinned log key" in out


def test_the_real_export_audits_clean_against_the_pinned_key(files, audit):
    d, real, _, real_vkey = files
    for pin in (real_vkey, d / "log.vkey"):
        out = audit("--jsonl", real, "--log-key", pin).output
        assert f"log key: {real_vkey} (pinned)" in out
    assert audit("--jsonl", real, "--log-key", pin, "--json").json["log_key"] == {
        "vkey": real_vkey,
        "key_hash": real_vkey.split("+")[1],
        "pinned": True,
    }


def test_a_pin_applies_to_a_ledger_too(files, audit, ledger_at):
    """A ledger on each backend (``ledger_at``): the exports imported."""
    d, real, forged, _ = files
    dbs = {}
    for name, jsonl in (("real", real), ("forged", forged)):
        dbs[name] = ledger_at(f"imported_{name}")
        Ledger.import_jsonl(dbs[name], jsonl.read_text().splitlines()).close()
    out = audit("--db", dbs["forged"], "--log-key", d / "log.vkey", code=1).output
    assert "not the pinned log key" in out
    audit("--db", dbs["real"], "--log-key", d / "log.vkey")


def test_without_a_pin_the_summary_names_the_key_it_trusted(files, audit):
    _, _, forged, _ = files
    forged_vkey = OTHER.public_key.verifier_key(ORIGIN)
    assert audit("--jsonl", forged, "--json").json["log_key"] == {
        "vkey": forged_vkey,
        "key_hash": forged_vkey.split("+")[1],
        "pinned": False,
    }
    out = audit("--jsonl", forged).output
    assert f"log key: {forged_vkey} (from the export, not pinned: pass --log-key)" in out


def test_a_missing_pin_file_is_reported_as_missing(files, audit):
    d, real, *_ = files
    out = audit("--jsonl", real, "--log-key", d / "nope.vkey", code=2).output
    assert "does not exist" in out
