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
from typing import Any

from keys import PublicKey, SigningKey
from keys.errors import MalformedError
from lic import cbor, cose

from ..tlog import HASH_SIZE, leaf_hash

__all__ = [
    "MAX_ENTRY_SIZE",
    "MAX_RECORD_SIZE",
    "RECORD_VERSION",
    "ZERO_HASH",
    "Record",
    "RecordEncoder",
    "check_entry",
    "check_entry_type",
    "check_entry_unparsed",
    "decode_record",
    "encode_record",
    "fast_open_record",
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
        """The RFC 9162 leaf hash of the record's bytes as stored."""
        return leaf_hash(self.raw)

    def sign1(self) -> cose.Sign1:
        """The entry parsed as a COSE_Sign1 (not verified)."""
        return cose.parse_sign1(self.entry, max_size=MAX_ENTRY_SIZE)


_VALID_TYPES: set[str] = set()


def check_entry_type(entry_type: object) -> str:
    """``entry_type`` if it is a well-formed entry type name; MalformedError otherwise."""
    if entry_type in _VALID_TYPES:
        return entry_type
    if (
        not isinstance(entry_type, str)
        or len(entry_type) > _MAX_TYPE_LEN
        or not _TYPE_RE.fullmatch(entry_type)
    ):
        raise MalformedError(
            "entry type: 1-64 characters, lowercase letters and digits separated by . _ -"
        )
    if len(_VALID_TYPES) < 1024:
        _VALID_TYPES.add(entry_type)
    return entry_type


def _bstr(data: bytes, pos: int) -> tuple[int, int] | None:
    """(start, end) of the byte string whose shortest-form head is at ``pos``, else None."""
    if pos >= len(data):
        return None
    b = data[pos]
    if b >> 5 != 2:
        return None
    ai = b & 0x1F
    if ai < 24:
        n, pos = ai, pos + 1
    elif ai == 24 and pos + 2 <= len(data) and data[pos + 1] >= 24:
        n, pos = data[pos + 1], pos + 2
    elif ai == 25 and pos + 3 <= len(data):
        n, pos = int.from_bytes(data[pos + 1 : pos + 3], "big"), pos + 3
        if n < 0x100:
            return None
    elif ai == 26 and pos + 5 <= len(data):
        n, pos = int.from_bytes(data[pos + 1 : pos + 5], "big"), pos + 5
        if n < 0x10000:
            return None
    else:
        return None
    if pos + n > len(data):
        return None
    return pos, pos + n


def _envelope(data: bytes, e: int) -> tuple[int, int, int, int] | None:
    """The common entry shape, from offset ``e`` to the end of ``data``: tag 18, array of 4,
    a non-empty protected bstr, an empty unprotected map, a payload bstr, a 64-byte signature,
    every head in shortest form. Returns (protected start, end, payload start, end), or None.
    """
    n = len(data)
    if data[e : e + 2] != b"\xd2\x84" or e + 4 > n:
        return None
    b = data[e + 2]
    if 0x41 <= b <= 0x57:
        ps = e + 3
        pe = ps + b - 0x40
    elif b == 0x58 and data[e + 3] >= 24:
        ps = e + 4
        pe = ps + data[e + 3]
    else:
        p = _bstr(data, e + 2)  # long protected headers
        if p is None or p[0] == p[1]:
            return None
        ps, pe = p
    if pe + 3 >= n or data[pe] != 0xA0:
        return None
    b = data[pe + 1]  # the payload's head: usually one or two length bytes
    if b == 0x58 and data[pe + 2] >= 24:
        qs, qe = pe + 3, pe + 3 + data[pe + 2]
    elif b == 0x59 and data[pe + 2]:
        qs = pe + 4
        qe = qs + (data[pe + 2] << 8 | data[pe + 3])
    else:
        q = _bstr(data, pe + 1)
        if q is None:
            return None
        qs, qe = q
    if qe + 66 != n or data[qe : qe + 2] != b"\x58\x40":
        return None
    return ps, pe, qs, qe


_PROTECTED_CACHE: dict[bytes, dict[Any, Any]] = {}


def _fast_envelope(entry: bytes) -> tuple[dict[Any, Any], bytes, bytes, bytes] | None:
    """The common shape of an entry (see _envelope), checked without the generic decoder.
    Returns (protected, protected bytes, payload, signature), or None to take the slow path.
    The protected header is still decoded by the strict decoder (memoized: authors repeat it).
    """
    parts = _envelope(entry, 0)
    if parts is None:
        return None
    ps, pe, qs, qe = parts
    pbytes = entry[ps:pe]
    protected = _PROTECTED_CACHE.get(pbytes)
    if protected is None:
        decoded = cbor.decode(pbytes, max_size=MAX_ENTRY_SIZE)
        if not isinstance(decoded, dict) or not decoded:
            return None
        if len(_PROTECTED_CACHE) > 4096:
            _PROTECTED_CACHE.clear()
        _PROTECTED_CACHE[pbytes] = protected = decoded
    return protected, pbytes, entry[qs:qe], entry[qe + 2 :]


def _check_protected(protected: dict[Any, Any], entry_type: str) -> None:
    if protected.get(cose.HDR_ALG) != cose.ALG_EDDSA:
        raise MalformedError("entry: protected header must carry alg EdDSA")
    if protected.get(cose.HDR_TYP) != entry_type:
        raise MalformedError("entry: protected typ must equal the record's entry type")
    kid = protected.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or not kid:
        raise MalformedError("entry: protected header must carry the author's kid")


def check_entry_unparsed(entry_type: str, entry: bytes) -> None:
    """check_entry without building the parsed message (the append hot path)."""
    if entry_type in _VALID_TYPES and type(entry) is bytes and len(entry) <= MAX_ENTRY_SIZE:
        parts = _envelope(entry, 0)  # the common shape with a known good header: done
        if parts is not None:
            header = _HEADERS.get(entry[parts[0] : parts[1]])
            if header is None:
                header = _header_of(entry[parts[0] : parts[1]])
            if header is not None and header[0] == entry_type:
                return
    check_entry_type(entry_type)
    if not isinstance(entry, bytes) or len(entry) > MAX_ENTRY_SIZE:
        raise MalformedError(f"entry: must be bytes of at most {MAX_ENTRY_SIZE}")
    fast = _fast_envelope(entry)
    protected = fast[0] if fast is not None else check_entry(entry_type, entry).protected
    _check_protected(protected, entry_type)


def check_entry(entry_type: str, entry: bytes) -> cose.Sign1:
    """Structure check of an entry: a strict tagged COSE_Sign1 whose ``typ`` is the type."""
    check_entry_type(entry_type)
    if not isinstance(entry, bytes) or len(entry) > MAX_ENTRY_SIZE:
        raise MalformedError(f"entry: must be bytes of at most {MAX_ENTRY_SIZE}")
    fast = _fast_envelope(entry)
    if fast is not None:
        protected, pbytes, payload, sig = fast
        msg = cose.Sign1(pbytes, dict(protected), {}, payload, sig)
    else:
        msg = cose.parse_sign1(entry, max_size=MAX_ENTRY_SIZE)
    _check_protected(msg.protected, entry_type)
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


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


# Map of 6 pairs; keys in deterministic order (by their encodings): v, idx, prev, time, type,
# entry. Equal to lic.cbor.encode of the same map (a test checks it on random records).
_HDR = b"\xa6\x61v" + _head(0, RECORD_VERSION) + b"\x63idx"


def encode_record(index: int, prev: bytes, time: int, entry_type: str, entry: bytes) -> bytes:
    """Deterministic CBOR bytes of a record. The entry must already have passed check_entry."""
    return RecordEncoder(time).encode(index, prev, entry_type, entry)


class RecordEncoder:
    """encode_record for many records of one integration time (the batch hot path). The bytes
    after ``prev`` depend only on the entry type and the entry's length: they are cached."""

    __slots__ = ("_time_part", "_types", "time")

    def __init__(self, time: int) -> None:
        if isinstance(time, bool) or not 0 <= time <= _MAX_INT:
            raise MalformedError("record: time out of range")
        self.time = time
        self._time_part = b"\x64time" + _head(0, time) + b"\x64type"
        self._types: dict[tuple[str, int], bytes] = {}

    def encode(self, index: int, prev: bytes, entry_type: str, entry: bytes) -> bytes:
        """The bytes of ``encode_record(index, prev, self.time, entry_type, entry)``."""
        if not 0 <= index <= _MAX_INT or len(prev) != HASH_SIZE:
            raise MalformedError("record: index or prev out of range")
        n = len(entry)
        key = (entry_type, n)
        tail = self._types.get(key)
        if tail is None:
            t = entry_type.encode("utf-8")
            tail = self._time_part + _head(3, len(t)) + t + b"\x65entry" + _head(2, n)
            if len(self._types) < 4096:
                self._types[key] = tail
        if index < 24:
            ih = _SMALL_INDEX[index]
        elif 0x10000 <= index < 0x100000000:
            ih = b"\x1a" + index.to_bytes(4, "big")
        else:
            ih = _head(0, index)
        return b"".join((_HDR, ih, _PREV_KEY, prev, tail, entry))


_PREV_KEY = b"\x64prev\x58\x20"
_SMALL_INDEX = tuple(bytes((i,)) for i in range(24))


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT:
        raise MalformedError(f"record: {what} must be an integer in [0, 2**63)")
    return value


# A shortest-form unsigned integer below 2**63, as a CBOR head.
_UINT = (
    rb"[\x00-\x17]|\x18[\x18-\xff]|\x19[\x01-\xff].|\x1a(?:[\x01-\xff]...|\x00[\x01-\xff]..)"
    rb"|\x1b(?:[\x01-\x7f].{7}|\x00(?:[\x01-\xff].{6}|\x00(?:[\x01-\xff].{5}|\x00[\x01-\xff].{4})))"
)
# Everything of a record up to its entry: the one layout deterministic CBOR allows for the map
# of encode_record. The type's length is checked against its head after the match.
_RECORD_HEAD = re.compile(
    rb"\xa6\x61v\x01\x63idx(" + _UINT + rb")\x64prev\x58\x20(.{32})\x64time(" + _UINT + rb")"
    rb"\x64type([\x61-\x77]|\x78[\x18-\x40])([a-z0-9._-]+?)\x65entry",
    re.DOTALL,
)


def _head_uint(head: bytes) -> int:
    return head[0] if len(head) == 1 else int.from_bytes(head[1:], "big")


def fast_open_record(
    data: bytes,
) -> tuple[int, bytes, int, str, str, bytes, bytes, bytes] | None:
    """The audit's hot path: (index, prev, time, type, kid, payload bytes, signature, bytes to be
    signed) of a record in the one layout deterministic CBOR allows for it (see encode_record)
    whose entry has the common shape (see _envelope), checked byte by byte without the
    generic decoder. Anything else gives None: the caller then takes the strict path
    (decode_record, open_entry), which accepts a superset and explains every refusal. The
    payload is NOT decoded here."""
    n = len(data)
    m = _RECORD_HEAD.match(data)
    if m is None or n > MAX_RECORD_SIZE:
        return None
    (
        idx_head,
        prev,
        time_head,
        type_head,
        tb,
    ) = m.groups()
    if len(tb) != (type_head[0] - 0x60 if len(type_head) == 1 else type_head[1]):
        return None
    etype = _TYPE_BYTES.get(tb)
    if etype is None:
        try:
            etype = check_entry_type(tb.decode("ascii"))
        except (UnicodeDecodeError, MalformedError):
            return None
        if len(_TYPE_BYTES) < 1024:
            _TYPE_BYTES[tb] = etype
    span = _bstr(data, m.end())
    if span is None or span[1] != n:
        return None
    e = span[0]  # the entry: d2 84 <protected bstr> a0 <payload bstr> 58 40 <signature>
    parts = _envelope(data, e)
    if parts is None:
        return None
    ps, pe, qs, qe = parts
    header = _HEADERS.get(data[ps:pe])
    if header is None:
        header = _header_of(data[ps:pe])
        if header is None:
            return None
    if header[0] != etype:
        return None
    tbs = b"".join((b"\x84\x6aSignature1", data[e + 2 : pe], b"\x40", data[pe + 1 : qe]))
    return (
        _head_uint(idx_head),
        prev,
        _head_uint(time_head),
        etype,
        header[1],
        data[qs:qe],
        data[qe + 2 :],
        tbs,
    )


_TYPE_BYTES: dict[bytes, str] = {}
_HEADERS: dict[bytes, tuple[str, str]] = {}  # protected bytes -> (typ, kid) of a good header


def _header_of(pbytes: bytes) -> tuple[str, str] | None:
    """(typ, kid) of a protected header that carries alg EdDSA, a text typ and an ASCII kid."""
    try:
        protected = cbor.decode(pbytes, max_size=MAX_ENTRY_SIZE)
    except MalformedError:
        return None
    if not isinstance(protected, dict):
        return None
    typ, kid = protected.get(cose.HDR_TYP), protected.get(cose.HDR_KID)
    if (
        protected.get(cose.HDR_ALG) != cose.ALG_EDDSA
        or not isinstance(typ, str)
        or not isinstance(kid, bytes)
        or not kid
        or not kid.isascii()
    ):
        return None
    if len(_HEADERS) >= 4096:
        _HEADERS.clear()
    _HEADERS[pbytes] = header = (typ, kid.decode("ascii"))
    return header


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
