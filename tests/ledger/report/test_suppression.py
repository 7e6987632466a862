"""Small-cell suppression: primary and secondary suppression, and the subtraction attack.

The attacker here is independent of the code under test: it knows every published cell, every
line (cells add up to totals) and that counts are non-negative integers, and enumerates every
assignment of the suppressed cells that agrees with all of it. A small cell is protected when the
attacker is left with at least two values for it.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.report_scenario import T0, Replay, decide, keys, request
from ledger.report import Disclosure, ReportBuilder


def attack(d: Disclosure):
    """Every value each suppressed cell can take, given all that is published.

    The attacker knows the published cells, the lines, and that suppressed counts are positive
    integers (zeros are published). For each suppressed cell and each candidate value it looks
    for one whole assignment that satisfies every line: a backtracking search that narrows
    every cell's interval along the lines at each node and branches on the narrowest.
    """
    known = {c: v for c, v in d.values.items() if c not in d.suppressed}
    hidden = sorted(d.suppressed)
    # A bound on the search only (so it ends): one above the largest hidden count, so the true
    # values and their neighbours are all tried; a smaller domain can only find fewer values.
    cap = max((d.values[c] for c in hidden), default=0) + 1

    def narrow(b):
        changed = True
        while changed:
            changed = False
            for members, total in d.lines:
                lo_sum = sum(b[m][0] for m in members)
                hi_sum = sum(b[m][1] for m in members)
                t_lo, t_hi = max(b[total][0], lo_sum), min(b[total][1], hi_sum)
                if t_lo > t_hi:
                    return False
                if (t_lo, t_hi) != b[total]:
                    b[total], changed = (t_lo, t_hi), True
                for m in members:
                    lo = max(b[m][0], t_lo - (hi_sum - b[m][1]))
                    hi = min(b[m][1], t_hi - (lo_sum - b[m][0]))
                    if lo > hi:
                        return False
                    if (lo, hi) != b[m]:
                        b[m], changed = (lo, hi), True
        return True

    def solvable(b):
        b = dict(b)
        if not narrow(b):
            return False
        open_ = [c for c in hidden if b[c][0] < b[c][1]]
        if not open_:
            return True  # every line holds with equal bounds: an exact assignment
        c = min(open_, key=lambda x: (b[x][1] - b[x][0], x))
        return any(solvable({**b, c: (v, v)}) for v in range(b[c][0], b[c][1] + 1))

    start = {c: (v, v) for c, v in known.items()}
    start.update({c: (1, cap) for c in hidden})
    return {c: {v for v in range(1, cap + 1) if solvable({**start, c: (v, v)})} for c in hidden}


def one_d(counts, k=5, public_total=True):
    d = Disclosure(k)
    d.cell("total", sum(counts), public=public_total)
    d.line([d.cell(f"c{i}", n) for i, n in enumerate(counts)], "total")
    d.solve()
    return d


def test_single_small_cell_takes_a_complement():
    d = one_d([3, 10, 20])
    assert d.suppressed == {"c0", "c1"}  # the small cell and the smallest other positive cell
    assert [d.get(f"c{i}") for i in range(3)] == [None, None, 20]
    assert d.get("total") == 33
    # Subtraction gives c0 + c1 = 13 only.
    assert len(attack(d)["c0"]) > 1


def test_no_small_cell_suppresses_nothing_and_zero_is_published():
    d = one_d([0, 5, 9])
    assert d.suppressed == set()
    assert d.out("c0") == {"count": 0, "suppressed": False}
    assert d.out("c1") == {"count": 5, "suppressed": False}


def test_two_small_cells_that_would_pin_each_other_take_more():
    # {1, 1} with a published total of 12: both in [1, 4] and summing to 2 -> both 1. Unsafe.
    d = one_d([1, 1, 10])
    assert d.suppressed == {"c0", "c1", "c2"}
    assert len(attack(d)["c0"]) > 1


def test_unprotectable_line_suppresses_its_total_even_public():
    d = one_d([2], public_total=False)  # one cell: the total would give it away
    assert d.suppressed == {"c0", "total"}
    d = one_d([3, 1], public_total=True)  # 4 = 3+1 = 2+2 = 1+3: both hidden, not recoverable
    assert (d.suppressed, d.unsafe) == ({"c0", "c1"}, set())
    d = one_d([1, 1], public_total=True)  # 2 = 1+1 only: the (public) total is hidden too
    assert (d.suppressed, d.unsafe) == ({"c0", "c1", "total"}, set())
    assert len(attack(d)["c0"]) > 1


def test_cell_registered_twice_with_two_values_is_refused():
    d = Disclosure(5)
    d.cell("x", 1)
    try:
        d.cell("x", 2)
    except ValueError:
        pass
    else:
        raise AssertionError("a cell cannot have two values")


def test_reading_before_solve_is_refused():
    d = Disclosure(5)
    d.cell("x", 1)
    try:
        d.get("x")
    except ValueError:
        pass
    else:
        raise AssertionError("get before solve must fail")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=4), st.integers(2, 5))
def test_property_one_line_small_cells_never_recovered(counts, k):
    d = one_d(counts, k=k)
    feasible = attack(d)
    for i, n in enumerate(counts):
        if 1 <= n < k:
            assert d.get(f"c{i}") is None
            if not d.unsafe:
                assert len(feasible[f"c{i}"]) > 1, (counts, k, d.suppressed)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 7), min_size=2, max_size=2), min_size=2, max_size=3),
    st.integers(2, 4),
)
def test_property_two_way_table_small_cells_never_recovered(rows, k):
    """Rows x columns with row totals, column totals and a public grand total (as by_tier)."""
    d = Disclosure(k)
    grand = d.cell("g", sum(map(sum, rows)), public=True)
    interior = set()
    for r, row in enumerate(rows):
        ids = [d.cell(f"r{r}c{c}", n) for c, n in enumerate(row)]
        interior.update(ids)
        d.cell(f"r{r}", sum(row))
        d.line(ids, f"r{r}")
    for c in range(2):
        d.cell(f"c{c}", sum(row[c] for row in rows))
        d.line([f"r{r}c{c}" for r in range(len(rows))], f"c{c}")
    d.line([f"r{r}" for r in range(len(rows))], grand)
    d.line(["c0", "c1"], grand)
    d.solve()
    feasible = attack(d)
    for cid in d.values:
        if d.values[cid] and d.values[cid] < k and cid != "g":
            assert cid in d.suppressed
            if not d.unsafe and cid in interior:
                assert len(feasible[cid]) > 1, (rows, k, sorted(d.suppressed))


def test_report_level_subtraction_attack():
    """Requests from DE (12), US (9) and FR (2): FR is small; its row and one more are hidden,
    and no published total minus published cells gives FR's count back."""
    r = Replay(ReportBuilder(k=5))
    keys(r)
    t = T0 + 100
    n = 0
    for region, count in (("DE", 12), ("US", 9), ("FR", 2)):
        for _ in range(count):
            t += 10
            req = request(r, t, n, "academic", region, "research")
            denied = n % 3 == 0
            decide(r, t + 1, req, "denied" if denied else "approved", t + 5,
                   ["tier_mismatch"] if denied else [])  # fmt: skip
            n += 1
            t += 1
    rep = r.finish()
    acc = rep["access"]
    assert acc["requests"] == {"count": 23, "suppressed": False}  # the window total is public
    totals = {k: v["total"]["count"] for k, v in acc["by_region"].items()}
    assert totals["FR"] is None
    hidden = [k for k, v in totals.items() if v is None]
    assert len(hidden) >= 2  # FR and a complement: 23 - published gives only their sum
    assert 23 - sum(v for v in totals.values() if v is not None) != 2 or len(hidden) > 1
    for region, row in acc["by_region"].items():
        cells = [row[o]["count"] for o in ("approved", "denied", "needs_information", "pending")]
        if row["total"]["count"] is not None:  # a published row total never exposes one cell
            assert cells.count(None) != 1, (region, row)
        if None in cells:
            assert row["approval_rate"] is None and row["denial_rate"] is None
    for o in ("approved", "denied", "needs_information", "pending"):
        column = [row[o]["count"] for row in acc["by_region"].values()]
        if acc["outcomes"][o]["count"] is not None:
            assert column.count(None) != 1, (o, column)
    # ReportBuilder's default k is 5
    assert rep["parameters"]["k"] == 5 and ReportBuilder().k == 5
