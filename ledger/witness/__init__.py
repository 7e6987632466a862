"""ledger.witness: C2SP witnesses.

The add-checkpoint protocol (pure decisions), the witness state file, the witness HTTP server,
the log-side client that collects cosignatures from witnesses, and the auditing witness
(``AuditingGate``: it follows the log, ``ledger.follow``, before it cosigns, so its
cosignature vouches for the checkpoint's revoked-set line too).
"""

from ._auditing import (
    NOT_YET_RETRY_AFTER,
    NOT_YET_STATUS,
    AuditingGate,
    GateRefusal,
)
from ._client import (
    CosignatureCollection,
    WitnessAnswer,
    WitnessReport,
    add_offline_cosignatures,
    collect_cosignatures,
    post_add_checkpoint,
)
from ._protocol import (
    MAX_ADD_CHECKPOINT_BODY,
    SIZE_CONTENT_TYPE,
    AddCheckpointOutcome,
    AddCheckpointRequest,
    SplitViewResult,
    StoredHead,
    decide_add_checkpoint,
    format_add_checkpoint_request,
    parse_add_checkpoint_request,
    split_view_result,
)
from ._server import (
    WitnessServer,
    check_loopback,
    make_witness_server,
)
from ._store import (
    MAX_EVIDENCE_PER_LOG,
    WITNESS_FORMAT,
    CosignedRecord,
    EvidenceRecord,
    Witness,
)

__all__ = [
    "MAX_ADD_CHECKPOINT_BODY",
    "MAX_EVIDENCE_PER_LOG",
    "NOT_YET_RETRY_AFTER",
    "NOT_YET_STATUS",
    "SIZE_CONTENT_TYPE",
    "WITNESS_FORMAT",
    "AddCheckpointOutcome",
    "AddCheckpointRequest",
    "AuditingGate",
    "CosignatureCollection",
    "CosignedRecord",
    "EvidenceRecord",
    "GateRefusal",
    "SplitViewResult",
    "StoredHead",
    "Witness",
    "WitnessAnswer",
    "WitnessReport",
    "WitnessServer",
    "add_offline_cosignatures",
    "check_loopback",
    "collect_cosignatures",
    "decide_add_checkpoint",
    "format_add_checkpoint_request",
    "make_witness_server",
    "parse_add_checkpoint_request",
    "post_add_checkpoint",
    "split_view_result",
]
