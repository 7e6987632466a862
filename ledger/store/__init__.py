"""ledger.store: the storage edge of the log, a SQLite file or a PostgreSQL schema (a
``postgresql://`` URL; the same bytes on both, ADR 0009).

Connection helpers shared with the witness state, ``Ledger`` (records, stored Merkle hashes,
checkpoints and cosignatures in one file, export and import), typed appends that check an
entry against the derived state inside the write transaction, and ``synthesize`` (synthetic
ledgers for the scale demo, tests and benches, appended through ``Ledger.append_encoded``).
"""

from ._appends import (
    append_entry,
    append_signed_entry,
    token_status,
)
from ._conn import (
    BUSY_TIMEOUT_MS,
    MMAP_BYTES,
    PAGE_CACHE_KIB,
    begin_write,
    connect,
    durable,
)
from ._export import (
    EXPORT_FORMAT,
    MAX_EXPORT_LINE,
    discard_ledger,
)
from ._ledger import (
    Appended,
    Ledger,
)
from ._pg import (
    is_url as is_ledger_url,
)
from ._schema import (
    STORE_FORMAT,
)
from ._synth import (
    synthesize,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "EXPORT_FORMAT",
    "MAX_EXPORT_LINE",
    "MMAP_BYTES",
    "PAGE_CACHE_KIB",
    "STORE_FORMAT",
    "Appended",
    "Ledger",
    "append_entry",
    "append_signed_entry",
    "begin_write",
    "connect",
    "discard_ledger",
    "durable",
    "is_ledger_url",
    "synthesize",
    "token_status",
]
