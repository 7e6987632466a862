"""No suppressed count of a transparency report follows from what the report publishes (issue
14, item 13): the test reads report.json as a reader would, writes down every table's equations
(cells add up to their totals) and what the public incident summaries show (at least so many
incidents of a severity, an outcome, a month, a time to close), and SOLVES them: for each
suppressed cell it looks for a whole assignment of the hidden counts (positive integers)
that satisfies everything and gives that cell another value than its true one (the true values
come from the same ledger reported with k=1). The solver is written here, apart from the
code under test: for one equation of unit coefficients over integer intervals, narrowing the
intervals to a fixed point gives exactly the values each cell can take. (Several tables solved
together are the business of tests/test_report_suppression.py's exhaustive attacker.)
The ledgers are replayed on both backends (``ledger_at``): the demo's ledger file, and its
export imported into a PostgreSQL schema; the synthetic ledgers made on either.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpers.backends import copy_ledger
from ledger.report import render_html, replay_report
from ledger.store import Ledger, synthesize

OUTCOMES = ("approved", "denied", "needs_information", "pending")


class Reader:
    """Cells (published or hidden), equations sum(pos) = sum(neg), and lower bounds."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.fixed: dict[str, int] = {}
        self.hidden: set[str] = set()
        self.free: set[str] = set()  # not printed at all (e.g. the window's grant total)
        self.eqs: list[tuple[list[str], list[str]]] = []
        self.floor: dict[str, int] = {}

    def cell(self, name: str, cell: Any) -> str:
        count = cell["count"] if isinstance(cell, dict) else cell
        if count is None:
            self.hidden.add(name)
        else:
            self.fixed[name] = count
        return name

    def unprinted(self, name: str) -> str:
        self.free.add(name)
        return name

    def line(self, members: list[str], total: str, table: str | None = None) -> None:
        self.eq(members, [total], table or total)

    def eq(self, pos: list[str], neg: list[str], table: str) -> None:
        self.eqs.append((pos, neg))  # one table: a breakdown and its total (``table`` names it)

    def at_least(self, name: str, n: int) -> None:
        self.floor[name] = max(self.floor.get(name, 0), n)

    # -- solving ---------------------------------------------------------------------------
    def start(self) -> dict[str, tuple[int, int]]:
        b = {c: (v, v) for c, v in self.fixed.items()}
        b.update({c: (max(1, self.floor.get(c, 0)), self.cap) for c in self.hidden})
        b.update({c: (self.floor.get(c, 0), self.cap) for c in self.free})
        return b

    def narrow(self, b: dict[str, tuple[int, int]], eqs: list[tuple[list[str], list[str]]]) -> bool:
        changed = True
        while changed:
            changed = False
            for pos, neg in eqs:
                for side, other in ((pos, neg), (neg, pos)):
                    o_lo, o_hi = sum(b[c][0] for c in other), sum(b[c][1] for c in other)
                    s_lo, s_hi = sum(b[c][0] for c in side), sum(b[c][1] for c in side)
                    if s_lo > o_hi or s_hi < o_lo:
                        return False
                    for c in side:
                        lo = max(b[c][0], o_lo - (s_hi - b[c][1]))
                        hi = min(b[c][1], o_hi - (s_lo - b[c][0]))
                        if lo > hi:
                            return False
                        if (lo, hi) != b[c]:
                            b[c], changed = (lo, hi), True
                            s_lo, s_hi = sum(b[x][0] for x in side), sum(b[x][1] for x in side)
        return True

    def determined(self, cell: str, true: int) -> bool:
        """Whether some table of ``cell`` (one breakdown and its total), with the summaries'
        bounds, leaves ``cell`` a single value. For one equation of unit coefficients over
        integer intervals, narrowing to a fixed point is exact: every integer in the narrowed
        interval of a cell is taken by some assignment."""
        for pos, neg in self.eqs:
            if cell in pos or cell in neg:
                b = self.start()
                assert self.narrow(b, [(pos, neg)]), "the true values satisfy the equation"
                assert b[cell][0] <= true <= b[cell][1]
                if b[cell] == (true, true):
                    return True
        return False


def read(rep: dict[str, Any]) -> Reader:
    """Every equation and bound a reader can write down from report.json (SPEC.md 11)."""
    r = Reader(cap=rep["integrity"]["size"] * 4 + 8)
    acc = rep["access"]
    grand = r.cell("access.requests", acc["requests"])
    outs = [r.cell(f"access.outcomes.{o}", acc["outcomes"][o]) for o in OUTCOMES]
    r.line(outs, grand)
    for name in ("by_tier", "by_region"):
        rows = []
        for key, row in acc[name].items():
            cells = [r.cell(f"access.{name}.{key}.{o}", row[o]) for o in OUTCOMES]
            rows.append(r.cell(f"access.{name}.{key}.total", row["total"]))
            r.line(cells, rows[-1], name)
        r.line(rows, grand, name)
        for o in OUTCOMES:
            cells = [f"access.{name}.{key}.{o}" for key in acc[name]]
            r.line(cells, f"access.outcomes.{o}", name)

    def dist(prefix: str, d: dict[str, Any]) -> None:
        cells = [r.cell(f"{prefix}.{b}", c) for b, c in d["histogram"].items()]
        r.line(cells, r.cell(f"{prefix}.n", d["n"]))

    dist("access.decision_latency", acc["decision_latency"])
    ap = rep["appeals"]
    filed = r.cell("appeals.filed", ap["filed"])
    for part in ("outcomes", "by_target"):
        r.line([r.cell(f"appeals.{part}.{k}", c) for k, c in ap[part].items()], filed)
    decided = [f"appeals.outcomes.{k}" for k in ap["outcomes"] if k != "pending"]
    review = [r.cell(f"appeals.review.{k}", c) for k, c in ap["review"].items()]
    r.eq(review, decided, "appeals.review")
    dist("appeals.time_to_resolve", ap["time_to_resolve"])
    lic = rep["licenses"]
    granted = r.cell("licenses.granted", lic["granted"])
    r.line([r.cell(f"licenses.status.{k}", c) for k, c in lic["status"].items()], granted)
    for part in ("active_by_tier", "active_by_purpose"):
        cells = [r.cell(f"licenses.{part}.{k}", c) for k, c in lic[part].items()]
        r.line(cells, "licenses.status.active")
    for kind in ("revoked", "suspended"):
        for m in ("entries", "direct_tokens", "cascaded_tokens"):
            t = rep["withdrawals"][kind][m]
            cells = [r.cell(f"w.{kind}.{m}.{k}", c) for k, c in t["by_reason"].items()]
            r.line(cells, r.cell(f"w.{kind}.{m}.total", t["total"]))
    inc = rep["incidents"]
    for part, total in (
        ("by_severity", "reported"),
        ("outcomes", "closed"),
        ("open_ageing", "open"),
    ):
        cells = [r.cell(f"incidents.{part}.{k}", c) for k, c in inc[part].items()]
        r.line(cells, r.cell(f"incidents.{total}", inc[total]))
    for name in ("acknowledge", "mitigate", "close"):
        dist(f"incidents.time_to_{name}", inc[f"time_to_{name}"])
    prov = rep["provenance"]
    models = r.cell("provenance.model_versions", prov["model_versions"])
    for key, v in prov.items():
        if isinstance(v, dict):
            r.line([r.cell(f"provenance.{key}.{x}", v[x]) for x in ("yes", "no")], models)
    totals = {
        "requests": grand,
        "appeals": filed,
        "grants": r.unprinted("monthly.grants"),
        "revocations": "w.revoked.entries.total",
        "suspensions": "w.suspended.entries.total",
        "incidents_reported": "incidents.reported",
        "incidents_closed": "incidents.closed",
    }
    months = [m["month"] for m in rep["monthly"]]
    for metric, total in totals.items():
        cells = [r.cell(f"m.{m['month']}.{metric}", m[metric]) for m in rep["monthly"]]
        r.line(cells, total)
    for o in ("approved", "denied", "needs_information"):
        cells = [r.cell(f"m.{m['month']}.{o}", m[o]) for m in rep["monthly"]]
        r.line(cells, r.unprinted(f"monthly.{o}"), "monthly decisions")
    for m in rep["monthly"]:
        row = [f"m.{m['month']}.{o}" for o in ("approved", "denied", "needs_information")]
        r.line(row, r.cell(f"m.{m['month']}.decisions", m["decisions"]), "monthly decisions")
    r.line(
        [f"m.{m}.decisions" for m in months], r.unprinted("monthly.decisions"), "monthly decisions"
    )
    summaries(r, rep)
    return r


def summaries(r: Reader, rep: dict[str, Any]) -> None:
    """What the public incident summaries show: lower bounds on the cells they fall in."""
    from collections import Counter
    from datetime import UTC, datetime

    def month(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m")

    buckets = ((3600, "lt_1h"), (86400, "1h_1d"), (7 * 86400, "1d_7d"), (30 * 86400, "7d_30d"))
    seen: Counter[str] = Counter()
    whole = rep["parameters"]["from"] is None  # every summary's incident is in the window
    for s in rep["incidents"]["summaries"]:
        if s["outcome"] is not None:
            seen[f"incidents.outcomes.{s['outcome']}"] += 1
        if s["closed"] is not None:
            seen[f"m.{month(s['closed'])}.incidents_closed"] += 1
        if whole and s["severity"] is not None:
            seen[f"incidents.by_severity.{s['severity']}"] += 1
        if whole and s["reported"] is not None:
            seen[f"m.{month(s['reported'])}.incidents_reported"] += 1
        if whole and s["reported"] is not None and s["closed"] is not None:
            took = s["closed"] - s["reported"]
            b = next((name for limit, name in buckets if took < limit), "ge_30d")
            seen[f"incidents.time_to_close.{b}"] += 1
    for name, n in seen.items():
        r.at_least(name, n)


def check(rep: dict[str, Any], truth: dict[str, Any]) -> int:
    """Assert that no suppressed cell is determined; returns how many were checked."""
    r = read(rep)
    true = read(truth)
    assert not true.hidden, "k=1 hides nothing"
    unsafe = set(rep["suppression"]["unprotectable_lines"])
    checked = 0
    for cell in sorted(r.hidden):
        on_unsafe = any(cell in ms or cell in ns for ms, ns in r.eqs if _names(ns) & unsafe)
        if on_unsafe:
            continue
        assert not r.determined(cell, true.fixed[cell]), cell
        checked += 1
    return checked


def _names(cells: list[str]) -> set[str]:
    """Report cell names in the form unprotectable_lines uses (withdrawals spelled out)."""
    return {c.replace("w.", "withdrawals.", 1) if c.startswith("w.") else c for c in cells}


@pytest.fixture
def demo_ledger(demo_dir, ledger_at):
    """The demo's ledger: its file (sqlite), or its export imported into a fresh schema."""
    db = demo_dir("solved") / "ledger.db"
    if ledger_at.backend == "sqlite":
        return db
    return copy_ledger(db, ledger_at("demo"))


def test_the_demo_report_hides_nothing_a_reader_can_solve_for(demo_ledger) -> None:
    rep, _ = replay_report(db=demo_ledger)
    truth, _ = replay_report(db=demo_ledger, k=1)
    # the cells issue 14 found recoverable: a revocation reason beside its total of 1, the
    # severity of the one incident beside its public summary, the one appeal's outcome
    revoked = rep["withdrawals"]["revoked"]["entries"]
    assert revoked["by_reason"]["prohibited_use"]["suppressed"]
    assert revoked["total"]["suppressed"]
    assert all(s["severity"] is None for s in rep["incidents"]["summaries"])
    assert (
        rep["appeals"]["outcomes"]["upheld"]["suppressed"] and rep["appeals"]["filed"]["suppressed"]
    )
    assert rep["suppression"]["unprotectable_lines"] == []
    assert check(rep, truth) == len(read(rep).hidden)  # every hidden cell, none pinned


@pytest.mark.parametrize("n, seed", [(300, 1), (600, 2)])
def test_a_synthetic_report_hides_nothing_a_reader_can_solve_for(ledger_at, n, seed):
    from keys import SigningKey

    log = SigningKey.from_seed(bytes(32))
    db = ledger_at("solve")
    with Ledger.create(db, "solve.example/log", log) as led:
        synthesize(led, n, log_key=log, seed=seed)
        led.checkpoint(log)
    rep, _ = replay_report(db=db)
    truth, _ = replay_report(db=db, k=1)
    assert check(rep, truth) > 20
    page = render_html(rep)
    for line in rep["suppression"]["unprotectable_lines"]:
        assert line in page  # the page says which lines could not be protected
