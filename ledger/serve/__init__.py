"""ledger.serve: the log as an HTTP service (SPEC 16).

Today the read side: the C2SP tlog-tiles API (``/checkpoint``, hash tiles, entry bundles and
the ``/blob/<sha256>`` resources of records over 65,535 bytes) as a Starlette application
(``make_app``) served by uvicorn on a loopback address (``LogServer``), reading the store
read-only. The resources themselves come from ``ledger.store`` and ``ledger.tlog``.
"""

from ._app import (
    CHECKPOINT_CACHE,
    IMMUTABLE_CACHE,
    PARTIAL_CACHE,
    accepts_gzip,
    make_app,
)
from ._server import LogServer

__all__ = [
    "CHECKPOINT_CACHE",
    "IMMUTABLE_CACHE",
    "PARTIAL_CACHE",
    "LogServer",
    "accepts_gzip",
    "make_app",
]
