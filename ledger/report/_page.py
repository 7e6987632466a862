"""The transparency report as one self-contained HTML page. Pure: report dict in, text out.

Inline CSS and inline SVG only: no script, no external URL of any kind, so the page works from
file:// and makes no network request. Headline numbers carry stable ids (``headline-<name>``) and
their report.json value in ``data-value``, so a browser test can compare the two.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = ["render_html"]

_CSS = """
:root { --ink:#1d2430; --muted:#5b6576; --line:#d8dde6; --bar:#3867d6; --bar2:#20bf6b;
  --warn:#eb3b5a; --bg:#f7f8fb; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink);
  background:var(--bg); }
header, main { max-width:1100px; margin:0 auto; padding:16px 24px; }
h1 { font-size:1.6rem; margin:8px 0 4px; } h2 { font-size:1.2rem; margin:28px 0 8px;
  border-bottom:1px solid var(--line); padding-bottom:4px; }
h3 { font-size:1rem; margin:16px 0 6px; }
.muted { color:var(--muted); }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(170px, 1fr)); gap:10px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.card .num { font-size:1.5rem; font-weight:600; }
.card .label { color:var(--muted); font-size:.85rem; }
table { border-collapse:collapse; background:#fff; margin:6px 0 12px; font-size:.9rem; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:right; }
th:first-child, td:first-child { text-align:left; } th { background:#eef1f6; }
.sup { color:var(--muted); font-style:italic; }
.bad { color:var(--warn); font-weight:600; }
svg { background:#fff; border:1px solid var(--line); border-radius:6px; margin:6px 0 12px; }
svg text { font:11px system-ui, sans-serif; fill:var(--muted); }
.summary { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 12px;
  margin:8px 0; } .summary p { margin:4px 0 0; white-space:pre-wrap; }
code { font-size:.85rem; word-break:break-all; }
figure { margin:6px 0 14px; } .chart-title { font-weight:600; font-size:.9rem; margin:0 0 2px; }
.legend { font-size:.8rem; max-width:1040px; }
"""

_HEADLINES = (
    ("size", "Ledger records"),
    ("findings", "Audit findings"),
    ("requests", "Access requests"),
    ("approval_rate", "Approval rate"),
    ("denial_rate", "Denial rate"),
    ("median_decision_latency", "Median decision time"),
    ("appeals", "Appeals filed"),
    ("appeal_rate", "Appeal rate"),
    ("active_licenses", "Active licenses"),
    ("revocations", "Revocations"),
    ("suspensions", "Suspensions"),
    ("incidents", "Incidents reported"),
    ("open_incidents", "Open incidents"),
    ("median_time_to_acknowledge", "Median time to acknowledge"),
    ("provenance_coverage", "Models with dataset attestations"),
    ("terms_notice_not_honoured", "Material terms changes without due notice"),
)
_DURATIONS = {"median_decision_latency", "median_time_to_acknowledge"}
_RATES = {"approval_rate", "denial_rate", "appeal_rate", "provenance_coverage"}
SUPPRESSED = '<span class="sup">suppressed</span>'
# How the page names codes of report.json (any other code: its underscores become spaces).
LABELS = {
    "lt_1h": "under 1 hour",
    "1h_1d": "1 hour to 1 day",
    "1d_7d": "1 to 7 days",
    "7d_30d": "7 to 30 days",
    "ge_30d": "30 days or more",
    "lt_7d": "under 7 days",
    "30d_90d": "30 to 90 days",
    "ge_90d": "90 days or more",
    "not_yet_valid": "not yet valid",
    "needs_information": "needs information",
    "access.decision": "access decision",
    "not_independent": "not independent",
}
# Short bar labels for the duration histograms.
_SHORT = {"lt_1h": "<1h", "1h_1d": "1h–1d", "1d_7d": "1–7d", "7d_30d": "7–30d", "ge_30d": "≥30d"}
RECENT_MONTHS = 24  # months shown on the page; report.json has them all
MAX_SUMMARIES = 50  # incident summaries shown on the page; report.json has them all


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _label_text(code: str) -> str:
    """A code of report.json as people read it."""
    return LABELS.get(code, code.replace("_", " "))


def _label(code: str) -> str:
    """A code of report.json as people read it, HTML-escaped."""
    return _e(_label_text(code))


def _date(t: int | None) -> str:
    if t is None:
        return "—"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return SUPPRESSED
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _withheld(value: Any, show: Any = str) -> str:
    """A field of a public summary, or 'withheld' where it would reveal a suppressed cell."""
    return '<span class="sup">withheld</span>' if value is None else _e(show(value))


def _pct(value: float | None) -> str:
    return SUPPRESSED if value is None else f"{value * 100:.1f}%"


def _count(cell: Any) -> str:
    if isinstance(cell, dict):
        cell = cell.get("count")
    return SUPPRESSED if cell is None else _e(cell)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; cells are HTML already (escape data before)."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    body = ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    if not body:
        body = [f'<tr><td colspan="{len(head)}" class="muted">none</td></tr>']
    return "".join(out + body + ["</tbody></table>"])


def _cells_table(title: str, group: dict[str, Any]) -> str:
    return _table([title, "count"], [[_label(k), _count(v)] for k, v in group.items()])


def _bars(
    series: Sequence[tuple[str, int | None]],
    title: str,
    line: Sequence[float | None] | None = None,
    height: int = 170,
) -> str:
    """Vertical bars (counts) with an optional line (rates in [0, 1]), titled and explained in
    HTML around the SVG (so no title is clipped by the drawing's width)."""
    n = max(1, len(series))
    width = max(360, min(1040, 60 + n * 48))
    top, bottom, left = 12, 36, 40
    plot_h = height - top - bottom
    step = (width - left - 16) / n
    peak = max([v for _, v in series if v is not None] + [1])
    parts = [
        f'<figure><figcaption class="chart-title">{_e(title)}</figcaption>',
        f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        'stroke="#d8dde6"/>',
    ]
    points = []
    suppressed = False
    for i, (label, value) in enumerate(series):
        x = left + i * step
        if value is None:
            suppressed = True
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{top + plot_h - 4}" text-anchor="middle">s</text>'
            )
        else:
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{step * 0.7:.1f}" height="{h:.1f}" fill="#3867d6">'
                f"<title>{_e(label)}: {value}</title></rect>"
            )
        parts.append(
            f'<text x="{x + step / 2:.1f}" y="{height - 18}" '
            f'text-anchor="middle">{_e(label)}</text>'
        )
        if line is not None and line[i] is not None:
            points.append(f"{x + step / 2:.1f},{top + plot_h * (1 - (line[i] or 0)):.1f}")
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#20bf6b" stroke-width="2"/>'
        )
        parts.extend(
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="#20bf6b"/>'
            for p in points
        )
    parts.append("</svg>")
    legend = [f"Blue bars: counts, on a scale from 0 to {peak} (the largest bar)."]
    if points:
        legend.append("Green line and dots: the rate, from 0% (bottom) to 100% (top).")
    if suppressed:
        legend.append("“s”: a suppressed count (below the threshold, or hiding one that is).")
    parts.append(f'<figcaption class="muted legend">{" ".join(legend)}</figcaption></figure>')
    return "".join(parts)


def _distribution(title: str, dist: dict[str, Any]) -> str:
    hist = dist["histogram"]
    order = ["lt_1h", "1h_1d", "1d_7d", "7d_30d", "ge_30d"]
    series = [(_SHORT[k], hist[k]["count"]) for k in order if k in hist]
    stats = (
        f"<p>n = {_count(dist['n'])}; median {_duration(dist['median'])}; "
        f"90th percentile {_duration(dist['p90'])}</p>"
    )
    return f"<h3>{_e(title)}</h3>{stats}{_bars(series, title + ', by duration')}"


def _headline(report: dict[str, Any]) -> str:
    cards = []
    for name, label in _HEADLINES:
        value = report["headline"].get(name)
        if value is None:
            text = SUPPRESSED if name != "size" else "—"
        elif name in _RATES:
            text = _pct(value)
        elif name in _DURATIONS:
            text = _duration(value)
        else:
            text = _e(value)
        hid = "headline-" + name.replace("_", "-")
        raw = _e(json.dumps(value))
        cards.append(
            f'<div class="card"><div class="num" id="{hid}" data-value="{raw}">{text}</div>'
            f'<div class="label">{_e(label)}</div></div>'
        )
    return '<section class="cards">' + "".join(cards) + "</section>"


def _access_rows(rows: dict[str, Any]) -> list[list[str]]:
    return [
        [
            _label(key),
            _count(r["total"]),
            _count(r["approved"]),
            _count(r["denied"]),
            _count(r["needs_information"]),
            _count(r["pending"]),
            _pct(r["approval_rate"]),
            _pct(r["denial_rate"]),
        ]
        for key, r in rows.items()
    ]


_ACCESS_HEAD = ["", "requests", "approved", "denied", "needs info", "pending", "approval", "denial"]


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page showing ``report`` (the report.json content)."""
    h = _intro(report)
    h += _monthly(report["monthly"])
    h += _access(report["access"], report["appeals"], report["licenses"])
    h += _withdrawals(report["withdrawals"])
    h += _incidents(report["incidents"])
    h += _provenance_and_terms(report["provenance"], report["terms"])
    h.append("</main></body></html>\n")
    return "".join(h)


def _intro(report: dict[str, Any]) -> list[str]:
    """The head of the page, the headline numbers and the integrity section."""
    p, integ = report["parameters"], report["integrity"]
    window = f"{_date(p['from']) if p['from'] is not None else 'the first record'} to "
    window += _date(p["to"]) if p["to"] is not None else "the last record"
    h: list[str] = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Ledger transparency report</title>",
        f"<style>{_CSS}</style></head><body><header>",
        "<h1>Ledger transparency report</h1>",
        f'<p class="muted">Window: {_e(window)}; state as of {_e(_date(p["as_of"]))}. '
        f"Counts below {_e(p['k'])} in any breakdown are suppressed, and enough others (a total "
        "too, when nothing else is left) that no suppressed count follows from the published "
        "numbers of its table and the incident summaries. Every number is recomputed by "
        "replaying the public ledger; report.json holds the same numbers.</p>",
        _unprotectable(report["suppression"]),
        "</header><main>",
        _headline(report),
        "<h2>Integrity</h2>",
        _table(
            ["", "value"],
            [
                ["records", _e(integ["size"])],
                ["Merkle root (hex)", f"<code>{_e(integ['root'])}</code>"],
                ["witnesses", _e(", ".join(integ["witnesses"]) or "none")],
                ["audit findings", _e(integ["findings"])],
            ],
        ),
    ]
    h.append(
        '<p class="muted">The Merkle root (hex) is the SHA-256 tree hash (RFC 9162) of the first '
        f"{_e(integ['size'])} records. To check it yourself, replay the ledger: "
        "<code>lic ledger audit --db ledger.db</code>, or an export with "
        "<code>lic ledger audit --jsonl export.jsonl</code>; the audit recomputes every record's "
        "hash and prints the root (hex) at this size, which must equal the one above. The "
        "checkpoint below carries the same root in base64 (its third line, as C2SP signed "
        "notes spell it) and must verify against the log's published key. Replaying with "
        "<code>lic ledger report</code> gives the same report.json, byte for byte.</p>"
    )
    if integ.get("checkpoint"):
        h.append(f"<h3>Latest checkpoint</h3><pre>{_e(integ['checkpoint'])}</pre>")
    if integ["findings_listed"]:
        h.append(
            _table(
                ["record", "finding"],
                [[_e(f["index"]), _e(f["message"])] for f in integ["findings_listed"]],
            )
        )
    return h


def _unprotectable(suppression: dict[str, Any]) -> str:
    """A warning naming the lines whose small counts could not be protected, if any."""
    lines = suppression.get("unprotectable_lines") or []
    if not lines:
        return ""
    return (
        '<p class="bad" id="unprotectable-lines">Some small counts could not be protected: '
        "they may be worked out from the totals of " + _e(", ".join(lines)) + ".</p>"
    )


def _monthly(every: list[dict[str, Any]]) -> list[str]:
    monthly = every[-RECENT_MONTHS:]
    shown = (
        f"The {len(monthly)} most recent of {len(every)} months; report.json lists every month."
        if len(every) > len(monthly)
        else "Every month with a counted event."
    )
    return [
        "<h2>Rates over time</h2>",
        f'<p class="muted">{_e(shown)}</p>',
        _bars(
            [(m["month"], m["decisions"]["count"]) for m in monthly],
            "Access decisions per month; line: approval rate",
            [m["approval_rate"] for m in monthly],
        ),
        _bars(
            [(m["month"], m["incidents_reported"]["count"]) for m in monthly],
            "Incidents reported per month",
        ),
        _table(
            [
                "month",
                "requests",
                "decisions",
                "approval",
                "denial",
                "appeals",
                "grants",
                "revocations",
                "suspensions",
                "incidents",
                "closed",
            ],
            [
                [
                    _e(m["month"]),
                    _count(m["requests"]),
                    _count(m["decisions"]),
                    _pct(m["approval_rate"]),
                    _pct(m["denial_rate"]),
                    _count(m["appeals"]),
                    _count(m["grants"]),
                    _count(m["revocations"]),
                    _count(m["suspensions"]),
                    _count(m["incidents_reported"]),
                    _count(m["incidents_closed"]),
                ]
                for m in monthly
            ],
        ),
    ]


def _access(acc: dict[str, Any], app: dict[str, Any], lic: dict[str, Any]) -> list[str]:
    return [
        "<h2>Access requests and decisions</h2>",
        _table(_ACCESS_HEAD, _access_rows({"all": acc["outcomes"]})),
        "<h3>By tier</h3>",
        _table(_ACCESS_HEAD, _access_rows(acc["by_tier"])),
        "<h3>By region</h3>",
        _table(_ACCESS_HEAD, _access_rows(acc["by_region"])),
        "<h3>Top denial reasons</h3>",
        _table(
            ["reason", "denials"],
            [[_label(r["reason"]), _e(r["count"])] for r in acc["top_denial_reasons"]],
        ),
        f'<p class="muted">{_e(acc["denial_reasons_suppressed"])} reason code(s) suppressed.</p>',
        _distribution("Decision latency", acc["decision_latency"]),
        "<h2>Appeals</h2>",
        f"<p>{_count(app['filed'])} appeals against {_e(app['appealable_entries'])} appealable "
        f"entries (rate {_pct(app['rate'])}).</p>",
        _cells_table("outcome", app["outcomes"]),
        _cells_table("appealed entry", app["by_target"]),
        _cells_table("review", app["review"]),
        _distribution("Time to resolve an appeal", app["time_to_resolve"]),
        "<h2>Licenses</h2>",
        _cells_table("status", lic["status"]),
        _cells_table("active, by tier", lic["active_by_tier"]),
        _cells_table("active, by purpose", lic["active_by_purpose"]),
    ]


def _withdrawals(wd: dict[str, Any]) -> list[str]:
    h = ["<h2>Revocations and suspensions</h2>"]
    for kind in ("revoked", "suspended"):
        section = wd[kind]
        reasons = sorted(
            set(section["entries"]["by_reason"]) | set(section["direct_tokens"]["by_reason"])
        )
        rows = [
            [
                _label(r),
                _count(section["entries"]["by_reason"].get(r)),
                _count(section["direct_tokens"]["by_reason"].get(r)),
                _count(section["cascaded_tokens"]["by_reason"].get(r)),
            ]
            for r in reasons
        ]
        rows.append(
            [
                "<b>total</b>",
                _count(section["entries"]["total"]),
                _count(section["direct_tokens"]["total"]),
                _count(section["cascaded_tokens"]["total"]),
            ]
        )
        h.append(f"<h3>{'Revocations' if kind == 'revoked' else 'Suspensions'}</h3>")
        h.append(_table(["reason", "entries", "tokens named", "tokens via cascade (marked)"], rows))
        h.append(
            f'<p class="muted">{_e(section["cascading_entries"])} entries cascade to '
            "sublicenses.</p>"
        )
    h.append(f'<p class="muted">Reinstatements: {_e(wd["reinstatements"])}.</p>')
    return h


def _incidents(inc: dict[str, Any]) -> list[str]:
    h = [
        "<h2>Incidents</h2>",
        f"<p>{_count(inc['reported'])} reported, {_count(inc['closed'])} closed, "
        f"{_count(inc['open'])} open at the end of the window.</p>",
        _cells_table("severity", inc["by_severity"]),
        _cells_table("harm type", inc["by_harm"]),
        _cells_table("close outcome", inc["outcomes"]),
        _distribution("Time to acknowledge", inc["time_to_acknowledge"]),
        _distribution("Time to mitigate (respond or remediate)", inc["time_to_mitigate"]),
        _distribution("Time to close", inc["time_to_close"]),
        _cells_table("age of open incidents", inc["open_ageing"]),
        "<h3>Public incident summaries</h3>",
    ]
    every = inc["summaries"]
    if len(every) > MAX_SUMMARIES:
        h.append(
            f'<p class="muted">The {MAX_SUMMARIES} most recently closed of {len(every)} '
            "incidents; report.json holds every summary.</p>"
        )
    latest = sorted(every, key=lambda x: (x["closed"] or 0, x["incident"]))[-MAX_SUMMARIES:]
    for s in reversed(latest):
        h.append(
            f'<div class="summary"><b>Incident {_e(s["incident"])}</b> — '
            f"{_withheld(s['severity'], _label_text)}, "
            f"{_withheld(s['outcome'], _label_text)}; reported {_withheld(s['reported'], _date)}, "
            f"closed {_withheld(s['closed'], _date)}"
            f"<p>{_e(s['summary'])}</p></div>"
        )
    if not inc["summaries"]:
        h.append('<p class="muted">none</p>')
    return h


def _provenance_and_terms(prov: dict[str, Any], terms: dict[str, Any]) -> list[str]:
    h = [
        "<h2>Provenance coverage</h2>",
        f"<p>{_e(prov['model_versions'])} model versions, {_e(prov['datasets'])} datasets "
        "attested.</p>",
        "<p>Models signed by their publisher (OMS signature files the ledger verified): "
        f'<span id="signed-models">{_e(prov["signed_models"])}</span>.</p>',
        _table(
            ["model versions with", "yes", "no", "share"],
            [
                [_label(k), _count(v["yes"]), _count(v["no"]), _pct(v["share"])]
                for k, v in prov.items()
                if isinstance(v, dict)
            ],
        ),
        "<h2>Terms</h2>",
    ]
    for doc in terms["documents"]:
        h.append(f"<h3>{_e(doc['id'])}</h3>")
        h.append(
            _table(
                [
                    "version",
                    "change",
                    "published",
                    "effective",
                    "notice given",
                    "required",
                    "honoured",
                    "in force",
                ],
                [
                    [
                        _e(v["version"]),
                        _e(v["change"]),
                        _e(_date(v["published"])),
                        _e(_date(v["effective"])),
                        _duration(max(0, v["notice_given_seconds"])),
                        "—"
                        if v["notice_required_days"] is None
                        else _e(f"{v['notice_required_days']} d"),
                        "—"
                        if v["notice_honoured"] is None
                        else ("yes" if v["notice_honoured"] else '<span class="bad">no</span>'),
                        "yes" if v["in_force"] else "",
                    ]
                    for v in doc["versions"]
                ],
            )
        )
    return h
