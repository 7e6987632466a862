"""Synthetic ledgers whose reports were recorded from the implementation on main before the
report read the state tables with SQL (tests/ledger/report/data/recorded_reports.json).

``mixed(seed, steps)`` is a random event mix that reaches what ``busy()`` does not: sublicense
chains and cascades, withdrawals by licensee, suspensions with an end, reinstatements, several
decisions per request (and decisions dated before their request), appeals of withdrawals,
incident updates and remediations, sensitive and consent declarations, terms with sunsets.
``CASES`` names each recorded report: how its ledger is made and the report's parameters.
"""

import random

from tests.helpers.report_scenario import (
    ATTESTER,
    DAY,
    ISSUER,
    RESPONDER,
    REVIEWER,
    SLSA,
    T0,
    Replay,
    busy,
    keys,
    terms,
)

HOLDERS = [bytes([40 + i]) * 32 for i in range(6)]
LICENSEES = [bytes([60 + i]) * 32 for i in range(4)]
TIERS = ["academic", "nonprofit", "sme", "enterprise"]
REGIONS = ["DE", "FR", "US", "EU"]
PURPOSES = ["research", "education", "enterprise.product"]
REASONS = ["prohibited_use", "duty_breach", "licensee_request"]
DENIALS = ["tier_mismatch", "incomplete", "region_blocked", "misuse", "x-other"]


class _Mix:
    def __init__(self, r, rnd):
        self.r, self.rnd, self.t = r, rnd, T0 + 100
        self.requests = []  # (index, denied)
        self.decisions = []
        self.grants = []  # (digest, holder, not_before, not_after)
        self.withdrawn = []  # (kind, index, digests)
        self.appeals = []
        self.incidents = []
        self.datasets = []
        self.versions = ["1.0"]
        self.licensee = {}  # digest -> licensee commitment

    def tick(self):
        rnd = self.rnd
        self.t += 20 * DAY if rnd.random() < 0.02 else rnd.randint(1, 8 * 3600)
        return self.t

    def request(self):
        rnd = self.rnd
        n = len(self.requests)
        applicant = bytes([100 + n % 100]) + n.to_bytes(31, "big")
        i = self.r.add(
            "access.request",
            ISSUER,
            self.tick(),
            applicant=applicant,
            tier=rnd.choice(TIERS),
            purpose=rnd.choice(PURPOSES),
            region=rnd.choice(REGIONS),
        )
        self.requests.append([i, False])

    def decide(self):
        rnd = self.rnd
        if not self.requests:
            return
        req = rnd.choice(self.requests)
        decision = rnd.choice(
            ["approved", "approved_with_conditions", "denied", "needs_information"]
        )
        reasons = rnd.sample(DENIALS, rnd.randint(1, 3)) if decision == "denied" else []
        t = self.tick()
        at = t + rnd.randint(-2 * DAY, 5 * DAY)
        d = self.r.add(
            "access.decision",
            ISSUER,
            t,
            request=req[0],
            decision=decision,
            reasons=reasons,
            decided_at=max(0, at),
        )
        req[1] = decision == "denied"
        self.decisions.append(d)

    def grant(self):
        rnd = self.rnd
        t = self.tick()
        nb = t - rnd.randint(0, 30 * DAY)
        na = t + rnd.randint(-5 * DAY, 200 * DAY)
        na = max(na, nb + 1)
        extra = {}
        open_requests = [q for q, denied in self.requests if not denied]
        if open_requests and rnd.random() < 0.7:
            extra["request"] = rnd.choice(open_requests)
        author = ISSUER
        if self.grants and rnd.random() < 0.4:
            parent, author, pnb, pna = rnd.choice(self.grants)
            nb, na = pnb + rnd.randint(0, 5), pna - rnd.randint(0, 5)
            if na <= nb:
                return
            extra = {"parent": parent}
        digest = len(self.grants).to_bytes(4, "big") + bytes([9]) * 28
        holder, licensee = rnd.choice(HOLDERS), rnd.choice(LICENSEES)
        self.r.add(
            "grant",
            author,
            t,
            token_digest=digest,
            holder=holder,
            licensee=licensee,
            tier=rnd.choice(TIERS),
            not_before=nb,
            not_after=na,
            **extra,
        )
        self.licensee[digest] = licensee
        self.grants.append((digest, holder, nb, na))

    def withdraw(self):
        rnd = self.rnd
        if not self.grants:
            return
        kind = rnd.choice(["revoke", "suspend"])
        t = self.tick()
        extra = {}
        if rnd.random() < 0.25:
            extra["licensee"] = rnd.choice(LICENSEES)
            if not any(True for _ in self._of(extra["licensee"])):
                return
        else:
            picked = rnd.sample(self.grants, min(len(self.grants), rnd.randint(1, 2)))
            extra["tokens"] = [g[0] for g in picked if g[1]]
        if kind == "suspend" and rnd.random() < 0.5:
            extra["until"] = t + rnd.randint(DAY, 60 * DAY)
        effective = t + rnd.choice([0, 0, -DAY, 3 * DAY])
        i = self.r.add(
            kind,
            ISSUER,
            t,
            reason=rnd.choice(REASONS),
            effective=effective,
            cascade=rnd.random() < 0.6,
            **extra,
        )
        self.withdrawn.append((kind, i, extra.get("tokens") or list(self._of(extra["licensee"]))))

    def _of(self, licensee):
        return (d for d, *_ in self.grants if self.licensee.get(d) == licensee)

    def reinstate(self):
        rnd = self.rnd
        if not self.withdrawn:
            return
        _, _, digests = rnd.choice(self.withdrawn)
        t = self.tick()
        self.r.add(
            "reinstate",
            ISSUER,
            t,
            tokens=digests[:1],
            effective=t + rnd.randint(-DAY, DAY),
            cascade=rnd.random() < 0.5,
            reason="licensee_request",
        )

    def appeal(self):
        rnd = self.rnd
        targets = self.decisions + [i for _, i, _ in self.withdrawn]
        if not targets:
            return
        t = self.tick()
        a = self.r.add(
            "appeal.file", ISSUER, t, target=rnd.choice(targets), grounds="Again.", filed_at=t
        )
        self.appeals.append(a)

    def decide_appeal(self):
        rnd = self.rnd
        if not self.appeals:
            return
        a = self.appeals.pop(rnd.randrange(len(self.appeals)))
        t = self.tick()
        self.r.add(
            "appeal.decide",
            REVIEWER,
            t,
            appeal=a,
            outcome=rnd.choice(["upheld", "overturned", "modified"]),
            rationale="Seen.",
            independent=rnd.random() < 0.5,
            decided_at=t - rnd.randint(0, 2 * DAY),
        )

    def incident(self):
        rnd = self.rnd
        i = self.r.add(
            "incident.report",
            bytes([99]) * 32,
            self.tick(),
            kind="incident",
            harms=rnd.sample(["privacy", "security", "financial", "x-odd"], 2),
            severity=rnd.choice(["low", "medium", "high", "critical"]),
            affected=["individuals"],
            jurisdictions=["EU"],
            description="Oops.",
        )
        self.incidents.append(i)

    def advance(self):
        rnd = self.rnd
        if not self.incidents:
            return
        inc = rnd.choice(self.incidents)
        step = rnd.choice(["ack", "update", "respond", "remediate", "close", "close"])
        t = self.tick()
        if step == "ack":
            self.r.add("incident.ack", RESPONDER, t, incident=inc)
        elif step == "update":
            self.r.add(
                "incident.update",
                RESPONDER,
                t,
                incident=inc,
                note="More.",
                severity=rnd.choice(["low", "medium", "high", "critical"]),
            )
        elif step == "respond":
            self.r.add("incident.respond", RESPONDER, t, incident=inc, action="Looking.")
        elif step == "remediate":
            refs = [i for _, i, _ in self.withdrawn][-2:]
            self.r.add(
                "incident.remediate", RESPONDER, t, incident=inc, action="Fixed.", revocations=refs
            )
        else:
            self.incidents.remove(inc)
            self.r.add(
                "incident.close",
                RESPONDER,
                t,
                incident=inc,
                outcome=rnd.choice(["remediated", "no_action_needed", "unsubstantiated"]),
                summary=f"Closed <{inc}> & done.",
            )

    def attest(self):
        rnd = self.rnd
        t = self.tick()
        n = len(self.datasets)
        if not self.datasets or rnd.random() < 0.4:
            digest = bytes([150 + n % 50]) + n.to_bytes(31, "big")
            extra = {}
            if rnd.random() < 0.6:
                extra["consent_basis"] = [rnd.choice(["consent", "licensed", "not_declared"])]
            if rnd.random() < 0.5:
                extra["sensitive"] = rnd.sample(["health", "biometric"], rnd.randint(0, 1))
            self.r.add(
                "attest",
                ATTESTER,
                t,
                subjects=[{"name": f"d{n}", "sha256": digest}],
                predicate_type="https://spdx.dev/Document",
                predicate={},
                **extra,
            )
            self.datasets.append(digest)
            return
        deps = [{"digest": {"sha256": d.hex()}} for d in rnd.sample(self.datasets, 1)]
        deps.append({"digest": {"sha256": "ab" * 32}})  # an input nobody attested
        models = [bytes([210]) + (n * 7 + k).to_bytes(31, "big") for k in range(rnd.randint(1, 2))]
        if rnd.random() < 0.1:
            models.append(rnd.choice(self.datasets))  # a digest attested as both
        extra = {"consent_basis": ["licensed"]} if rnd.random() < 0.3 else {}
        self.r.add(
            "attest",
            ATTESTER,
            t,
            subjects=[{"name": f"m{i}", "sha256": m} for i, m in enumerate(models)],
            predicate_type=SLSA,
            predicate={"buildDefinition": {"resolvedDependencies": deps}},
            **extra,
        )

    def publish(self):
        rnd = self.rnd
        t = self.tick()
        old = rnd.choice(self.versions)
        version = f"{len(self.versions) + 1}.0"
        change = rnd.choice(["material", "editorial", "material"])
        extra = {"sunset": t + 90 * DAY} if rnd.random() < 0.3 else {}
        terms(
            self.r,
            t,
            version,
            change,
            t + rnd.randint(0, 60) * DAY,
            rnd.choice([0, 14, 30, 45]),
            old,
        )
        if extra:  # a second document with a sunset
            self.r.add(
                "terms.publish",
                ISSUER,
                t + 1,
                id="acme-aup",
                version=version,
                sha256=bytes([77]) * 32,
                effective=t,
                notice_days=0,
                change="initial",
                **extra,
            )
        self.versions.append(version)


def mixed(seed, steps, builder=None):
    """A random ledger of about ``steps`` records over several months, replayed into
    ``builder``."""
    rnd = random.Random(seed)
    r = Replay(builder)
    keys(r)
    terms(r, T0 + 10, "1.0", "initial", T0 + 10, 30)
    m = _Mix(r, rnd)
    actions = [
        (m.request, 20),
        (m.decide, 18),
        (m.grant, 14),
        (m.withdraw, 5),
        (m.reinstate, 2),
        (m.appeal, 4),
        (m.decide_appeal, 3),
        (m.incident, 5),
        (m.advance, 10),
        (m.attest, 4),
        (m.publish, 1),
    ]
    fns, weights = zip(*actions, strict=True)
    while r.index < steps:
        rnd.choices(fns, weights)[0]()
    return r


# name -> (generator, its arguments, ReportBuilder keywords)
CASES = {
    "busy-300-s1-k5": ("busy", {"n_requests": 300, "seed": 1}, {}),
    "busy-900-s2-k3": ("busy", {"n_requests": 900, "seed": 2}, {"k": 3}),
    "busy-1500-s3-to": ("busy", {"n_requests": 1500, "seed": 3}, {"end": T0 + 120 * DAY}),
    "busy-600-s4-from-to": (
        "busy",
        {"n_requests": 600, "seed": 4},
        {"k": 2, "start": T0 + 30 * DAY, "end": T0 + 70 * DAY},
    ),
    "mixed-400-s1-k1": ("mixed", {"seed": 1, "steps": 400}, {"k": 1}),
    "mixed-1200-s2-k5": ("mixed", {"seed": 2, "steps": 1200}, {}),
    "mixed-2500-s3-k3": ("mixed", {"seed": 3, "steps": 2500}, {"k": 3}),
    "mixed-2000-s4-to": ("mixed", {"seed": 4, "steps": 2000}, {"end": T0 + 200 * DAY}),
    "mixed-2000-s5-from-to": (
        "mixed",
        {"seed": 5, "steps": 2000},
        {"k": 2, "start": T0 + 100 * DAY, "end": T0 + 400 * DAY},
    ),
}


# ledger files made by ledger.store.synthesize, reported by replay_report (the audit's replay):
# name -> (records, seed, replay_report keywords)
SYNTH_CASES = {
    "synth-3000-s3": (3000, 3, {}),
    "synth-6000-s5-k3-to": (6000, 5, {"k": 3, "end": T0 + 90 * DAY}),
}


def synth_report(name, place, replay_report):
    """The report ``replay_report`` gives for the ledger of case ``name``, made at ``place``
    (a file path or a PostgreSQL URL, as ``ledger_at`` gives)."""
    import hashlib

    from keys import SigningKey
    from ledger.store import Ledger, synthesize

    n, seed, params = SYNTH_CASES[name]
    db = place
    log = SigningKey.from_seed(hashlib.sha256(b"recorded log").digest())
    with Ledger.create(db, "recorded.example/log", log) as led:
        synthesize(led, n, log_key=log, seed=seed)
        led.checkpoint(log)
    report, _ = replay_report(db=db, workers=0, **params)
    return report


def replay_case(name, builder_cls):
    """The replay of case ``name`` feeding a fresh ``builder_cls(**its parameters)``."""
    how, args, params = CASES[name]
    builder = builder_cls(**params)
    return (busy if how == "busy" else mixed)(builder=builder, **args)


__all__ = ["CASES", "SYNTH_CASES", "mixed", "replay_case", "synth_report"]
