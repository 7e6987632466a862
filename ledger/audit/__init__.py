"""ledger.audit: replay a ledger as an auditor, trusting nothing but the log key.

A pure core (``audit`` over records in order: chain, Merkle root, signatures, schemas, state
transitions, checkpoints) and its I/O edge (``audit_db``, ``audit_jsonl``, ``import_verified``), and
one record's checks for a replay that resumes (``check_record``: a follower of the log).
"""

from ._core import (
    AuditResult,
    Observer,
    audit,
    audit_summary,
)
from ._io import (
    audit_db,
    audit_jsonl,
    import_verified,
)
from ._step import check_record

__all__ = [
    "AuditResult",
    "Observer",
    "audit",
    "audit_db",
    "audit_jsonl",
    "audit_summary",
    "check_record",
    "import_verified",
]
