"""The report's figures as SQL over the state tables (ADR 0008) and the report's own tables.
Knows a ``sqlite3`` connection and nothing of the store.

Every query takes the window as named parameters: ``:c`` the cutoff (records at or after it
are outside the report), ``:s`` and ``:e`` the window's start and end (NULL when absent),
``:t`` the as-of time. Each returns small aggregates (rows per month, tier, reason, ...), never
a row per entity, except the lists the report prints in full (incident summaries, terms
versions), which it streams. Durations for distributions go to the temporary table
``rp_values`` (see ``_schema``), where ``distribution`` reads their counts and quantiles.
SPEC.md section 11 defines every figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ._measures import AGE_BUCKETS, DURATION_BUCKETS, nearest_rank_position

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "access_latencies",
    "access_outcomes",
    "access_reasons",
    "appeal_rows",
    "distribution",
    "flow_rows",
    "grant_status_rows",
    "incident_reported_rows",
    "incident_summaries",
    "month_rows",
    "open_incident_ages",
    "provenance_counts",
    "terms_rows",
    "window_month_rows",
    "withdrawal_months",
    "withdrawal_rows",
]

Params = dict[str, int | None]
Rows = list[tuple[Any, ...]]


def _inw(idx: str, time: str) -> str:
    """SQL: in the window (recorded before the cutoff, not before the start)."""
    return f"({idx} < :c AND (:s IS NULL OR {time} >= :s))"


def _before_end(x: str) -> str:
    """SQL: a time that is set and before the window's end."""
    return f"({x} IS NOT NULL AND (:e IS NULL OR {x} < :e))"


def _bucket(x: str, buckets: tuple[tuple[str, int | None], ...]) -> str:
    """SQL: the name of the first bucket whose (exclusive) upper bound is above ``x``."""
    arms = " ".join(f"WHEN {x} < {upper} THEN '{name}'" for name, upper in buckets if upper)
    return f"CASE {arms} ELSE '{buckets[-1][0]}' END"


def month_rows(conn: sqlite3.Connection, table: str, time: str, where: str, p: Params) -> Rows:
    """(month, count) of the rows of ``table`` that ``where`` selects, by ``time``'s month."""
    sql = f"SELECT rp_month({time}), count(*) FROM {table} WHERE {where} GROUP BY 1"  # noqa: S608
    return conn.execute(sql, p).fetchall()


def window_month_rows(conn: sqlite3.Connection, table: str, time: str, p: Params) -> Rows:
    """(month, count) of the rows of ``table`` (keyed by record index ``idx``) in the window,
    by ``time``'s month."""
    return month_rows(conn, table, time, _inw("idx", time), p)


# -- access requests and decisions -------------------------------------------------------------
_ACCESS = f"""
CREATE TEMP TABLE rp_access AS
WITH made AS (
    SELECT request, min(idx) AS first, max(idx) AS last
    FROM st_decisions WHERE idx < :c GROUP BY request)
SELECT q.idx AS idx, q.received AS received, q.tier AS tier, q.region AS region,
    made.first AS first, made.last AS last
FROM st_requests q LEFT JOIN made ON made.request = q.idx
WHERE {_inw("q.idx", "q.received")}
"""  # noqa: S608 (the module's own SQL, no outside input)


def access_outcomes(conn: sqlite3.Connection, p: Params) -> Rows:
    """Creates ``rp_access`` (the window's requests with their first and last decision
    before the cutoff); returns (tier, region, outcome, count)."""
    conn.execute("DROP TABLE IF EXISTS temp.rp_access")
    conn.execute(_ACCESS, p)
    return conn.execute(
        "SELECT a.tier, a.region, CASE WHEN a.last IS NULL THEN 'pending' "
        "WHEN d.decision = 'approved_with_conditions' THEN 'approved' ELSE d.decision END, "
        "count(*) FROM rp_access a LEFT JOIN st_decisions d ON d.idx = a.last GROUP BY 1, 2, 3"
    ).fetchall()


def access_reasons(conn: sqlite3.Connection) -> Counter[str]:
    """Per reason code, the denied requests whose last decision names it."""
    rows = conn.execute(
        "SELECT j.value, count(*) FROM rp_access a JOIN st_decisions d ON d.idx = a.last, "
        "json_each(d.reasons) j WHERE d.decision = 'denied' GROUP BY 1"
    )
    return Counter({str(code): int(n) for code, n in rows})


def access_latencies(conn: sqlite3.Connection, dist: str) -> int:
    """Puts each decided request's latency (its first decision's ``decided_at`` minus its
    record time) into ``rp_values`` as ``dist``; returns how many were negative (left out)."""
    conn.execute(
        "INSERT INTO rp_values (dist, v) SELECT CASE WHEN v < 0 THEN '-' ELSE ? END, v FROM "
        "(SELECT d.decided_at - a.received AS v "
        "FROM rp_access a JOIN st_decisions d ON d.idx = a.first)",
        (dist,),
    )
    n: int = conn.execute("SELECT count(*) FROM rp_values WHERE dist = '-'").fetchone()[0]
    conn.execute("DELETE FROM rp_values WHERE dist = '-'")
    conn.execute("DROP TABLE temp.rp_access")
    return n


# -- appeals -----------------------------------------------------------------------------------
# The entry type of an appeal's target (an access decision, a revoke or a suspend: the state
# checked it), from the table that holds it.
_TARGET_TYPE = (
    "CASE WHEN EXISTS (SELECT 1 FROM st_decisions d WHERE d.idx = a.target) "
    "THEN 'access.decision' ELSE coalesce((SELECT CASE w.kind WHEN 'revoked' THEN 'revoke' "
    "ELSE 'suspend' END FROM st_withdrawals w WHERE w.idx = a.target), 'unknown') END"
)


def appeal_rows(conn: sqlite3.Connection, p: Params, dist: str) -> Rows:
    """(target type, outcome, review, count) over the window's appeals; puts the decided
    ones' times to resolve into ``rp_values`` as ``dist``."""
    decided = "(a.outcome IS NOT NULL AND a.decided_index < :c)"
    inw = _inw("a.idx", "a.filed")
    conn.execute(
        f"INSERT INTO rp_values (dist, v) SELECT :dist, max(0, a.decided - a.filed) "  # noqa: S608
        f"FROM st_appeals a WHERE {inw} AND {decided}",
        {**p, "dist": dist},
    )
    return conn.execute(
        f"SELECT {_TARGET_TYPE}, CASE WHEN {decided} THEN a.outcome "  # noqa: S608
        f"ELSE 'pending' END, CASE WHEN NOT {decided} THEN NULL WHEN a.independent "
        "THEN 'independent' ELSE 'not_independent' END, count(*) "
        f"FROM st_appeals a WHERE {inw} "
        "GROUP BY 1, 2, 3",
        p,
    ).fetchall()


# -- licenses ----------------------------------------------------------------------------------
# A token's status at :t as the ledger stood before :c (SPEC 14.5, as LedgerState.status_as_of):
# the nearest generation (itself, then its ancestors' cascading withdrawals) with a withdrawal
# live then decides (revoked before suspended); else its validity window.
_STATUS = """
WITH RECURSIVE chain(digest, node, depth) AS (
    SELECT digest, digest, 0 FROM st_grants WHERE idx < :c
    UNION ALL
    SELECT chain.digest, g.parent, chain.depth + 1
    FROM chain JOIN st_grants g ON g.digest = chain.node WHERE g.parent IS NOT NULL),
hits AS (
    SELECT chain.digest AS digest, chain.depth AS depth, w.kind AS kind
    FROM chain JOIN st_targets tg ON tg.digest = chain.node
    JOIN st_withdrawals w ON w.idx = tg.widx
    WHERE w.idx < :c AND w.effective <= :t
        AND (w.until IS NULL OR (w.lifted_by IS NOT NULL AND w.lifted_by >= :c) OR :t < w.until)
        AND (chain.depth = 0 OR w.cascade)),
nearest AS (SELECT digest, min(depth) AS depth FROM hits GROUP BY digest),
withdrawn AS (
    SELECT h.digest AS digest, max(h.kind = 'revoked') AS revoked
    FROM hits h JOIN nearest n ON n.digest = h.digest AND n.depth = h.depth GROUP BY h.digest),
status AS (
    SELECT g.tier AS tier, g.request AS request, CASE WHEN w.revoked = 1 THEN 'revoked'
        WHEN w.revoked = 0 THEN 'suspended' WHEN :t >= g.not_after THEN 'expired'
        WHEN :t < g.not_before THEN 'not_yet_valid' ELSE 'active' END AS status
    FROM st_grants g LEFT JOIN withdrawn w ON w.digest = g.digest WHERE g.idx < :c)
SELECT s.status, CASE WHEN s.status = 'active' THEN s.tier END,
    CASE WHEN s.status <> 'active' THEN NULL WHEN q.idx IS NULL THEN 'unspecified'
        ELSE q.purpose END, count(*)
FROM status s LEFT JOIN st_requests q ON q.idx = s.request GROUP BY 1, 2, 3
"""


def grant_status_rows(conn: sqlite3.Connection, p: Params) -> Rows:
    """(status, tier if active, purpose if active, count) over the grants before the cutoff."""
    return conn.execute(_STATUS, p).fetchall()


# -- revocations and suspensions ----------------------------------------------------------------
_WITHDRAWALS = f"""
WITH RECURSIVE w AS (
    SELECT idx, kind, reason, cascade FROM st_withdrawals WHERE {_inw("idx", "time")}),
down(widx, digest) AS (
    SELECT t.widx, t.digest FROM st_targets t JOIN w ON w.idx = t.widx WHERE w.cascade
    UNION
    SELECT down.widx, g.digest FROM down JOIN st_grants g ON g.parent = down.digest
    WHERE g.idx < :c),
below AS (
    SELECT widx, count(*) AS n FROM down WHERE NOT EXISTS (
        SELECT 1 FROM st_targets x WHERE x.widx = down.widx AND x.digest = down.digest)
    GROUP BY widx)
SELECT w.kind, w.reason, count(*),
    sum((SELECT count(*) FROM st_targets x WHERE x.widx = w.idx)),
    sum(coalesce(below.n, 0)), sum(w.cascade)
FROM w LEFT JOIN below ON below.widx = w.idx GROUP BY 1, 2
"""  # noqa: S608 (the module's own SQL, no outside input)


def withdrawal_months(conn: sqlite3.Connection, p: Params) -> Rows:
    """(kind, month, count) of the window's revoke and suspend records."""
    return conn.execute(
        "SELECT kind, rp_month(time), count(*) FROM st_withdrawals "  # noqa: S608
        f"WHERE {_inw('idx', 'time')} GROUP BY 1, 2",
        p,
    ).fetchall()


def withdrawal_rows(conn: sqlite3.Connection, p: Params) -> Rows:
    """(kind, reason, records, direct tokens, cascaded tokens, cascading records) over the
    window's revoke and suspend records; cascaded tokens are the sublicenses below a
    cascading record's targets granted before the cutoff, each once per record, the
    targets themselves excluded."""
    return conn.execute(_WITHDRAWALS, p).fetchall()


# -- incidents ---------------------------------------------------------------------------------
def open_incident_ages(conn: sqlite3.Connection, p: Params) -> Rows:
    """(age bucket, count) of the incidents reported before the cutoff, not closed before the
    end, by their age at :t."""
    age = _bucket("max(0, :t - reported)", AGE_BUCKETS)
    return conn.execute(
        f"SELECT {age}, count(*) FROM st_incidents "  # noqa: S608
        f"WHERE idx < :c AND NOT {_before_end('closed')} GROUP BY 1",
        p,
    ).fetchall()


_CLOSED_HERE = f"idx < :c AND {_before_end('closed')} AND (:s IS NULL OR closed >= :s)"


def incident_summaries(conn: sqlite3.Connection, p: Params) -> Iterator[tuple[Any, ...]]:
    """(index, reported, closed, severity, outcome, summary, counted) of the incidents the
    report's closed figures cover, by index; ``counted``: reported in the window."""
    return conn.execute(
        "SELECT idx, reported, closed, severity, outcome, summary, "  # noqa: S608
        f"{_inw('idx', 'reported')} FROM st_incidents WHERE {_CLOSED_HERE} ORDER BY idx",
        p,
    )


def incident_reported_rows(
    conn: sqlite3.Connection, p: Params, dists: dict[str, str]
) -> tuple[Rows, Rows, Rows, Rows]:
    """For the incidents the report covers: (month, count) of the closed ones, (outcome,
    count), and for the window's reports (severity, count) and (harm, count); puts the times
    to acknowledge, mitigate and close into ``rp_values`` as ``dists[name]``."""
    closed_months = month_rows(conn, "st_incidents", "closed", _CLOSED_HERE, p)
    outcomes = conn.execute(
        f"SELECT coalesce(outcome, 'unknown'), count(*) FROM st_incidents "  # noqa: S608
        f"WHERE {_CLOSED_HERE} GROUP BY 1",
        p,
    ).fetchall()
    inw = _inw("idx", "reported")
    severity = conn.execute(
        f"SELECT severity, count(*) FROM st_incidents WHERE {inw} GROUP BY 1",  # noqa: S608
        p,
    ).fetchall()
    harms = conn.execute(
        f"SELECT j.value, count(*) FROM st_incidents, json_each(harms) j "  # noqa: S608
        f"WHERE {inw} GROUP BY 1",
        p,
    ).fetchall()
    r, m = (f"CASE WHEN {_before_end(x)} THEN {x} END" for x in ("responded", "remediated"))
    spans = {
        "acknowledge": f"CASE WHEN {_before_end('acked')} THEN acked END",
        "mitigate": "CASE WHEN r IS NULL THEN m WHEN m IS NULL THEN r ELSE min(r, m) END",
        "close": f"CASE WHEN {_before_end('closed')} THEN closed END",
    }
    for name, end in spans.items():
        conn.execute(
            "INSERT INTO rp_values (dist, v) SELECT :dist, max(0, x - reported) "  # noqa: S608
            f"FROM (SELECT {end} AS x, reported FROM (SELECT *, {r} AS r, {m} AS m "
            f"FROM st_incidents WHERE {inw})) WHERE x IS NOT NULL",
            {**p, "dist": dists[name]},
        )
    return closed_months, outcomes, severity, harms


# -- provenance (the report's own tables) -------------------------------------------------------
_PROVENANCE = """
WITH linked AS (
    SELECT i.subject AS subject, max(d.consent) AS consent,
        max(d.sensitive_declared) AS declared, max(d.sensitive_flagged) AS flagged
    FROM rp_inputs i JOIN rp_subjects d ON d.subject = i.input AND NOT d.model AND NOT d.signed
    GROUP BY i.subject)
SELECT
    (SELECT count(*) FROM rp_subjects WHERE NOT model AND NOT signed),
    count(*),
    coalesce(sum(l.subject IS NOT NULL), 0),
    coalesce(sum(m.consent OR coalesce(l.consent, 0)), 0),
    coalesce(sum(m.sensitive_declared OR coalesce(l.declared, 0)), 0),
    coalesce(sum(m.sensitive_flagged OR coalesce(l.flagged, 0)), 0),
    (SELECT count(*) FROM rp_subjects WHERE signed)
FROM rp_subjects m LEFT JOIN linked l ON l.subject = m.subject WHERE m.model
"""


def provenance_counts(conn: sqlite3.Connection) -> tuple[int, ...]:
    """(datasets, model versions, and the model versions with dataset attestations, a
    declared consent basis, declared sensitive data, flagged sensitive data, then the signed
    models), over the attested digests: a model version's own attestations or its attested
    datasets'. A signed model (OMS, SPEC 11.3) is neither a dataset nor a model's input."""
    return tuple(int(x) for x in conn.execute(_PROVENANCE).fetchone())


def flow_rows(conn: sqlite3.Connection) -> Rows:
    """(month, entry type, decision outcome, count) of the window's records."""
    return conn.execute("SELECT month, type, outcome, n FROM rp_flow").fetchall()


# -- terms -------------------------------------------------------------------------------------
_TERMS = """
SELECT t.idx, t.tid, t.version, t.change, t.published, t.effective, t.sunset, t.supersedes,
    t.notice_days, rp_member(t.doc, 'sha256'),
    (SELECT o.notice_days FROM st_terms o
        WHERE o.tid = t.tid AND o.version = t.supersedes AND o.idx < :c),
    t.idx IS (SELECT f.idx FROM st_terms f WHERE f.tid = t.tid AND f.effective <= :t
        AND (f.sunset IS NULL OR :t < f.sunset) ORDER BY f.effective DESC, f.idx DESC LIMIT 1)
FROM st_terms t WHERE t.idx < :c ORDER BY t.tid, t.idx
"""


def terms_rows(conn: sqlite3.Connection, p: Params) -> Iterator[tuple[Any, ...]]:
    """The versions published before the cutoff, by id then publication: (index, id, version,
    change, published, effective, sunset, supersedes, notice_days, sha256, the superseded
    version's notice_days or None, in force at :t among every version of its id)."""
    return conn.execute(_TERMS, p)


# -- distributions -----------------------------------------------------------------------------
def distribution(
    conn: sqlite3.Connection, dist: str, k: int
) -> tuple[dict[str, int], int | None, int | None]:
    """The histogram (every bucket, in order), median and p90 (nearest rank; None when fewer
    than ``k`` values) of the values of ``dist`` in ``rp_values``."""
    hist = dict.fromkeys((name for name, _ in DURATION_BUCKETS), 0)
    rows = conn.execute(
        f"SELECT {_bucket('v', DURATION_BUCKETS)}, count(*) FROM rp_values "  # noqa: S608
        "WHERE dist = ? GROUP BY 1",
        (dist,),
    )
    hist.update({str(name): int(n) for name, n in rows})
    n = sum(hist.values())
    if n < k:
        return hist, None, None
    median, p90 = (
        conn.execute(
            "SELECT v FROM rp_values WHERE dist = ? ORDER BY v LIMIT 1 OFFSET ?",
            (dist, nearest_rank_position(n, q) - 1),
        ).fetchone()[0]
        for q in (Fraction(1, 2), Fraction(9, 10))
    )
    return hist, int(median), int(p90)
