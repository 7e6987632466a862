"""A token's status at a time (SPEC 14.5): the one definition every reader of the ledger
shares, and what it does to a decision about a use. Pure."""

from __future__ import annotations

from typing import Literal

import lic

__all__ = ["TOKEN_STATUSES", "status_at", "with_status"]

# Every status a token can have at a time (SPEC 14.5).
TOKEN_STATUSES = ("active", "not_yet_valid", "expired", "suspended", "revoked", "unknown")


def status_at(
    t: int,
    not_before: int,
    not_after: int,
    withdrawn: Literal["revoked", "suspended"] | None = None,
) -> str:
    """The status at time ``t`` of a granted token valid from ``not_before`` (inclusive) to
    ``not_after`` (exclusive): ``withdrawn`` (``revoked`` or ``suspended``, from a withdrawal
    live at t, its own or a cascading ancestor's) when given, else ``expired`` at or after
    ``not_after``, ``not_yet_valid`` before ``not_before``, else ``active`` (SPEC 14.5).

    The one definition that the ledger's status, the audit summary, the transparency report
    and bundle verification share."""
    if withdrawn is not None:
        return withdrawn
    if t >= not_after:
        return "expired"
    if t < not_before:
        return "not_yet_valid"
    return "active"


def with_status(decision: lic.Decision, status: str, source: str) -> lic.Decision:
    """``decision`` about a use of a token whose status is ``status`` (one of
    ``TOKEN_STATUSES``) by ``source`` (what said so, for people): unchanged when ``active``,
    else a deny that adds the reason (field ``status``) and keeps the license's reasons."""
    if status == "active":
        return decision
    reason = lic.Reason("status", "active", status, f"the token is {status} ({source})", "deny")
    return lic.Decision("deny", (*decision.reasons, reason), ())
