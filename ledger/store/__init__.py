"""ledger.store: the storage edge of the log, a SQLite file or a PostgreSQL schema (a
``postgresql://`` URL; the same bytes on both, ADR 0010).

Connection helpers shared with the witness state, ``Ledger`` (records, stored Merkle hashes,
checkpoints and cosignatures in one file, export and import), typed appends that check an
entry against the derived state inside the write transaction (one by one, or a batch of
author-signed entries in one transaction for group commit), and ``synthesize`` (synthetic
ledgers for the scale demo, tests and benches, appended through ``Ledger.append_encoded``), and
the log's C2SP tlog-tiles read resources (tiles, entry bundles, large-record blobs) read from
the store or written out as static files (SPEC 16).
"""

from ._appends import (
    append_entry,
    append_signed_entry,
    token_status,
)
from ._batch import (
    Refused,
    SignedEntry,
    append_signed_batch,
    parse_signed_entry,
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
from ._pg import (
    shown as shown_location,
)
from ._schema import (
    STORE_FORMAT,
)
from ._synth import (
    synthesize,
)
from ._tiles import (
    BlobIndex,
    TilesWritten,
    checkpoint_size,
    open_read_only,
    read_blob,
    read_entry_bundle,
    read_tile,
    write_tiles,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "EXPORT_FORMAT",
    "MAX_EXPORT_LINE",
    "MMAP_BYTES",
    "PAGE_CACHE_KIB",
    "STORE_FORMAT",
    "Appended",
    "BlobIndex",
    "Ledger",
    "Refused",
    "SignedEntry",
    "TilesWritten",
    "append_entry",
    "append_signed_batch",
    "append_signed_entry",
    "begin_write",
    "checkpoint_size",
    "connect",
    "discard_ledger",
    "durable",
    "is_ledger_url",
    "open_read_only",
    "parse_signed_entry",
    "read_blob",
    "read_entry_bundle",
    "read_tile",
    "shown_location",
    "synthesize",
    "token_status",
    "write_tiles",
]
