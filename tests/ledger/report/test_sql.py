"""The report's SQL (ledger/report/_queries.py) against naive references in Python over the
state's own views (``LedgerState.status_as_of``, ``descendants``, nearest rank over a sorted
list), and what ``finish`` leaves behind: nothing in the state, nothing temporary."""

import json
import random
import sys
from collections import Counter
from fractions import Fraction

import pytest

from ledger.report import ReportBuilder, report_json_bytes
from ledger.report import _queries as q
from ledger.report._measures import DURATION_BUCKETS, bucket, month_of, month_span, nearest_rank
from ledger.report._schema import drop_finish_objects, prepare_finish
from tests.helpers.report_scenario import DAY, T0, busy
from tests.ledger.report.recorded_ledgers import mixed


@pytest.fixture(scope="module")
def ledger():
    return mixed(seed=11, steps=1500)


def _params(state, cutoff, t, start=None, end=None):
    prepare_finish(state.conn)
    return {"c": cutoff, "s": start, "e": end, "t": t}


@pytest.mark.parametrize("when", [0.0, 0.3, 0.6, 0.9, 1.2])
@pytest.mark.parametrize("cut", [0.3, 0.7, 1.0])
def test_grant_status_equals_status_as_of(ledger, when, cut):
    state = ledger.state
    cutoff = int(state.size * cut)
    t = T0 + int((state.last_time - T0) * when)
    expected = Counter(
        state.status_as_of(g.digest, t, cutoff).status
        for g in state.grants.values()
        if g.index < cutoff
    )
    got = Counter()
    for status, _, _, n in q.grant_status_rows(state.conn, _params(state, cutoff, t)):
        got[status] += n
    drop_finish_objects(state.conn)
    assert got == expected
    assert sum(expected.values()) > 0
    if (when, cut) == (0.6, 1.0):  # the ledger reaches every status the report counts
        assert set(expected) == {"active", "suspended", "revoked", "expired", "not_yet_valid"}


@pytest.mark.parametrize("cut", [0.4, 0.8, 1.0])
def test_cascaded_tokens_equal_descendants(ledger, cut):
    state = ledger.state
    cutoff = int(state.size * cut)
    expected = Counter()
    for wi, w in state.withdrawal_info.items():
        if wi >= cutoff:
            continue
        direct = state.withdrawals[wi]
        below = set()
        if w.cascade:
            for d in direct:
                below.update(state.descendants(d, cutoff))
            below.difference_update(direct)
        expected[(w.kind, w.reason, "entries")] += 1
        expected[(w.kind, w.reason, "direct")] += len(direct)
        expected[(w.kind, w.reason, "below")] += len(below)
        expected[(w.kind, w.reason, "cascading")] += w.cascade
    got = Counter()
    rows = q.withdrawal_rows(state.conn, _params(state, cutoff, 0))
    drop_finish_objects(state.conn)
    for kind, reason, entries, direct, below, cascading in rows:
        for name, n in (("entries", entries), ("direct", direct), ("below", below)):
            got[(kind, reason, name)] += n
        got[(kind, reason, "cascading")] += cascading
    assert +got == +expected
    assert sum(n for (_, _, m), n in expected.items() if m == "below") > 0


@pytest.mark.parametrize("seed", range(8))
def test_distribution_equals_nearest_rank_over_a_sorted_list(ledger, seed):
    rnd = random.Random(seed)
    n = rnd.choice([0, 1, 2, 5, 9, 10, 11, 100, 1001])
    values = [
        rnd.choice([0, 1, 3599, 3600, 86399, 86400, rnd.randint(0, 90 * DAY)]) for _ in range(n)
    ]
    conn = ledger.state.conn
    prepare_finish(conn)
    conn.executemany("INSERT INTO rp_values VALUES ('x', ?)", [(v,) for v in values])
    conn.execute("INSERT INTO rp_values VALUES ('other', 1)")
    k = rnd.choice([1, 5])
    hist, median, p90 = q.distribution(conn, "x", k)
    drop_finish_objects(conn)
    counts = Counter(bucket(v, DURATION_BUCKETS) for v in values)
    assert hist == {name: counts[name] for name, _ in DURATION_BUCKETS}
    shown = n >= k
    ordered = sorted(values)
    assert median == (nearest_rank(ordered, Fraction(1, 2)) if shown else None)
    assert p90 == (nearest_rank(ordered, Fraction(9, 10)) if shown else None)


def test_finish_writes_nothing_to_the_state_and_leaves_nothing_temporary():
    replay = busy(n_requests=200, seed=3)
    before = replay.state.table_rows()
    replay.finish()
    assert replay.state.table_rows() == before
    temp = replay.state.conn.execute("SELECT name FROM sqlite_temp_master").fetchall()
    assert temp == []


def test_builder_memory_does_not_grow_with_the_ledger():
    """What the builder keeps in Python is the same size for a ledger five times larger: the
    per-record facts are rows of its own tables."""

    def held(n):
        b = ReportBuilder()
        busy(n_requests=n, seed=5, builder=b)
        rows = b._own.execute("SELECT count(*) FROM rp_subjects").fetchone()[0]
        return sum(sys.getsizeof(v) for v in vars(b).values()), rows

    small, large = held(150), held(750)
    assert small[0] == large[0]
    assert large[1] > small[1]  # the facts went to the tables


@pytest.mark.parametrize("seed", range(4))
def test_month_span_is_the_month_of_its_times(seed):
    rnd = random.Random(seed)
    edges = [0, 951868799, 951868800, T0 - 1, T0, 253402300799]  # 2000-02-29 23:59:59, year 9999
    for t in edges + [rnd.randint(0, 253402300799) for _ in range(200)]:
        lo, hi, label = month_span(t)
        assert lo <= t < hi and label == month_of(t) == month_of(lo) == month_of(hi - 1)
        assert hi == t + 1 or month_of(hi) != label


def test_report_json_bytes_are_json_dumps_of_spec_11_5():
    """report.json is written piece by piece; the bytes are those of SPEC 11.5's json.dumps."""
    report = busy(n_requests=300, seed=2).finish()
    text = json.dumps(report, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
    assert report_json_bytes(report) == text.encode("ascii") + b"\n"
