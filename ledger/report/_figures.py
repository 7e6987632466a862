"""The transparency report: aggregates computed from a replay of the ledger. Pure; no I/O, no clock.

The replay calls ``ReportBuilder.observe`` for every record that applied without findings (in
index order, right after ``LedgerState.apply``), ``finding`` for every finding, and at the end
``finish(state, integrity)``. The builder keeps only aggregates that do not grow with the number of
records (counters per entry type and per month) and one small flag set per attested subject, in
a table of a private temporary database (ADR 0008); everything per entity (requests,
grants, incidents, ...) is read from the ``LedgerState`` that the replay holds anyway, in key
order, streamed from its tables. SPEC.md section 11 defines every member of the result.
"""

from __future__ import annotations

import marshal
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from keys.errors import MalformedError

from ..entries import APPEAL_OUTCOMES, CLOSE_OUTCOMES, SEVERITIES
from ..state import Finding, LedgerState, open_scratch, scratch_table
from ._disclosure import Disclosure
from ._measures import (
    AGE_BUCKETS,
    DAY,
    DURATION_BUCKETS,
    REPORT_FORMAT,
    bucket,
    headline,
    month_of,
    nearest_rank,
    rate,
)

__all__ = ["ReportBuilder"]

SLSA_PROVENANCE = "https://slsa.dev/provenance/"
OUTCOMES = ("approved", "denied", "needs_information", "pending")
STATUSES = ("active", "suspended", "revoked", "expired", "not_yet_valid")
TOP_REASONS = 10
MAX_FINDINGS_LISTED = 100


@dataclass(slots=True)
class _Subject:
    """What the attestations say about one subject digest (model version or dataset)."""

    model: bool = False
    inputs: set[bytes] = field(default_factory=set)
    consent: bool = False
    sensitive_declared: bool = False
    sensitive_flagged: bool = False
    signed: bool = False  # the subject of a verified OMS signature file: a signed model


def _subject_encode(s: _Subject) -> bytes:
    return marshal.dumps(tuple(getattr(s, f) for f in _Subject.__slots__))  # field order


def _subject_decode(raw: bytes) -> _Subject:
    return _Subject(*marshal.loads(raw))  # noqa: S302 (bytes this process spilled itself)


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
        self._types: Counter[str] = Counter()
        self._decisions_by_month: dict[str, Counter[str]] = {}
        self._scratch = open_scratch()  # a private temporary database (deleted on close)
        self._scratch.execute("BEGIN")
        self._subjects = scratch_table(
            self._scratch, bytes, encode=_subject_encode, decode=_subject_decode
        )
        self._findings = 0
        self._findings_listed: list[Finding] = []

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
        self._types[entry_type] += 1
        if entry_type == "access.decision":
            outcome = payload["decision"]
            outcome = "approved" if outcome == "approved_with_conditions" else outcome
            self._decisions_by_month.setdefault(month_of(time), Counter())[outcome] += 1

    def finding(self, f: Finding) -> None:
        """Count a finding of the replay; the report lists the first ``MAX_FINDINGS_LISTED``."""
        self._findings += 1
        if len(self._findings_listed) < MAX_FINDINGS_LISTED:
            self._findings_listed.append(f)

    def _attest(self, p: dict[str, Any]) -> None:
        model = p["predicate_type"].startswith(SLSA_PROVENANCE)
        inputs = set(_resolved_inputs(p.get("predicate"))) if model else set()
        consent = any(c != "not_declared" for c in p.get("consent_basis", []))
        for subject in p["subjects"]:
            s = self._subjects.setdefault(subject["sha256"], _Subject())
            s.model |= model
            s.inputs |= inputs
            s.consent |= consent
            s.sensitive_declared |= "sensitive" in p
            s.sensitive_flagged |= bool(p.get("sensitive"))
            s.signed |= "oms" in p
            self._subjects[subject["sha256"]] = s  # written back

    # -- the report -------------------------------------------------------------------------
    def finish(self, state: LedgerState, integrity: dict[str, Any]) -> dict[str, Any]:
        """The report.json content (plain JSON values; see SPEC.md section 11)."""
        return _Report(self, state).build(integrity)


class _Report:
    """One finish() computation: registers every count with the disclosure rule, then prints.

    Each section registers its cells and returns a closure that prints it once ``solve`` ran.
    """

    def __init__(self, b: ReportBuilder, state: LedgerState) -> None:
        self.b, self.s = b, state
        self.cutoff = b._cutoff if b._cutoff is not None else max(state.size, b._observed)
        if b.end is not None:
            self.as_of = b.end
        else:
            self.as_of = b._last_time if b._last_time is not None else 0
        self.d = Disclosure(b.k)
        self.months: dict[str, Counter[str]] = {}  # metric -> month -> count

    def inw(self, index: int, time: int) -> bool:
        """In the window: recorded before the cutoff and not before the start."""
        return index < self.cutoff and (self.b.start is None or time >= self.b.start)

    def before_end(self, time: int | None) -> bool:
        return time is not None and (self.b.end is None or time < self.b.end)

    def count_month(self, metric: str, time: int) -> None:
        self.months.setdefault(metric, Counter())[month_of(time)] += 1

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

    def distribution(self, prefix: str, values: list[int]) -> Callable[[], dict[str, Any]]:
        values = sorted(values)
        hist = Counter(bucket(v, DURATION_BUCKETS) for v in values)
        counts = {name: hist[name] for name, _ in DURATION_BUCKETS}
        n_id = self.group(prefix + ".histogram", counts, total=prefix + ".n")

        def out() -> dict[str, Any]:
            shown = len(values) >= self.b.k
            return {
                "n": self.d.out(n_id),
                "median": nearest_rank(values, Fraction(1, 2)) if shown else None,
                "p90": nearest_rank(values, Fraction(9, 10)) if shown else None,
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
        s = self.s
        # request -> (its first decision, its last decision) before the cutoff, as indexes: a
        # bounded map of the state's own, since it grows with the requests decided
        made_at = s.scratch_map(int)
        for di, d in s.decisions.items():
            if di < self.cutoff:
                first_last = made_at.get(d["request"])
                made_at[d["request"]] = (di, di) if first_last is None else (first_last[0], di)
        total: Counter[str] = Counter()
        tables: dict[str, dict[str, Counter[str]]] = {"by_tier": {}, "by_region": {}}
        reasons: Counter[str] = Counter()
        latencies: list[int] = []
        negative = 0
        for ri, r in s.requests.items():
            if not self.inw(ri, r["received"]):
                continue
            self.count_month("requests", r["received"])
            first_last = made_at.get(ri)
            made = [] if first_last is None else [s.decisions[i] for i in first_last]
            outcome = made[-1]["decision"] if made else "pending"
            outcome = "approved" if outcome == "approved_with_conditions" else outcome
            total[outcome] += 1
            tables["by_tier"].setdefault(r["tier"], Counter())[outcome] += 1
            tables["by_region"].setdefault(r["region"], Counter())[outcome] += 1
            if outcome == "denied":
                reasons.update(made[-1]["reasons"])
            if made:
                latency = made[0]["decided_at"] - r["received"]
                if latency < 0:
                    negative += 1
                else:
                    latencies.append(latency)
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
        latency_out = self.distribution("access.decision_latency", latencies)

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
        s = self.s
        outcomes: Counter[str] = Counter()
        targets: Counter[str] = Counter()
        review: Counter[str] = Counter()
        resolve: list[int] = []
        for ai, a in s.appeals.items():
            if not self.inw(ai, a["filed"]):
                continue
            self.count_month("appeals", a["filed"])
            targets[s.types.get(a["target"], "unknown")] += 1
            if "outcome" in a and a["decided_index"] < self.cutoff:
                outcomes[a["outcome"]] += 1
                review["independent" if a["independent"] else "not_independent"] += 1
                resolve.append(max(0, a["decided"] - a["filed"]))
            else:
                outcomes["pending"] += 1
        keys = [*sorted(APPEAL_OUTCOMES), "pending"]
        filed = self.group(
            "appeals.outcomes", {o: outcomes[o] for o in keys}, "appeals.filed", public=True
        )
        tkeys = ("access.decision", "revoke", "suspend")
        self.group("appeals.by_target", {t: targets[t] for t in tkeys}, filed)
        rkeys = ("independent", "not_independent")
        self.group("appeals.review", {t: review[t] for t in rkeys}, "appeals.decided")
        appealable = sum(self.b._types[t] for t in tkeys)
        resolve_out = self.distribution("appeals.time_to_resolve", resolve)

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
        s, t = self.s, self.as_of
        status: Counter[str] = Counter()
        tiers: Counter[str] = Counter()
        purposes: Counter[str] = Counter()
        for g in s.grants.values():  # by digest: only counts come out of this loop
            if g.index >= self.cutoff:
                continue
            if self.inw(g.index, g.time):
                self.count_month("grants", g.time)
            st = s.status_as_of(g.digest, t, self.cutoff).status  # SPEC 14.5, as the audit's
            status[st] += 1
            if st == "active":
                tiers[g.tier] += 1
                req = s.requests.get(g.request) if g.request is not None else None
                purposes[req["purpose"] if req is not None else "unspecified"] += 1
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
        s = self.s
        measures = ("entries", "direct_tokens", "cascaded_tokens")
        tables = {kind: {m: Counter[str]() for m in measures} for kind in ("revoked", "suspended")}
        cascading: Counter[str] = Counter()
        for wi, w in s.withdrawal_info.items():
            if not self.inw(wi, w.time):
                continue
            self.count_month("revocations" if w.kind == "revoked" else "suspensions", w.time)
            direct = s.withdrawals[wi]
            below: set[bytes] = set()
            if w.cascade:
                cascading[w.kind] += 1
                for digest in direct:
                    below.update(s.descendants(digest, self.cutoff))
                below.difference_update(direct)
            table = tables[w.kind]
            table["entries"][w.reason] += 1
            table["direct_tokens"][w.reason] += len(direct)
            table["cascaded_tokens"][w.reason] += len(below)
        for kind, table in tables.items():
            for m, counts in table.items():
                self.group(f"withdrawals.{kind}.{m}", dict(sorted(counts.items())), public=True)

        def out() -> dict[str, Any]:
            result: dict[str, Any] = {"reinstatements": self.b._types["reinstate"]}
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
        s, t = self.s, self.as_of
        severity: Counter[str] = Counter()
        harms: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        times: dict[str, list[int]] = {"acknowledge": [], "mitigate": [], "close": []}
        ages: Counter[str] = Counter()
        summaries = []
        counted: list[bool] = []  # per summary: whether its incident is in the window's reports
        for ii, inc in s.incidents.items():
            if ii >= self.cutoff:
                continue
            closed = inc.closed if self.before_end(inc.closed) else None
            if closed is None:
                ages[bucket(max(0, t - inc.reported), AGE_BUCKETS)] += 1
            elif self.b.start is None or closed >= self.b.start:
                self.count_month("incidents_closed", closed)
                outcomes[inc.outcome or "unknown"] += 1
                summaries.append(
                    {
                        "incident": ii,
                        "reported": inc.reported,
                        "closed": closed,
                        "severity": inc.severity,
                        "outcome": inc.outcome,
                        "summary": inc.summary,
                    }
                )
                counted.append(self.inw(ii, inc.reported))
            if not self.inw(ii, inc.reported):
                continue
            self.count_month("incidents_reported", inc.reported)
            severity[inc.severity] += 1
            harms.update(inc.harms)
            if inc.acked is not None and self.before_end(inc.acked):
                times["acknowledge"].append(max(0, inc.acked - inc.reported))
            acts = [x for x in (inc.responded, inc.remediated) if x is not None]
            acts = [x for x in acts if self.before_end(x)]
            if acts:
                times["mitigate"].append(max(0, min(acts) - inc.reported))
            if closed is not None:
                times["close"].append(max(0, closed - inc.reported))
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
        dists = {
            f"time_to_{name}": self.distribution(f"incidents.time_to_{name}", values)
            for name, values in times.items()
        }

        def out() -> dict[str, Any]:
            result = {
                "reported": self.d.out(reported),
                "by_severity": self.out_group("incidents.by_severity", sev_keys),
                "by_harm": {h: self.d.out(cid) for h, cid in sorted(harm_ids.items())},
                "closed": self.d.out(closed_id),
                "outcomes": self.out_group("incidents.outcomes", out_keys),
                "open": self.d.out(open_id),
                "open_ageing": self.out_group("incidents.open_ageing", age_keys),
                "summaries": [self.withhold(x, c) for x, c in zip(summaries, counted, strict=True)],
            }
            result.update({name: make() for name, make in dists.items()})
            return result

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
        subjects = self.b._subjects
        counts: Counter[str] = Counter()
        models = datasets = signed = 0
        for s in subjects.values():
            signed += s.signed
            if not s.model:
                datasets += not s.signed
                continue
            models += 1
            inputs = (subjects.get(d) for d in sorted(s.inputs))
            linked = [x for x in inputs if x is not None and not (x.model or x.signed)]
            counts["dataset_attestations"] += bool(linked)
            counts["consent_basis_declared"] += s.consent or any(x.consent for x in linked)
            declared = s.sensitive_declared or any(x.sensitive_declared for x in linked)
            counts["sensitive_data_declared"] += declared
            flagged = s.sensitive_flagged or any(x.sensitive_flagged for x in linked)
            counts["sensitive_data_flagged"] += flagged
        keys = (
            "dataset_attestations",
            "consent_basis_declared",
            "sensitive_data_declared",
            "sensitive_data_flagged",
        )
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
        dec = self.b._decisions_by_month
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
        in_force = self.s.terms_in_force(self.as_of)
        by_id: dict[str, list[dict[str, Any]]] = {}  # the report lists every version anyway
        material = honoured = 0
        for v in self.s.terms_versions.values():  # in index order
            if v["index"] < self.cutoff:
                tid = v["id"]
                rows = by_id.setdefault(tid, [])
                given = v["effective"] - v["published"]
                required: int | None = None
                ok: bool | None = None
                if v["change"] == "material":
                    old = self.s.terms_version(tid, v.get("supersedes", ""))
                    if old is not None and old["index"] >= self.cutoff:
                        old = None
                    required = max(v["notice_days"], old["notice_days"] if old else 0)
                    ok = given >= required * DAY
                    material += 1
                    honoured += ok
                live = in_force.get(tid)
                rows.append(
                    {
                        "version": v["version"],
                        "change": v["change"],
                        "published": v["published"],
                        "effective": v["effective"],
                        "sunset": v.get("sunset"),
                        "supersedes": v.get("supersedes"),
                        "notice_days": v["notice_days"],
                        "notice_given_seconds": given,
                        "notice_required_days": required,
                        "notice_honoured": ok,
                        "in_force": live is not None and live["index"] == v["index"],
                        "sha256": v["sha256"].hex(),
                    }
                )
        documents = [{"id": tid, "versions": rows} for tid, rows in sorted(by_id.items())]
        return {
            "documents": documents,
            "material_changes": material,
            "notice_honoured": honoured,
            "notice_not_honoured": material - honoured,
        }
