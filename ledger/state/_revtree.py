"""The revoked set in the state tables: its members (``st_revoked``) and the inner nodes of its
``lic-revoked/v2`` tree (``st_revtree``, SPEC 12.7), changed together in the transaction of the
record whose apply adds or removes a member. Knows a ``sqlite3``-like connection only (on
PostgreSQL the store's translation runs the same SQL).

``st_revtree`` holds one row per subtree of two members or more: its depth, its prefix (the
first ``depth`` bits of its members, ``node_key``), its hash and its number of members. A
change of one member rewrites the rows on that member's path: the depth where the path ends is
one past the longest prefix the member shares with its neighbours in ``st_revoked``, and each
sibling is a row, a single member (one indexed range read) or EMPTY. So a change costs
O(log n) indexed reads and hashes, and the root and size are one row.
"""

from __future__ import annotations

from typing import Any

from keys.errors import MalformedError

from ..tlog import (
    DIGEST_BITS,
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    RevokedSet,
    RevsetCommitment,
    SparseProof,
    SparseRevokedSet,
    digest_bit,
    format_sparse_proof,
    node_key,
    revset_leaf_hash,
    sparse_leaf_hash,
    sparse_node_hash,
)

__all__ = [
    "REVTREE_DDL",
    "StoredRevokedSet",
    "add_member",
    "ensure_revtree",
    "remove_member",
    "revoked_set_in",
    "revtree_commitment",
    "revtree_proof",
    "v1_commitment",
]

REVTREE_DDL = (
    "CREATE TABLE st_revtree (depth INTEGER NOT NULL, prefix BLOB NOT NULL, "
    "hash BLOB NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (depth, prefix)) WITHOUT ROWID"
)
_UPSERT = (
    "INSERT INTO st_revtree (depth, prefix, hash, size) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (depth, prefix) DO UPDATE SET hash = excluded.hash, size = excluded.size"
)
_ONES = (1 << DIGEST_BITS) - 1


def add_member(conn: Any, d: bytes) -> None:
    """Count one more withdrawal that puts ``d`` in the revoked set; a new member joins the
    tree."""
    row = conn.execute("SELECT count FROM st_revoked WHERE digest = ?", (d,)).fetchone()
    if row is not None:
        conn.execute("UPDATE st_revoked SET count = count + 1 WHERE digest = ?", (d,))
        return
    conn.execute(
        "INSERT INTO st_revoked (digest, count, leaf) VALUES (?, 1, ?)", (d, revset_leaf_hash(d))
    )
    _update_path(conn, d, present=True)


def remove_member(conn: Any, d: bytes) -> None:
    """Count one withdrawal of ``d`` less; when none is left, ``d`` leaves the set and the
    tree."""
    row = conn.execute("SELECT count FROM st_revoked WHERE digest = ?", (d,)).fetchone()
    if row is None:
        return
    if int(row[0]) > 1:
        conn.execute("UPDATE st_revoked SET count = count - 1 WHERE digest = ?", (d,))
        return
    conn.execute("DELETE FROM st_revoked WHERE digest = ?", (d,))
    _update_path(conn, d, present=False)


def _neighbour_bits(conn: Any, d: bytes) -> int:
    """The longest prefix (in bits) ``d`` shares with another member; -1 when there is none."""
    best = -1
    for sql in (
        "SELECT digest FROM st_revoked WHERE digest < ? ORDER BY digest DESC LIMIT 1",
        "SELECT digest FROM st_revoked WHERE digest > ? ORDER BY digest LIMIT 1",
    ):
        row = conn.execute(sql, (d,)).fetchone()
        if row is not None:
            x = int.from_bytes(bytes(row[0]), "big") ^ int.from_bytes(d, "big")
            best = max(best, DIGEST_BITS - x.bit_length())
    return best


def _stored_siblings(conn: Any, d: bytes, end: int) -> dict[int, tuple[bytes, int]]:
    """The stored rows (hash, members) of the siblings of ``d``'s path at depths 1..end+1, by
    depth: one query (a sibling without a row holds at most one member)."""
    keys = [(i + 1, node_key(_flip(d, i), i + 1)) for i in range(end + 1)]
    where = " OR ".join(["(depth = ? AND prefix = ?)"] * len(keys))
    rows = conn.execute(
        f"SELECT depth, hash, size FROM st_revtree WHERE {where}",  # noqa: S608 (placeholders)
        [x for k in keys for x in k],
    ).fetchall()
    return {int(r[0]): (bytes(r[1]), int(r[2])) for r in rows}


def _flip(d: bytes, i: int) -> bytes:
    """``d`` with bit ``i`` flipped: a digest on the sibling's path at depth i+1."""
    out = bytearray(d)
    out[i >> 3] ^= 0x80 >> (i & 7)
    return bytes(out)


def _single(conn: Any, d: bytes, depth: int) -> tuple[bytes, int]:
    """(hash, members) of a subtree without a row: its one member's leaf, or EMPTY."""
    lo = int.from_bytes(d, "big") & ~(_ONES >> depth) & _ONES
    hi = lo | (_ONES >> depth)
    rows = conn.execute(
        "SELECT digest FROM st_revoked WHERE digest >= ? AND digest <= ? ORDER BY digest LIMIT 2",
        (lo.to_bytes(HASH_SIZE, "big"), hi.to_bytes(HASH_SIZE, "big")),
    ).fetchall()
    if not rows:
        return EMPTY_ROOT, 0
    if len(rows) > 1:  # a subtree of two members always has its row
        raise AssertionError("revoked-set tree: a node of two members is missing")
    return sparse_leaf_hash(bytes(rows[0][0])), 1


def _update_path(conn: Any, d: bytes, *, present: bool) -> None:
    """Rewrite the rows on ``d``'s path after ``d`` joined (``present``) or left the set
    (``st_revoked`` already says so)."""
    end = _neighbour_bits(conn, d)
    if end < 0:  # no other member: no node of two members before or after
        return
    stored = _stored_siblings(conn, d, end)
    h, n = (sparse_leaf_hash(d), 1) if present else (EMPTY_ROOT, 0)
    put, gone = [], []
    for i in range(end, -1, -1):  # the nodes at depths end..0 hold d's neighbour(s)
        sib, m = stored.get(i + 1) or _single(conn, _flip(d, i), i + 1)
        if n + m >= 2:
            h = sparse_node_hash(sib, h) if digest_bit(d, i) else sparse_node_hash(h, sib)
            n += m
            put.append((i, node_key(d, i), h, n))
        else:  # one member left below: the subtree is that member's leaf, and has no row
            gone.append((i, node_key(d, i)))
            h, n = (sib, m) if m else (h, n)
    if gone:
        conn.executemany("DELETE FROM st_revtree WHERE depth = ? AND prefix = ?", gone)
    conn.executemany(_UPSERT, put)


class StoredRevokedSet:
    """The ``lic-revoked/v2`` set of a state's tables (``conn``: the stored state, a replay's
    or a follower's) as the proof callers use ``SparseRevokedSet``: ``size``, ``root``,
    ``commitment`` and ``proof_text(d)``, byte for byte the same, each a few indexed reads
    (``revtree_proof``) instead of a tree of every member built in memory. It reads the tables
    when asked: it is the set of the records applied to them at that moment."""

    __slots__ = ("conn",)
    version = 2

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @property
    def commitment(self) -> RevsetCommitment:
        """What the set's ``lic-revoked/v2`` line states."""
        return revtree_commitment(self.conn)

    @property
    def size(self) -> int:
        """The number of members."""
        return self.commitment.size

    @property
    def root(self) -> bytes:
        """``H(all members, 0)``."""
        return self.commitment.root

    def proof_text(self, digest: bytes) -> bytes:
        """The ``lic-absent/v2`` text for ``digest`` (for a member, its membership proof)."""
        return format_sparse_proof(digest, revtree_proof(self.conn, digest))


def revoked_set_in(conn: Any, version: int) -> RevokedSet | StoredRevokedSet:
    """The revoked set of a state's tables in ``version``: v2 read from the stored tree
    (``StoredRevokedSet``), v1 (legacy: old checkpoints and bundles) built in memory from the
    members, O(set size)."""
    if version == 2:
        return StoredRevokedSet(conn)
    if version != 1:
        raise MalformedError(f"revoked set: no version {version}")
    members = [bytes(r[0]) for r in conn.execute("SELECT digest FROM st_revoked ORDER BY digest")]
    return RevokedSet(members, presorted=True)


def revtree_proof(conn: Any, d: bytes) -> SparseProof:
    """The ``lic-absent/v2`` proof for ``d`` (absence, or membership when ``d`` is a member)
    from the stored tree, equal to ``SparseRevokedSet(members).prove(d)``: d's path ends one
    past the longest prefix it shares with its neighbours, the rows on it and beside it come in
    one query, and a sibling without a row is EMPTY (its parent's members are all on d's side)
    or one member (one indexed range read). O(log n) reads, whatever the set's size."""
    top = revtree_commitment(conn)
    if top.size < 2:  # the root is the only member's leaf, or EMPTY
        rows = conn.execute("SELECT digest FROM st_revoked LIMIT 1").fetchall()
        return SparseProof(top.size, 0, bytes(rows[0][0]) if rows else None, ())
    near = _neighbours(conn, d)
    others = [x for x in near if x != d]
    end = max(_common(x, d) for x in others)  # below it, d's subtree holds d alone or nothing
    keys = [(i, node_key(d, i)) for i in range(end + 1)]
    keys += [(i + 1, node_key(_flip(d, i), i + 1)) for i in range(end + 1)]
    rows = _rows(conn, keys)
    k = 0
    while (k, node_key(d, k)) in rows:
        k += 1
    member = d if d in near else next((x for x in others if _common(x, d) >= k), None)
    n = 0 if member is None else 1
    siblings = []
    for i in range(k - 1, -1, -1):
        parent = rows[(i, node_key(d, i))][1]
        sib = rows.get((i + 1, node_key(_flip(d, i), i + 1)))
        if sib is None:
            sib = (EMPTY_ROOT, 0) if parent == n else _single(conn, _flip(d, i), i + 1)
        siblings.append(sib[0])
        n = parent
    return SparseProof(top.size, k, member, tuple(siblings))


def _common(a: bytes, b: bytes) -> int:
    """How many leading bits two digests share (256 when they are equal)."""
    x = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return DIGEST_BITS - x.bit_length()


def _neighbours(conn: Any, d: bytes) -> tuple[bytes, ...]:
    """The members just below and just above ``d`` (others than d), and ``d`` itself when it is
    a member: one query."""
    rows = conn.execute(
        "SELECT digest FROM (SELECT digest FROM st_revoked WHERE digest < ? "
        "ORDER BY digest DESC LIMIT 1) AS lo UNION ALL "
        "SELECT digest FROM (SELECT digest FROM st_revoked WHERE digest >= ? "
        "ORDER BY digest LIMIT 2) AS hi",
        (d, d),
    ).fetchall()
    return tuple(bytes(r[0]) for r in rows)


def _rows(conn: Any, keys: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], tuple[bytes, int]]:
    """The stored rows (hash, members) among ``keys`` (depth, prefix): one query."""
    where = " OR ".join(["(depth = ? AND prefix = ?)"] * len(keys))
    rows = conn.execute(
        f"SELECT depth, prefix, hash, size FROM st_revtree WHERE {where}",  # noqa: S608
        [x for k in keys for x in k],
    ).fetchall()
    return {(int(r[0]), bytes(r[1])): (bytes(r[2]), int(r[3])) for r in rows}


def revtree_commitment(conn: Any) -> RevsetCommitment:
    """The ``lic-revoked/v2`` commitment of the stored set: the root row, or the set's only
    member, or the empty set. A few indexed reads, whatever the set's size."""
    row = conn.execute("SELECT hash, size FROM st_revtree WHERE depth = 0").fetchone()
    if row is not None:
        return RevsetCommitment(int(row[1]), bytes(row[0]), 2)
    rows = conn.execute("SELECT digest FROM st_revoked ORDER BY digest LIMIT 2").fetchall()
    if not rows:
        return RevsetCommitment(0, EMPTY_ROOT, 2)
    if len(rows) > 1:
        raise AssertionError("revoked-set tree: the root of two members is missing")
    return RevsetCommitment(1, sparse_leaf_hash(bytes(rows[0][0])), 2)


def ensure_revtree(conn: Any) -> None:
    """Give SQLite state tables made before ``st_revtree`` existed (a follower's) the table,
    filled from the members in ``st_revoked`` (inside the caller's transaction); nothing when
    it exists."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'st_revtree'"
    ).fetchone()
    if row is not None:
        return
    conn.execute(REVTREE_DDL)
    members = [bytes(r[0]) for r in conn.execute("SELECT digest FROM st_revoked ORDER BY digest")]
    conn.executemany(_UPSERT, SparseRevokedSet(members, presorted=True).nodes())


def v1_commitment(conn: Any, version: int) -> tuple[int, bytes]:
    """The legacy ``lic-revoked/v1`` size and root (SPEC 12.2): read from the meta row while
    the set is unchanged since it was last computed (``version``: the state's count of
    changes), else folded from the stored v1 leaf hashes in order (memory flat in the set's
    size, O(n) time) and kept in the meta row. Only checkpoints signed before v2 need it."""
    row = conn.execute(
        "SELECT revset_cached, revset_size, revset_root FROM st_meta WHERE id = 0"
    ).fetchone()
    if row is not None and row[0] == version:
        return int(row[1]), bytes(row[2])
    frontier = Frontier(0, [])
    rows = conn.execute("SELECT leaf FROM st_revoked ORDER BY digest")
    while page := rows.fetchmany(4096):  # a cursor of its own: nothing else runs meanwhile
        frontier.extend([bytes(r[0]) for r in page])
    n, root = frontier.size, frontier.root()
    conn.execute(
        "UPDATE st_meta SET revset_cached = ?, revset_size = ?, revset_root = ? WHERE id = 0",
        (version, n, root),
    )
    return n, root
