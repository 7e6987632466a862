"""The ledger's derived state, built by applying verified entries in index order. No I/O but
its SQLite connection. The appender and the auditor use the same ``LedgerState.apply`` (the
appender refuses an entry that yields findings, the auditor reports them); it takes what the
record layer checked (the signature under ``author``) and checks everything semantic: the
schema, the author's role at the record's integration time, cross-references, transitions.

The state lives in tables (``_tables``, ADR 0008) of the SQLite database it is given (the
ledger file, inside the append's write transaction) or of a private temporary database of its
own (a replay, whose views write behind in bounded batches: ``WriteBehind``; the ledger file
is written through). The views keep a bounded cache of values that are also in their tables
(or pending), and iterate in ascending key order. A grant lists its withdrawals
(``withdrawal_info``, targets in ``withdrawals``) by record index.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._db import SqlConnection

from keys import jwk_thumbprint

from ..entries import AUTHOR_ROLES, ENTRY_TYPES, PUBLISHER_ROLES, entry_problems, oms_refusal
from ..tlog import RevsetCommitment
from ._model import (
    GRANT_COLUMNS,
    GRANT_SELECT,
    INCIDENT_COLUMNS,
    KEY_COLUMNS,
    WITHDRAWAL_COLUMNS,
    Finding,
    Grant,
    Incident,
    KeyInfo,
    TokenStatus,
    Withdrawal,
    doc_table,
    grant_row,
    incident_row,
    key_row,
    kid_row,
    row_grant,
    row_incident,
    row_key,
    row_kid,
    row_withdrawal,
    withdrawal_row,
)
from ._revtree import (
    TreeNodes,
    add_member,
    remove_member,
    revoked_members,
    revtree_commitment,
    v1_commitment,
)
from ._status import status_at
from ._tables import (
    SCHEMA_VERSION,
    STATE_TABLES,
    Inserts,
    Lookup,
    Table,
    WriteBehind,
    create_state_tables,
    json_text,
    open_scratch,
    scratch_table,
)

__all__ = ["Finding", "Grant", "Incident", "KeyInfo", "LedgerState", "TokenStatus"]


class LedgerState:
    """State derived from the ledger so far. ``log_key`` is the log's own key (role ``log``).

    ``conn``: the database holding the state tables (the ledger file, inside the caller's
    write transaction when it applies records); by default a private temporary database of
    the state's own, in one open transaction (``commit`` ends it before SQL readers look).
    A database whose tables are empty is initialized (the log key registered)."""

    def __init__(self, log_key: bytes, conn: SqlConnection | None = None) -> None:
        self._owned = conn is None
        if conn is None:
            conn = open_scratch()
            create_state_tables(conn)
            conn.execute("BEGIN")
            weakref.finalize(self, conn.close)
        self._db = conn
        self._buffer = WriteBehind() if self._owned else None  # a private database's writes
        self.keys: Table[bytes, KeyInfo] = Table(
            conn, "st_keys", "key", KEY_COLUMNS, key_row, row_key
        )
        self.kids: Table[str, bytes] = Table(
            conn, "st_kids", "kid", ("key",), kid_row, row_kid, insert="INSERT OR IGNORE"
        )
        self.grants: Table[bytes, Grant] = Table(
            conn, "st_grants", "digest", GRANT_COLUMNS, grant_row, row_grant, select=GRANT_SELECT
        )
        self.children: Lookup[bytes] = Lookup(
            conn, "SELECT digest FROM st_grants WHERE parent = ? ORDER BY idx"
        )
        self.by_licensee: Lookup[bytes] = Lookup(
            conn, "SELECT digest FROM st_grants WHERE licensee = ? ORDER BY idx"
        )
        self.terms_versions = doc_table(
            conn,
            "st_terms",
            (("tid", "id"), ("version", "version"), ("effective", "effective"),
             ("sunset", "sunset"), ("change", "change"), ("notice_days", "notice_days"),
             ("supersedes", "supersedes")),
            "index",
            (("published", "published", False),),
        )  # fmt: skip
        self.requests = doc_table(
            conn,
            "st_requests",
            (("tier", "tier"), ("region", "region"), ("purpose", "purpose")),
            None,
            (("received", "received", False), ("decision", "decision", False)),
        )
        self.decisions = doc_table(
            conn,
            "st_decisions",
            (("request", "request"), ("decision", "decision"), ("decided_at", "decided_at"),
             ("reasons", "reasons")),
            "index",
            (("overturned_by", "overturned_by", False),),
        )  # fmt: skip
        self.appeals = doc_table(
            conn,
            "st_appeals",
            (("target", "target"),),
            None,
            (("filed", "filed", False), ("outcome", "outcome", False),
             ("decided", "decided", False), ("independent", "independent", True),
             ("decided_index", "decided_index", False)),
        )  # fmt: skip
        # revoke/suspend index -> affected digests, and what it says
        self.withdrawals: Lookup[bytes] = Lookup(
            conn, "SELECT digest FROM st_targets WHERE widx = ? ORDER BY pos"
        )
        self.withdrawal_info: Table[int, Withdrawal] = Table(
            conn, "st_withdrawals", "idx", WITHDRAWAL_COLUMNS, withdrawal_row, row_withdrawal
        )
        self.incidents: Table[int, Incident] = Table(
            conn, "st_incidents", "idx", INCIDENT_COLUMNS, incident_row, row_incident
        )
        self.attestations: Lookup[int] = Lookup(
            conn, "SELECT idx FROM st_attestations WHERE subject = ? ORDER BY idx"
        )  # subject -> attest indexes
        self._of_type: dict[str, Table[int, Any]] = {  # the other types a record may name
            "access.request": self.requests, "access.decision": self.decisions,
            "appeal.file": self.appeals, "incident.report": self.incidents}  # fmt: skip
        self._attest_rows = Inserts(
            conn, "INSERT OR IGNORE INTO st_attestations (subject, idx) VALUES (?, ?)"
        )
        self._tree = TreeNodes(conn)  # the lic-revoked/v2 tree's rows (_revtree)
        if self._buffer is not None:
            self._write_behind(self._buffer)
        row = conn.execute(
            "SELECT size, last_time, revset_version FROM st_meta WHERE id = 0"
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO st_meta (id, schema, size, last_time, revset_version) "
                "VALUES (0, ?, 0, 0, 0)",
                (SCHEMA_VERSION,),
            )
            self.keys[log_key] = KeyInfo("log", "log", -1)
            self.kids[jwk_thumbprint(log_key)] = log_key
            row = (0, 0, 0)
        self.size, self.last_time, self.revset_version = (int(x) for x in row)
        self._raw: bytes | None = None  # the payload bytes of the record being applied

    def _write_behind(self, buffer: WriteBehind) -> None:
        """A private database's views write behind, in bounded batches (ADR 0008), and those
        whose keys are looked up before they are written filter them (``filter_keys``)."""
        views = (v for v in vars(self).values() if isinstance(v, Table | Lookup | Inserts))
        buffer.attach(*views, self._tree)
        for view in (self.grants, self.keys, self.kids):
            view.filter_keys()

    # -- lifetime ---------------------------------------------------------------------------
    @property
    def conn(self) -> SqlConnection:
        """The database of the state tables, with no write pending (see ``WriteBehind``)."""
        if self._buffer is not None:
            self._buffer.flush()
        return self._db

    def _save_meta(self) -> None:
        self.conn.execute(
            "UPDATE st_meta SET size = ?, last_time = ?, revset_version = ? WHERE id = 0",
            (self.size, self.last_time, self.revset_version),
        )

    def commit(self) -> None:
        """Make a state of its own readable by SQL (its meta row written, its transaction
        committed; a new one begins). On a caller's database: write the meta row only."""
        self._save_meta()
        if self._owned and self.conn.in_transaction:
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN")

    def table_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every state table, in key order (for tests and small comparisons:
        the whole state in memory)."""
        self._save_meta()
        return {
            name: self.conn.execute(f"SELECT * FROM {name} ORDER BY {key}").fetchall()  # noqa: S608
            for name, key in STATE_TABLES
        }

    def scratch_map(self, key_type: type) -> Table[Any, Any]:
        """A fresh map of the caller's in a temporary table of this state's connection (for
        readers of the state that need one, such as the report). ``key_type`` is an int,
        bytes or str type; values are plain data (marshal)."""
        return scratch_table(self.conn, key_type)

    def close(self) -> None:
        """Close a state's own temporary database (deleting it); the state is unusable after.
        A state on a caller's database only forgets its caches."""
        if self._owned:
            self._db.close()
        else:
            for view in vars(self).values():
                if isinstance(view, Table):
                    view.drop_cache()

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
        self,
        index: int,
        time: int,
        entry_type: str,
        payload: Any,
        author: bytes,
        *,
        raw: bytes | None = None,
    ) -> list[Finding]:
        """Apply one record; return its findings. A record with findings changes nothing.
        ``raw``: the payload's bytes as recorded, when the caller has them (they are stored
        as they are; without them the payload is encoded again, to the same bytes)."""
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
            if not self._owned:
                self._save_meta()
            return [Finding(index, f"{entry_type}: {p}") for p in problems]
        if time > self.last_time:
            self.last_time = time
        self._raw = raw
        do(self, index, time, payload, author)
        if not self._owned:
            self._save_meta()
        return []

    def skip(self, index: int) -> None:
        """Count record ``index`` as applied without changing anything (a record whose
        entry could not be opened: its findings are the caller's)."""
        if index >= self.size:
            self.size = index + 1
            if not self._owned:
                self._save_meta()

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
        if etype == "grant":  # a root grant has no parent to look up
            parent = self.grants.get(p["parent"]) if "parent" in p else None
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
        info = self.keys[p["key"]]
        info.retired = p["effective"]
        self.keys[p["key"]] = info

    def _do_key_compromised(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        info = self.keys[p["key"]]
        since = p["since"]
        if info.compromised_since is None or since < info.compromised_since:
            info.compromised_since = since
            self.keys[p["key"]] = info

    # -- terms ------------------------------------------------------------------------------
    def _check_terms_publish(self, p: dict[str, Any]) -> Iterator[str]:
        if self._terms_index(p["id"], p["version"]) is not None:
            yield f"terms {p['id']} version {p['version']} already published"
        if "supersedes" in p and self._terms_index(p["id"], p["supersedes"]) is None:
            yield f"supersedes unknown version {p['supersedes']}"

    def _do_terms_publish(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.terms_versions.add(index, p, self._raw, published=time)

    def _terms_index(self, tid: str, version: str) -> int | None:
        row = self.conn.execute(
            "SELECT idx FROM st_terms WHERE tid = ? AND version = ?", (tid, version)
        ).fetchone()
        return None if row is None else int(row[0])

    def terms_version(self, tid: str, version: str) -> dict[str, Any] | None:
        """One published version of a terms document, or None."""
        index = self._terms_index(tid, version)
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
        if not self._names(ref, types):
            yield f"{member} {ref} does not name a record of type {' or '.join(types)}"

    def _names(self, ref: int, types: tuple[str, ...]) -> bool:
        """Whether record ``ref`` applied as an entry of one of ``types``: each type a record
        may name has its table keyed by record index (a revoke or a suspend: a withdrawal of
        that kind)."""
        for t in types:
            kind = _WITHDRAWAL_KINDS.get(t)
            if kind is not None:
                w = self.withdrawal_info.get(ref)
                if w is not None and w.kind == kind:
                    return True
            elif ref in self._of_type[t]:
                return True
        return False

    def _check_access_request(self, p: dict[str, Any]) -> Iterator[str]:
        return iter(())

    def _do_access_request(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.requests.add(index, p, self._raw, received=time)

    def _check_access_decision(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "request", "access.request")

    def _do_access_decision(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.decisions.add(index, p, self._raw)
        self.requests.update(p["request"], decision=index)

    def _check_appeal_file(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "target", "access.decision", "revoke", "suspend")

    def _do_appeal_file(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        self.appeals.add(index, p, self._raw, filed=time)

    def _check_appeal_decide(self, p: dict[str, Any]) -> Iterator[str]:
        yield from self._ref(p, "appeal", "appeal.file")
        appeal = self.appeals.get(p["appeal"])
        if appeal is not None and "outcome" in appeal:
            yield f"appeal {p['appeal']} is already decided"

    def _do_appeal_decide(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        appeal = self.appeals.update(
            p["appeal"],
            outcome=p["outcome"],
            decided=p["decided_at"],
            independent=p["independent"],
            decided_index=index,
        )
        target = appeal["target"]
        if p["outcome"] != "upheld" and target in self.decisions:
            self.decisions.update(target, overturned_by=index)  # a grant may answer again

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
        self.kids.setdefault(_thumbprint(p["holder"]), p["holder"])

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
            if ref not in self.incidents:
                yield f"incidents: {ref} does not name an incident report"

    _check_revoke = _check_targets
    _check_suspend = _check_targets
    _check_reinstate = _check_targets

    def _withdraw(self, kind: str, index: int, time: int, p: dict[str, Any]) -> None:
        w = Withdrawal(kind, index, p["reason"], p["effective"], p["cascade"], p.get("until"), time)
        targets = self._targets(p)
        for d in targets:
            self.grants[d].withdrawals.append(index)  # its row: st_targets, below
            add_member(self._db, d, self._tree)  # the v2 tree (_revtree)
        self.revset_version += 1
        self._db.executemany(  # a table no view writes: nothing pending to flush first
            "INSERT INTO st_targets (widx, pos, digest) VALUES (?, ?, ?)",
            [(index, i, d) for i, d in enumerate(targets)],
        )
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
                    for t in self.withdrawals.get(w.index, []):
                        self._unlift(t)
                if lifts:
                    w.until, w.lifted_by = at, index
                self.withdrawal_info[wi] = w  # written back

    def _unlift(self, d: bytes) -> None:
        self.revset_version += 1
        remove_member(self._db, d, self._tree)

    def iter_revoked(self) -> Iterator[bytes]:
        """``revoked_digests()`` streamed, a page at a time."""
        return revoked_members(self.conn)

    def revset_commitment(self) -> tuple[int, bytes]:
        """The size and root of the legacy ``lic-revoked/v1`` tree (SPEC 12.2): kept in the
        meta row while the set is unchanged, else folded from the stored leaf hashes (O(n))."""
        return v1_commitment(self.conn, self.revset_version)

    def revoked_commitment(self, version: int = 2) -> RevsetCommitment:
        """What a true revoked-set line of ``version`` states for the records applied so far:
        v2 from the stored tree (a few indexed reads), v1 (legacy) folded."""
        if version == 1:
            return RevsetCommitment(*self.revset_commitment(), 1)
        return revtree_commitment(self.conn)

    def revoked_digests(self) -> list[bytes]:
        """The revoked set of SPEC 12.1 as of the records applied so far, sorted: every digest
        a revoke or suspend record targeted (listed, or granted under its licensee commitment
        by then) whose withdrawal no later reinstate record lifted (or, for a suspension that
        had already ended by its own ``until``, covered)."""
        return list(self.iter_revoked())

    def status(self, digest: bytes, t: int) -> TokenStatus:
        """A token's status at time t (SPEC 14.5): its own withdrawals, then cascading ones
        from ancestors, then its validity window; ``unknown`` when it was never granted."""
        return self.status_as_of(digest, t, None)

    def status_as_of(self, digest: bytes, t: int, before: int | None) -> TokenStatus:
        """Like ``status``, as the ledger stood before record index ``before`` (None: after
        every record applied). Grants, withdrawals and reinstatements recorded at or after
        ``before`` are ignored."""
        g = self.grants.get(digest)
        if g is None or (before is not None and g.index >= before):
            return TokenStatus("unknown", ())
        node: Grant | None = g
        own = True
        while node is not None:
            ws = [self.withdrawal_info[i] for i in node.withdrawals]
            live = [w for w in ws if (own or w.cascade)
                    and (w.live(t) if before is None else w.live_as_of(t, before))]  # fmt: skip
            for kind in ("revoked", "suspended"):
                hits = sorted(w.index for w in live if w.kind == kind)  # in record order
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
        self._attest_rows.add([(subject["sha256"], index) for subject in p["subjects"]])

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
            if ref not in self.withdrawal_info:  # a revoke's or a suspend's
                yield f"revocations: {ref} does not name a revocation or suspension"

    def _do_incident_ack(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        if inc.acked is None:
            inc.acked = time
            self.incidents.update_columns(p["incident"], inc, acked=time)

    def _do_incident_update(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        if "severity" in p:
            inc = self.incidents[p["incident"]]
            inc.severity = p["severity"]
            self.incidents.update_columns(p["incident"], inc, severity=p["severity"])

    def _do_incident_respond(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        if inc.responded is None:
            inc.responded = time
            self.incidents.update_columns(p["incident"], inc, responded=time)

    def _do_incident_remediate(
        self, index: int, time: int, p: dict[str, Any], author: bytes
    ) -> None:
        inc = self.incidents[p["incident"]]
        inc.remediated = inc.remediated if inc.remediated is not None else time
        inc.revocations.extend(p.get("revocations", []))
        self.incidents.update_columns(
            p["incident"], inc, remediated=inc.remediated, revocations=json_text(inc.revocations)
        )

    def _do_incident_close(self, index: int, time: int, p: dict[str, Any], author: bytes) -> None:
        inc = self.incidents[p["incident"]]
        inc.closed, inc.outcome, inc.summary = time, p["outcome"], p["summary"]
        self.incidents.update_columns(
            p["incident"], inc, closed=time, outcome=p["outcome"], summary=p["summary"]
        )

    def open_incidents(self) -> list[Incident]:
        """The incidents not yet closed."""
        return [i for i in self.incidents.values() if i.closed is None]


_WITHDRAWAL_KINDS = {"revoke": "revoked", "suspend": "suspended"}
_thumbprint = functools.lru_cache(maxsize=4096)(jwk_thumbprint)  # holders recur: hash once

_DISPATCH: dict[str, tuple[Callable[..., Iterator[str]], Callable[..., None]]] = {
    t: (getattr(LedgerState, f"_check_{n}"), getattr(LedgerState, f"_do_{n}"))
    for t, n in ((t, t.replace(".", "_")) for t in ENTRY_TYPES)
}
