"""Event sequences for the transparency-report tests, replayed as the audit will replay them.

``scenario()`` is a small hand-built ledger whose report numbers tests/ledger/report/test_figures.py
works out by hand.
``busy()`` is a larger generated one (every entry type, several months) for the page and browser.
"""

import random

from ledger.report import ReportBuilder
from ledger.state import LedgerState

DAY = 86400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
JAN, FEB, MAR = T0, T0 + 31 * DAY, T0 + 59 * DAY
LOG, ISSUER, RESPONDER, REVIEWER, ATTESTER = (bytes([i]) * 32 for i in range(10, 15))
HA, HB, HC, HD = (bytes([i]) * 32 for i in range(20, 24))
ROOT, CHILD, GRAND, G4, G5, G6, G7 = (bytes([i]) * 32 for i in range(30, 37))
DS1, M1, M2 = (bytes([i]) * 32 for i in range(50, 53))
SLSA = "https://slsa.dev/provenance/v1"


class Replay:
    """Applies entries in order and feeds the report builder exactly as the audit will."""

    def __init__(self, builder=None):
        self.state = LedgerState(LOG)
        self.builder = builder or ReportBuilder(k=1)
        self.index = 0
        self.events = []  # (index, time, type, payload, author) of every applied record

    def add(self, etype, author, t, **payload):
        p = {"at": t, **payload}
        findings = self.state.apply(self.index, t, etype, p, author)
        assert findings == [], findings
        self.builder.observe(self.index, t, etype, p, author)
        self.events.append((self.index, t, etype, p, author))
        self.index += 1
        return self.index - 1

    def finish(self):
        integrity = {
            "size": self.index,
            "root": "ab" * 32,
            "checkpoint": f"example.org/log\n{self.index}\nq80=\n",
            "witnesses": ["w2.example", "w1.example"],
            "findings": 0,
        }
        return self.builder.finish(self.state, integrity)


def replay_events(events, builder):
    """Feed recorded events into a fresh state and ``builder``; return the report."""
    r = Replay(builder)
    for _, t, etype, p, author in events:
        r.add(etype, author, t, **{k: v for k, v in p.items() if k not in ("type", "at")})
    return r.finish()


def keys(r, t=T0):
    for key, role in [
        (ISSUER, "issuer"),
        (RESPONDER, "responder"),
        (REVIEWER, "reviewer"),
        (ATTESTER, "attester"),
    ]:
        r.add("key.add", LOG, t, key=key, role=role, name=role)


def terms(r, t, version, change, effective, notice, supersedes=None):
    extra = {"supersedes": supersedes} if supersedes else {}
    r.add(
        "terms.publish",
        ISSUER,
        t,
        id="acme-license",
        version=version,
        sha256=bytes([len(version)]) * 32,
        effective=effective,
        notice_days=notice,
        change=change,
        **extra,
    )


def request(r, t, n, tier, region, purpose):
    applicant = bytes([100 + n % 100]) + n.to_bytes(31, "big")
    return r.add(
        "access.request", ISSUER, t, applicant=applicant, tier=tier, purpose=purpose, region=region
    )


def decide(r, t, req, decision, decided_at, reasons=()):
    return r.add(
        "access.decision",
        ISSUER,
        t,
        request=req,
        decision=decision,
        reasons=list(reasons),
        decided_at=decided_at,
    )


def grant(r, t, author, digest, holder, tier, na, parent=None, req=None, nb=T0):
    extra = {}
    if parent is not None:
        extra["parent"] = parent
    if req is not None:
        extra["request"] = req
    return r.add(
        "grant",
        author,
        t,
        token_digest=digest,
        holder=holder,
        licensee=bytes([7]) * 32,
        tier=tier,
        not_before=nb,
        not_after=na,
        **extra,
    )


def incident(r, t, severity, harms):
    return r.add(
        "incident.report",
        bytes([99]) * 32,  # a one-time key
        t,
        kind="incident",
        harms=harms,
        severity=severity,
        affected=["individuals"],
        jurisdictions=["EU"],
        description="Something went wrong.",
    )


def scenario(builder=None):
    """The hand-built ledger of test_figures.py (times in Jan, Feb and Mar 2026)."""
    r = Replay(builder)
    keys(r)
    terms(r, T0 + 50, "1.0", "initial", T0 + 50, 30)
    r1 = request(r, T0 + 100, 1, "academic", "DE", "research")
    r2 = request(r, T0 + 200, 2, "academic", "FR", "research")
    r3 = request(r, T0 + 300, 3, "enterprise", "DE", "enterprise.product")
    r4 = request(r, T0 + 400, 4, "enterprise", "US", "enterprise.product")
    r5 = request(r, T0 + 500, 5, "sme", "DE", "education")
    terms(r, T0 + 1000, "2.0", "material", T0 + 1000 + 31 * DAY, 14, "1.0")
    decide(r, T0 + 4000, r1, "approved", T0 + 3700)
    d3 = decide(r, T0 + 4100, r3, "denied", T0 + 900, ["tier_mismatch", "incomplete"])
    decide(r, T0 + 7500, r2, "needs_information", T0 + 7400)
    a1 = r.add("appeal.file", ISSUER, T0 + 8000, target=d3, grounds="We qualify.", filed_at=T0)
    i1 = incident(r, T0 + 10000, "high", ["privacy", "discrimination"])
    r.add("incident.ack", RESPONDER, T0 + 11800, incident=i1)
    r.add(
        "attest",
        ATTESTER,
        T0 + 12000,
        subjects=[{"name": "corpus", "sha256": DS1}],
        predicate_type="https://spdx.dev/Document",
        predicate={"name": "corpus"},
        consent_basis=["consent"],
        sensitive=["health"],
    )
    deps = [{"uri": "corpus", "digest": {"sha256": DS1.hex()}}]
    r.add(
        "attest",
        ATTESTER,
        T0 + 12100,
        subjects=[{"name": "m1", "sha256": M1}],
        predicate_type=SLSA,
        predicate={"buildDefinition": {"resolvedDependencies": deps}},
    )
    r.add(
        "attest",
        ATTESTER,
        T0 + 12200,
        subjects=[{"name": "m2", "sha256": M2}],
        predicate_type=SLSA,
        predicate={"buildDefinition": {"resolvedDependencies": []}},
        consent_basis=["not_declared"],
        sensitive=[],
    )
    r.add("incident.remediate", RESPONDER, T0 + 13600, incident=i1, action="Contacted licensee.")
    r.add("incident.respond", RESPONDER, T0 + 17200, incident=i1, action="Investigating.")
    year = T0 + 400 * DAY
    grant(r, T0 + 20000, ISSUER, ROOT, HA, "academic", year, req=r1)
    grant(r, T0 + 20001, HA, CHILD, HB, "academic", T0 + 300 * DAY, parent=ROOT)
    grant(r, T0 + 20002, HB, GRAND, HC, "academic", T0 + 200 * DAY, parent=CHILD)
    grant(r, T0 + 20003, ISSUER, G4, HD, "enterprise", year, req=r2)
    grant(r, T0 + 20004, ISSUER, G5, HD, "sme", T0 + 1000)
    grant(r, T0 + 20005, ISSUER, G6, HD, "nonprofit", year, req=r5)
    grant(r, T0 + 20006, ISSUER, G7, HD, "academic", year, req=r1)
    decide(r, T0 + 86600, r2, "approved_with_conditions", T0 + 86600)
    r.add(
        "appeal.decide",
        REVIEWER,
        T0 + 94400,
        appeal=a1,
        outcome="overturned",
        rationale="Affiliation shown.",
        independent=True,
        decided_at=T0 + 94400,
    )
    r.add(
        "incident.close",
        RESPONDER,
        T0 + 269200,
        incident=i1,
        outcome="remediated",
        summary="License revoked.",
    )
    d4 = decide(r, FEB + 10, r4, "denied", T0 + 400 + 2 * DAY, ["tier_mismatch"])
    r.add("appeal.file", ISSUER, FEB + 20, target=d4, grounds="Please look again.", filed_at=FEB)
    i2 = incident(r, FEB + 100, "low", ["privacy"])
    i3 = incident(r, FEB + 200, "critical", ["security"])
    r.add("suspend", ISSUER, FEB + 300, tokens=[G4], reason="duty_breach", effective=FEB + 300,
          cascade=False)  # fmt: skip
    terms(r, FEB + 400, "2.1", "editorial", FEB + 9 * DAY, 0, "2.0")
    r.add("incident.update", RESPONDER, FEB + 500, incident=i3, severity="medium", note="Less.")
    r.add("incident.ack", RESPONDER, FEB + 100 + 2 * DAY, incident=i2)
    r.add(
        "revoke", ISSUER, MAR, tokens=[ROOT], reason="prohibited_use", effective=MAR, cascade=True
    )
    terms(r, MAR + 100, "3.0", "material", MAR + 100 + 45 * DAY, 60, "2.1")
    r.add("incident.close", RESPONDER, MAR + 200, incident=i3, outcome="unsubstantiated",
          summary="Not reproducible.")  # fmt: skip
    return r


REGIONS = ["DE", "FR", "US", "BR", "IN", "JP", "EU"]
TIERS = ["academic", "nonprofit", "sme", "enterprise", "government", "individual"]
PURPOSES = ["research", "education", "enterprise.product", "enterprise.internal"]
HARMS = ["privacy", "discrimination", "security", "financial", "psychological"]
REASONS = ["prohibited_use", "duty_breach", "threshold_exceeded", "licensee_request"]


def busy(n_requests=400, seed=7, builder=None):
    """A generated ledger over ~6 months with every entry type, for pages and browsers."""
    rnd = random.Random(seed)
    r = Replay(builder or ReportBuilder())
    keys(r)
    terms(r, T0 + 10, "1.0", "initial", T0 + 10, 30)
    r.add(
        "attest",
        ATTESTER,
        T0 + 20,
        subjects=[{"name": "corpus", "sha256": DS1}],
        predicate_type="https://spdx.dev/Document",
        predicate={"name": "corpus"},
        consent_basis=["licensed"],
        sensitive=[],
    )
    t = T0 + 100
    grants = []
    incidents = []
    for n in range(n_requests):
        t += rnd.randint(600, 30000)
        req = request(r, t, n, rnd.choice(TIERS), rnd.choice(REGIONS), rnd.choice(PURPOSES))
        roll = rnd.random()
        t += 1
        decided_at = t + rnd.randint(60, 10 * DAY)
        if roll < 0.65:
            d = decide(r, t, req, rnd.choice(["approved", "approved_with_conditions"]), decided_at)
            digest = n.to_bytes(32, "big")
            grant(r, t + 1, ISSUER, digest, HA, rnd.choice(TIERS), T0 + 400 * DAY, req=req)
            grants.append(digest)
            t += 1
        elif roll < 0.9:
            reasons = rnd.sample(["tier_mismatch", "incomplete", "region_blocked", "misuse"], 2)
            d = decide(r, t, req, "denied", decided_at, reasons)
            if rnd.random() < 0.3:
                t += 1
                a = r.add("appeal.file", ISSUER, t, target=d, grounds="Review.", filed_at=t)
                if rnd.random() < 0.7:
                    t += 1
                    r.add(
                        "appeal.decide",
                        REVIEWER,
                        t,
                        appeal=a,
                        outcome=rnd.choice(["upheld", "overturned", "modified"]),
                        rationale="Reviewed.",
                        independent=rnd.random() < 0.5,
                        decided_at=t,
                    )
        elif roll < 0.95:
            decide(r, t, req, "needs_information", decided_at)
        if rnd.random() < 0.08:
            t += 1
            severity = rnd.choice(["low", "medium", "high", "critical"])
            incidents.append(incident(r, t, severity, rnd.sample(HARMS, rnd.randint(1, 2))))
        if incidents and rnd.random() < 0.1:
            inc = incidents.pop(0)
            for step in ("incident.ack", "incident.respond"):
                t += rnd.randint(60, DAY)
                extra = {"action": "Acted."} if step == "incident.respond" else {}
                r.add(step, RESPONDER, t, incident=inc, **extra)
            t += rnd.randint(60, 4 * DAY)
            r.add(
                "incident.close",
                RESPONDER,
                t,
                incident=inc,
                outcome=rnd.choice(["remediated", "no_action_needed", "unsubstantiated"]),
                summary=f"Incident {inc} <closed> & reviewed.",
            )
        if grants and rnd.random() < 0.06:
            t += 1
            kind = rnd.choice(["revoke", "suspend"])
            target = grants.pop(rnd.randrange(len(grants)))
            r.add(kind, ISSUER, t, tokens=[target], reason=rnd.choice(REASONS), effective=t,
                  cascade=True)  # fmt: skip
        if rnd.random() < 0.05:
            t += 1
            digest = bytes([200]) + n.to_bytes(31, "big")
            deps = [{"digest": {"sha256": DS1.hex()}}] if rnd.random() < 0.6 else []
            r.add(
                "attest",
                ATTESTER,
                t,
                subjects=[{"name": f"m{n}", "sha256": digest}],
                predicate_type=SLSA,
                predicate={"buildDefinition": {"resolvedDependencies": deps}},
                consent_basis=[rnd.choice(["consent", "licensed", "not_declared"])],
            )
    terms(r, t + 1, "2.0", "material", t + 1 + 40 * DAY, 30, "1.0")
    return r
