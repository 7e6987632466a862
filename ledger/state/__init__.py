"""ledger.state: the derived state of a ledger and its replay.

``LedgerState`` (keys, grants, revocations, incidents, appeals, ...), the spill tables that
bound its memory, and the one replay (``apply_record``, ``apply_stored``, ``state_of``) that
the store, the audit and every other user share; and the one definition of a token's status
at a time (``status_at``, ``TOKEN_STATUSES``, SPEC 14.5) and what it does to a decision
about a use (``with_status``). Knows nothing of the store.
"""

from ._apply import (
    STATE_PROGRESS_EVERY,
    apply_record,
    apply_stored,
    state_of,
)
from ._spill import (
    DEFAULT_BUDGET,
    SpillMap,
    SpillStore,
    TypeIndex,
)
from ._state import (
    Finding,
    Grant,
    Incident,
    KeyInfo,
    LedgerState,
    TokenStatus,
)
from ._status import TOKEN_STATUSES, status_at, with_status

__all__ = [
    "DEFAULT_BUDGET",
    "STATE_PROGRESS_EVERY",
    "TOKEN_STATUSES",
    "Finding",
    "Grant",
    "Incident",
    "KeyInfo",
    "LedgerState",
    "SpillMap",
    "SpillStore",
    "TokenStatus",
    "TypeIndex",
    "apply_record",
    "apply_stored",
    "state_of",
    "status_at",
    "with_status",
]
