"""Typed entries on top of the record layer: ``make_entry`` checks a payload's schema and signs
it (COSE_Sign1, typ = entry type); ``open_entry`` parses a record's entry without checking its
signature. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys import SigningKey
from keys.errors import MalformedError
from lic import cbor, cose

from ._entry_types import validate_entry
from ._record import MAX_ENTRY_SIZE, Record, check_entry, sign_entry

__all__ = [
    "OpenedEntry",
    "make_entry",
    "open_entry",
]


def make_entry(entry_type: str, payload: dict[str, Any], author: SigningKey) -> bytes:
    """Schema-check ``payload`` and sign it as a ``entry_type`` entry by ``author``."""
    validate_entry(entry_type, payload)
    return sign_entry(entry_type, cbor.encode(payload), author)


@dataclass(frozen=True, slots=True)
class OpenedEntry:
    """A record's entry, structurally parsed; the signature is NOT yet verified."""

    record: Record
    kid: str
    payload: Any
    signature: bytes
    to_be_signed: bytes


def open_entry(record: Record) -> OpenedEntry:
    """Parse the record's COSE_Sign1 and its CBOR payload strictly (no signature check)."""
    msg: cose.Sign1 = check_entry(record.entry_type, record.entry)
    kid = msg.protected[cose.HDR_KID]
    try:
        kid_text = kid.decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("entry: kid is not an ASCII key id") from e
    payload = cbor.decode(msg.payload, max_size=MAX_ENTRY_SIZE)
    return OpenedEntry(record, kid_text, payload, msg.signature, msg.to_be_signed())
