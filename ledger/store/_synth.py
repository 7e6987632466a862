"""A generator of realistic ledgers: every entry type, consistent references, a plausible mix.

For benchmarks, the demo and the report at scale. Deterministic for a seed: the same (seed, n,
start, span) gives the same records. Every generated entry passes the same checks as a typed
append (it is applied to a LedgerState before it is written), so the result audits clean.

The records cover about ``span`` seconds (a year and a half by default) whatever their number:
new events (requests, attestations, incident reports, sublicenses, withdrawals) arrive at random,
and each schedules what follows from it at a plausible delay (a decision hours to weeks after
its request, an acknowledgement days after its incident report, an appeal days after its
denial, ...), kept in a queue by time. Codes come from the vocabulary (lic/data) and the entry
catalog only. Exactly ``n`` records are written.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Callable
from typing import Any

from keys import MalformedError, SigningKey

from ..entries import HARM_TYPES, ZERO_HASH, encode_record, make_entry
from ..state import LedgerState
from ..tlog import leaf_hash
from ._ledger import Ledger

__all__ = ["synthesize"]

_HOUR = 3600
_DAY = 86400
_TIERS = ["academic", "academic", "nonprofit", "sme", "enterprise", "enterprise", "government",
          "individual"]  # fmt: skip
# Purposes (lic/data/purposes.json) that each tier plausibly asks for.
_PURPOSES = {
    "academic": ["research.academic", "research.safety", "education"],
    "nonprofit": ["nonprofit", "research", "education"],
    "sme": ["enterprise.product", "enterprise.internal", "consumer.assistant"],
    "enterprise": ["enterprise.internal", "enterprise.product", "enterprise.product.b2b"],
    "government": ["government.public-service", "government"],
    "individual": ["personal", "education"],
}
_REGIONS = ["DE", "FR", "US", "GB", "IN", "BR", "JP", "NG", "CA", "NL", "KE", "SG"]
_DENY = [
    "missing_affiliation",
    "prohibited_purpose",
    "sanctioned_region",
    "incomplete_application",
    "tier_mismatch",
]
_SEVERITY = ["low"] * 8 + ["medium"] * 7 + ["high"] * 4 + ["critical"]
_WITHDRAW_REASONS = ["prohibited_use", "duty_breach", "duty_breach", "licensee_request",
                     "licensee_request", "terms_sunset", "unauthorized_redistribution",
                     "threshold_exceeded", "geographic_violation", "key_compromise"]  # fmt: skip
_CLOSE = ["remediated"] * 6 + ["no_action_needed", "no_action_needed", "unsubstantiated",
                                "duplicate", "referred"]  # fmt: skip
_INCIDENT_STEPS = ("incident.ack", "incident.respond", "incident.remediate", "incident.close")
# Delay before each step of an incident: (median, least, most) in seconds.
_INCIDENT_DELAYS = (
    (36 * _HOUR, _HOUR, 10 * _DAY),
    (3 * _DAY, 2 * _HOUR, 14 * _DAY),
    (7 * _DAY, _DAY, 45 * _DAY),
    (4 * _DAY, _HOUR, 30 * _DAY),
)
_RECENT = 4096  # sublicenses and withdrawals pick among this many latest grants
_RECORDS_PER_ARRIVAL = 2.3  # the first guess; the run measures its own as it goes


def _key(seed: int, label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"lic-synth/{seed}/{label}".encode()).digest())


def synthesize(
    led: Ledger,
    n: int,
    *,
    log_key: SigningKey,
    seed: int = 1,
    start: int = 1_767_225_600,  # 2026-01-01T00:00:00Z
    span: int = 548 * _DAY,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append exactly ``n`` records, spread over about ``span`` seconds from ``start``, to the
    empty ledger ``led``; returns the number written."""
    if led.size != 0:
        raise MalformedError("synthesize: the ledger must be empty")
    if n < 1 or span < 1:
        raise MalformedError("synthesize: n and span must be positive")
    g = _Synth(led, log_key, seed, start, batch, progress)
    g.setup(n)
    while g.state.size < n:
        g.next_record(n, start + span)
    g.flush()
    return g.state.size


def _delay(rng: random.Random, median: int, least: int, most: int) -> int:
    """A log-normal delay around ``median`` seconds, kept within [least, most]."""
    return max(least, min(most, round(median * math.exp(rng.gauss(0.0, 0.9)))))


class _Synth:
    """One run of ``synthesize``: the generator's state and one method per kind of event."""

    def __init__(
        self,
        led: Ledger,
        log_key: SigningKey,
        seed: int,
        start: int,
        batch: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.led, self.log_key, self.seed, self.start = led, log_key, seed, start
        self.batch, self.progress = batch, progress
        self.rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
        self.state = LedgerState(log_key.public_key.raw)
        self.issuer, self.responder, self.reviewer, self.attester = (
            _key(seed, x) for x in ("issuer", "responder", "reviewer", "attester")
        )
        self.holders = [_key(seed, f"holder{i}") for i in range(64)]
        self.pending: list[bytes] = []  # encoded records, each with its own integration time
        self.prev = ZERO_HASH
        # What follows from earlier events: (time, sequence number, method name, argument).
        self.queue: list[tuple[int, int, str, Any]] = []
        self.seq = 0
        self.arrivals = 0
        self.grants: list[tuple[bytes, int, SigningKey]] = []  # (digest, index, holder)
        self.withdrawals: list[int] = []
        self.t = start
        self.version = 1
        self.terms_at = start

    def put(self, etype: str, payload: dict[str, Any], author: SigningKey) -> int | None:
        """Apply the entry to the state and queue its record; None if the state refuses it."""
        state, t = self.state, self.t
        index = state.size
        payload = {"at": t, **payload}
        if state.apply(index, t, etype, payload, author.public_key.raw):
            state.size = index  # refused: nothing was written at this index
            return None
        raw = encode_record(index, self.prev, t, etype, make_entry(etype, payload, author))
        self.prev = leaf_hash(raw)
        self.pending.append(raw)
        if len(self.pending) >= self.batch:
            self.flush()
        return index

    def flush(self) -> None:
        """Append the queued records (each keeps its own time), signing a checkpoint."""
        if self.pending:
            self.led.append_encoded(self.pending, log_key=self.log_key)
            self.pending.clear()
            if self.progress is not None:
                self.progress(self.state.size)

    def later(self, delay: int, what: str, arg: Any) -> None:
        """Schedule ``what(arg)`` ``delay`` seconds from now."""
        self.seq += 1
        heapq.heappush(self.queue, (self.t + delay, self.seq, what, arg))

    def next_record(self, n: int, end: int) -> None:
        """Write (at most) one record: the next scheduled event, or a new arrival if one comes
        first. Arrivals are spaced so that the remaining records about fill the time to
        ``end``, by the records per arrival measured so far."""
        left = max(1, n - self.state.size)
        per_arrival = self.state.size / self.arrivals if self.arrivals > 8 else _RECORDS_PER_ARRIVAL
        mean_gap = max(1.0, (end - self.t) * per_arrival / left)
        arrival = self.t + 1 + round(self.rng.expovariate(1.0 / mean_gap))
        if self.queue and self.queue[0][0] <= arrival:
            when, _, what, arg = heapq.heappop(self.queue)
            self.t = max(self.t + 1, when)
            getattr(self, what)(arg)
            return
        self.t = arrival
        self.arrivals += 1
        self.arrive(self.rng.random())

    def setup(self, n: int) -> None:
        for who, role in (
            (self.issuer, "issuer"),
            (self.responder, "responder"),
            (self.reviewer, "reviewer"),
            (self.attester, "attester"),
        ):
            if self.state.size < n:
                self.put(
                    "key.add", {"key": who.public_key.raw, "role": role, "name": role}, self.log_key
                )
        if self.state.size < n:
            self.put(
                "terms.publish",
                {
                    "id": "acme-model-license",
                    "version": "1.0",
                    "sha256": bytes(32),
                    "effective": self.start,
                    "notice_days": 30,
                    "change": "initial",
                },
                self.issuer,
            )

    def arrive(self, r: float) -> None:
        """One new event, chosen by ``r`` (uniform in [0, 1)) and what exists."""
        if r < 0.52 or not self.grants:
            self.request()
        elif r < 0.72:
            self.attest()
        elif r < 0.81:
            self.report_incident()
        elif r < 0.95:
            self.sublicense()
        elif r < 0.995 or self.t - self.terms_at < 90 * _DAY:
            self.withdraw()
        else:
            self.new_terms()

    def request(self) -> None:
        rng = self.rng
        tier = rng.choice(_TIERS)
        i = self.put(
            "access.request",
            {
                "applicant": rng.randbytes(32),
                "tier": tier,
                "purpose": rng.choice(_PURPOSES[tier]),
                "region": rng.choice(_REGIONS),
            },
            self.issuer,
        )
        if i is not None:
            self.later(_delay(rng, 2 * _DAY, _HOUR, 28 * _DAY), "decide", i)

    def decide(self, req: int) -> None:
        rng = self.rng
        r = rng.random()
        decision = (
            "approved" if r < 0.62
            else "approved_with_conditions" if r < 0.68
            else "needs_information" if r < 0.74
            else "denied"
        )  # fmt: skip
        d = self.put(
            "access.decision",
            {
                "request": req,
                "decision": decision,
                "reasons": [rng.choice(_DENY)] if decision == "denied" else [],
                "decided_at": self.t,
            },
            self.issuer,
        )
        if d is None:
            return
        if decision == "needs_information":
            self.later(_delay(rng, 5 * _DAY, _DAY, 21 * _DAY), "decide", req)
        elif decision == "denied":
            if rng.random() < 0.15:
                self.later(_delay(rng, 5 * _DAY, _HOUR, 30 * _DAY), "appeal", d)
        else:
            self.later(rng.randint(60, 4 * _HOUR), "grant", req)

    def grant(self, req: int) -> None:
        rng, t = self.rng, self.t
        h = rng.choice(self.holders)
        digest = rng.randbytes(32)
        g = self.put(
            "grant",
            {
                "token_digest": digest,
                "holder": h.public_key.raw,
                "licensee": rng.randbytes(32),
                "tier": self.state.requests[req]["tier"],
                "terms": {"id": "acme-model-license", "version": f"{self.version}.0"},
                "not_before": t,
                "not_after": t + 365 * _DAY,
                "request": req,
            },
            self.issuer,
        )
        if g is not None:
            self.grants.append((digest, g, h))

    def sublicense(self) -> None:
        rng, t = self.rng, self.t
        digest, _, h = rng.choice(self.grants[-_RECENT:])
        child = rng.randbytes(32)
        c = rng.choice(self.holders)
        g = self.put(
            "grant",
            {
                "token_digest": child,
                "holder": c.public_key.raw,
                "licensee": rng.randbytes(32),
                "tier": "sme",
                "not_before": t,
                "not_after": t + 90 * _DAY,
                "parent": digest,
            },
            h,
        )
        if g is not None:
            self.grants.append((child, g, c))

    def appeal(self, denial: int) -> None:
        rng = self.rng
        a = self.put(
            "appeal.file",
            {"target": denial, "grounds": "Please reconsider.", "filed_at": self.t},
            self.issuer,
        )
        if a is not None:
            self.later(_delay(rng, 10 * _DAY, 2 * _DAY, 45 * _DAY), "decide_appeal", a)

    def decide_appeal(self, appeal: int) -> None:
        self.put(
            "appeal.decide",
            {
                "appeal": appeal,
                "outcome": self.rng.choice(["upheld", "upheld", "overturned", "modified"]),
                "rationale": "Reviewed.",
                "independent": True,
                "decided_at": self.t,
            },
            self.reviewer,
        )

    def attest(self) -> None:
        rng = self.rng
        self.put(
            "attest",
            {
                "subjects": [{"name": f"model-{rng.randrange(20)}", "sha256": rng.randbytes(32)}],
                "predicate_type": "https://slsa.dev/provenance/v1",
                "predicate": {"builder": "ci"},
                "consent_basis": [rng.choice(["licensed", "consent", "public_domain"])],
                "sensitive": rng.choice([[], ["health"], ["biometric"]]),
            },
            self.attester,
        )

    def report_incident(self) -> None:
        rng = self.rng
        reporter = _key(self.seed, f"reporter{self.state.size}")
        i = self.put(
            "incident.report",
            {
                "kind": rng.choice(["incident", "hazard"]),
                "harms": [rng.choice(sorted(HARM_TYPES))],
                "severity": rng.choice(_SEVERITY),
                "affected": ["individuals"],
                "jurisdictions": [rng.choice(_REGIONS)],
                "description": "Reported misuse.",
                "signer": reporter.public_key.raw,
            },
            reporter,
        )
        if i is not None:
            self.later(_delay(self.rng, *_INCIDENT_DELAYS[0]), "advance_incident", (i, 0))

    def advance_incident(self, at: tuple[int, int]) -> None:
        rng = self.rng
        inc, done = at
        etype = _INCIDENT_STEPS[done]
        extra: dict[str, Any] = {}
        if etype == "incident.respond":
            extra = {"action": "Mitigated."}
        elif etype == "incident.remediate":
            extra = {"action": "Remediated."}
            if self.withdrawals:
                extra["revocations"] = [rng.choice(self.withdrawals[-_RECENT:])]
        elif etype == "incident.close":
            extra = {"outcome": rng.choice(_CLOSE), "summary": "Closed after review."}
        if self.put(etype, {"incident": inc, **extra}, self.responder) is not None and done < 3:
            self.later(
                _delay(rng, *_INCIDENT_DELAYS[done + 1]), "advance_incident", (inc, done + 1)
            )

    def withdraw(self) -> None:
        rng = self.rng
        digest, _, _ = rng.choice(self.grants[-_RECENT:])
        kind = "revoke" if rng.random() < 0.6 else "suspend"
        w = self.put(
            kind,
            {
                "tokens": [digest],
                "reason": rng.choice(_WITHDRAW_REASONS),
                "effective": self.t,
                "cascade": rng.random() < 0.8,
            },
            self.issuer,
        )
        if w is not None:
            self.withdrawals.append(w)

    def new_terms(self) -> None:
        rng = self.rng
        self.version += 1
        self.terms_at = self.t
        self.put(
            "terms.publish",
            {
                "id": "acme-model-license",
                "version": f"{self.version}.0",
                "sha256": rng.randbytes(32),
                "effective": self.t + 30 * _DAY,
                "notice_days": 30,
                "supersedes": f"{self.version - 1}.0",
                "change": rng.choice(["minor", "material"]),
            },
            self.issuer,
        )
