"""Receipts of our records: the record-aware step above tlog's generic tlog-proof@v1.

Our receipts carry the record's bytes as their ``extra``; ``receipt_record`` is the one place
that decodes that record and ties it to the proof's index. ``verify_receipt`` (a receipt on its
own) and the bundle verifier (receipts against the bundle's checkpoint) both call it. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from keys.errors import MalformedError, ProofMismatchError

from ..tlog import (
    Checkpoint,
    NoteVerifier,
    Receipt,
    open_checkpoint,
    parse_receipt,
    verify_receipt_inclusion,
)
from ._record import Record, decode_record

__all__ = [
    "receipt_record",
    "verify_receipt",
]


def receipt_record(receipt: Receipt) -> Record:
    """The record a receipt carries as its ``extra``, checked to sit at the proof's index
    (the inclusion itself is checked by ``verify_receipt_inclusion``)."""
    if receipt.extra is None:
        raise MalformedError("receipt: it carries no record (extra)")
    record = decode_record(receipt.extra)
    if record.index != receipt.index:
        raise ProofMismatchError("receipt: the record's index differs from the proof's")
    return record


def verify_receipt(
    data: bytes,
    log: NoteVerifier,
    leaf: bytes | None = None,
    others: Iterable[NoteVerifier] = (),
) -> tuple[Receipt, Checkpoint]:
    """Verify a receipt offline: the checkpoint is signed by the log key, and the leaf is at
    the receipt's index of the checkpointed tree.

    The leaf is the receipt's ``extra`` (our receipts carry the record bytes there; its index
    must be the proof's). ``leaf``, when given, must be those record bytes or the entry
    (COSE_Sign1) inside them; for a receipt without ``extra`` it must be the leaf's bytes."""
    receipt = parse_receipt(data)
    signed, _ = open_checkpoint(receipt.checkpoint_note, log, others)
    cp = signed.checkpoint
    if receipt.extra is not None:
        record_bytes = receipt.extra
        record = receipt_record(receipt)
        if leaf is not None and leaf not in (record_bytes, record.entry):
            raise ProofMismatchError("receipt: the given entry is not the proved record")
    elif leaf is None:
        raise MalformedError("receipt: no extra data; give the leaf's bytes to check")
    else:
        record_bytes = leaf
    verify_receipt_inclusion(receipt, cp.size, cp.root, record_bytes)
    return receipt, cp
