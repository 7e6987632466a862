"""What the report adds to SQLite (ADR 0008): its own tables, filled while the replay runs, and
what one ``finish`` adds to the connection of the replay's state tables. Knows a ``sqlite3``
connection and nothing of the store.

The report's own tables hold what only the records know and the state tables do not keep:
the facts attestations state about their subjects, and the in-window records counted per
month, entry type and decision outcome (an aggregate). They live in a private temporary
database of the builder's (``open_scratch``): the builder exists before the replay's state and
sees only the records, never the state's connection.

On the state's connection ``finish`` registers ``rp_member(doc, name)`` (one member of a
payload the state keeps as CBOR in a ``doc`` column and not in a column of its own, such as a
terms version's digest; lists as JSON text for ``json_each``) and ``rp_month(time)``, and
creates one temporary table of durations (``rp_values``) for the distributions (the access
queries add ``rp_access``, the window's requests, for their span). Temporary objects only: the
state's own tables, and the file they may sit in, are never written.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..entries import decode_payload
from ._measures import month_of

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "FLOW_ADD",
    "INPUT_ADD",
    "SUBJECT_ADD",
    "create_own_tables",
    "drop_finish_objects",
    "prepare_finish",
]

_MAX_DOC = 1 << 24  # as the state's own reader of its doc columns

_OWN_DDL = (
    # one row per attested digest: what its attestations declare (flags OR-ed over them)
    # (signed: the subject of a verified OMS signature file, a signed model)
    "CREATE TABLE rp_subjects (subject BLOB PRIMARY KEY, model INTEGER NOT NULL, "
    "consent INTEGER NOT NULL, sensitive_declared INTEGER NOT NULL, "
    "sensitive_flagged INTEGER NOT NULL, signed INTEGER NOT NULL) WITHOUT ROWID",
    # a model version's inputs: the dataset digests its SLSA predicates resolve
    "CREATE TABLE rp_inputs (subject BLOB NOT NULL, input BLOB NOT NULL, "
    "PRIMARY KEY (subject, input)) WITHOUT ROWID",
    # in-window records per month, entry type and (access.decision) outcome
    "CREATE TABLE rp_flow (month TEXT NOT NULL, type TEXT NOT NULL, outcome TEXT NOT NULL, "
    "n INTEGER NOT NULL, PRIMARY KEY (month, type, outcome)) WITHOUT ROWID",
)

SUBJECT_ADD = (
    "INSERT INTO rp_subjects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET "
    "model = model | excluded.model, consent = consent | excluded.consent, "
    "sensitive_declared = sensitive_declared | excluded.sensitive_declared, "
    "sensitive_flagged = sensitive_flagged | excluded.sensitive_flagged, "
    "signed = signed | excluded.signed"
)
INPUT_ADD = "INSERT OR IGNORE INTO rp_inputs VALUES (?, ?)"
FLOW_ADD = (
    "INSERT INTO rp_flow VALUES (?, ?, ?, ?) ON CONFLICT (month, type, outcome) "
    "DO UPDATE SET n = n + excluded.n"
)


def create_own_tables(conn: sqlite3.Connection) -> None:
    """Create the report's own (empty) tables in the builder's private database."""
    for ddl in _OWN_DDL:
        conn.execute(ddl)


class _Member:
    """``rp_member(doc, name)``: the member ``name`` of the CBOR map ``doc`` as SQL sees it
    (a list or map as JSON text, a bool as 0/1, absent as NULL). The last document decoded is
    kept, since a query reads several members of one row in turn."""

    def __init__(self) -> None:
        self._doc: bytes | None = None
        self._value: dict[str, Any] = {}

    def __call__(self, doc: bytes, name: str) -> Any:
        if doc != self._doc:
            self._value = decode_payload(bytes(doc), max_size=_MAX_DOC)
            self._doc = doc
        v = self._value.get(name)
        if isinstance(v, list | dict):
            return json.dumps(v, separators=(",", ":"))
        if isinstance(v, bool):
            return int(v)
        return v


def prepare_finish(conn: sqlite3.Connection) -> None:
    """Register the report's functions on the state's connection and create (afresh) its
    temporary table of durations: one row per value of a distribution, by name."""
    conn.create_function("rp_member", 2, _Member(), deterministic=True)
    conn.create_function("rp_month", 1, month_of, deterministic=True)
    drop_finish_objects(conn)
    conn.execute("CREATE TEMP TABLE rp_values (dist TEXT NOT NULL, v INTEGER NOT NULL)")
    conn.execute("CREATE INDEX temp.rp_values_v ON rp_values (dist, v)")


def drop_finish_objects(conn: sqlite3.Connection) -> None:
    """Drop the temporary tables of one ``finish`` (the functions stay registered)."""
    conn.execute("DROP TABLE IF EXISTS temp.rp_values")
    conn.execute("DROP TABLE IF EXISTS temp.rp_access")
