"""The values of the derived state (keys, grants, withdrawals, incidents, a token's status)
and how each is stored as a row of its state table (ADR 0008). Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keys import time_text
from lic import cbor

from ..entries import decode_payload
from ._tables import DocTable, json_text

if TYPE_CHECKING:
    from ._db import SqlConnection

__all__ = [
    "Finding",
    "Grant",
    "Incident",
    "KeyInfo",
    "TokenStatus",
    "Withdrawal",
    "doc_table",
    "grant_row",
    "incident_row",
    "key_row",
    "kid_row",
    "row_grant",
    "row_incident",
    "row_key",
    "row_kid",
    "row_withdrawal",
    "withdrawal_row",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with one record."""

    index: int
    message: str

    def __str__(self) -> str:
        return f"record {self.index}: {self.message}"


@dataclass(slots=True)
class KeyInfo:
    """A key registered by ``key.add``: its role and name, when it was added, its validity
    window, and when it was retired or compromised."""

    role: str
    name: str
    added: int
    not_before: int | None = None
    not_after: int | None = None
    retired: int | None = None
    compromised_since: int | None = None

    def valid_at(self, t: int) -> str | None:
        """None when the key may sign at time t, else why not."""
        if self.compromised_since is not None and t >= self.compromised_since:
            return f"key was compromised at {time_text(self.compromised_since)}"
        if self.retired is not None and t >= self.retired:
            return f"key was retired at {time_text(self.retired)}"
        if self.not_before is not None and t < self.not_before:
            return f"key is not valid before {time_text(self.not_before)}"
        if self.not_after is not None and t >= self.not_after:
            return f"key expired at {time_text(self.not_after)}"
        return None


@dataclass(slots=True)
class Withdrawal:
    """A revocation or suspension in force against a token."""

    kind: str  # "revoked" | "suspended"
    index: int
    reason: str
    effective: int
    cascade: bool
    until: int | None = None  # lifted from this time on (a reinstatement, or a suspension's end)
    time: int = 0  # integration time of the withdrawing record
    lifted_by: int | None = None  # index of the reinstatement that set ``until``, if one did
    in_set: bool = True  # counts in the revoked set (SPEC 12.1) until a reinstate covers it

    def live(self, t: int) -> bool:
        return self.effective <= t and (self.until is None or t < self.until)

    def live_as_of(self, t: int, before: int) -> bool:
        """Live at t as the ledger stood before record ``before`` (later lifts ignored)."""
        if self.index >= before or self.effective > t:
            return False
        if self.until is None or (self.lifted_by is not None and self.lifted_by >= before):
            return True
        return t < self.until


@dataclass(slots=True)
class Grant:
    """A recorded grant: the token's digest, licensee commitment, tier and window, its parent,
    the key that signed the record (``author``) and the token's holder key."""

    index: int
    digest: bytes
    licensee: bytes
    tier: str
    not_before: int
    not_after: int
    parent: bytes | None
    author: bytes
    holder: bytes
    withdrawals: list[int] = field(default_factory=list)  # indexes of revoke/suspend records
    request: int | None = None  # the access request this grant answers, if named
    time: int = 0  # integration time of the grant record


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """A token's status at a time (one of ``TOKEN_STATUSES``, SPEC 14.5), with the records
    that say so: the withdrawals (own and inherited) or the grant (its validity window)."""

    status: str
    evidence: tuple[int, ...]
    via: bytes | None = None  # the ancestor whose withdrawal cascades, if not the token itself


@dataclass(slots=True)
class Incident:
    """An incident and the integration times of its report, first acknowledgement, first
    response, first remediation and close, with its outcome and the revocations it led to."""

    index: int
    severity: str
    harms: tuple[str, ...]
    reported: int
    acked: int | None = None
    responded: int | None = None
    remediated: int | None = None
    closed: int | None = None
    outcome: str | None = None
    summary: str | None = None
    revocations: list[int] = field(default_factory=list)


# -- rows: each value's columns in its table (see _tables), and back -------------------------
KEY_COLUMNS = ("role", "name", "added", "not_before", "not_after", "retired", "compromised_since")


def key_row(_k: bytes, v: KeyInfo) -> Sequence[Any]:
    return (v.role, v.name, v.added, v.not_before, v.not_after, v.retired, v.compromised_since)


def row_key(_k: bytes, row: Sequence[Any]) -> KeyInfo:
    return KeyInfo(*row)


GRANT_COLUMNS = (
    "idx", "licensee", "tier", "not_before", "not_after", "parent", "author", "holder",
    "request", "time",
)  # fmt: skip
# a grant's withdrawals are the rows of st_targets that name it, in record order
GRANT_SELECT = (
    *GRANT_COLUMNS,
    "(SELECT json_group_array(widx) FROM (SELECT widx FROM st_targets "
    "WHERE st_targets.digest = st_grants.digest ORDER BY widx, pos) AS w)",
)


def grant_row(_k: bytes, g: Grant) -> Sequence[Any]:
    return (
        g.index, g.licensee, g.tier, g.not_before, g.not_after, g.parent, g.author, g.holder,
        g.request, g.time,
    )  # fmt: skip


def row_grant(k: bytes, r: Sequence[Any]) -> Grant:
    return Grant(r[0], k, r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[10]), r[8], r[9])


WITHDRAWAL_COLUMNS = (
    "kind", "reason", "effective", "cascade", "until", "time", "lifted_by", "in_set",
)  # fmt: skip


def withdrawal_row(_k: int, w: Withdrawal) -> Sequence[Any]:
    return (w.kind, w.reason, w.effective, int(w.cascade), w.until, w.time, w.lifted_by,
            int(w.in_set))  # fmt: skip


def row_withdrawal(k: int, r: Sequence[Any]) -> Withdrawal:
    return Withdrawal(r[0], k, r[1], r[2], bool(r[3]), r[4], r[5], r[6], bool(r[7]))


INCIDENT_COLUMNS = (
    "severity", "harms", "reported", "acked", "responded", "remediated", "closed", "outcome",
    "summary", "revocations",
)  # fmt: skip


def incident_row(_k: int, i: Incident) -> Sequence[Any]:
    return (
        i.severity, _json(i.harms), i.reported, i.acked, i.responded, i.remediated, i.closed,
        i.outcome, i.summary, _json(i.revocations),
    )  # fmt: skip


def row_incident(k: int, r: Sequence[Any]) -> Incident:
    return Incident(
        k, r[0], tuple(json.loads(r[1])), r[2], r[3], r[4], r[5], r[6], r[7], r[8],
        json.loads(r[9]),
    )  # fmt: skip


def _json(values: Sequence[Any]) -> str:
    return json_text(values)


_MAX_DOC = 1 << 24


def doc_table(
    conn: SqlConnection,
    name: str,
    fields: tuple[tuple[str, str], ...],
    index_member: str | None,
    extras: tuple[tuple[str, str, bool], ...],
) -> DocTable:
    """A ``DocTable`` whose doc column holds the payload's deterministic CBOR."""
    return DocTable(conn, name, fields, index_member, extras, cbor.encode, _decode_doc)


def _decode_doc(raw: bytes) -> Any:
    return decode_payload(raw, max_size=_MAX_DOC)


def kid_row(_k: str, v: bytes) -> tuple[bytes]:
    return (v,)


def row_kid(_k: str, r: Any) -> bytes:
    return bytes(r[0])
