"""Export and import of a ledger as JSON lines (SPEC 6.4): a header, one line per record,
then every checkpoint note with its stored cosignatures. An import re-verifies everything."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from io import IOBase
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from keys import PublicKey, b64std_decode, b64std_encode, json_loads_strict
from keys.errors import LedgerIntegrityError, MalformedError

from ..state import STATE_TABLES
from ..tlog import Ed25519NoteVerifier, SignedCheckpoint, leaf_hash, open_checkpoint, parse_note
from . import _conn  # BUSY_TIMEOUT_MS read at each call
from ._conn import Conn, begin_write
from ._pg import connect_pg, is_url

__all__ = ["EXPORT_FORMAT", "MAX_EXPORT_LINE", "discard_ledger", "export_jsonl", "import_jsonl"]

EXPORT_FORMAT = "lic-ledger-export/v1"
MAX_EXPORT_LINE = 2 * 1024 * 1024


class Exportable(Protocol):
    """What export and import need of a ledger (``Ledger`` has it)."""

    origin: str
    log_vkey: str

    @property
    def size(self) -> int: ...

    @property
    def connection(self) -> Conn: ...

    def iter_records(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, bytes]]: ...

    def checkpoints(self) -> Iterator[SignedCheckpoint]: ...

    def cosignatures(self, size: int) -> list[str]: ...

    def add_cosignatures(self, size: int, lines: Sequence[str]) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def append_encoded(self, records: Sequence[bytes]) -> Any: ...

    def close(self) -> None: ...


L = TypeVar("L", bound=Exportable)


def export_jsonl(ledger: Exportable, out: IO[str]) -> int:
    """Write the ledger as JSON lines: a header, one line per record (index, leaf hash,
    base64 bytes), then every checkpoint note with the cosignature lines stored with it
    (SPEC 6.4), so that a replay of the export names the same witnesses. Returns the
    number of records."""
    size = ledger.size
    header = {"format": EXPORT_FORMAT, "origin": ledger.origin, "log_vkey": ledger.log_vkey}
    out.write(json.dumps(header, sort_keys=True) + "\n")
    n = 0
    for index, raw in ledger.iter_records(0, size):
        line = {"index": index, "leaf_hash": leaf_hash(raw).hex()}
        line["record"] = b64std_encode(raw)
        out.write(json.dumps(line, sort_keys=True) + "\n")
        n += 1
    for cp in ledger.checkpoints():
        if cp.checkpoint.size <= size:
            note = cp.note.decode("utf-8") + "".join(ledger.cosignatures(cp.checkpoint.size))
            out.write(json.dumps({"checkpoint": note}) + "\n")
    return n


def _import_body(
    ledger: Exportable, it: Iterator[str | bytes], verifier: Ed25519NoteVerifier
) -> None:
    """Append the records and checkpoints of an export after its header, re-verifying each."""
    conn = ledger.connection
    batch: list[bytes] = []
    notes: list[bytes] = []
    expect = 0
    lineno = 1
    for line in it:
        lineno += 1
        obj = _json_line(line, lineno)
        if "checkpoint" in obj:
            if set(obj) != {"checkpoint"} or not isinstance(obj["checkpoint"], str):
                raise MalformedError(f"import: line {lineno}: bad checkpoint line")
            notes.append(obj["checkpoint"].encode("utf-8"))
            continue
        if notes:
            raise MalformedError(f"import: line {lineno}: record after the checkpoints")
        if (
            set(obj) != {"index", "leaf_hash", "record"}
            or obj["index"] != expect
            or isinstance(obj["index"], bool)
            or not isinstance(obj["leaf_hash"], str)
        ):
            raise MalformedError(f"import: line {lineno}: expected record {expect}")
        raw = b64std_decode(obj["record"], f"import line {lineno}")
        if leaf_hash(raw).hex() != obj["leaf_hash"]:
            raise LedgerIntegrityError(f"import: record {expect}: leaf hash mismatch")
        batch.append(raw)
        expect += 1
        if len(batch) >= 10_000:
            ledger.append_encoded(batch)
            batch = []
    if batch:
        ledger.append_encoded(batch)
    size = ledger.size
    cosigned: list[tuple[int, list[str]]] = []
    begin_write(conn)
    try:
        last = -1
        for exported in notes:
            note, extra = _split_cosignatures(exported, verifier)
            signed, _ = open_checkpoint(note, verifier)
            cp = signed.checkpoint
            if cp.size <= last:
                raise MalformedError("import: checkpoints must grow in size")
            if cp.size > size or ledger.root(cp.size) != cp.root:
                raise LedgerIntegrityError(
                    f"import: checkpoint at {cp.size} does not match the records"
                )
            conn.execute(
                "INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)",
                (cp.size, cp.root, note),
            )
            conn.execute(
                "UPDATE head SET size = ?, root = ?, note = ? WHERE id = 0",
                (cp.size, cp.root, note),
            )
            last = cp.size
            if extra:
                cosigned.append((cp.size, extra))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    for cp_size, lines in cosigned:  # (a failure here removes the whole import, too)
        ledger.add_cosignatures(cp_size, lines)


def _split_cosignatures(note: bytes, log: Ed25519NoteVerifier) -> tuple[bytes, list[str]]:
    """An exported checkpoint note -> (the note as the log signed it, the cosignature lines
    after it). The log's signature must come first and the other lines after it, as export
    writes them; the cosignatures are kept as the operator stored them (their witnesses'
    keys are not known here: a verifier checks them against its own policy)."""
    sigs = parse_note(note).signatures
    by_log = [(s.name, s.key_hash) == (log.name, log.key_hash) for s in sigs]
    if not by_log[0] or any(by_log[1:]):
        raise MalformedError("import: a checkpoint note holds the log's signature first, once")
    extra = [s.line() for s in sigs[1:]]
    tail = "".join(extra).encode("utf-8")
    if not note.endswith(tail):  # (a line not in canonical form)
        raise MalformedError("import: a cosignature line is not in canonical form")
    return note[: len(note) - len(tail)], extra


def _json_line(line: str | bytes, lineno: int) -> dict[str, Any]:
    if len(line) > MAX_EXPORT_LINE:
        raise MalformedError(f"import: line {lineno} longer than {MAX_EXPORT_LINE} bytes")
    obj = json_loads_strict(line, max_size=MAX_EXPORT_LINE, what=f"import: line {lineno}")
    if not isinstance(obj, dict):
        raise MalformedError(f"import: line {lineno} is not a JSON object")
    return obj


def _bounded_lines(f: IOBase) -> Iterator[str | bytes]:
    """A file's lines, each read with a bounded ``readline``: iterating a file reads a whole
    line first, so an export of one endless line (``/dev/zero``) would never end."""
    lineno = 0
    while True:
        line = f.readline(MAX_EXPORT_LINE + 1)
        if not line:
            return
        lineno += 1
        if len(line) > MAX_EXPORT_LINE:
            raise MalformedError(f"import: line {lineno} longer than {MAX_EXPORT_LINE} bytes")
        yield line


def import_jsonl(
    create: Callable[[Path | str, str, PublicKey], L],
    path: Path | str,
    lines: Iterable[str | bytes] | IO[bytes] | IO[str],
) -> L:
    """``Ledger.import_jsonl``, given its ``create``: a ledger at ``path`` from an export,
    re-verifying every record (strict encoding, index, prev chain, leaf hash) and every
    checkpoint (log signature, origin, root at its size). Nothing is left behind if any
    check fails. A file object is read line by line with bounded reads (MAX_EXPORT_LINE)."""
    it: Iterator[str | bytes] = _bounded_lines(lines) if isinstance(lines, IOBase) else iter(lines)
    header = _json_line(next(it, b""), 1)
    if (
        set(header) != {"format", "origin", "log_vkey"}
        or header["format"] != EXPORT_FORMAT
        or not isinstance(header["origin"], str)
        or not isinstance(header["log_vkey"], str)
    ):
        raise MalformedError("import: first line must be the lic-ledger-export/v1 header")
    verifier = Ed25519NoteVerifier.from_vkey(header["log_vkey"])
    if verifier.name != header["origin"]:
        raise MalformedError("import: log key name differs from the origin")
    p = path
    ledger = create(p, header["origin"], verifier.public_key)
    try:
        _import_body(ledger, it, verifier)
    except BaseException:
        ledger.close()
        discard_ledger(p)
        raise
    return ledger


def discard_ledger(location: Path | str) -> None:
    """Remove a ledger this process just created and could not finish: its files, or on
    PostgreSQL its tables in the URL's schema."""
    if is_url(location):
        conn = connect_pg(str(location), _conn.BUSY_TIMEOUT_MS)
        try:
            conn.drop_ledger([name for name, _ in STATE_TABLES])
        finally:
            conn.close()
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(location) + suffix).unlink(missing_ok=True)
