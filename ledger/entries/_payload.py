"""Entry payloads: the byte-exact fast path of the strict CBOR decoder. Pure.

An entry payload is a deterministic CBOR map with text keys whose values are integers, byte and
text strings, booleans, null, arrays and maps of the same. ``decode_payload`` decodes exactly
that subset in one tight function (the replay decodes every record's payload, and the generic
decoder's per-item dispatch dominates the replay's cost); for anything outside the subset, or
anything it would refuse, it hands the bytes to ``lic.cbor.decode``, which gives the value or
the error. The fast path never accepts what the strict decoder refuses and returns the same
value (tests/test_ledger_fast_record.py compares them on random and mutated payloads).
"""

from __future__ import annotations

from typing import Any

from lic import cbor

__all__ = ["MISS", "decode_payload", "fast_decode", "payload_json"]

_MAX_DEPTH = 16  # deeper payloads take the strict path (its own limit applies there)


class _Bail(Exception):
    """Leave the fast path; the strict decoder decides."""


def decode_payload(data: bytes, *, max_size: int) -> Any:
    """Decode an entry payload strictly (see the module docstring)."""
    if len(data) <= max_size:
        value = fast_decode(data)
        if value is not MISS:
            return value
    return cbor.decode(data, max_size=max_size)


def payload_json(value: Any) -> Any:
    """A decoded payload as a plain JSON value for people and JSON consumers: a byte string
    becomes ``{"hex": "..."}`` (lower-case hex), a tag ``{"tag": N, "value": ...}``, a map key
    that is not text its decimal or hex text; integers, text, booleans, null, arrays and maps
    stay as they are."""
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, cbor.Tag):
        return {"tag": value.tag, "value": payload_json(value.value)}
    if isinstance(value, list | tuple):
        return [payload_json(v) for v in value]
    if isinstance(value, dict):
        return {_key_text(k): payload_json(v) for k, v in value.items()}
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.hex()
    return str(key)


MISS: Any = object()
"""What ``fast_decode`` returns for bytes outside its subset."""


def fast_decode(data: bytes) -> Any:
    """The value of a payload inside the fast subset, else MISS (never an exception)."""
    if data[:1] and 0xA0 <= data[0] <= 0xB7:
        try:
            value, end = _map(data, 1, data[0] - 0xA0, 0)
        except (_Bail, IndexError, UnicodeDecodeError, RecursionError):
            return MISS
        if end == len(data):
            return value
    return MISS


_KEYS: dict[bytes, str] = {}  # encoded text key -> key (payloads repeat a few dozen keys)
# Short text values -> one shared str each: the replay keeps many payloads in its state, and
# their codes repeat. Filled until full, never cleared (the first values seen are the codes).
_TEXTS: dict[bytes, str] = {}
_TEXTS_CAP = 8192


def _map(data: bytes, pos: int, n: int, depth: int) -> tuple[dict[str, Any], int]:
    """The n members of a map whose head ended at ``pos``: text keys in deterministic order.
    The common value heads are decoded inline; the rest go through _item."""
    out: dict[str, Any] = {}
    prev = b""
    for _ in range(n):
        b = data[pos]
        if not 0x60 <= b <= 0x77:  # a text key shorter than 24 bytes (longer: strict path)
            raise _Bail
        end = pos + 1 + b - 0x60
        kb = data[pos:end]
        if kb <= prev or len(kb) != end - pos:
            raise _Bail
        prev = kb
        key = _KEYS.get(kb)
        if key is None:
            key = kb[1:].decode("utf-8")
            if len(_KEYS) < 4096:
                _KEYS[kb] = key
        v = data[end]
        if v < 0x18:  # small unsigned integer
            out[key] = v
            pos = end + 1
        elif v == 0x1A:  # 32-bit unsigned integer (times)
            pos = end + 5
            x = int.from_bytes(data[end + 1 : pos], "big")
            if x < 0x10000 or pos > len(data):
                raise _Bail
            out[key] = x
        elif 0x60 <= v <= 0x77:  # short text: codes (tier, region, reason, ...) repeat
            pos = end + 1 + v - 0x60
            chunk = data[end + 1 : pos]
            if len(chunk) != pos - end - 1:
                raise _Bail
            text = _TEXTS.get(chunk)
            if text is None:
                text = chunk.decode("utf-8")
                if len(_TEXTS) < _TEXTS_CAP:
                    _TEXTS[chunk] = text
            out[key] = text
        elif 0x40 <= v <= 0x57:  # short byte string
            pos = end + 1 + v - 0x40
            if pos > len(data):
                raise _Bail
            out[key] = data[end + 1 : pos]
        elif v == 0x58 or v == 0x78:  # byte or text string with a one-byte length (digests)
            m = data[end + 1]
            pos = end + 2 + m
            if m < 24 or pos > len(data):
                raise _Bail
            out[key] = data[end + 2 : pos] if v == 0x58 else data[end + 2 : pos].decode("utf-8")
        else:
            out[key], pos = _item(data, end, depth + 1)
    return out, pos


def _item(data: bytes, pos: int, depth: int) -> tuple[Any, int]:
    b = data[pos]
    major = b >> 5
    n = b & 0x1F
    pos += 1
    if n >= 24:
        if n == 24:
            n = data[pos]
            pos += 1
            if n < 24:
                raise _Bail
        elif 25 <= n <= 27:
            size = 1 << (n - 24)
            end = pos + size
            if end > len(data):
                raise _Bail
            n = int.from_bytes(data[pos:end], "big")
            pos = end
            if n < 1 << (4 * size) or major == 7:
                raise _Bail
        else:
            raise _Bail
    if major == 0:
        return n, pos
    if major == 2 or major == 3:
        end = pos + n
        if end > len(data):
            raise _Bail
        chunk = data[pos:end]
        return (chunk if major == 2 else chunk.decode("utf-8")), end
    if major == 1:
        return -1 - n, pos
    if depth >= _MAX_DEPTH:
        raise _Bail
    if major == 5:
        return _map(data, pos, n, depth)
    if major == 4:
        if n > len(data) - pos:
            raise _Bail
        items = []
        for _ in range(n):
            value, pos = _item(data, pos, depth + 1)
            items.append(value)
        return items, pos
    if b == 0xF4:
        return False, pos
    if b == 0xF5:
        return True, pos
    if b == 0xF6:
        return None, pos
    raise _Bail  # tags, floats, other simple values
