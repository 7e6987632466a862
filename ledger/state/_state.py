"""The ledger's derived state, built by applying verified entries in index order. Pure; no I/O.

The appender and the auditor use the same ``LedgerState.apply``: the appender refuses an entry
that yields findings, the auditor reports them. ``apply`` takes what the record layer has already
checked (the entry's signature verified under ``author``) and checks everything semantic: the
schema, the author's role at the record's integration time, cross-references, and state
transitions.

Memory is bounded (ADR 0006): every per-entity map (grants, their children and licensee
commitments, holder key ids, requests, decisions, appeals, withdrawals, incidents,
attestations, terms versions, the revoked set's counters) is a ``SpillMap``; together they
keep a fixed number of entries in memory (a budget) and spill the rest to a private temporary
SQLite database (opened only when they first outgrow the budget, deleted on ``close``, when
the state is dropped, or with the process). The record types are one byte per record
(``TypeIndex``), and the registered keys stay in memory (they are few). Withdrawals are held
once, in ``withdrawal_info``; a grant refers to its withdrawals by record index. Every map
iterates in ascending key order, so the state reads the same whether or not it spilled.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from keys import jwk_thumbprint, time_text

from ..entries import AUTHOR_ROLES, ENTRY_TYPES, PUBLISHER_ROLES, entry_problems, oms_refusal
from ._spill import SpillMap, SpillStore, TypeIndex
from ._status import status_at

__all__ = ["Finding", "Grant", "Incident", "KeyInfo", "LedgerState", "TokenStatus"]


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


def _codec(cls: type[Any]) -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    """A compact spill codec for one of the dataclasses above: its fields as a marshal tuple,
    read in one C call (``dataclasses.astuple`` would deep-copy every field)."""
    get = attrgetter(*(f.name for f in fields(cls)))

    def encode(obj: Any) -> bytes:
        return marshal.dumps(get(obj))

    def decode(raw: bytes) -> Any:
        return cls(*marshal.loads(raw))  # noqa: S302 (bytes this process spilled itself)

    return encode, decode


def _terms_key(tid: str, version: str) -> str:
    return json.dumps([tid, version])


class LedgerState:
    """State derived from the ledger so far. ``log_key`` is the log's own key (role ``log``).

    ``budget``: entries all its maps together keep in memory before they spill (default
    ``DEFAULT_BUDGET`` of ``_spill``, see ``SpillMap``).
    """

    def __init__(self, log_key: bytes, *, budget: int | None = None) -> None:
        store = SpillStore(budget)

        def smap(key_type: type, codec: Any = None) -> Any:
            if codec is None:
                return SpillMap(store, key_type)
            return SpillMap(store, key_type, encode=codec[0], decode=codec[1])

        self.keys: dict[bytes, KeyInfo] = {log_key: KeyInfo("log", "log", -1)}
        self.kids: SpillMap[str, bytes] = smap(str)  # key id -> raw key
        self.kids[jwk_thumbprint(log_key)] = log_key
        self.types = TypeIndex(sorted(ENTRY_TYPES))  # record index -> entry type
        self.grants: SpillMap[bytes, Grant] = smap(bytes, _codec(Grant))
        self.children: SpillMap[bytes, list[bytes]] = smap(bytes)
        self.by_licensee: SpillMap[bytes, list[bytes]] = smap(bytes)
        self.terms_versions: SpillMap[int, dict[str, Any]] = smap(int)  # publish index -> it
        self.terms_index: SpillMap[str, int] = smap(str)  # _terms_key(id, version) -> index
        self.terms_ids: dict[str, int] = {}  # terms id -> number of versions published
        self.requests: SpillMap[int, dict[str, Any]] = smap(int)
        self.decisions: SpillMap[int, dict[str, Any]] = smap(int)
        self.appeals: SpillMap[int, dict[str, Any]] = smap(int)
        # revoke/suspend index -> affected digests, and what it says
        self.withdrawals: SpillMap[int, list[bytes]] = smap(int)
        self.withdrawal_info: SpillMap[int, Withdrawal] = smap(int, _codec(Withdrawal))
        self.incidents: SpillMap[int, Incident] = smap(int, _codec(Incident))
        self.attestations: SpillMap[bytes, list[int]] = smap(bytes)  # subject -> attest indexes
        # digest -> withdrawals of it that no reinstate lifted
        self.unlifted: SpillMap[bytes, int] = smap(bytes)
        self.revset_version = 0  # bumped whenever ``unlifted`` changes
        self.size = 0
        self.last_time = 0  # integration time of the last record applied

    # -- lifetime ---------------------------------------------------------------------------
    @property
    def spilled(self) -> bool:
        """Whether the maps outgrew their budget (and so the temporary database exists)."""
        return self.grants.store.opened

    def scratch_map(self, key_type: type) -> SpillMap[Any, Any]:
        """A fresh bounded map in this state's store, within its budget (for readers of the
        state that need a map of their own, such as the report)."""
        return SpillMap(self.grants.store, key_type)

    def close(self) -> None:
        """Delete the temporary database, if one was opened; the state is unusable after."""
        self.grants.store.close()

    def __enter__(self) -> LedgerState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def withdrawals_of(self, digest: bytes) -> list[Withdrawal]:
        """The withdrawals recorded against one granted token (its own, not inherited)."""
        g = self.grants.get(digest)
        return [] if g is None else [self.withdrawal_info[i] for i in g.withdrawals]

    # -- entry point ------------------------------------------------------------------------
    def author_key(self, kid: str, payload: Any) -> bytes | None:
        """The raw key an entry's ``kid`` names: a key registered on the ledger, a grant's
        holder key, or a one-time ``signer`` key carried in the payload. None when unknown."""
        raw: bytes | None = self.kids.get(kid)
        if raw is None and isinstance(payload, dict):
            signer = payload.get("signer")
            if isinstance(signer, bytes) and len(signer) == 32 and jwk_thumbprint(signer) == kid:
                return signer
        return raw

    def apply(
        self, index: int, time: int, entry_type: str, payload: Any, author: bytes
    ) -> list[Finding]:
        """Apply one record; return its findings. A record with findings changes nothing."""
        problems = [f"{p or 'entry'}: {m}" for p, m in entry_problems(entry_type, payload)]
        if not problems:
            refused = self._authorize(time, entry_type, payload, author)
            if refused is not None:
                problems = [refused]
        if not problems:
            check, do = _DISPATCH[entry_type]
            problems = list(check(self, payload))
        if index >= self.size:
            self.size = index + 1
        if problems:
            return [Finding(index, f"{entry_type}: {p}") for p in problems]
        self.types[index] = entry_type
        if time > self.last_time:
            self.last_time = time
        do(self, index, time, payload, author)
        return []

    # -- authorization ----------------------------------------------------------------------
    def _authorize(self, time: int, etype: str, p: dict[str, Any], author: bytes) -> str | None:
        """Why ``author`` may not write this entry at ``time``; None when it may."""
        roles = AUTHOR_ROLES[etype]
        if "anyone" in roles and author not in self.keys:
            return None
        if "holder" in roles and self._holder_may(etype, p, author):
            return None
        info = self.keys.get(author)
        if info is None:
            return "author key is not registered on the ledger"
        why = info.valid_at(time)
        if why is not None:
            return f"author {info.name!r}: {why}"
        if info.role not in roles and "anyone" not in roles:
            return f"author {info.name!r} has role {info.role!r}; {etype} needs {sorted(roles)}"
        if etype == "attest" and "oms" in p:  # a publisher's signature, checked at `time`
            ks = [(k, i.role) for k, i in self.keys.items() if i.valid_at(time) is None]
            return oms_refusal(p, ks, time)
        return None

    def _holder_may(self, etype: str, p: dict[str, Any], author: bytes) -> bool:
        """A parent token's holder may grant a sublicense of it, and withdraw that sublicense."""
        if etype == "grant":
            parent = self.grants.get(p.get("parent", b""))
            return parent is not None and self._holder_of(parent.digest) == author
        targets = p.get("tokens", [])
        return bool(targets) and all(
            t in self.grants
            and self.grants[t].parent is not None
            and self._holder_of(self.grants[t].parent or b"") == author
            for t in targets
        )

    def _holder_of(self, digest: bytes) -> bytes | None:
        g = self.grants.get(digest)
        return g.holder if g is not None else None

    # -- keys -------------------------------------------------------------------------------
    def _check_key_add(self, p: dict[str, Any]) -> Iterator[str]:
        if p["key"] in self.keys:
            yield "key is already registered"

    def _do_key_add(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.keys[p["key"]] = KeyInfo(
            p["role"], p["name"], index, p.get("not_before"), p.get("not_after")
        )
        if p["role"] not in PUBLISHER_ROLES:  # they verify OMS files, never author
            self.kids[jwk_thumbprint(p["key"])] = p["key"]

    def _known_key(self, p: dict[str, Any]) -> Iterator[str]:
        if p["key"] not in self.keys:
            yield "key is not registered"

    _check_key_retire = _known_key
    _check_key_compromised = _known_key

    def _do_key_retire(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.keys[p["key"]].retired = p["effective"]

    def _do_key_compromised(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        info = self.keys[p["key"]]
        since = p["since"]
        if info.compromised_since is None or since < info.compromised_since:
            info.compromised_since = since

    # -- terms ------------------------------------------------------------------------------
    def _check_terms_publish(self, p: dict[str, Any]) -> Iterator[str]:
        if _terms_key(p["id"], p["version"]) in self.terms_index:
            yield f"terms {p['id']} version {p['version']} already published"
        if "supersedes" in p and _terms_key(p["id"], p["supersedes"]) not in self.terms_index:
            yield f"supersedes unknown version {p['supersedes']}"

    def _do_terms_publish(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.terms_versions[index] = {**p, "index": index, "published": time}
        self.terms_index[_terms_key(p["id"], p["version"])] = index
        self.terms_ids[p["id"]] = self.terms_ids.get(p["id"], 0) + 1

    def terms_version(self, tid: str, version: str) -> dict[str, Any] | None:
        """One published version of a terms document, or None."""
        index = self.terms_index.get(_terms_key(tid, version))
        return None if index is None else self.terms_versions[index]

    def terms_in_force(self, t: int) -> dict[str, dict[str, Any]]:
        """Per terms id, the latest version effective at t and not sunset."""
        out: dict[str, dict[str, Any]] = {}
        for v in self.terms_versions.values():  # in index order: a tie on effective goes later
            if v["effective"] <= t and ("sunset" not in v or t < v["sunset"]):
                best = out.get(v["id"])
                if best is None or v["effective"] >= best["effective"]:
                    out[v["id"]] = v
        return dict(sorted(out.items()))

    # -- access and appeals -----------------------------------------------------------------
    def _ref(self, p: dict[str, Any], member: str, *types: str) -> Iterator[str]:
        ref = p[member]
        if self.types.get(ref) not in types:
            yield f"{member} {ref} does not name a record of type {' or '.join(types)}"

    def _check_access_request(self, p: dict[str, Any]) -> Iterator[str]:
        return iter(())

    def _do_access_request(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.requests[index] = {**p, "received": time}

    def _check_access_decision(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "request", "access.request")

    def _do_access_decision(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.decisions[index] = {**p, "index": index}
        request = self.requests[p["request"]]
        request["decision"] = index
        self.requests[p["request"]] = request  # written back (see SpillMap)

    def _check_appeal_file(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "target", "access.decision", "revoke", "suspend")

    def _do_appeal_file(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.appeals[index] = {**p, "filed": time}

    def _check_appeal_decide(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "appeal", "appeal.file")
        appeal = self.appeals.get(p["appeal"])
        if appeal is not None and "outcome" in appeal:
            yield f"appeal {p['appeal']} is already decided"

    def _do_appeal_decide(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        appeal = self.appeals[p["appeal"]]
        appeal.update(
            outcome=p["outcome"],
            decided=p["decided_at"],
            independent=p["independent"],
            decided_index=index,
        )
        self.appeals[p["appeal"]] = appeal
        target = appeal["target"]
        if p["outcome"] != "upheld" and target in self.decisions:
            decision = self.decisions[target]
            decision["overturned_by"] = index  # a grant may answer its request again
            self.decisions[target] = decision  # written back (see SpillMap)

    # -- grants -----------------------------------------------------------------------------
    def _check_grant(self, p: dict[str, Any]) -> Iterator[str]:
        if p["token_digest"] in self.grants:
            yield "token is already granted"
        parent = p.get("parent")
        if parent is not None:
            pg = self.grants.get(parent)
            if pg is None:
                yield "parent token was never granted"
            elif not (pg.not_before <= p["not_before"] and p["not_after"] <= pg.not_after):
                yield "sublicense validity lies outside its parent's"
        if "request" in p:
            yield from self._ref(p, "request", "access.request")
            yield from self._request_denied(p["request"])

    def _request_denied(self, ref: int) -> Iterator[str]:
        """A grant may not answer a request whose latest decision is a denial, unless an
        appeal against that denial was decided overturned or modified."""
        request = self.requests.get(ref)
        decision = None if request is None else request.get("decision")
        if decision is None:
            return
        d = self.decisions[decision]
        if d["decision"] == "denied" and "overturned_by" not in d:
            yield f"request {ref} was denied (record {decision}); a grant cannot answer it"

    def _do_grant(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        d = p["token_digest"]
        self.grants[d] = Grant(
            index,
            d,
            p["licensee"],
            p["tier"],
            p["not_before"],
            p["not_after"],
            p.get("parent"),
            author,
            p["holder"],
            request=p.get("request"),
            time=time,
        )
        self.kids.setdefault(jwk_thumbprint(p["holder"]), p["holder"])
        if p.get("parent") is not None:
            siblings = self.children.setdefault(p["parent"], [])
            siblings.append(d)
            self.children[p["parent"]] = siblings
        same = self.by_licensee.setdefault(p["licensee"], [])
        same.append(d)
        self.by_licensee[p["licensee"]] = same

    # -- revocation, suspension, reinstatement ----------------------------------------------
    def _targets(self, p: dict[str, Any]) -> list[bytes]:
        out = list(p.get("tokens", []))
        if "licensee" in p:
            out += [d for d in self.by_licensee.get(p["licensee"], []) if d not in out]
        return out

    def _check_targets(self, p: dict[str, Any]) -> Iterator[str]:
        for d in p.get("tokens", []):
            if d not in self.grants:
                yield f"target token {d.hex()[:16]}... was never granted"
        if "licensee" in p and p["licensee"] not in self.by_licensee:
            yield "target licensee holds no granted token"
        for ref in p.get("incidents", []):
            if self.types.get(ref) != "incident.report":
                yield f"incidents: {ref} does not name an incident report"

    _check_revoke = _check_targets
    _check_suspend = _check_targets
    _check_reinstate = _check_targets

    def _withdraw(self, kind: str, index: int, time: int, p: dict[str, Any]) -> None:
        w = Withdrawal(kind, index, p["reason"], p["effective"], p["cascade"], p.get("until"), time)
        targets = self._targets(p)
        for d in targets:
            g = self.grants[d]
            g.withdrawals.append(index)
            self.grants[d] = g
            self.unlifted[d] = self.unlifted.get(d, 0) + 1
        self.revset_version += 1
        self.withdrawals[index] = targets
        self.withdrawal_info[index] = w

    def _do_revoke(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self._withdraw("revoked", index, time, p)

    def _do_suspend(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self._withdraw("suspended", index, time, p)

    def _do_reinstate(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        at = p["effective"]
        for d in self._targets(p):
            for wi in self.grants[d].withdrawals:
                w = self.withdrawal_info[wi]
                lifts = w.effective <= at and (w.until is None or w.until > at)
                if w.in_set and (lifts or (w.until is not None and w.until <= at)):
                    w.in_set = False  # out of the revoked set for every digest it targets
                    for t in self.withdrawals[w.index]:
                        self._unlift(t)
                if lifts:
                    w.until, w.lifted_by = at, index
                self.withdrawal_info[wi] = w  # written back (see SpillMap)

    def _unlift(self, d: bytes) -> None:
        self.revset_version += 1
        left = self.unlifted[d] - 1
        if left:
            self.unlifted[d] = left
        else:
            del self.unlifted[d]

    def iter_revoked(self) -> Iterator[bytes]:
        """``revoked_digests()`` streamed (from the spill, when the state spilled)."""
        return self.unlifted.keys()

    def revoked_digests(self) -> list[bytes]:
        """The revoked set of SPEC 12.1 as of the records applied so far, sorted: every digest
        a revoke or suspend record targeted (listed, or granted under its licensee commitment
        by then) whose withdrawal no later reinstate record lifted (or, for a suspension that
        had already ended by its own ``until``, covered)."""
        return list(self.unlifted)  # SpillMap iterates in ascending key order

    def status(self, digest: bytes, t: int) -> TokenStatus:
        """A token's status at time t (SPEC 14.5): its own withdrawals, then cascading ones
        from ancestors, then its validity window; ``unknown`` when it was never granted."""
        g = self.grants.get(digest)
        if g is None:
            return TokenStatus("unknown", ())
        node: Grant | None = g
        own = True
        while node is not None:
            ws = [self.withdrawal_info[i] for i in node.withdrawals]
            live = [w for w in ws if w.live(t) and (own or w.cascade)]
            for kind in ("revoked", "suspended"):
                hits = [w.index for w in live if w.kind == kind]
                if hits:
                    return TokenStatus(kind, tuple(hits), None if own else node.digest)
            node = self.grants.get(node.parent) if node.parent is not None else None
            own = False
        return TokenStatus(status_at(t, g.not_before, g.not_after), (g.index,))

    def status_as_of(self, digest: bytes, t: int, before: int) -> TokenStatus:
        """Like ``status``, as the ledger stood before record index ``before``.

        Grants, withdrawals and reinstatements recorded at or after ``before`` are ignored.
        """
        g = self.grants.get(digest)
        if g is None or g.index >= before:
            return TokenStatus("unknown", ())
        node: Grant | None = g
        own = True
        while node is not None:
            ws = [self.withdrawal_info[i] for i in node.withdrawals]
            live = [w for w in ws if w.live_as_of(t, before) and (own or w.cascade)]
            for kind in ("revoked", "suspended"):
                hits = sorted(w.index for w in live if w.kind == kind)
                if hits:
                    return TokenStatus(kind, tuple(hits), None if own else node.digest)
            node = self.grants.get(node.parent) if node.parent is not None else None
            own = False
        return TokenStatus(status_at(t, g.not_before, g.not_after), (g.index,))

    def descendants(self, digest: bytes, before: int) -> list[bytes]:
        """Every sublicense below ``digest`` granted before record index ``before``."""
        out: list[bytes] = []
        stack = [digest]
        seen = {digest}
        while stack:
            for child in self.children.get(stack.pop(), []):
                if child not in seen and self.grants[child].index < before:
                    seen.add(child)
                    out.append(child)
                    stack.append(child)
        return out

    # -- provenance -------------------------------------------------------------------------
    def _check_attest(self, p: dict[str, Any]) -> Iterator[str]:
        if "predicate" not in p and "envelope" not in p and "oms" not in p:
            yield "an attestation carries a predicate, an envelope or an OMS signature file"

    def _do_attest(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        for subject in p["subjects"]:
            seen = self.attestations.setdefault(subject["sha256"], [])
            seen.append(index)
            self.attestations[subject["sha256"]] = seen

    # -- incidents --------------------------------------------------------------------------
    def _check_incident_report(self, p: dict[str, Any]) -> Iterator[str]:
        return iter(())

    def _do_incident_report(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.incidents[index] = Incident(index, p["severity"], tuple(p["harms"]), time)

    def _open_incident(self, p: dict[str, Any]) -> Iterator[str]:
        inc = self.incidents.get(p["incident"])
        if inc is None:
            yield f"incident {p['incident']} does not name an incident report"
        elif inc.closed is not None:
            yield f"incident {p['incident']} is already closed"

    _check_incident_ack = _open_incident
    _check_incident_update = _open_incident
    _check_incident_respond = _open_incident
    _check_incident_close = _open_incident

    def _check_incident_remediate(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._open_incident(p)
        for ref in p.get("revocations", []):
            if self.types.get(ref) not in ("revoke", "suspend"):
                yield f"revocations: {ref} does not name a revocation or suspension"

    def _do_incident_ack(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        inc.acked = inc.acked if inc.acked is not None else time
        self.incidents[p["incident"]] = inc  # written back (see SpillMap)

    def _do_incident_update(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        if "severity" in p:
            inc = self.incidents[p["incident"]]
            inc.severity = p["severity"]
            self.incidents[p["incident"]] = inc

    def _do_incident_respond(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        inc.responded = inc.responded if inc.responded is not None else time
        self.incidents[p["incident"]] = inc

    def _do_incident_remediate(
        self, index: int, time: int, p: dict[str, Any], author: bytes
    ) -> None:
        inc = self.incidents[p["incident"]]
        inc.remediated = inc.remediated if inc.remediated is not None else time
        inc.revocations.extend(p.get("revocations", []))
        self.incidents[p["incident"]] = inc

    def _do_incident_close(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        inc.closed, inc.outcome, inc.summary = time, p["outcome"], p["summary"]
        self.incidents[p["incident"]] = inc

    def open_incidents(self) -> list[Incident]:
        """The incidents not yet closed."""
        return [i for i in self.incidents.values() if i.closed is None]


_DISPATCH: dict[str, tuple[Callable[..., Iterator[str]], Callable[..., None]]] = {
    etype: (
        getattr(LedgerState, "_check_" + etype.replace(".", "_")),
        getattr(LedgerState, "_do_" + etype.replace(".", "_")),
    )
    for etype in ENTRY_TYPES
}
