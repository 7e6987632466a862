"""ledger.audit: replay a ledger as an auditor, trusting nothing but the log key.

A pure core (``audit`` over records in order: chain, Merkle root, signatures, schemas, state
transitions, checkpoints) and its I/O edge (``audit_db``, ``audit_jsonl``, ``import_verified``).
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

__all__ = [
    "AuditResult",
    "Observer",
    "audit",
    "audit_db",
    "audit_jsonl",
    "audit_summary",
    "import_verified",
]
