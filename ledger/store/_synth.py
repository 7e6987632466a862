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
_PURPOSES = [
    "research",
    "education",
    "commercial.product",
    "internal.tools",
    "consumer.chat",
    "public.services",
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
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not secrets)
    state = LedgerState(log_key.public_key.raw)
    issuer, responder, reviewer, attester = (
        _key(seed, x) for x in ("issuer", "responder", "reviewer", "attester")
    )
    holders = [_key(seed, f"holder{i}") for i in range(64)]
    pending: list[bytes] = []  # encoded records, each with its own integration time
    prev = [ZERO_HASH]
    open_requests: list[int] = []
    denials: list[int] = []
    grants: list[tuple[bytes, int, SigningKey]] = []  # (digest, index, holder)
    withdrawals: list[int] = []
    open_incidents: dict[int, int] = {}  # index -> steps done
    t = start

    def put(etype: str, payload: dict[str, Any], author: SigningKey) -> int | None:
        index = state.size
        payload = {"at": t, **payload}
        if state.apply(index, t, etype, payload, author.public_key.raw):
            state.size = index  # refused: nothing was written at this index
            return None
        raw = encode_record(index, prev[0], t, etype, make_entry(etype, payload, author))
        prev[0] = leaf_hash(raw)
        pending.append(raw)
        if len(pending) >= batch:
            flush()
        return index

    def flush() -> None:
        if pending:
            # Pre-encoded records (each keeps its own time) through the store's import path,
            # which re-decodes and re-checks index and chain before writing.
            led._write(entries_bytes=pending, entries=None, t=t, log_key=log_key)
            pending.clear()
            if progress is not None:
                progress(state.size)

    for who, role in (
        (issuer, "issuer"),
        (responder, "responder"),
        (reviewer, "reviewer"),
        (attester, "attester"),
    ):
        put("key.add", {"key": who.public_key.raw, "role": role, "name": role}, log_key)
    put(
        "terms.publish",
        {
            "id": "acme-model-license",
            "version": "1.0",
            "sha256": bytes(32),
            "effective": start,
            "notice_days": 30,
            "change": "initial",
        },
        issuer,
    )
    version = 1
    while state.size < n:
        t += rng.randint(1, 2 * step)
        r = rng.random()
        if r < 0.30 or not open_requests:
            i = put(
                "access.request",
                {
                    "applicant": rng.randbytes(32),
                    "tier": rng.choice(_TIERS),
                    "purpose": rng.choice(_PURPOSES),
                    "region": rng.choice(_REGIONS),
                },
                issuer,
            )
            if i is not None:
                open_requests.append(i)
        elif r < 0.55:
            req = open_requests.pop(rng.randrange(len(open_requests)))
            denied = rng.random() < 0.3
            d = put(
                "access.decision",
                {
                    "request": req,
                    "decision": "denied" if denied else "approved",
                    "reasons": [rng.choice(_DENY)] if denied else [],
                    "decided_at": t,
                },
                issuer,
            )
            if denied and d is not None:
                denials.append(d)
            elif not denied:
                h = rng.choice(holders)
                digest = rng.randbytes(32)
                g = put(
                    "grant",
                    {
                        "token_digest": digest,
                        "holder": h.public_key.raw,
                        "licensee": rng.randbytes(32),
                        "tier": state.requests[req]["tier"],
                        "terms": {"id": "acme-model-license", "version": f"{version}.0"},
                        "not_before": t,
                        "not_after": t + 365 * 86400,
                        "request": req,
                    },
                    issuer,
                )
                if g is not None:
                    grants.append((digest, g, h))
        elif r < 0.62 and grants:
            digest, _, h = rng.choice(grants)
            child = rng.randbytes(32)
            c = rng.choice(holders)
            g = put(
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
                grants.append((child, g, c))
        elif r < 0.66 and denials:
            a = put(
                "appeal.file",
                {
                    "target": denials.pop(rng.randrange(len(denials))),
                    "grounds": "Please reconsider.",
                    "filed_at": t,
                },
                issuer,
            )
            if a is not None:
                t += rng.randint(3600, 14 * 86400)
                put(
                    "appeal.decide",
                    {
                        "appeal": a,
                        "outcome": rng.choice(["upheld", "overturned", "modified"]),
                        "rationale": "Reviewed.",
                        "independent": True,
                        "decided_at": t,
                    },
                    reviewer,
                )
        elif r < 0.72:
            put(
                "attest",
                {
                    "subjects": [
                        {"name": f"model-{rng.randrange(20)}", "sha256": rng.randbytes(32)}
                    ],
                    "predicate_type": "https://slsa.dev/provenance/v1",
                    "predicate": {"builder": "ci"},
                    "consent_basis": [rng.choice(["licensed", "consent", "public_domain"])],
                    "sensitive": rng.choice([[], ["health"], ["biometric"]]),
                },
                attester,
            )
        elif r < 0.78:
            reporter = _key(seed, f"reporter{state.size}")
            i = put(
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
                open_incidents[i] = 0
        elif r < 0.92 and open_incidents:
            inc = rng.choice(list(open_incidents))
            done = open_incidents[inc]
            etype = ["incident.ack", "incident.respond", "incident.remediate", "incident.close"][
                done
            ]
            extra: dict[str, Any] = {}
            if etype == "incident.respond":
                extra = {"action": "Mitigated."}
            elif etype == "incident.remediate":
                extra = {"action": "Remediated."}
                if withdrawals:
                    extra["revocations"] = [rng.choice(withdrawals)]
            elif etype == "incident.close":
                extra = {"outcome": "remediated", "summary": "Closed after remediation."}
            if put(etype, {"incident": inc, **extra}, responder) is not None:
                open_incidents[inc] = done + 1
                if done == 3:
                    del open_incidents[inc]
        elif r < 0.97 and grants:
            digest, _, _ = rng.choice(grants)
            kind = "revoke" if rng.random() < 0.6 else "suspend"
            w = put(
                kind,
                {
                    "tokens": [digest],
                    "reason": rng.choice(sorted(REVOCATION_REASONS)),
                    "effective": t,
                    "cascade": rng.random() < 0.8,
                },
                issuer,
            )
            if w is not None:
                withdrawals.append(w)
        else:
            version += 1
            put(
                "terms.publish",
                {
                    "id": "acme-model-license",
                    "version": f"{version}.0",
                    "sha256": rng.randbytes(32),
                    "effective": t + 30 * 86400,
                    "notice_days": 30,
                    "supersedes": f"{version - 1}.0",
                    "change": rng.choice(["minor", "material"]),
                },
                issuer,
            )
    flush()
    return state.size
