"""Transparency report metrics on a hand-built ledger: every expected number is worked out by hand
from tests/helpers/report_scenario.py's scenario() (see the comments), never by running the code
twice."""

import pytest

from helpers.report_scenario import DAY, FEB, MAR, T0, scenario
from keys.errors import MalformedError
from ledger.report import ReportBuilder
from ledger.report._measures import month_of, nearest_rank, rate
from ledger.state import Finding


def c(n):
    """A published cell as the report prints it."""
    return {"count": n, "suppressed": False}


@pytest.fixture(scope="module")
def report():
    return scenario().finish()  # k=1: nothing suppressed


def test_parameters_and_integrity(report):
    assert report["parameters"] == {
        "k": 1,
        "from": None,
        "to": None,
        "as_of": MAR + 200,  # the last record's time
        # 4 keys + 4 terms + 5 requests + 5 decisions + 3 appeal entries + 3 attestations
        # + 7 grants + 2 withdrawals + 10 incident entries
        "records_in_report": 43,
    }
    integ = report["integrity"]
    assert integ["witnesses"] == ["w1.example", "w2.example"]  # sorted
    assert (integ["size"], integ["findings"], integ["findings_listed"]) == (43, 0, [])


def test_access_outcomes_rates_and_breakdowns(report):
    acc = report["access"]
    # r1 approved; r2 needs_information then approved_with_conditions (latest counts: approved);
    # r3, r4 denied; r5 never decided.
    out = acc["outcomes"]
    assert [out[k] for k in ("approved", "denied", "needs_information", "pending", "total")] == [
        c(2),
        c(2),
        c(0),
        c(1),
        c(5),
    ]
    assert (out["decided"], out["approval_rate"], out["denial_rate"]) == (4, 0.5, 0.5)
    tier = acc["by_tier"]
    assert sorted(tier) == ["academic", "enterprise", "sme"]
    assert (tier["academic"]["approved"], tier["academic"]["approval_rate"]) == (c(2), 1.0)
    assert (tier["enterprise"]["denied"], tier["enterprise"]["denial_rate"]) == (c(2), 1.0)
    assert (tier["sme"]["pending"], tier["sme"]["decided"], tier["sme"]["approval_rate"]) == (
        c(1),
        0,
        None,  # nothing decided: no rate, not 0 and not NaN
    )
    region = acc["by_region"]
    assert sorted(region) == ["DE", "FR", "US"]
    de = region["DE"]  # r1 approved, r3 denied, r5 pending
    assert (de["total"], de["decided"], de["approval_rate"], de["denial_rate"]) == (
        c(3),
        2,
        0.5,
        0.5,
    )
    assert region["FR"]["approved"] == c(1) and region["US"]["denied"] == c(1)
    assert acc["top_denial_reasons"] == [
        {"reason": "tier_mismatch", "count": 2},
        {"reason": "incomplete", "count": 1},
    ]
    assert acc["denial_reasons_suppressed"] == 0


def test_decision_latency(report):
    # First decision minus request time: r1 3600, r2 7200 (its first decision), r3 600, r4 2 days.
    lat = report["access"]["decision_latency"]
    # sorted [600, 3600, 7200, 172800]: nearest rank ceil(.5*4)=2 -> 3600; ceil(.9*4)=4 -> 172800
    assert (lat["n"], lat["median"], lat["p90"], lat["negative"]) == (c(4), 3600, 172800, 0)
    hist = {k: v["count"] for k, v in lat["histogram"].items()}
    assert hist == {"lt_1h": 1, "1h_1d": 2, "1d_7d": 1, "7d_30d": 0, "ge_30d": 0}


def test_appeals(report):
    app = report["appeals"]
    # Appealable entries: 5 decisions + 1 revocation + 1 suspension; 2 appeals -> 2/7.
    assert (app["filed"], app["appealable_entries"], app["rate"]) == (c(2), 7, 0.2857)
    assert {k: v["count"] for k, v in app["outcomes"].items()} == {
        "modified": 0,
        "overturned": 1,
        "pending": 1,
        "upheld": 0,
    }
    assert app["by_target"]["access.decision"] == c(2)
    assert app["review"] == {"independent": c(1), "not_independent": c(0)}
    res = app["time_to_resolve"]  # filed at T0+8000, decided at T0+94400
    assert (res["n"], res["median"], res["p90"]) == (c(1), 86400, 86400)


def test_licenses_by_status_tier_and_purpose(report):
    lic = report["licenses"]
    # ROOT revoked; CHILD and GRAND revoked by cascade; G4 suspended; G5 expired; G6, G7 active.
    assert {k: v["count"] for k, v in lic["status"].items()} == {
        "active": 2,
        "suspended": 1,
        "revoked": 3,
        "expired": 1,
        "not_yet_valid": 0,
    }
    assert lic["granted"] == c(7)
    assert lic["active_by_tier"] == {"academic": c(1), "nonprofit": c(1)}
    # G6 answers r5 (education), G7 answers r1 (research).
    assert lic["active_by_purpose"] == {"education": c(1), "research": c(1)}


def test_withdrawals_mark_cascade(report):
    wd = report["withdrawals"]
    rev = wd["revoked"]
    assert rev["entries"]["by_reason"] == {"prohibited_use": c(1)}
    assert rev["direct_tokens"]["total"] == c(1)
    assert rev["cascaded_tokens"]["by_reason"] == {"prohibited_use": c(2)}  # CHILD and GRAND
    assert rev["cascading_entries"] == 1
    sus = wd["suspended"]
    assert sus["entries"]["by_reason"] == {"duty_breach": c(1)}
    assert (sus["cascaded_tokens"]["total"], sus["cascading_entries"]) == (c(0), 0)
    assert wd["reinstatements"] == 0


def test_incidents(report):
    inc = report["incidents"]
    assert inc["reported"] == c(3)
    # Severity as last updated: i3 went from critical to medium.
    assert {k: v["count"] for k, v in inc["by_severity"].items()} == {
        "low": 1,
        "medium": 1,
        "high": 1,
        "critical": 0,
    }
    assert inc["by_harm"] == {"discrimination": c(1), "privacy": c(2), "security": c(1)}
    ack = inc["time_to_acknowledge"]  # i1 1800 s, i2 2 days
    assert (ack["median"], ack["p90"], ack["n"]) == (1800, 2 * DAY, c(2))
    mit = inc["time_to_mitigate"]  # i1: remediated 3600 s before responding at 7200 s
    assert (mit["median"], mit["n"]) == (3600, c(1))
    close = inc["time_to_close"]  # i1 3 days, i3 28 days
    assert (close["median"], close["p90"]) == (3 * DAY, 28 * DAY)
    assert inc["closed"] == c(2)
    assert inc["outcomes"]["remediated"] == c(1) and inc["outcomes"]["unsubstantiated"] == c(1)
    # i2 is open: reported FEB+100, as of MAR+200 -> 28 days and 100 s old.
    assert inc["open"] == c(1)
    assert {k: v["count"] for k, v in inc["open_ageing"].items()} == {
        "lt_7d": 0,
        "7d_30d": 1,
        "30d_90d": 0,
        "ge_90d": 0,
    }
    assert [(s["incident"], s["outcome"], s["summary"]) for s in inc["summaries"]] == [
        (15, "remediated", "License revoked."),
        (35, "unsubstantiated", "Not reproducible."),
    ]
    assert inc["summaries"][0]["closed"] == T0 + 269200


def test_provenance(report):
    prov = report["provenance"]
    # M1 (SLSA) names DS1 (consent, health flagged); M2 has no inputs, not_declared, sensitive=[].
    assert (prov["model_versions"], prov["datasets"]) == (2, 1)
    assert prov["dataset_attestations"] == {"yes": c(1), "no": c(1), "share": 0.5}
    assert prov["consent_basis_declared"]["share"] == 0.5
    assert prov["sensitive_data_declared"] == {"yes": c(2), "no": c(0), "share": 1.0}
    assert prov["sensitive_data_flagged"]["share"] == 0.5


def test_terms_and_notice(report):
    (doc,) = report["terms"]["documents"]
    rows = {v["version"]: v for v in doc["versions"]}
    assert list(rows) == ["1.0", "2.0", "2.1", "3.0"]
    # 2.0: material, given 31 days; required max(own 14, superseded 1.0's 30) = 30 -> honoured.
    assert (rows["2.0"]["notice_required_days"], rows["2.0"]["notice_honoured"]) == (30, True)
    assert rows["2.0"]["notice_given_seconds"] == 31 * DAY
    # 3.0: material, given 45 days; required max(60, 2.1's 0) = 60 -> not honoured.
    assert (rows["3.0"]["notice_required_days"], rows["3.0"]["notice_honoured"]) == (60, False)
    assert rows["2.1"]["notice_honoured"] is None and rows["1.0"]["notice_honoured"] is None
    # As of MAR+200: 2.1 (effective FEB+9d) is in force; 3.0 is not effective yet.
    assert [v for v in rows if rows[v]["in_force"]] == ["2.1"]
    t = report["terms"]
    assert (t["material_changes"], t["notice_honoured"], t["notice_not_honoured"]) == (2, 1, 1)


def test_monthly(report):
    months = {m["month"]: m for m in report["monthly"]}
    assert list(months) == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = months.values()
    # Jan decision records: approved, denied, needs_information, approved_with_conditions.
    assert (jan["decisions"], jan["approved"], jan["needs_information"]) == (c(4), c(2), c(1))
    assert (jan["approval_rate"], jan["denial_rate"]) == (0.5, 0.25)
    assert (jan["requests"], jan["grants"], jan["appeals"], jan["incidents_closed"]) == (
        c(5),
        c(7),
        c(1),
        c(1),
    )
    assert (feb["decisions"], feb["approval_rate"], feb["denial_rate"]) == (c(1), 0.0, 1.0)
    assert (feb["incidents_reported"], feb["suspensions"], feb["requests"]) == (c(2), c(1), c(0))
    assert (mar["revocations"], mar["incidents_closed"], mar["approval_rate"]) == (c(1), c(1), None)


def test_headline(report):
    h = report["headline"]
    assert (h["size"], h["requests"], h["approval_rate"], h["open_incidents"]) == (43, 5, 0.5, 1)
    assert (h["active_licenses"], h["revocations"], h["median_decision_latency"]) == (2, 1, 3600)
    assert (h["provenance_coverage"], h["terms_notice_not_honoured"]) == (0.5, 1)


def test_window_end_reports_as_of_end():
    """With end=FEB the February and March records are outside the report."""
    rep = scenario(ReportBuilder(k=1, end=FEB)).finish()
    assert rep["parameters"]["as_of"] == FEB
    out = rep["access"]["outcomes"]  # r4's denial was recorded in February: pending as of FEB
    assert (out["approved"], out["denied"], out["pending"]) == (c(2), c(1), c(2))
    status = {k: v["count"] for k, v in rep["licenses"]["status"].items()}
    assert status == {"active": 6, "suspended": 0, "revoked": 0, "expired": 1, "not_yet_valid": 0}
    assert rep["appeals"]["filed"] == c(1) and rep["appeals"]["appealable_entries"] == 4
    inc = rep["incidents"]
    assert (inc["reported"], inc["open"], inc["closed"]) == (c(1), c(0), c(1))
    rows = {v["version"]: v for v in rep["terms"]["documents"][0]["versions"]}
    assert list(rows) == ["1.0", "2.0"] and rows["1.0"]["in_force"]
    assert [m["month"] for m in rep["monthly"]] == ["2026-01"]


def test_window_start_counts_flows_from_start_only():
    rep = scenario(ReportBuilder(k=1, start=FEB)).finish()
    assert rep["access"]["requests"] == c(0)  # all requests came in January
    assert rep["appeals"]["filed"] == c(1)  # a2
    assert rep["incidents"]["reported"] == c(2)  # i2, i3
    assert rep["incidents"]["closed"] == c(1)  # i3 closed in March; i1 in January
    assert rep["licenses"]["status"]["active"] == c(2)  # a stock: as of the end, whatever the start
    assert [m["month"] for m in rep["monthly"]] == ["2026-02", "2026-03"]


def test_reinstatement_after_end_does_not_leak_into_as_of():
    from helpers.report_scenario import G4, ISSUER

    r = scenario(ReportBuilder(k=1, end=MAR + 500))
    r.add("reinstate", ISSUER, MAR + 600, tokens=[G4], effective=MAR + 600, cascade=True)
    rep = r.finish()
    assert rep["licenses"]["status"]["suspended"] == c(1)  # the reinstatement is after `end`
    full = scenario()
    full.add("reinstate", ISSUER, MAR + 600, tokens=[G4], effective=MAR + 600, cascade=True)
    status = full.finish()["licenses"]["status"]
    assert (status["suspended"], status["active"]) == (c(0), c(3))


def test_findings_are_counted_and_listed():
    b = ReportBuilder()
    for i in range(150):
        b.finding(Finding(i, "bad"))
    rep = scenario(b).finish()
    assert rep["integrity"]["findings"] == 0  # the audit's count is taken as given
    assert len(rep["integrity"]["findings_listed"]) == 100
    assert rep["integrity"]["findings_listed"][0] == {"index": 0, "message": "bad"}


def test_helpers():
    assert (
        month_of(T0) == "2026-01" and month_of(FEB - 1) == "2026-01" and month_of(FEB) == "2026-02"
    )
    assert rate(1, 3) == 0.3333 and rate(2, 3) == 0.6667 and rate(1, 0) is None
    assert rate(None, 3) is None and rate(1, None) is None
    assert rate(1, 80000) == 0.0 and rate(5, 100000) == 0.0000  # half-even at the 5th decimal
    assert rate(15, 100000) == 0.0002  # 0.00015 -> 0.0002 (exact rational, half to even)
    from fractions import Fraction

    assert nearest_rank([1, 2, 3, 4, 5], Fraction(1, 2)) == 3
    assert nearest_rank([1, 2, 3, 4], Fraction(1, 2)) == 2
    assert nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Fraction(9, 10)) == 9
    assert nearest_rank([7], Fraction(9, 10)) == 7


@pytest.mark.parametrize(
    ("k", "start", "end"), [(0, None, None), (True, None, None), (5, 10, 10), (5, 10, 5)]
)
def test_bad_parameters(k, start, end):
    with pytest.raises(MalformedError):
        ReportBuilder(k=k, start=start, end=end)
