"""One valid payload of every entry type (used by schema, append and replay tests)."""

D1, D2, D3 = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32
KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
T = 1_790_000_000


def examples() -> dict[str, dict]:
    ex = {
        "key.add": {"key": KEY, "role": "issuer", "name": "acme", "not_before": T},
        "key.retire": {"key": KEY, "effective": T + 10},
        "key.compromised": {"key": KEY, "since": T + 5},
        "terms.publish": {
            "id": "acme-model-license",
            "version": "1.0",
            "sha256": D1,
            "effective": T,
            "notice_days": 30,
            "change": "initial",
        },
        "access.request": {
            "applicant": D2,
            "tier": "academic",
            "purpose": "research",
            "region": "DE",
        },
        "access.decision": {
            "request": 3,
            "decision": "denied",
            "reasons": ["tier_mismatch"],
            "decided_at": T,
        },
        "appeal.file": {"target": 4, "grounds": "We are a university lab.", "filed_at": T},
        "appeal.decide": {
            "appeal": 5,
            "outcome": "overturned",
            "rationale": "Evidence of affiliation accepted.",
            "independent": True,
            "decided_at": T,
        },
        "grant": {
            "token_digest": D3,
            "holder": KEY,
            "licensee": D2,
            "tier": "academic",
            "terms": {"id": "acme-model-license", "version": "1.0"},
            "not_before": T,
            "not_after": T + 86400,
        },
        "revoke": {"tokens": [D3], "reason": "prohibited_use", "effective": T, "cascade": True},
        "suspend": {"licensee": D2, "reason": "duty_breach", "effective": T, "cascade": True},
        "reinstate": {"tokens": [D3], "effective": T, "cascade": True},
        "attest": {
            "subjects": [{"name": "acme-7b", "sha256": D1}],
            "predicate_type": "https://slsa.dev/provenance/v1",
            "predicate": {"builder": {"id": "ci"}},
            "consent_basis": ["licensed"],
            "sensitive": [],
        },
        "incident.report": {
            "kind": "incident",
            "harms": ["privacy"],
            "severity": "high",
            "affected": ["individuals"],
            "jurisdictions": ["DE", "EU"],
            "tokens": [D3],
            "description": "Model used for covert biometric identification.",
        },
        "incident.ack": {"incident": 12},
        "incident.update": {"incident": 12, "note": "Confirmed."},
        "incident.respond": {"incident": 12, "action": "Suspended the licensee."},
        "incident.remediate": {"incident": 12, "action": "Revoked.", "revocations": [9]},
        "incident.close": {"incident": 12, "outcome": "remediated", "summary": "License revoked."},
    }
    return {t: {"at": T, **p} for t, p in ex.items()}
