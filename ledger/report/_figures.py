"""The transparency report: aggregates computed from a replay of the ledger. Pure; no I/O, no clock.

The replay calls ``ReportBuilder.observe`` for every record that applied without findings (in
index order, right after ``LedgerState.apply``), ``finding`` for every finding, and at the end
``finish(state, integrity)``. While the replay runs, the builder records what only the records
know in tables of its own (``_schema``: the attestations' facts per subject, the window's
records per month and type); ``finish`` computes every figure with SQL (``_queries``) over the
state tables the replay filled (ADR 0008) and those tables. No map in memory grows with the
ledger: only the report itself (its cells, months, summaries and terms versions) does.
SPEC.md section 11 defines every member of the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from keys.errors import MalformedError

from ..entries import APPEAL_OUTCOMES, CLOSE_OUTCOMES, SEVERITIES
from ..state import Finding, LedgerState, open_scratch
from . import _queries as q
from ._disclosure import Disclosure
from ._measures import (
    AGE_BUCKETS,
    DAY,
    DURATION_BUCKETS,
    REPORT_FORMAT,
    bucket,
    headline,
    month_of,
    month_span,
    rate,
)
from ._schema import (
    FLOW_ADD,
    INPUT_ADD,
    SUBJECT_ADD,
    create_own_tables,
    drop_finish_objects,
    prepare_finish,
)

if TYPE_CHECKING:
    import sqlite3

__all__ = ["ReportBuilder"]

SLSA_PROVENANCE = "https://slsa.dev/provenance/"
OUTCOMES = ("approved", "denied", "needs_information", "pending")
STATUSES = ("active", "suspended", "revoked", "expired", "not_yet_valid")
TOP_REASONS = 10
MAX_FINDINGS_LISTED = 100


def _resolved_inputs(predicate: Any) -> Iterable[bytes]:
    """SHA-256 digests of the resolvedDependencies of a SLSA v1 provenance predicate."""
    if not isinstance(predicate, dict):
        return
    build = predicate.get("buildDefinition")
    deps = build.get("resolvedDependencies") if isinstance(build, dict) else None
    if not isinstance(deps, list):
        return
    for dep in deps:
        digest = dep.get("digest") if isinstance(dep, dict) else None
        hexed = digest.get("sha256") if isinstance(digest, dict) else None
        if isinstance(hexed, str) and len(hexed) == 64:
            try:
                yield bytes.fromhex(hexed)
            except ValueError:
                continue


class ReportBuilder:
    """Accumulates a transparency report over one streaming replay.

    ``k``: the small-cell threshold. ``start``/``end``: the report window, integer seconds, end
    exclusive; None means unbounded. Records at or after the first record whose integration time
    is >= ``end`` are outside the report ("as of end"), though the replay still checks them.
    """

    def __init__(self, k: int = 5, start: int | None = None, end: int | None = None) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise MalformedError("the small-cell threshold k must be a positive integer")
        if start is not None and end is not None and end <= start:
            raise MalformedError("the report window must end after it starts")
        self.k, self.start, self.end = k, start, end
        self._cutoff: int | None = None  # index of the first record at or after `end`
        self._observed = 0
        self._last_time: int | None = None
        self._own = open_scratch()  # the report's own tables (deleted on close)
        create_own_tables(self._own)
        self._own.execute("BEGIN")
        self._findings = 0
        self._findings_listed: list[Finding] = []
        # the window's records of the current month by (entry type, decision outcome), until
        # a record of another month (or finish) adds them to the table rp_flow
        self._span = (0, 0, "")  # the current month: first second, next month's, YYYY-MM
        self._month_counts: Counter[tuple[str, str]] = Counter()

    # -- streaming --------------------------------------------------------------------------
    def observe(
        self, index: int, time: int, entry_type: str, payload: dict[str, Any], author: bytes
    ) -> None:
        """One record that applied without findings, in index order."""
        if self._cutoff is None and self.end is not None and time >= self.end:
            self._cutoff = index
        if self._cutoff is not None and index >= self._cutoff:
            return
        self._observed += 1
        self._last_time = time if self._last_time is None else max(self._last_time, time)
        if entry_type == "attest":
            self._attest(payload)
        if self.start is not None and time < self.start:
            return
        outcome = ""
        if entry_type == "access.decision":
            outcome = payload["decision"]
            outcome = "approved" if outcome == "approved_with_conditions" else outcome
        if not self._span[0] <= time < self._span[1]:
            self._flush_month()
            self._span = month_span(time)
        self._month_counts[entry_type, outcome] += 1

    def _flush_month(self) -> None:
        month = self._span[2]
        rows = [(month, etype, o, n) for (etype, o), n in self._month_counts.items()]
        self._own.executemany(FLOW_ADD, rows)
        self._month_counts.clear()

    def finding(self, f: Finding) -> None:
        """Count a finding of the replay; the report lists the first ``MAX_FINDINGS_LISTED``."""
        self._findings += 1
        if len(self._findings_listed) < MAX_FINDINGS_LISTED:
            self._findings_listed.append(f)

    def _attest(self, p: dict[str, Any]) -> None:
        model = p["predicate_type"].startswith(SLSA_PROVENANCE)
        inputs = sorted(set(_resolved_inputs(p.get("predicate")))) if model else []
        consent = any(c != "not_declared" for c in p.get("consent_basis", []))
        flags = (model, consent, "sensitive" in p, bool(p.get("sensitive")), "oms" in p)
        for subject in p["subjects"]:
            digest = subject["sha256"]
            self._own.execute(SUBJECT_ADD, (digest, *flags))
            self._own.executemany(INPUT_ADD, [(digest, i) for i in inputs])

    # -- the report -------------------------------------------------------------------------
    def finish(self, state: LedgerState, integrity: dict[str, Any]) -> dict[str, Any]:
        """The report.json content (plain JSON values; see SPEC.md section 11)."""
        self._flush_month()
        prepare_finish(_own_db(state))
        try:
            return _Report(self, state).build(integrity)
        finally:
            drop_finish_objects(_own_db(state))


def _own_db(state: LedgerState) -> sqlite3.Connection:
    """The connection of the replay's state: its private SQLite database (a state made
    without a connection opens one), which the report adds its SQL functions to."""
    return cast("sqlite3.Connection", state.conn)


class _Report:
    """One finish() computation: registers every count with the disclosure rule, then prints.

    Each section registers its cells and returns a closure that prints it once ``solve`` ran.
    """

    def __init__(self, b: ReportBuilder, state: LedgerState) -> None:
        self.b, self.conn = b, _own_db(state)
        self.cutoff = b._cutoff if b._cutoff is not None else max(state.size, b._observed)
        if b.end is not None:
            self.as_of = b.end
        else:
            self.as_of = b._last_time if b._last_time is not None else 0
        self.p: q.Params = {"c": self.cutoff, "s": b.start, "e": b.end, "t": self.as_of}
        self.d = Disclosure(b.k)
        self.months: dict[str, Counter[str]] = {}  # metric -> month -> count
        self.types: Counter[str] = Counter()  # the window's records per entry type
        self.decisions: dict[str, Counter[str]] = {}  # month -> decision outcome -> count
        for month, etype, outcome, n in q.flow_rows(b._own):
            self.types[etype] += n
            if etype == "access.decision":
                self.decisions.setdefault(month, Counter())[outcome] += n

    def count_months(self, metric: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Add (month, count) rows to a metric's months."""
        per = self.months.setdefault(metric, Counter())
        for month, n in rows:
            per[month] += n

    # -- cells -------------------------------------------------------------------------------
    def group(
        self, prefix: str, counts: dict[str, int], total: str | None = None, public: bool = False
    ) -> str:
        """A breakdown whose cells add up to a total; returns the total's cell id."""
        tid = total or f"{prefix}.total"
        self.d.cell(tid, sum(counts.values()), public)
        self.d.line([self.d.cell(f"{prefix}.{key}", n) for key, n in counts.items()], tid)
        return tid

    def out_group(self, prefix: str, keys: Iterable[str]) -> dict[str, Any]:
        return {key: self.d.out(f"{prefix}.{key}") for key in keys}

    def distribution(self, prefix: str) -> Callable[[], dict[str, Any]]:
        """The distribution of the values a query put into ``rp_values`` under ``prefix``."""
        counts, median, p90 = q.distribution(self.conn, prefix, self.b.k)
        n_id = self.group(prefix + ".histogram", counts, total=prefix + ".n")

        def out() -> dict[str, Any]:
            return {
                "n": self.d.out(n_id),
                "median": median,
                "p90": p90,
                "histogram": self.out_group(prefix + ".histogram", counts),
            }

        return out

    # -- the whole report ----------------------------------------------------------------------
    def build(self, integrity: dict[str, Any]) -> dict[str, Any]:
        sections = {
            "access": self.access(),
            "appeals": self.appeals(),
            "licenses": self.licenses(),
            "withdrawals": self.withdrawals(),
            "incidents": self.incidents(),
            "provenance": self.provenance(),
        }
        monthly = self.monthly()  # last: it reuses the totals the sections registered
        self.d.solve()
        report: dict[str, Any] = {name: make() for name, make in sections.items()}
        report["monthly"] = monthly()
        report["terms"] = self.terms()
        report["format"] = REPORT_FORMAT
        report["parameters"] = {
            "k": self.b.k,
            "from": self.b.start,
            "to": self.b.end,
            "as_of": self.as_of,
            "records_in_report": self.b._observed,
        }
        report["suppression"] = {
            "k": self.b.k,
            "suppressed_cells": len(self.d.suppressed),
            "unprotectable_lines": sorted(self.d.unsafe),
        }
        report["integrity"] = self.integrity(integrity)
        report["headline"] = headline(report)
        return report

    def integrity(self, given: dict[str, Any]) -> dict[str, Any]:
        witnesses = given.get("witnesses") or []
        findings = given.get("findings")
        return {
            "size": given.get("size"),
            "root": given.get("root"),
            "checkpoint": given.get("checkpoint"),
            "witnesses": sorted(str(w) for w in witnesses),
            "findings": self.b._findings if findings is None else findings,
            "findings_listed": [
                {"index": f.index, "message": f.message} for f in self.b._findings_listed
            ],
        }

    # -- access requests and decisions ---------------------------------------------------------
    def access(self) -> Callable[[], dict[str, Any]]:
        total: Counter[str] = Counter()
        tables: dict[str, dict[str, Counter[str]]] = {"by_tier": {}, "by_region": {}}
        for tier, region, outcome, n in q.access_outcomes(self.conn, self.p):
            total[outcome] += n
            tables["by_tier"].setdefault(tier, Counter())[outcome] += n
            tables["by_region"].setdefault(region, Counter())[outcome] += n
        self.count_months("requests", q.month_rows(self.conn, "rp_access", "received", "1", {}))
        reasons = q.access_reasons(self.conn)
        negative = q.access_latencies(self.conn, "access.decision_latency")
        # The whole window's outcome counts are suppressed only when small themselves: they
        # carry the headline rates, and the other tables hide cells around them instead.
        for o in OUTCOMES:
            self.d.cell(f"access.outcomes.{o}", total[o], secondary=False)
        grand = self.group(
            "access.outcomes", {o: total[o] for o in OUTCOMES}, "access.requests", public=True
        )
        for name, table in tables.items():
            rows = [
                self.group(f"access.{name}.{key}", {o: table[key][o] for o in OUTCOMES})
                for key in sorted(table)
            ]
            for o in OUTCOMES:
                col = [f"access.{name}.{key}.{o}" for key in sorted(table)]
                self.d.line(col, f"access.outcomes.{o}")
            self.d.line(rows, grand)
        reason_ids = {c: self.d.cell(f"access.denial_reasons.{c}", n) for c, n in reasons.items()}
        latency_out = self.distribution("access.decision_latency")

        def row(prefix: str, total_id: str) -> dict[str, Any]:
            out: dict[str, Any] = self.out_group(prefix, OUTCOMES)
            out["total"] = self.d.out(total_id)
            parts = [self.d.get(f"{prefix}.{o}") for o in OUTCOMES[:3]]
            decided = None if None in parts else sum(p or 0 for p in parts)
            out["decided"] = decided
            out["approval_rate"] = rate(self.d.get(f"{prefix}.approved"), decided)
            out["denial_rate"] = rate(self.d.get(f"{prefix}.denied"), decided)
            return out

        def out() -> dict[str, Any]:
            shown = sorted((-n, c) for c, n in reasons.items() if self.d.get(reason_ids[c]))
            result: dict[str, Any] = {
                "requests": self.d.out(grand),
                "outcomes": row("access.outcomes", grand),
                "top_denial_reasons": [{"reason": c, "count": -n} for n, c in shown[:TOP_REASONS]],
                "denial_reasons_suppressed": sum(
                    1 for cid in reason_ids.values() if self.d.get(cid) is None
                ),
                "decision_latency": {**latency_out(), "negative": negative},
            }
            for name, table in tables.items():
                result[name] = {
                    key: row(f"access.{name}.{key}", f"access.{name}.{key}.total")
                    for key in sorted(table)
                }
            return result

        return out

    # -- appeals -------------------------------------------------------------------------------
    def appeals(self) -> Callable[[], dict[str, Any]]:
        outcomes: Counter[str] = Counter()
        targets: Counter[str] = Counter()
        review: Counter[str] = Counter()
        for target, outcome, reviewed, n in q.appeal_rows(
            self.conn, self.p, "appeals.time_to_resolve"
        ):
            targets[target] += n
            outcomes[outcome] += n
            if reviewed is not None:
                review[reviewed] += n
        self.count_months("appeals", q.window_month_rows(self.conn, "st_appeals", "filed", self.p))
        keys = [*sorted(APPEAL_OUTCOMES), "pending"]
        filed = self.group(
            "appeals.outcomes", {o: outcomes[o] for o in keys}, "appeals.filed", public=True
        )
        tkeys = ("access.decision", "revoke", "suspend")
        self.group("appeals.by_target", {t: targets[t] for t in tkeys}, filed)
        rkeys = ("independent", "not_independent")
        self.group("appeals.review", {t: review[t] for t in rkeys}, "appeals.decided")
        appealable = sum(self.types[t] for t in tkeys)
        resolve_out = self.distribution("appeals.time_to_resolve")

        def out() -> dict[str, Any]:
            return {
                "filed": self.d.out(filed),
                "appealable_entries": appealable,
                "rate": rate(self.d.get(filed), appealable),
                "by_target": self.out_group("appeals.by_target", tkeys),
                "outcomes": self.out_group("appeals.outcomes", keys),
                "review": self.out_group("appeals.review", rkeys),
                "time_to_resolve": resolve_out(),
            }

        return out

    # -- licenses ------------------------------------------------------------------------------
    def licenses(self) -> Callable[[], dict[str, Any]]:
        status: Counter[str] = Counter()
        tiers: Counter[str] = Counter()
        purposes: Counter[str] = Counter()
        for st, tier, purpose, n in q.grant_status_rows(self.conn, self.p):  # SPEC 14.5
            status[st] += n
            if st == "active":
                tiers[tier] += n
                purposes[purpose] += n
        self.count_months("grants", q.window_month_rows(self.conn, "st_grants", "time", self.p))
        granted = self.group(
            "licenses.status", {k: status[k] for k in STATUSES}, "licenses.granted", public=True
        )
        active = "licenses.status.active"
        self.d.public.add(active)
        self.group("licenses.active_by_tier", dict(sorted(tiers.items())), active)
        self.group("licenses.active_by_purpose", dict(sorted(purposes.items())), active)

        def out() -> dict[str, Any]:
            return {
                "granted": self.d.out(granted),
                "status": self.out_group("licenses.status", STATUSES),
                "active_by_tier": self.out_group("licenses.active_by_tier", sorted(tiers)),
                "active_by_purpose": self.out_group("licenses.active_by_purpose", sorted(purposes)),
            }

        return out

    # -- revocations and suspensions -----------------------------------------------------------
    def withdrawals(self) -> Callable[[], dict[str, Any]]:
        measures = ("entries", "direct_tokens", "cascaded_tokens")
        tables = {kind: {m: Counter[str]() for m in measures} for kind in ("revoked", "suspended")}
        cascading: Counter[str] = Counter()
        for kind, reason, entries, direct, below, cascades in q.withdrawal_rows(self.conn, self.p):
            table = tables[kind]
            table["entries"][reason] += entries
            table["direct_tokens"][reason] += direct
            table["cascaded_tokens"][reason] += below
            cascading[kind] += cascades
        for kind, month, n in q.withdrawal_months(self.conn, self.p):
            metric = "revocations" if kind == "revoked" else "suspensions"
            self.count_months(metric, [(month, n)])
        for kind, table in tables.items():
            for m, counts in table.items():
                self.group(f"withdrawals.{kind}.{m}", dict(sorted(counts.items())), public=True)

        def out() -> dict[str, Any]:
            result: dict[str, Any] = {"reinstatements": self.types["reinstate"]}
            for kind, table in tables.items():
                section: dict[str, Any] = {"cascading_entries": cascading[kind]}
                for m, counts in table.items():
                    section[m] = {
                        "by_reason": self.out_group(f"withdrawals.{kind}.{m}", sorted(counts)),
                        "total": self.d.out(f"withdrawals.{kind}.{m}.total"),
                    }
                result[kind] = section
            return result

        return out

    # -- incidents -----------------------------------------------------------------------------
    def incidents(self) -> Callable[[], dict[str, Any]]:
        c, p = self.conn, self.p
        ages = Counter({str(name): int(n) for name, n in q.open_incident_ages(c, p)})
        summaries = []
        counted: list[bool] = []  # per summary: whether its incident is in the window's reports
        for ii, reported, closed, sev, outcome, summary, inw in q.incident_summaries(c, p):
            summaries.append(
                {
                    "incident": ii,
                    "reported": reported,
                    "closed": closed,
                    "severity": sev,
                    "outcome": outcome,
                    "summary": summary,
                }
            )
            counted.append(bool(inw))
        names = ("acknowledge", "mitigate", "close")
        dist_names = {name: f"incidents.time_to_{name}" for name in names}
        closed_months, outcome_rows, severity_rows, harm_rows = q.incident_reported_rows(
            c, p, dist_names
        )
        self.count_months("incidents_closed", closed_months)
        self.count_months(
            "incidents_reported", q.window_month_rows(c, "st_incidents", "reported", p)
        )
        outcomes = Counter({str(o): int(n) for o, n in outcome_rows})
        severity = Counter({str(x): int(n) for x, n in severity_rows})
        harms = Counter({str(h): int(n) for h, n in harm_rows})
        sev_keys = ("low", "medium", "high", "critical")
        assert set(sev_keys) == SEVERITIES
        reported = self.group(
            "incidents.by_severity",
            {k: severity[k] for k in sev_keys},
            "incidents.reported",
            public=True,
        )
        harm_ids = {h: self.d.cell(f"incidents.by_harm.{h}", n) for h, n in harms.items()}
        out_keys = sorted(CLOSE_OUTCOMES | set(outcomes))
        closed_id = self.group(
            "incidents.outcomes",
            {k: outcomes[k] for k in out_keys},
            "incidents.closed",
            public=True,
        )
        age_keys = [k for k, _ in AGE_BUCKETS]
        open_id = self.group(
            "incidents.open_ageing", {k: ages[k] for k in age_keys}, "incidents.open", public=True
        )
        dists = {f"time_to_{name}": self.distribution(dist_names[name]) for name in names}

        def out() -> dict[str, Any]:
            result = {
                "reported": self.d.out(reported),
                "by_severity": self.out_group("incidents.by_severity", sev_keys),
                "by_harm": {h: self.d.out(cid) for h, cid in sorted(harm_ids.items())},
                "closed": self.d.out(closed_id),
                "outcomes": self.out_group("incidents.outcomes", out_keys),
                "open": self.d.out(open_id),
                "open_ageing": self.out_group("incidents.open_ageing", age_keys),
                "summaries": self.withhold_all(summaries, counted),
            }
            result.update({name: make() for name, make in dists.items()})
            return result

        return out

    def withhold_all(
        self, summaries: list[dict[str, Any]], counted: list[bool]
    ) -> list[dict[str, Any]]:
        """``withhold`` of every summary, in order, emptying the lists as it goes (the report
        holds one copy of its largest part, not two)."""
        summaries.reverse()
        counted.reverse()
        out = []
        while summaries:
            out.append(self.withhold(summaries.pop(), counted.pop()))
        return out

    def withhold(self, summary: dict[str, Any], counted: bool) -> dict[str, Any]:
        """A public incident summary without the fields that would place its incident in a
        suppressed cell (they become null): its severity, its outcome, the month it was
        reported or closed in, and (with both times shown) its time to close. What is withheld
        then only adds up to the suppressed cells' sum, which their lines publish anyway."""
        out, d = dict(summary), self.d
        if counted and d.get(f"incidents.by_severity.{summary['severity']}") is None:
            out["severity"] = None
        if d.get(f"incidents.outcomes.{summary['outcome'] or 'unknown'}") is None:
            out["outcome"] = None
        if counted and d.get(f"monthly.{month_of(summary['reported'])}.incidents_reported") is None:
            out["reported"] = None
        if d.get(f"monthly.{month_of(summary['closed'])}.incidents_closed") is None:
            out["closed"] = None
        took = bucket(max(0, summary["closed"] - summary["reported"]), DURATION_BUCKETS)
        hidden = d.get(f"incidents.time_to_close.histogram.{took}") is None
        if counted and hidden and out["reported"] is not None:
            out["closed"] = None
        return out

    # -- provenance ----------------------------------------------------------------------------
    def provenance(self) -> Callable[[], dict[str, Any]]:
        datasets, models, *yes, signed = q.provenance_counts(self.b._own)
        keys = (
            "dataset_attestations",
            "consent_basis_declared",
            "sensitive_data_declared",
            "sensitive_data_flagged",
        )
        counts = dict(zip(keys, yes, strict=True))
        self.d.cell("provenance.model_versions", models, public=True)
        for key in keys:
            self.group(
                f"provenance.{key}",
                {"yes": counts[key], "no": models - counts[key]},
                "provenance.model_versions",
            )

        def out() -> dict[str, Any]:
            result: dict[str, Any] = {"model_versions": models, "datasets": datasets}
            result["signed_models"] = signed
            for key in keys:
                result[key] = {
                    **self.out_group(f"provenance.{key}", ("yes", "no")),
                    "share": rate(self.d.get(f"provenance.{key}.yes"), models),
                }
            return result

        return out

    # -- rates over time -----------------------------------------------------------------------
    def monthly(self) -> Callable[[], list[dict[str, Any]]]:
        dec = self.decisions
        months = sorted(set(dec).union(*self.months.values()))
        totals = {
            "requests": "access.requests",
            "appeals": "appeals.filed",
            "grants": "monthly.grants.total",
            "revocations": "withdrawals.revoked.entries.total",
            "suspensions": "withdrawals.suspended.entries.total",
            "incidents_reported": "incidents.reported",
            "incidents_closed": "incidents.closed",
        }
        self.d.cell("monthly.grants.total", sum(self.months.get("grants", {}).values()), True)
        for metric, total in totals.items():
            per = self.months.get(metric, Counter())
            ids = [self.d.cell(f"monthly.{m}.{metric}", per[m]) for m in months]
            self.d.line(ids, total)
        outs = OUTCOMES[:3]
        rows = [
            self.group(f"monthly.{m}.decisions", {o: dec.get(m, Counter())[o] for o in outs})
            for m in months
        ]
        for o in outs:
            col_total = self.d.cell(
                f"monthly.decisions.{o}", sum(c[o] for c in dec.values()), public=True
            )
            self.d.line([f"monthly.{m}.decisions.{o}" for m in months], col_total)
        all_decisions = sum(sum(c.values()) for c in dec.values())
        self.d.line(rows, self.d.cell("monthly.decisions", all_decisions, public=True))

        def out() -> list[dict[str, Any]]:
            result = []
            for m in months:
                row: dict[str, Any] = {"month": m}
                for metric in totals:
                    row[metric] = self.d.out(f"monthly.{m}.{metric}")
                row["decisions"] = self.d.out(f"monthly.{m}.decisions.total")
                for o in outs:
                    row[o] = self.d.out(f"monthly.{m}.decisions.{o}")
                decided = self.d.get(f"monthly.{m}.decisions.total")
                row["approval_rate"] = rate(self.d.get(f"monthly.{m}.decisions.approved"), decided)
                row["denial_rate"] = rate(self.d.get(f"monthly.{m}.decisions.denied"), decided)
                result.append(row)
            return result

        return out

    # -- terms ---------------------------------------------------------------------------------
    def terms(self) -> dict[str, Any]:
        by_id: dict[str, list[dict[str, Any]]] = {}  # the report lists every version anyway
        material = honoured = 0
        for row in q.terms_rows(self.conn, self.p):  # by id, then in index order
            _, tid, version, change, published, effective, sunset, supersedes = row[:8]
            notice_days, sha256, old_notice, in_force = row[8:]
            given = effective - published
            required: int | None = None
            ok: bool | None = None
            if change == "material":
                required = max(notice_days, old_notice if old_notice is not None else 0)
                ok = given >= required * DAY
                material += 1
                honoured += ok
            by_id.setdefault(tid, []).append(
                {
                    "version": version,
                    "change": change,
                    "published": published,
                    "effective": effective,
                    "sunset": sunset,
                    "supersedes": supersedes,
                    "notice_days": notice_days,
                    "notice_given_seconds": given,
                    "notice_required_days": required,
                    "notice_honoured": ok,
                    "in_force": bool(in_force),
                    "sha256": bytes(sha256).hex(),
                }
            )
        documents = [{"id": tid, "versions": rows} for tid, rows in sorted(by_id.items())]
        return {
            "documents": documents,
            "material_changes": material,
            "notice_honoured": honoured,
            "notice_not_honoured": material - honoured,
        }
