"""ledger.serve: the log as an HTTP service (SPEC 16).

The read side: the C2SP tlog-tiles API (``/checkpoint``, hash tiles, entry bundles and the
``/blob/<sha256>`` resources of records over 65,535 bytes), receipts and token status with
offline-checkable evidence (``StatusView``, ``verify_status``). The write side, with a log
key (``WriteOptions``): ``POST /entries`` of author-signed entries, sequenced with group
commit by one writer thread (``Sequencer``), with checkpoints signed on a schedule and
cosigned by the configured witnesses. A Starlette application (``make_app``) served by
uvicorn on a loopback address (``LogServer``). The resources, appends and proofs come from
``ledger.store``, ``ledger.witness`` and ``ledger.tlog``.
"""

from ._app import (
    CHECKPOINT_CACHE,
    IMMUTABLE_CACHE,
    PARTIAL_CACHE,
    accepts_gzip,
    make_app,
)
from ._sequencer import READ_TIMEOUT, QueueFullError, Sequencer, WriteOptions
from ._server import LogServer
from ._status import MAX_STATUS_ANSWER, StatusEvidence, StatusView, verify_status
from ._write import ENTRY_MEDIA_TYPE, MAX_WAIT, parse_index, receipt_path

__all__ = [
    "CHECKPOINT_CACHE",
    "ENTRY_MEDIA_TYPE",
    "IMMUTABLE_CACHE",
    "MAX_STATUS_ANSWER",
    "MAX_WAIT",
    "PARTIAL_CACHE",
    "READ_TIMEOUT",
    "LogServer",
    "QueueFullError",
    "Sequencer",
    "StatusEvidence",
    "StatusView",
    "WriteOptions",
    "accepts_gzip",
    "make_app",
    "parse_index",
    "receipt_path",
    "verify_status",
]
