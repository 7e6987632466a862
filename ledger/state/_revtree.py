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

from ..tlog import (
    DIGEST_BITS,
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    RevsetCommitment,
    SparseRevokedSet,
    digest_bit,
    node_key,
    revset_leaf_hash,
    sparse_leaf_hash,
    sparse_node_hash,
)

__all__ = [
    "REVTREE_DDL",
    "add_member",
    "ensure_revtree",
    "remove_member",
    "revtree_commitment",
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
