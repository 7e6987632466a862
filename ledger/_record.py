"""Ledger records: deterministic CBOR maps that are the leaves of the Merkle tree. Pure.

A record is the deterministic CBOR encoding of the map::

    {"v": 1, "idx": index, "prev": 32 bytes, "time": integration time,
     "type": entry type, "entry": COSE_Sign1 bytes}

``prev`` is the leaf hash of the previous record (32 zero bytes for index 0). ``entry`` is a byte
string holding a tagged COSE_Sign1 signed by the entry's author; its protected header carries the
entry type as ``typ`` (label 16), so the author signs the type and the log cannot relabel an
entry. The leaf hash is SHA-256(0x00 || record bytes) over the bytes exactly as stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keys import PublicKey, SigningKey
from keys.errors import MalformedError
from lic import cbor, cose

from ._merkle import HASH_SIZE, leaf_hash

__all__ = [
    "MAX_ENTRY_SIZE",
    "MAX_RECORD_SIZE",
    "RECORD_VERSION",
    "ZERO_HASH",
    "Record",
    "check_entry",
    "check_entry_type",
    "decode_record",
    "encode_record",
    "sign_entry",
    "verify_entry",
]

RECORD_VERSION = 1
MAX_ENTRY_SIZE = 1024 * 1024
MAX_RECORD_SIZE = MAX_ENTRY_SIZE + 1024
ZERO_HASH = bytes(HASH_SIZE)
_KEYS = frozenset({"v", "idx", "prev", "time", "type", "entry"})
_TYPE_RE = re.compile(r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*")
_MAX_TYPE_LEN = 64
_MAX_INT = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded record; ``raw`` is the exact stored bytes (the Merkle leaf)."""

    version: int
    index: int
    prev: bytes
    time: int
    entry_type: str
    entry: bytes
    raw: bytes

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.raw)

    def sign1(self) -> cose.Sign1:
        return cose.parse_sign1(self.entry, max_size=MAX_ENTRY_SIZE)


def check_entry_type(entry_type: object) -> str:
    if (
        not isinstance(entry_type, str)
        or len(entry_type) > _MAX_TYPE_LEN
        or not _TYPE_RE.fullmatch(entry_type)
    ):
        raise MalformedError(
            "entry type: 1-64 characters, lowercase letters and digits separated by . _ -"
        )
    return entry_type


def check_entry(entry_type: str, entry: bytes) -> cose.Sign1:
    """Structure check of an entry: a strict tagged COSE_Sign1 whose ``typ`` is the type."""
    check_entry_type(entry_type)
    if not isinstance(entry, bytes) or len(entry) > MAX_ENTRY_SIZE:
        raise MalformedError(f"entry: must be bytes of at most {MAX_ENTRY_SIZE}")
    msg = cose.parse_sign1(entry, max_size=MAX_ENTRY_SIZE)
    if msg.protected.get(cose.HDR_ALG) != cose.ALG_EDDSA:
        raise MalformedError("entry: protected header must carry alg EdDSA")
    if msg.protected.get(cose.HDR_TYP) != entry_type:
        raise MalformedError("entry: protected typ must equal the record's entry type")
    kid = msg.protected.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or not kid:
        raise MalformedError("entry: protected header must carry the author's kid")
    return msg


def sign_entry(entry_type: str, payload: bytes, author: SigningKey) -> bytes:
    """Make an entry: COSE_Sign1 over ``payload`` with alg EdDSA, kid = the author's RFC 7638
    thumbprint (UTF-8 bytes) and typ = the entry type, all protected."""
    check_entry_type(entry_type)
    kid = author.public_key.thumbprint.encode("ascii")
    protected = {cose.HDR_ALG: cose.ALG_EDDSA, cose.HDR_KID: kid, cose.HDR_TYP: entry_type}
    out = cose.sign1(protected, payload, author)
    if len(out) > MAX_ENTRY_SIZE:
        raise MalformedError(f"entry: larger than {MAX_ENTRY_SIZE} bytes")
    return out


def verify_entry(record: Record, author: PublicKey) -> bytes:
    """Raise unless the record's entry is signed by ``author`` (kid and signature); returns the
    payload."""
    msg = check_entry(record.entry_type, record.entry)
    if msg.protected.get(cose.HDR_KID) != author.thumbprint.encode("ascii"):
        raise MalformedError("entry: kid does not name this author key")
    cose.verify_sign1(msg, author)
    return msg.payload


def encode_record(index: int, prev: bytes, time: int, entry_type: str, entry: bytes) -> bytes:
    """Deterministic CBOR bytes of a record. The entry must already have passed check_entry."""
    return cbor.encode(
        {
            "v": RECORD_VERSION,
            "idx": index,
            "prev": prev,
            "time": time,
            "type": entry_type,
            "entry": entry,
        }
    )


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT:
        raise MalformedError(f"record: {what} must be an integer in [0, 2**63)")
    return value


def decode_record(data: bytes) -> Record:
    """Strictly decode a record: deterministic CBOR, exactly the six keys, typed values, and a
    well-formed entry. Signatures are not checked here (see verify_entry)."""
    if not isinstance(data, bytes) or len(data) > MAX_RECORD_SIZE:
        raise MalformedError("record: too large")
    m = cbor.decode(data, max_size=MAX_RECORD_SIZE)
    if not isinstance(m, dict) or set(m) != _KEYS:
        raise MalformedError("record: must be a map with keys v, idx, prev, time, type, entry")
    if m["v"] != RECORD_VERSION or isinstance(m["v"], bool):
        raise MalformedError("record: unsupported version")
    prev = m["prev"]
    if not isinstance(prev, bytes) or len(prev) != HASH_SIZE:
        raise MalformedError("record: prev must be 32 bytes")
    entry = m["entry"]
    if not isinstance(entry, bytes):
        raise MalformedError("record: entry must be a byte string")
    etype = check_entry_type(m["type"])
    check_entry(etype, entry)
    return Record(
        RECORD_VERSION,
        _int(m["idx"], "idx"),
        prev,
        _int(m["time"], "time"),
        etype,
        entry,
        data,
    )
