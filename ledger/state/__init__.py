"""ledger.state: the derived state of a ledger and its replay.

``LedgerState`` (keys, grants, revocations, incidents, appeals, ...) kept in SQLite tables
(``STATE_TABLES``, created by ``create_state_tables``; ADR 0008) of the database it is given
(the ledger file, for the store) or of a private temporary database (a replay of its own), and
the one replay (``apply_record``, ``apply_stored``, ``state_of``) that the store, the audit and
every other user share; and the one definition of a token's status at a time (``status_at``,
``TOKEN_STATUSES``, SPEC 14.5) and what it does to a decision about a use (``with_status``).
The revoked set's ``lic-revoked/v2`` tree lives in ``st_revtree`` (``_revtree``), one path
rewritten per change of a member (``LedgerState.revoked_commitment``; ``ensure_revtree`` for
state tables made before it); its proofs come from the same rows (``StoredRevokedSet``,
``revoked_set_in``), never from a tree of every member.
Knows nothing of the store: only of a connection (``SqlConnection``, the methods it uses: a
``sqlite3.Connection``, or the store's PostgreSQL adapter, which takes the same SQL).
"""

from ._apply import (
    STATE_PROGRESS_EVERY,
    apply_record,
    apply_stored,
    replay_into,
    state_of,
)
from ._db import SqlConnection, SqlCursor
from ._model import (
    Finding,
    Grant,
    Incident,
    KeyInfo,
    TokenStatus,
)
from ._revtree import StoredRevokedSet, ensure_revtree, revoked_set_in
from ._state import LedgerState
from ._status import TOKEN_STATUSES, status_at, with_status
from ._tables import (
    SCHEMA_VERSION,
    STATE_TABLES,
    create_state_tables,
    drop_state_tables,
    has_state_tables,
    open_scratch,
    scratch_table,
    upgrade_state_tables,
)

__all__ = [
    "SCHEMA_VERSION",
    "STATE_PROGRESS_EVERY",
    "STATE_TABLES",
    "TOKEN_STATUSES",
    "Finding",
    "Grant",
    "Incident",
    "KeyInfo",
    "LedgerState",
    "SqlConnection",
    "SqlCursor",
    "StoredRevokedSet",
    "TokenStatus",
    "apply_record",
    "apply_stored",
    "create_state_tables",
    "drop_state_tables",
    "ensure_revtree",
    "has_state_tables",
    "open_scratch",
    "replay_into",
    "revoked_set_in",
    "scratch_table",
    "state_of",
    "status_at",
    "upgrade_state_tables",
    "with_status",
]
