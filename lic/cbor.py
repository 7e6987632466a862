"""Deterministic CBOR (RFC 8949 section 4.2.1) encoding and strict decoding. Pure; no I/O.

The data model is deliberately small: unsigned and negative integers (64-bit), byte strings,
UTF-8 text strings, arrays, maps with integer or text keys, tags, false, true and null. Floats,
undefined, other simple values, indefinite lengths, non-shortest heads, unsorted or duplicate map
keys, unknown tags and trailing bytes are all refused by ``decode``. ``encode(decode(b)) == b``
holds for every accepted input: the decoder accepts exactly the deterministic encodings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from keys.errors import MalformedError

__all__ = ["MAX_CBOR_DEPTH", "Tag", "decode", "decode_map_split", "encode", "encode_bstr_head"]

MAX_CBOR_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Tag:
    """A CBOR tag (major type 6) around one value."""

    tag: int
    value: Any


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    if n < 0x10000000000000000:
        return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")
    raise MalformedError("CBOR: integer out of 64-bit range")


def encode_bstr_head(length: int) -> bytes:
    """The head of a byte string of ``length`` bytes."""
    return _head(2, length)


_INT_LIMIT = 1 << 64


def _map_key(k: Any) -> bytes:
    """A map key's encoding, which is its place in the map: RFC 8949 section 4.2.1 sorts keys
    by their encoded bytes."""
    if isinstance(k, str):
        b = k.encode("utf-8")
        return _head(3, len(b)) + b
    if isinstance(k, int) and not isinstance(k, bool):
        return _head(0, k) if k >= 0 else _head(1, -1 - k)
    raise MalformedError(f"CBOR: map key of type {type(k).__name__} not allowed")


def _plain(v: Any) -> Any:
    """``v`` as the values cbor2 writes in the deterministic form, maps in our key order; our
    data model's limits enforced (no floats, no big integers, no other types). The exact
    built-in types go first: they are nearly all a message holds."""
    t = type(v)
    if t is bytes or t is str or v is None or t is bool:
        return v
    if t is int:
        if -_INT_LIMIT <= v < _INT_LIMIT:
            return v
        raise MalformedError("CBOR: integer out of 64-bit range")
    if t is dict:
        return {k: _plain(x) for _kb, k, x in sorted((_map_key(k), k, x) for k, x in v.items())}
    if t is list or t is tuple:
        return [_plain(x) for x in v]
    if t is Tag:
        if not 0 <= v.tag < _INT_LIMIT:
            raise MalformedError("CBOR: integer out of 64-bit range")
        return cbor2.CBORTag(v.tag, _plain(v.value))
    base: type[Any]
    for base in (int, bytes, str, list, tuple, dict):  # subclasses, as their base type
        if isinstance(v, base):
            return _plain(base(v))
    raise MalformedError(f"CBOR: cannot encode a value of type {type(v).__name__}")


def encode(value: Any) -> bytes:
    """Deterministic encoding: shortest heads, definite lengths, map keys sorted bytewise.

    cbor2 writes the bytes; the map key order is ours. cbor2's ``canonical=True`` sorts keys
    length-first (RFC 7049 section 3.9), which differs from RFC 8949's bytewise order when a
    map mixes keys of different encoded lengths across major types (24 against -1, or 24
    against a short text): so maps are handed to cbor2 already in bytewise order and it
    writes them in that order (``canonical=False``, which still writes shortest heads for
    integers and lengths and never floats, as our data model has none).
    """
    return cbor2.dumps(_plain(value))


class _Decoder:
    __slots__ = ("data", "pos", "tags")

    def __init__(self, data: bytes, tags: frozenset[int]) -> None:
        self.data = data
        self.pos = 0
        self.tags = tags

    def fail(self, why: str) -> MalformedError:
        return MalformedError(f"CBOR: {why} at byte {self.pos}")

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise self.fail("truncated input")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def head(self) -> tuple[int, int]:
        ib = self.take(1)[0]
        major, info = ib >> 5, ib & 0x1F
        if info < 24:
            return major, info
        if info == 31:
            raise self.fail("indefinite length is not allowed")
        if info > 27:
            raise self.fail(f"reserved additional information {info}")
        size = 1 << (info - 24)
        n = int.from_bytes(self.take(size), "big")
        if major == 7:
            return major, n | (info << 64)  # floats and simple values: refused by the caller
        minimum = 24 if size == 1 else 1 << (4 * size)
        if n < minimum:
            raise self.fail("non-shortest integer or length encoding")
        return major, n

    def item(self, depth: int) -> Any:
        # The head is parsed inline (not through head()/take()): this is the hot loop of
        # token verification. Same rules, same errors.
        if depth > MAX_CBOR_DEPTH:
            raise self.fail(f"nested deeper than {MAX_CBOR_DEPTH}")
        data = self.data
        pos = self.pos
        if pos >= len(data):
            raise self.fail("truncated input")
        ib = data[pos]
        pos += 1
        major, n = ib >> 5, ib & 0x1F
        if n >= 24:
            self.pos = pos
            if n == 31:
                raise self.fail("indefinite length is not allowed")
            if n > 27:
                raise self.fail(f"reserved additional information {n}")
            info = n
            size = 1 << (n - 24)
            end = pos + size
            if end > len(data):
                raise self.fail("truncated input")
            n = int.from_bytes(data[pos:end], "big")
            pos = self.pos = end
            if major == 7:
                n |= info << 64  # floats and simple values: refused below
            elif n < (24 if size == 1 else 1 << (4 * size)):
                raise self.fail("non-shortest integer or length encoding")
        if major == 0:
            self.pos = pos
            return n
        if major == 3 or major == 2:
            end = pos + n
            if end > len(data):
                self.pos = pos
                raise self.fail("truncated input")
            self.pos = end
            if major == 2:
                return data[pos:end]
            try:
                return data[pos:end].decode("utf-8")
            except UnicodeDecodeError as e:
                raise self.fail("text string is not valid UTF-8") from e
        self.pos = pos
        if major == 1:
            return -1 - n
        if major == 4:
            if n > len(data) - pos:
                raise self.fail("array longer than the input")
            return [self.item(depth + 1) for _ in range(n)]
        if major == 5:
            if n > len(data) - pos:
                raise self.fail("map longer than the input")
            out: dict[Any, Any] = {}
            prev = b""
            for i in range(n):
                start = self.pos
                key = self.item(depth + 1)
                if not isinstance(key, int | str) or isinstance(key, bool):
                    raise self.fail("map key must be an integer or a text string")
                kb = data[start : self.pos]
                if i and kb <= prev:
                    raise self.fail("map keys duplicated or not in deterministic order")
                prev = kb
                out[key] = self.item(depth + 1)
            return out
        if major == 6:
            if n not in self.tags:
                raise self.fail(f"tag {n} is not allowed here")
            return Tag(n, self.item(depth + 1))
        # major 7
        if n == 20:
            return False
        if n == 21:
            return True
        if n == 22:
            return None
        raise self.fail("floats and simple values other than false/true/null are not allowed")


def _check_input(data: bytes, max_size: int) -> None:
    if not isinstance(data, bytes):
        raise MalformedError("CBOR: input must be bytes")
    if len(data) > max_size:
        raise MalformedError(f"CBOR: input larger than {max_size} bytes")
    if not data:
        raise MalformedError("CBOR: empty input")


def decode(
    data: bytes, *, max_size: int, tags: frozenset[int] = frozenset(), depth: int = 0
) -> Any:
    """Decode exactly one deterministic CBOR item filling ``data``; refuse anything else.

    ``depth`` is the nesting level at which the item sits (for an item cut out of a larger one,
    so that the depth limit counts from the outermost item).
    """
    _check_input(data, max_size)
    dec = _Decoder(data, tags)
    value = dec.item(depth)
    if dec.pos != len(data):
        raise dec.fail("trailing bytes after the item")
    return value


def decode_map_split(
    data: bytes, *, max_size: int, last_key: str, tags: frozenset[int] = frozenset()
) -> tuple[dict[Any, Any], bytes | None]:
    """Strictly decode a map, but leave the value of ``last_key`` undecoded if it is the map's
    last key: returns (the other members, that value's exact bytes) or (all members, None).

    The caller MUST decode the returned bytes with ``decode(..., depth=1)``; together the two
    steps accept exactly what ``decode`` accepts. This lets a caller cache the decoding of a
    large member that repeats across messages (the license inside license tokens).
    """
    _check_input(data, max_size)
    dec = _Decoder(data, tags)
    major, n = dec.head()
    if major != 5:
        raise MalformedError("CBOR: expected a map")
    if n > len(data) - dec.pos:
        raise dec.fail("map longer than the input")
    out: dict[Any, Any] = {}
    prev = b""
    for i in range(n):
        start = dec.pos
        key = dec.item(1)
        if not isinstance(key, int | str) or isinstance(key, bool):
            raise dec.fail("map key must be an integer or a text string")
        kb = data[start : dec.pos]
        if i and kb <= prev:
            raise dec.fail("map keys duplicated or not in deterministic order")
        prev = kb
        if i == n - 1 and key == last_key:
            if dec.pos >= len(data):
                raise dec.fail("truncated input")
            return out, data[dec.pos :]
        out[key] = dec.item(1)
    if dec.pos != len(data):
        raise dec.fail("trailing bytes after the item")
    return out, None
