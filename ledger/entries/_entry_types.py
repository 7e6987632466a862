"""The typed ledger entries: one closed schema per entry type, and who may author each. Pure.

An entry payload is a deterministic CBOR map with text keys. Every payload carries ``at`` (the
author's own timestamp, integer seconds). The entry type is not repeated in the payload: the
record layer signs it as the COSE ``typ`` header, so a signature cannot be replayed under another
type. Entries that anyone may author (incident reports, appeals) may carry ``signer``, the raw
public key of a one-time key, so that an auditor can check a signature by a key it never saw.
References to earlier records are record indexes; references to tokens are token digests
(SHA-256 of the token bytes as transmitted); people appear only as salted commitments
(SHA-256 of salt || identifier, the salt kept by the person).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import lic
from keys.errors import MalformedError

from ._oms import MAX_KEY, PUBLISHER_ROLES, any_key_form, key_form, oms_shape
from ._schema import DIGEST, Any_, Bool, Bytes, Enum, Field, Int, List, Map, Opt, Problem, Text

__all__ = [
    "AFFECTED",
    "APPEAL_OUTCOMES",
    "AUTHOR_ROLES",
    "CLOSE_OUTCOMES",
    "CONSENT_BASES",
    "DECISIONS",
    "ENTRY_SCHEMAS",
    "ENTRY_TYPES",
    "HARM_TYPES",
    "INCIDENT_KINDS",
    "KEY_ROLES",
    "REVOCATION_REASONS",
    "SENSITIVE",
    "SEVERITIES",
    "TERMS_CHANGE_CLASSES",
    "TIERS",
    "entry_problems",
    "validate_entry",
]


def _codes(*names: str) -> frozenset[str]:
    return frozenset(names)


KEY_ROLES = _codes(
    "log", "issuer", "attester", "reviewer", "responder", "witness", *PUBLISHER_ROLES
)
TIERS = _codes("academic", "nonprofit", "sme", "enterprise", "government", "individual")
DECISIONS = _codes("approved", "approved_with_conditions", "denied", "needs_information")
APPEAL_OUTCOMES = _codes("upheld", "overturned", "modified")
REVOCATION_REASONS = _codes(
    "prohibited_use",
    "duty_breach",
    "threshold_exceeded",
    "geographic_violation",
    "unauthorized_redistribution",
    "secondary_use_violation",
    "downstream_violation",
    "fraudulent_application",
    "key_compromise",
    "legal_order",
    "terms_sunset",
    "licensee_request",
)
TERMS_CHANGE_CLASSES = _codes("initial", "editorial", "minor", "material")
INCIDENT_KINDS = _codes("incident", "hazard")
SEVERITIES = _codes("low", "medium", "high", "critical")
# After the OECD AI Incidents Monitor's harm types.
HARM_TYPES = _codes(
    "physical",
    "psychological",
    "financial",
    "reputational",
    "property",
    "environmental",
    "fundamental_rights",
    "privacy",
    "discrimination",
    "public_interest",
    "security",
)
AFFECTED = _codes(
    "individuals", "children", "consumers", "workers", "businesses", "government", "public"
)
CONSENT_BASES = _codes(
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
    "public_domain",
    "licensed",
    "not_declared",
)
# GDPR Art. 9 and 10 categories, plus children's data.
SENSITIVE = _codes(
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_or_philosophical_beliefs",
    "trade_union_membership",
    "genetic",
    "biometric",
    "health",
    "sex_life_or_orientation",
    "criminal_convictions",
    "children",
)
CLOSE_OUTCOMES = _codes(
    "remediated", "no_action_needed", "unsubstantiated", "duplicate", "referred"
)

# Codes of the license vocabulary (SPEC 5.5), checked as a token's are: an access request's
# purpose (the purposes or the prohibited-use taxonomy, or custom x-), a listed region.
REQUEST_PURPOSES = frozenset().union(*(lic.vocabulary(k) for k in ("purposes", "prohibited_uses")))
LISTED_REGIONS = lic.countries() | frozenset(lic.region_groups())

TIME = Int()
REF = Int()  # index of an earlier record
CODE = Text(max=96, pattern=r"[a-z0-9][a-z0-9_.-]*")
RATIONALE = Text(max=8192)
ID = Text(max=128, pattern=r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
VERSION = Text(max=64, pattern=r"[A-Za-z0-9][A-Za-z0-9._+-]*")
DIGESTS = List(DIGEST, min=1, max=1024, unique=True)


def _window(lo: str, hi: str) -> Any:
    def check(v: Mapping[str, Any]) -> Iterator[Problem]:
        if lo in v and hi in v and v[hi] <= v[lo]:
            yield hi, f"must be later than {lo}"

    return check


def _one_target(v: Mapping[str, Any]) -> Iterator[Problem]:
    if "tokens" not in v and "licensee" not in v:
        yield "tokens", "a revocation names tokens, a licensee commitment, or both"


def _denial_reasons(v: Mapping[str, Any]) -> Iterator[Problem]:
    if v["decision"] == "denied" and not v["reasons"]:
        yield "reasons", "a denial gives at least one reason code"


def _common(extra: Mapping[str, Field | Opt]) -> dict[str, Field | Opt]:
    return {"at": TIME, **extra}


_TARGETS: dict[str, Field | Opt] = {
    "tokens": Opt(DIGESTS),
    "licensee": Opt(DIGEST),
    "reason": Enum(REVOCATION_REASONS),
    "effective": TIME,
    "cascade": Bool(),
    "incidents": Opt(List(REF, max=64, unique=True)),
    "note": Opt(RATIONALE),
}

ENTRY_SCHEMAS: dict[str, Map] = {
    # -- keys -----------------------------------------------------------------------------
    "key.add": Map(
        _common(
            {
                "key": Bytes(max=MAX_KEY),
                "role": Enum(KEY_ROLES),
                "name": Text(max=128),
                "not_before": Opt(TIME),
                "not_after": Opt(TIME),
            }
        ),
        (_window("not_before", "not_after"), key_form),
    ),
    "key.retire": Map(_common({"key": Bytes(max=MAX_KEY), "effective": TIME}), (any_key_form,)),
    "key.compromised": Map(_common({"key": Bytes(max=MAX_KEY), "since": TIME}), (any_key_form,)),
    # -- terms ----------------------------------------------------------------------------
    "terms.publish": Map(
        _common(
            {
                "id": ID,
                "version": VERSION,
                "sha256": DIGEST,
                "effective": TIME,
                "notice_days": Int(max=3650),
                "sunset": Opt(TIME),
                "supersedes": Opt(VERSION),
                "change": Enum(TERMS_CHANGE_CLASSES),
                "url": Opt(Text(max=2048)),
            }
        ),
        (_window("effective", "sunset"),),
    ),
    # -- access ---------------------------------------------------------------------------
    "access.request": Map(
        _common(
            {
                "applicant": DIGEST,
                "tier": Enum(TIERS, custom=True),
                "purpose": Enum(REQUEST_PURPOSES, custom=True),
                "region": Enum(LISTED_REGIONS),
                "model": Opt(ID),
            }
        )
    ),
    "access.decision": Map(
        _common(
            {
                "request": REF,
                "decision": Enum(DECISIONS),
                "reasons": List(CODE, max=32, unique=True),
                "rationale": Opt(RATIONALE),
                "decided_at": TIME,
            }
        ),
        (_denial_reasons,),
    ),
    # -- appeals --------------------------------------------------------------------------
    "appeal.file": Map(
        _common(
            {"target": REF, "grounds": RATIONALE, "filed_at": TIME, "signer": Opt(Bytes(size=32))}
        )
    ),
    "appeal.decide": Map(
        _common(
            {
                "appeal": REF,
                "outcome": Enum(APPEAL_OUTCOMES),
                "rationale": RATIONALE,
                "independent": Bool(),
                "decided_at": TIME,
            }
        )
    ),
    # -- grants and their withdrawal ------------------------------------------------------
    "grant": Map(
        _common(
            {
                "token_digest": DIGEST,
                "holder": Bytes(size=32),
                "licensee": DIGEST,
                "tier": Enum(TIERS, custom=True),
                "terms": Opt(Map({"id": ID, "version": VERSION})),
                "not_before": TIME,
                "not_after": TIME,
                "parent": Opt(DIGEST),
                "request": Opt(REF),
            }
        ),
        (_window("not_before", "not_after"),),
    ),
    "revoke": Map(_common(_TARGETS), (_one_target,)),
    "suspend": Map(_common({**_TARGETS, "until": Opt(TIME)}), (_one_target,)),
    "reinstate": Map(_common({**_TARGETS, "reason": Opt(CODE)}), (_one_target,)),
    # -- provenance -----------------------------------------------------------------------
    "attest": Map(
        _common(
            {
                "subjects": List(Map({"name": Text(max=512), "sha256": DIGEST}), min=1, max=1024),
                "predicate_type": Text(max=512),
                "predicate": Opt(Any_()),
                "envelope": Opt(Bytes(max=1 << 20)),
                "oms": Opt(Bytes(max=1 << 20)),
                "consent_basis": Opt(List(Enum(CONSENT_BASES), min=1, max=16, unique=True)),
                "sensitive": Opt(List(Enum(SENSITIVE, custom=True), max=16, unique=True)),
            }
        ),
        (oms_shape,),
    ),
    # -- incidents ------------------------------------------------------------------------
    "incident.report": Map(
        _common(
            {
                "kind": Enum(INCIDENT_KINDS),
                "harms": List(Enum(HARM_TYPES, custom=True), min=1, max=16, unique=True),
                "severity": Enum(SEVERITIES),
                "affected": List(Enum(AFFECTED, custom=True), max=16, unique=True),
                "jurisdictions": List(Enum(LISTED_REGIONS), max=64, unique=True),
                "tokens": Opt(DIGESTS),
                "occurred_at": Opt(TIME),
                "description": RATIONALE,
                "signer": Opt(Bytes(size=32)),
            }
        )
    ),
    "incident.ack": Map(_common({"incident": REF})),
    "incident.update": Map(
        _common({"incident": REF, "severity": Opt(Enum(SEVERITIES)), "note": RATIONALE})
    ),
    "incident.respond": Map(_common({"incident": REF, "action": RATIONALE})),
    "incident.remediate": Map(
        _common(
            {
                "incident": REF,
                "action": RATIONALE,
                "revocations": Opt(List(REF, max=64, unique=True)),
            }
        )
    ),
    "incident.close": Map(
        _common({"incident": REF, "outcome": Enum(CLOSE_OUTCOMES), "summary": RATIONALE})
    ),
}

ENTRY_TYPES = frozenset(ENTRY_SCHEMAS)

# Who may author each type: a key registered on the ledger with one of these roles at the time
# of the entry. "holder" means the cnf key of the parent token (sublicense grants and their
# withdrawal); "anyone" means any key, including a one-time key (incident reports).
AUTHOR_ROLES: dict[str, frozenset[str]] = {
    "key.add": _codes("log"),
    "key.retire": _codes("log"),
    "key.compromised": _codes("log"),
    "terms.publish": _codes("issuer"),
    "access.request": _codes("issuer"),
    "access.decision": _codes("issuer"),
    "appeal.file": _codes("issuer", "anyone"),
    "appeal.decide": _codes("reviewer", "issuer"),
    "grant": _codes("issuer", "holder"),
    "revoke": _codes("issuer", "holder"),
    "suspend": _codes("issuer", "holder"),
    "reinstate": _codes("issuer", "holder"),
    "attest": _codes("attester"),
    "incident.report": _codes("anyone"),
    "incident.ack": _codes("responder", "issuer"),
    "incident.update": _codes("responder", "issuer"),
    "incident.respond": _codes("responder", "issuer"),
    "incident.remediate": _codes("responder", "issuer"),
    "incident.close": _codes("responder", "issuer"),
}
assert set(AUTHOR_ROLES) == ENTRY_TYPES


def entry_problems(entry_type: str, payload: Any) -> list[Problem]:
    """Every way ``payload`` breaks the schema of ``entry_type``, as (path, message) pairs."""
    schema = ENTRY_SCHEMAS.get(entry_type)
    if schema is None:
        return [("type", f"unknown entry type {entry_type!r}")]
    if schema.ok(payload):
        return []
    return list(schema.problems(payload, ""))


def validate_entry(entry_type: str, payload: Any) -> None:
    """Raise MalformedError naming every problem unless ``payload`` fits its schema."""
    problems = entry_problems(entry_type, payload)
    if problems:
        detail = "; ".join(f"{path or '(entry)'}: {msg}" for path, msg in problems)
        raise MalformedError(f"{entry_type} entry: {detail}")
