"""The revoked set in the state tables: its members (``st_revoked``) and the inner nodes of its
``lic-revoked/v2`` tree (``st_revtree``, SPEC 12.7), changed together in the transaction of the
record whose apply adds or removes a member. Knows a ``sqlite3``-like connection only (on
PostgreSQL the store's translation runs the same SQL).

``st_revtree`` holds one row per subtree of two members or more: its depth, its prefix (the
first ``depth`` bits of its members, ``node_key``), its hash and its number of members. A
change of one member rewrites the rows on that member's path: the depth where the path ends is
one past the longest prefix the member shares with its neighbours in ``st_revoked``, and each
sibling is a row, a single member or EMPTY. A change costs a fixed number of statements (the
member's row, its two neighbours, the siblings' rows, the siblings' lone members, the path's
rows written) of O(log n) indexed reads and writes each, and O(log n) hashes; the root and
size are one row. A proof (``revtree_proof``, ``StoredRevokedSet``) reads the same way: the
proof callers never build a tree of every member (the legacy v1 tree aside).
"""

from __future__ import annotations

from collections.abc import Iterator
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
    format_sparse_proof,
    revset_leaf_hash,
    sparse_leaf_hash,
    sparse_node_hash,
)

__all__ = [
    "REVTREE_DDL",
    "StoredRevokedSet",
    "TreeNodes",
    "add_member",
    "ensure_revtree",
    "remove_member",
    "revoked_members",
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
_INSERT = "INSERT INTO st_revtree (depth, prefix, hash, size) VALUES (?, ?, ?, ?)"
_UPDATE = "UPDATE st_revtree SET hash = ?, size = ? WHERE depth = ? AND prefix = ?"
_DELETE = "DELETE FROM st_revtree WHERE depth = ? AND prefix = ?"
_ONES = (1 << DIGEST_BITS) - 1
_NODE_CACHE = 4096  # rows (or their absence) a TreeNodes of a private database keeps (the top
# twelve levels of a full tree: the nodes every path shares)
_UNKNOWN: Any = object()

_Key = tuple[int, bytes]  # (depth, prefix) of a row


class TreeNodes:
    """The ``st_revtree`` rows a path update reads and writes. On the ledger's database every
    read and write is a statement. On a private database (a replay's: ``WriteBehind.attach``
    sets ``_buffer``) every write goes through this object, so it keeps a bounded map of the
    rows it read or wrote and of the keys it found without a row (the top of the tree is on
    every path), and its writes are pending until the write-behind batch is flushed: a node
    rewritten by many changes in one batch is written once. Whoever reads the table by SQL
    flushes first (``LedgerState.conn``)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._buffer: Any = None  # WriteBehind, on a private database
        self._known: dict[_Key, tuple[bytes, int] | None] = {}  # None: no row
        self._pending: dict[_Key, tuple[bytes, int] | None] = {}  # None: delete it

    def rows(self, keys: list[_Key]) -> dict[_Key, tuple[bytes, int]]:
        """The rows (hash, members) among ``keys``, by key."""
        if self._buffer is None:
            return _rows(self.conn, keys)
        known, out, ask = self._known, {}, []
        for k in keys:
            v = known.get(k, _UNKNOWN)
            if v is _UNKNOWN:
                ask.append(k)
            elif v is not None:
                out[k] = v
        if ask:
            got = _rows(self.conn, ask)
            self._room(len(ask))
            for k in ask:
                known[k] = v = got.get(k)
                if v is not None:
                    out[k] = v
        return out

    def write(
        self, gone: list[_Key], new: list[tuple[int, bytes, bytes, int]],
        changed: list[tuple[bytes, int, int, bytes]],
    ) -> None:  # fmt: skip
        """Delete the rows ``gone``, insert ``new`` (depth, prefix, hash, members) and update
        ``changed`` (hash, members, depth, prefix)."""
        if self._buffer is None:
            if gone:
                self.conn.executemany(_DELETE, gone)
            if new:
                self.conn.executemany(_INSERT, new)
            self.conn.executemany(_UPDATE, changed)
            return
        self._room(len(gone) + len(new) + len(changed))
        known, pending = self._known, self._pending
        for k in gone:
            known[k] = pending[k] = None
        for depth, prefix, h, n in new:
            known[(depth, prefix)] = pending[(depth, prefix)] = (h, n)
        for h, n, depth, prefix in changed:
            known[(depth, prefix)] = pending[(depth, prefix)] = (h, n)
        self._buffer.pending(self, len(gone) + len(new) + len(changed))

    def _room(self, n: int) -> None:
        """Empty the map when ``n`` more keys would overflow it (every pending write is in the
        map: they are written first)."""
        if len(self._known) + n > _NODE_CACHE:
            self._buffer.flush()
            self._known.clear()

    def _flush(self) -> None:
        """Write the pending rows: each key's last state, deleted or upserted."""
        if self._pending:
            gone = [k for k, v in self._pending.items() if v is None]
            rows = [(*k, *v) for k, v in self._pending.items() if v is not None]
            if gone:
                self.conn.executemany(_DELETE, gone)
            if rows:
                self.conn.executemany(_UPSERT, rows)
            self._pending.clear()


def add_member(conn: Any, d: bytes, nodes: TreeNodes | None = None) -> None:
    """Count one more withdrawal that puts ``d`` in the revoked set; a new member joins the
    tree. (One statement finds out which: the insert of a new member.) ``nodes``: the tree's
    rows as a private database keeps them (default: read and written on ``conn``)."""
    cur = conn.execute(
        "INSERT INTO st_revoked (digest, count, leaf) VALUES (?, 1, ?) "
        "ON CONFLICT (digest) DO NOTHING",
        (d, revset_leaf_hash(d)),
    )
    if cur.rowcount == 0:
        conn.execute("UPDATE st_revoked SET count = count + 1 WHERE digest = ?", (d,))
        return
    _update_path(conn, d, nodes or TreeNodes(conn), present=True)


def remove_member(conn: Any, d: bytes, nodes: TreeNodes | None = None) -> None:
    """Count one withdrawal of ``d`` less; when none is left, ``d`` leaves the set and the
    tree. (One statement when it leaves: the delete of its last count.)"""
    cur = conn.execute("DELETE FROM st_revoked WHERE digest = ? AND count = 1", (d,))
    if cur.rowcount == 0:  # counted more than once, or not a member: nothing leaves
        conn.execute("UPDATE st_revoked SET count = count - 1 WHERE digest = ?", (d,))
        return
    _update_path(conn, d, nodes or TreeNodes(conn), present=False)


def _keys(d: int, depths: range) -> list[bytes]:
    """``node_key`` of the digest ``d`` (as an integer) at each of ``depths``: the first
    ``depth`` bits, then zero bits to a whole byte."""
    return [((d >> (DIGEST_BITS - j)) << (-j & 7)).to_bytes((j + 7) >> 3, "big") for j in depths]


def _sibling_keys(d: int, end: int) -> list[tuple[int, bytes]]:
    """(depth, prefix) of the siblings of ``d``'s path at depths 1..end+1: the path's key at
    depth i+1 with its last bit (bit i) flipped."""
    out = []
    for i in range(end + 1):
        j = i + 1
        out.append((j, (((d >> (DIGEST_BITS - j)) ^ 1) << (-j & 7)).to_bytes((j + 7) >> 3, "big")))
    return out


def _neighbours(conn: Any, d: bytes) -> list[bytes]:
    """The members next to ``d`` in order, others than ``d``: the one below and the one above
    (one query)."""
    rows = conn.execute(
        "SELECT digest FROM (SELECT digest FROM st_revoked WHERE digest < ? "
        "ORDER BY digest DESC LIMIT 1) AS lo UNION ALL "
        "SELECT digest FROM (SELECT digest FROM st_revoked WHERE digest > ? "
        "ORDER BY digest LIMIT 1) AS hi",
        (d, d),
    ).fetchall()
    return [bytes(r[0]) for r in rows]


def _rows(conn: Any, keys: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], tuple[bytes, int]]:
    """The stored rows (hash, members) among ``keys`` (depth, prefix), by key: one query."""
    where = " OR ".join(["(depth = ? AND prefix = ?)"] * len(keys))
    rows = conn.execute(
        f"SELECT depth, prefix, hash, size FROM st_revtree WHERE {where}",  # noqa: S608
        [x for k in keys for x in k],
    ).fetchall()
    return {(int(r[0]), bytes(r[1])): (bytes(r[2]), int(r[3])) for r in rows}


def _common(a: int, b: int) -> int:
    """How many leading bits two digests (as integers) share (256 when they are equal)."""
    return DIGEST_BITS - (a ^ b).bit_length()


def _singles(conn: Any, d: int, depths: list[int]) -> dict[int, bytes]:
    """The member of each sibling subtree of ``d``'s path at depth i+1 (i in ``depths``) that
    has no row, by i (absent: EMPTY), one query: a member x of that subtree shares exactly i
    bits with d."""
    if not depths:
        return {}
    args = []
    for i in depths:
        low = _ONES >> (i + 1)
        lo = (d ^ (1 << (DIGEST_BITS - 1 - i))) & ~low & _ONES
        args += [lo.to_bytes(HASH_SIZE, "big"), (lo | low).to_bytes(HASH_SIZE, "big")]
    where = " OR ".join(["(digest >= ? AND digest <= ?)"] * len(depths))
    rows = conn.execute(
        f"SELECT digest FROM st_revoked WHERE {where}",  # noqa: S608 (placeholders)
        args,
    ).fetchall()
    out: dict[int, bytes] = {}
    for r in rows:
        x = bytes(r[0])
        i = _common(int.from_bytes(x, "big"), d)
        if i in out:  # a subtree of two members always has its row
            raise AssertionError("revoked-set tree: a node of two members is missing")
        out[i] = x
    return out


def _sibling(
    i: int, rows: dict[tuple[int, bytes], tuple[bytes, int]], key: tuple[int, bytes],
    known: dict[int, bytes],
) -> tuple[bytes, int]:  # fmt: skip
    """(hash, members) of the sibling at depth i+1: its row, else its one member, else EMPTY
    (``known``: the members of the siblings without a row, by i)."""
    row = rows.get(key)
    if row is not None:
        return row
    x = known.get(i)
    return (EMPTY_ROOT, 0) if x is None else (sparse_leaf_hash(x), 1)


def _update_path(conn: Any, d: bytes, nodes: TreeNodes, *, present: bool) -> None:
    """Rewrite the rows on ``d``'s path after ``d`` joined (``present``) or left the set
    (``st_revoked`` already says so). The nodes at depths 0..end hold d's neighbours (end:
    the longest prefix d shares with one); a sibling without a row is a neighbour's leaf, or
    one member or EMPTY read with the others in one query."""
    di = int.from_bytes(d, "big")
    near = {_common(int.from_bytes(x, "big"), di): x for x in _neighbours(conn, d)}
    if not near:  # no other member: no node of two members before or after
        return
    end = max(near)
    sib_keys = _sibling_keys(di, end)
    rows = nodes.rows(sib_keys)
    missing = [i for i in range(end + 1) if sib_keys[i] not in rows and i not in near]
    known = {**near, **_singles(conn, di, missing)}
    path = _keys(di, range(end + 1))
    h, n = (sparse_leaf_hash(d), 1) if present else (EMPTY_ROOT, 0)
    new, changed, gone = [], [], []
    for i in range(end, -1, -1):
        sib, m = _sibling(i, rows, sib_keys[i], known)
        if n + m >= 2:
            right = (di >> (DIGEST_BITS - 1 - i)) & 1
            h = sparse_node_hash(sib, h) if right else sparse_node_hash(h, sib)
            n += m
            if present and n == 2:  # it held one member before d joined: no row yet
                new.append((i, path[i], h, n))
            else:  # two members or more before (d joined) or after (d left): its row
                changed.append((h, n, i, path[i]))
        else:  # one member left below: the subtree is that member's leaf, and has no row
            gone.append((i, path[i]))
            h, n = (sib, m) if m else (h, n)
    nodes.write(gone, new, changed)


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


def revoked_members(conn: Any) -> Iterator[bytes]:
    """Every member of the stored set, in ascending order, read a page at a time (no cursor
    stays open while the caller runs)."""
    rows = conn.execute("SELECT digest FROM st_revoked ORDER BY digest LIMIT 1024").fetchall()
    while rows:
        for r in rows:
            yield bytes(r[0])
        if len(rows) < 1024:
            return
        rows = conn.execute(
            "SELECT digest FROM st_revoked WHERE digest > ? ORDER BY digest LIMIT 1024",
            (rows[-1][0],),
        ).fetchall()


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
    past the longest prefix it shares with its neighbours; the rows on it and beside it come
    in one query; a sibling without a row is a neighbour's leaf, EMPTY (its parent's members
    are all on d's side), or one member read with the others in one query. O(log n) reads,
    whatever the set's size."""
    top = revtree_commitment(conn)
    if top.size < 2:  # the root is the only member's leaf, or EMPTY
        rows = conn.execute("SELECT digest FROM st_revoked LIMIT 1").fetchall()
        return SparseProof(top.size, 0, bytes(rows[0][0]) if rows else None, ())
    di = int.from_bytes(d, "big")
    near = {_common(int.from_bytes(x, "big"), di): x for x in _neighbours(conn, d)}
    end = max(near)  # below it, d's subtree holds d alone or nothing
    path, sib_keys = _keys(di, range(end + 1)), _sibling_keys(di, end)
    rows = _rows(conn, [(i, path[i]) for i in range(end + 1)] + sib_keys)
    k = 0
    while k <= end and (k, path[k]) in rows:
        k += 1
    if conn.execute("SELECT 1 FROM st_revoked WHERE digest = ?", (d,)).fetchone() is not None:
        member: bytes | None = d
    else:
        member = next((x for c, x in near.items() if c >= k), None)
    below = [rows[(i + 1, path[i + 1])][1] for i in range(k - 1)] + [0 if member is None else 1]
    missing = [
        i
        for i in range(k)
        if sib_keys[i] not in rows and i not in near and rows[(i, path[i])][1] != below[i]
    ]
    known = {**near, **_singles(conn, di, missing)}
    siblings = [_sibling(i, rows, sib_keys[i], known)[0] for i in range(k - 1, -1, -1)]
    return SparseProof(top.size, k, member, tuple(siblings))


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
