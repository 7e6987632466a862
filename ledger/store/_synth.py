"""A generator of realistic ledgers: every entry type, consistent references, a plausible mix.

For benchmarks and the report at scale. Deterministic for a seed: the same (seed, n, start)
gives the same records. Every generated entry passes the same checks as a typed append (it is
applied to a LedgerState before it is written), so the result audits clean.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

from keys import MalformedError, SigningKey

from ..entries import HARM_TYPES, REVOCATION_REASONS, ZERO_HASH, encode_record, make_entry
from ..state import LedgerState
from ..tlog import leaf_hash
from ._ledger import Ledger

__all__ = ["synthesize"]

_TIERS = [
    "academic",
    "academic",
    "nonprofit",
    "sme",
    "enterprise",
    "enterprise",
    "government",
    "individual",
]
_PURPOSES = [  # from the vocabulary (SPEC 5.5.2), as an access request's schema requires
    "research",
    "education",
    "enterprise.product",
    "enterprise.internal",
    "consumer.assistant",
    "government.public-service",
]
_REGIONS = ["DE", "FR", "US", "GB", "IN", "BR", "JP", "NG", "CA", "NL", "KE", "SG"]
_DENY = [
    "missing_affiliation",
    "prohibited_purpose",
    "sanctioned_region",
    "incomplete_application",
    "tier_mismatch",
]
_SEVERITY = ["low", "low", "medium", "medium", "high", "critical"]


def _key(seed: int, label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(f"lic-synth/{seed}/{label}".encode()).digest())


def synthesize(
    led: Ledger,
    n: int,
    *,
    log_key: SigningKey,
    seed: int = 1,
    start: int = 1_767_225_600,  # 2026-01-01T00:00:00Z
    step: int = 300,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append ``n`` records to the empty ledger ``led``; returns the number written."""
    if led.size != 0:
        raise MalformedError("synthesize: the ledger must be empty")
    g = _Synth(led, log_key, seed, start, batch, progress)
    g.setup()
    while g.state.size < n:
        g.t += g.rng.randint(1, 2 * step)
        g.step(g.rng.random())
    g.flush()
    return g.state.size


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
        self.open_requests: list[int] = []
        self.denials: list[int] = []
        self.grants: list[tuple[bytes, int, SigningKey]] = []  # (digest, index, holder)
        self.withdrawals: list[int] = []
        self.open_incidents: dict[int, int] = {}  # index -> steps done
        self.t = start
        self.version = 1

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

    def setup(self) -> None:
        for who, role in (
            (self.issuer, "issuer"),
            (self.responder, "responder"),
            (self.reviewer, "reviewer"),
            (self.attester, "attester"),
        ):
            self.put(
                "key.add", {"key": who.public_key.raw, "role": role, "name": role}, self.log_key
            )
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

    def step(self, r: float) -> None:
        """One event, chosen by ``r`` (uniform in [0, 1)) and what is open."""
        if r < 0.30 or not self.open_requests:
            self.request()
        elif r < 0.55:
            self.decide()
        elif r < 0.62 and self.grants:
            self.sublicense()
        elif r < 0.66 and self.denials:
            self.appeal()
        elif r < 0.72:
            self.attest()
        elif r < 0.78:
            self.report_incident()
        elif r < 0.92 and self.open_incidents:
            self.advance_incident()
        elif r < 0.97 and self.grants:
            self.withdraw()
        else:
            self.new_terms()

    def request(self) -> None:
        rng = self.rng
        i = self.put(
            "access.request",
            {
                "applicant": rng.randbytes(32),
                "tier": rng.choice(_TIERS),
                "purpose": rng.choice(_PURPOSES),
                "region": rng.choice(_REGIONS),
            },
            self.issuer,
        )
        if i is not None:
            self.open_requests.append(i)

    def decide(self) -> None:
        rng, t = self.rng, self.t
        req = self.open_requests.pop(rng.randrange(len(self.open_requests)))
        denied = rng.random() < 0.3
        d = self.put(
            "access.decision",
            {
                "request": req,
                "decision": "denied" if denied else "approved",
                "reasons": [rng.choice(_DENY)] if denied else [],
                "decided_at": t,
            },
            self.issuer,
        )
        if denied and d is not None:
            self.denials.append(d)
        elif not denied:
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
                    "not_after": t + 365 * 86400,
                    "request": req,
                },
                self.issuer,
            )
            if g is not None:
                self.grants.append((digest, g, h))

    def sublicense(self) -> None:
        rng, t = self.rng, self.t
        digest, _, h = rng.choice(self.grants)
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
                "not_after": t + 30 * 86400,
                "parent": digest,
            },
            h,
        )
        if g is not None:
            self.grants.append((child, g, c))

    def appeal(self) -> None:
        rng = self.rng
        a = self.put(
            "appeal.file",
            {
                "target": self.denials.pop(rng.randrange(len(self.denials))),
                "grounds": "Please reconsider.",
                "filed_at": self.t,
            },
            self.issuer,
        )
        if a is not None:
            self.t += rng.randint(3600, 14 * 86400)
            self.put(
                "appeal.decide",
                {
                    "appeal": a,
                    "outcome": rng.choice(["upheld", "overturned", "modified"]),
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
            self.open_incidents[i] = 0

    def advance_incident(self) -> None:
        rng = self.rng
        inc = rng.choice(list(self.open_incidents))
        done = self.open_incidents[inc]
        etype = ["incident.ack", "incident.respond", "incident.remediate", "incident.close"][done]
        extra: dict[str, Any] = {}
        if etype == "incident.respond":
            extra = {"action": "Mitigated."}
        elif etype == "incident.remediate":
            extra = {"action": "Remediated."}
            if self.withdrawals:
                extra["revocations"] = [rng.choice(self.withdrawals)]
        elif etype == "incident.close":
            extra = {"outcome": "remediated", "summary": "Closed after remediation."}
        if self.put(etype, {"incident": inc, **extra}, self.responder) is not None:
            self.open_incidents[inc] = done + 1
            if done == 3:
                del self.open_incidents[inc]

    def withdraw(self) -> None:
        rng = self.rng
        digest, _, _ = rng.choice(self.grants)
        kind = "revoke" if rng.random() < 0.6 else "suspend"
        w = self.put(
            kind,
            {
                "tokens": [digest],
                "reason": rng.choice(sorted(REVOCATION_REASONS)),
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
        self.put(
            "terms.publish",
            {
                "id": "acme-model-license",
                "version": f"{self.version}.0",
                "sha256": rng.randbytes(32),
                "effective": self.t + 30 * 86400,
                "notice_days": 30,
                "supersedes": f"{self.version - 1}.0",
                "change": rng.choice(["minor", "material"]),
            },
            self.issuer,
        )
