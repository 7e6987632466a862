"""The code lists the ledger's entry catalog defines, as the sorted choices of the options
that take them. The one place the CLI reads the catalog's lists: no copies."""

from __future__ import annotations

from ledger.entries import (
    APPEAL_OUTCOMES,
    CLOSE_OUTCOMES,
    DECISIONS,
    INCIDENT_KINDS,
    KEY_ROLES,
    REVOCATION_REASONS,
    SEVERITIES,
    TERMS_CHANGE_CLASSES,
)

__all__ = [
    "APPEAL_OUTCOME_CHOICES",
    "CLOSE_OUTCOME_CHOICES",
    "DECISION_CHOICES",
    "INCIDENT_KIND_CHOICES",
    "KEY_ROLE_CHOICES",
    "REVOCATION_REASON_CHOICES",
    "SEVERITY_CHOICES",
    "TERMS_CHANGE_CHOICES",
]

KEY_ROLE_CHOICES = sorted(KEY_ROLES)
REVOCATION_REASON_CHOICES = sorted(REVOCATION_REASONS)
DECISION_CHOICES = sorted(DECISIONS)
APPEAL_OUTCOME_CHOICES = sorted(APPEAL_OUTCOMES)
TERMS_CHANGE_CHOICES = sorted(TERMS_CHANGE_CLASSES)
INCIDENT_KIND_CHOICES = sorted(INCIDENT_KINDS)
SEVERITY_CHOICES = sorted(SEVERITIES)
CLOSE_OUTCOME_CHOICES = sorted(CLOSE_OUTCOMES)
