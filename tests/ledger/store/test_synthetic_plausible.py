"""Synthetic ledgers look like a real one (issue 14, item 15): one to two years of records,
decisions hours to weeks after their request, acknowledgements days after their report, only
codes of the vocabulary and the entry catalog, and exactly the number of records asked for."""

from __future__ import annotations

import hashlib
import itertools
import statistics
from pathlib import Path

import pytest

import lic
from keys import SigningKey
from ledger.entries import (
    APPEAL_OUTCOMES,
    CLOSE_OUTCOMES,
    HARM_TYPES,
    REVOCATION_REASONS,
    SEVERITIES,
    TIERS,
    decode_record,
)
from ledger.state import state_of
from ledger.store import Ledger, synthesize

HOUR, DAY = 3600, 86400
LOG = SigningKey.from_seed(hashlib.sha256(b"synthetic plausible").digest())


def _make(path: Path, n: int, seed: int = 1) -> tuple[list, object]:
    with Ledger.create(path, "synth.example/log", LOG) as led:
        assert synthesize(led, n, log_key=LOG, seed=seed) == n
        assert led.size == n
        records = [decode_record(raw) for _, raw in led.iter_raw()]
        state = state_of(led.iter_records(0, led.size), LOG.public_key.raw)
    return records, state


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return _make(tmp_path_factory.mktemp("synth") / "l.db", 4000)


def test_the_records_cover_one_to_two_years_in_order(synth):
    records, _ = synth
    times = [r.time for r in records]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert 365 * DAY <= times[-1] - times[0] <= 730 * DAY


def test_decisions_take_hours_to_weeks(synth):
    _, st = synth
    waits = [d["decided_at"] - st.requests[d["request"]]["received"] for d in st.decisions.values()]
    assert len(waits) > 500
    assert min(waits) >= HOUR and max(waits) <= 8 * 7 * DAY  # a re-decision after more info
    assert 6 * HOUR <= statistics.median(waits) <= 14 * DAY


def test_incidents_are_acknowledged_in_days(synth):
    _, st = synth
    acks = [i.acked - i.reported for i in st.incidents.values() if i.acked is not None]
    assert len(acks) > 50
    assert max(acks) <= 14 * DAY
    assert 12 * HOUR <= statistics.median(acks) <= 7 * DAY
    closed = [i for i in st.incidents.values() if i.closed is not None]
    assert closed and all(i.outcome in CLOSE_OUTCOMES for i in closed)


def test_only_codes_of_the_vocabulary_and_catalog(synth):
    records, st = synth
    purposes, countries = lic.vocabulary("purposes"), lic.countries()
    for r in st.requests.values():
        assert r["purpose"] in purposes, r["purpose"]
        assert r["region"] in countries and r["tier"] in TIERS
    for inc in st.incidents.values():
        assert set(inc.harms) <= HARM_TYPES and inc.severity in SEVERITIES
    assert {w.reason for w in st.withdrawal_info.values()} <= REVOCATION_REASONS
    assert {a["outcome"] for a in st.appeals.values() if "outcome" in a} <= APPEAL_OUTCOMES
    kinds = {r.entry_type for r in records}
    assert {"access.request", "grant", "revoke", "incident.close", "attest"} <= kinds


@pytest.mark.parametrize("n", [1, 2, 4, 5, 6, 17, 60, 301])
def test_exactly_n_records(tmp_path, n):
    records, _ = _make(tmp_path / "l.db", n, seed=n)
    assert len(records) == n
