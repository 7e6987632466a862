"""The audit's file edge: replay a ledger file (SQLite) or an export (JSON lines)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from keys import b64std_decode, json_loads_strict
from keys.errors import LedgerIntegrityError, MalformedError

from ..entries import MAX_RECORD_SIZE
from ..store import EXPORT_FORMAT, Ledger, discard_ledger
from ._core import AuditResult, Observer, audit
from ._stored import compare_stored_state

__all__ = ["audit_db", "audit_jsonl", "import_verified"]

_MAX_LINE = 2 * MAX_RECORD_SIZE


def _read_note(path: Path | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        data = f.read(64 * 1024 + 1)
    if len(data) > 64 * 1024:
        raise MalformedError(f"{path}: larger than a checkpoint note can be")
    return data


def audit_db(
    path: Path | str,
    *,
    since: Path | None = None,
    progress: Callable[[int], None] | None = None,
    make_observer: Callable[[], Observer] | None = None,
    workers: int | None = None,
    pinned_log_key: str | None = None,
) -> AuditResult:
    """Replay the ledger file at ``path`` from its first record (``pinned_log_key``: see
    ``audit``), then compare the derived state the file stores with the replay's (a stored
    table that differs is a finding naming its first differing row; see
    ``AuditResult.stored_state``)."""
    with Ledger.open(path) as led:
        led.stream_reads()  # memory flat in the file's size
        notes = list(led.checkpoint_notes())
        result = audit(
            led.origin,
            led.log_vkey,
            led.iter_raw,
            notes,
            since=_read_note(since),
            progress=progress,
            make_observer=make_observer,
            workers=workers,
            pinned_log_key=pinned_log_key,
        )
    result.stored_state, found = compare_stored_state(result.state, path)
    if found:
        result.findings = sorted([*result.findings, *found], key=lambda f: f.index)
    return result


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as f:
        lineno = 0
        while True:
            line = f.readline(_MAX_LINE + 1)
            if not line:
                return
            lineno += 1
            if len(line) > _MAX_LINE:
                raise MalformedError(f"{path}:{lineno}: line longer than {_MAX_LINE} bytes")
            yield lineno, line


def audit_jsonl(
    path: Path,
    *,
    since: Path | None = None,
    progress: Callable[[int], None] | None = None,
    make_observer: Callable[[], Observer] | None = None,
    workers: int | None = None,
    pinned_log_key: str | None = None,
) -> AuditResult:
    """Replay an export written by ``lic ledger export``: a header line, one line per record
    (index, leaf hash, base64 record), then the checkpoint notes. Two streaming passes: the
    first collects the notes, the second replays the records. The export names its own log
    key: ``pinned_log_key`` (see ``audit``) is how an auditor refuses a re-signed export."""
    header: dict[str, str] | None = None
    notes: list[bytes] = []
    for lineno, line in _lines(path):
        doc = json_loads_strict(line, max_size=_MAX_LINE, what=f"{path}:{lineno}")
        if not isinstance(doc, dict):
            raise MalformedError(f"{path}:{lineno}: each line must be a JSON object")
        if lineno == 1:
            if set(doc) != {"format", "origin", "log_vkey"} or doc["format"] != EXPORT_FORMAT:
                raise MalformedError(f"{path}: first line must be the {EXPORT_FORMAT} header")
            if not isinstance(doc["origin"], str) or not isinstance(doc["log_vkey"], str):
                raise MalformedError(f"{path}: header origin and log_vkey must be strings")
            header = doc
        elif set(doc) == {"checkpoint"} and isinstance(doc["checkpoint"], str):
            notes.append(doc["checkpoint"].encode("utf-8"))
        elif set(doc) != {"index", "leaf_hash", "record"}:
            raise MalformedError(f"{path}:{lineno}: neither a record nor a checkpoint line")
    if header is None:
        raise MalformedError(f"{path}: empty export")

    def rows() -> Iterator[tuple[int, bytes]]:
        for lineno, line in _lines(path):
            if lineno == 1:
                continue
            doc = json_loads_strict(line, max_size=_MAX_LINE, what=f"{path}:{lineno}")
            if "checkpoint" in doc:
                continue
            index = doc["index"]
            if type(index) is not int or not isinstance(doc["record"], str):
                raise MalformedError(f"{path}:{lineno}: index must be an integer")
            yield index, b64std_decode(doc["record"], f"{path}:{lineno} record")

    return audit(
        header["origin"],
        header["log_vkey"],
        rows,
        notes,
        since=_read_note(since),
        progress=progress,
        make_observer=make_observer,
        workers=workers,
        pinned_log_key=pinned_log_key,
    )


def import_verified(
    path: Path | str,
    lines: Iterable[str | bytes] | IO[bytes] | IO[str],
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> tuple[Ledger, AuditResult]:
    """Create the ledger ``path`` from an export and re-verify everything: the store checks
    encoding, indexes, the prev chain, leaf hashes and every checkpoint as it writes; then the
    full replay checks every entry's signature, its author's role at that time, schemas and
    cross-references. If anything fails, no file is left behind and the error names the
    first findings. An open file is read with bounded line reads (see ``Ledger.import_jsonl``)."""
    led = Ledger.import_jsonl(path, lines)
    try:
        led.close()
        result = audit_db(path, progress=progress, workers=workers)
        if not result.clean:
            shown = "; ".join(f"record {f.index}: {f.message}" for f in result.findings[:5])
            more = len(result.findings) - 5
            raise LedgerIntegrityError(
                f"import: the export does not verify: {shown}"
                + (f"; and {more} more finding(s)" if more > 0 else "")
            )
        return Ledger.open(path), result
    except BaseException:
        discard_ledger(path)
        raise
