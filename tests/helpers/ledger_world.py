"""A small ledger holding every entry type, built through the typed append path (for tests)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys import SigningKey
from ledger.store import Ledger, append_entry

T0 = 1_790_000_000
# (label, entry type, author, payload or a function of the append time giving it)
Step = tuple[str, str, SigningKey, dict[str, Any] | Callable[[int], dict[str, Any]]]


def key(n: int) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"lic-ledger test key %d" % n).digest())


@dataclass
class World:
    path: Path
    log: SigningKey = field(default_factory=lambda: key(0))
    issuer: SigningKey = field(default_factory=lambda: key(1))
    responder: SigningKey = field(default_factory=lambda: key(2))
    reviewer: SigningKey = field(default_factory=lambda: key(3))
    attester: SigningKey = field(default_factory=lambda: key(4))
    holder: SigningKey = field(default_factory=lambda: key(5))
    contractor: SigningKey = field(default_factory=lambda: key(6))
    reporter: SigningKey = field(default_factory=lambda: key(7))
    idx: dict[str, int] = field(default_factory=dict)
    root_token: bytes = hashlib.sha256(b"root token").digest()
    child_token: bytes = hashlib.sha256(b"child token").digest()
    licensee: bytes = hashlib.sha256(b"salt|alice").digest()

    def add(self, led, label, etype, author, t, /, **payload):
        appended = append_entry(led, etype, {"at": t, **payload}, author, now=t, log_key=self.log)
        self.idx[label] = appended.index
        return appended.index


def build(path: Path, *, checkpoint_every: int = 4) -> World:
    """Every entry type at least once, with consistent cross-references and checkpoints."""
    w = World(path)
    with Ledger.create(path, "example.com/log", w.log) as led:
        steps = [
            *_keys_terms_and_access(w),
            *_grants_and_attestation(w),
            *_incident_and_enforcement(w),
        ]
        for i, (name, etype, author, payload) in enumerate(steps):
            t = T0 + 10 * (i + 1)
            w.add(led, name, etype, author, t, **(payload(t) if callable(payload) else payload))
            if (i + 1) % checkpoint_every == 0:
                led.checkpoint(w.log)
        led.checkpoint(w.log)
    return w


def _keys_terms_and_access(w: World) -> list[Step]:
    """The log's keys for the other roles, the terms, and an access request denied, appealed
    and overturned."""
    return [
        (
            "k1",
            "key.add",
            w.log,
            {"key": w.issuer.public_key.raw, "role": "issuer", "name": "issuer"},
        ),
        (
            "k2",
            "key.add",
            w.log,
            {"key": w.responder.public_key.raw, "role": "responder", "name": "responder"},
        ),
        (
            "k3",
            "key.add",
            w.log,
            {"key": w.reviewer.public_key.raw, "role": "reviewer", "name": "reviewer"},
        ),
        (
            "k4",
            "key.add",
            w.log,
            {"key": w.attester.public_key.raw, "role": "attester", "name": "attester"},
        ),
        (
            "terms",
            "terms.publish",
            w.issuer,
            {
                "id": "acme-license",
                "version": "1.0",
                "sha256": bytes(32),
                "effective": T0,
                "notice_days": 30,
                "change": "initial",
            },
        ),
        (
            "req",
            "access.request",
            w.issuer,
            {
                "applicant": w.licensee,
                "tier": "academic",
                "purpose": "research",
                "region": "DE",
            },
        ),
        (
            "dec",
            "access.decision",
            w.issuer,
            lambda t: {
                "request": w.idx["req"],
                "decision": "denied",
                "reasons": ["missing_affiliation"],
                "decided_at": t,
            },
        ),
        (
            "app",
            "appeal.file",
            w.issuer,
            lambda t: {"target": w.idx["dec"], "grounds": "We are a lab.", "filed_at": t},
        ),
        (
            "appd",
            "appeal.decide",
            w.reviewer,
            lambda t: {
                "appeal": w.idx["app"],
                "outcome": "overturned",
                "rationale": "Affiliation shown.",
                "independent": True,
                "decided_at": t,
            },
        ),
    ]


def _grants_and_attestation(w: World) -> list[Step]:
    """A root grant, its sublicense, and a provenance attestation."""
    return [
        (
            "grant",
            "grant",
            w.issuer,
            lambda t: {
                "token_digest": w.root_token,
                "holder": w.holder.public_key.raw,
                "licensee": w.licensee,
                "tier": "academic",
                "not_before": T0,
                "not_after": T0 + 10**6,
                "request": w.idx["req"],
            },
        ),
        (
            "sub",
            "grant",
            w.holder,
            {
                "token_digest": w.child_token,
                "holder": w.contractor.public_key.raw,
                "licensee": w.licensee,
                "tier": "academic",
                "not_before": T0,
                "not_after": T0 + 10**5,
                "parent": w.root_token,
            },
        ),
        (
            "att",
            "attest",
            w.attester,
            {
                "subjects": [{"name": "acme-7b", "sha256": bytes(range(32))}],
                "predicate_type": "https://slsa.dev/provenance/v1",
                "predicate": {"builder": "ci"},
                "consent_basis": ["licensed"],
            },
        ),
    ]


def _incident_and_enforcement(w: World) -> list[Step]:
    """An incident through its life, the suspension, reinstatement and revocation it led to,
    and the key events."""
    return [
        (
            "inc",
            "incident.report",
            w.reporter,
            {
                "kind": "incident",
                "harms": ["privacy"],
                "severity": "high",
                "affected": ["individuals"],
                "jurisdictions": ["DE"],
                "tokens": [w.child_token],
                "description": "Face matching in CCTV.",
                "signer": w.reporter.public_key.raw,
            },
        ),
        ("ack", "incident.ack", w.responder, lambda t: {"incident": w.idx["inc"]}),
        (
            "upd",
            "incident.update",
            w.responder,
            lambda t: {"incident": w.idx["inc"], "note": "Confirmed."},
        ),
        (
            "resp",
            "incident.respond",
            w.responder,
            lambda t: {"incident": w.idx["inc"], "action": "Suspended."},
        ),
        (
            "susp",
            "suspend",
            w.issuer,
            {
                "tokens": [w.child_token],
                "reason": "prohibited_use",
                "effective": T0 + 100,
                "cascade": True,
            },
        ),
        (
            "rein",
            "reinstate",
            w.issuer,
            {"tokens": [w.child_token], "effective": T0 + 150, "cascade": True},
        ),
        (
            "rev",
            "revoke",
            w.issuer,
            lambda t: {
                "tokens": [w.root_token],
                "reason": "prohibited_use",
                "effective": T0 + 200,
                "cascade": True,
                "incidents": [w.idx["inc"]],
            },
        ),
        (
            "rem",
            "incident.remediate",
            w.responder,
            lambda t: {
                "incident": w.idx["inc"],
                "action": "Revoked.",
                "revocations": [w.idx["rev"]],
            },
        ),
        (
            "close",
            "incident.close",
            w.responder,
            lambda t: {
                "incident": w.idx["inc"],
                "outcome": "remediated",
                "summary": "License revoked.",
            },
        ),
        (
            "kr",
            "key.retire",
            w.log,
            {"key": w.attester.public_key.raw, "effective": T0 + 10**6},
        ),
        (
            "kc",
            "key.compromised",
            w.log,
            {"key": w.reviewer.public_key.raw, "since": T0 + 10**6},
        ),
    ]
