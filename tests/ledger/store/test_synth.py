"""The synthetic ledger generator: deterministic, every entry type but keys' retirements, clean."""

import pytest

from keys import MalformedError, SigningKey
from ledger.audit import audit_db
from ledger.entries import decode_record
from ledger.store import Ledger, synthesize


def test_synthetic_ledgers_are_deterministic_varied_and_audit_clean(tmp_path, synthetic_ledger):
    log = SigningKey.from_seed(bytes(32))
    first = synthetic_ledger(1500, seed=3, log_seed=bytes(32), origin="synth.example/log")
    with Ledger.create(tmp_path / "b.db", "synth.example/log", log) as led:
        n = synthesize(led, 1500, log_key=log, seed=3)
        led.checkpoint(log)
        root = led.root()
        types = {decode_record(raw).entry_type for _, raw in led.iter_records()}
    assert n >= 1500 and n == first.size
    with Ledger.open(first.path) as led:
        assert led.root() == root
    assert {"grant", "revoke", "suspend", "incident.close", "appeal.decide", "attest"} <= types
    r = audit_db(first.path, workers=0)
    assert r.findings == [] and r.size == n


def test_synthesize_needs_an_empty_ledger(tmp_path):
    log = SigningKey.from_seed(bytes(32))
    with Ledger.create(tmp_path / "a.db", "synth.example/log", log) as led:
        synthesize(led, 10, log_key=log)
        with pytest.raises(MalformedError):
            synthesize(led, 10, log_key=log)
