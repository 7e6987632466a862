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

from keys.errors import MalformedError

__all__ = ["MAX_CBOR_DEPTH", "Tag", "decode", "encode"]

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


def _enc(v: Any, out: list[bytes]) -> None:
    if v is False:
        out.append(b"\xf4")
    elif v is True:
        out.append(b"\xf5")
    elif v is None:
        out.append(b"\xf6")
    elif isinstance(v, int):
        out.append(_head(0, v) if v >= 0 else _head(1, -1 - v))
    elif isinstance(v, bytes):
        out.append(_head(2, len(v)))
        out.append(v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        out.append(_head(3, len(b)))
        out.append(b)
    elif isinstance(v, list | tuple):
        out.append(_head(4, len(v)))
        for x in v:
            _enc(x, out)
    elif isinstance(v, dict):
        items = []
        for k, x in v.items():
            if not isinstance(k, int | str) or isinstance(k, bool):
                raise MalformedError(f"CBOR: map key of type {type(k).__name__} not allowed")
            items.append((encode(k), x))
        items.sort(key=lambda kv: kv[0])
        out.append(_head(5, len(items)))
        for kb, x in items:
            out.append(kb)
            _enc(x, out)
    elif isinstance(v, Tag):
        out.append(_head(6, v.tag))
        _enc(v.value, out)
    else:
        raise MalformedError(f"CBOR: cannot encode a value of type {type(v).__name__}")


def encode(value: Any) -> bytes:
    """Deterministic encoding: shortest heads, definite lengths, map keys sorted bytewise."""
    out: list[bytes] = []
    _enc(value, out)
    return b"".join(out)


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
        if depth > MAX_CBOR_DEPTH:
            raise self.fail(f"nested deeper than {MAX_CBOR_DEPTH}")
        major, n = self.head()
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major == 2:
            return self.take(n)
        if major == 3:
            try:
                return self.take(n).decode("utf-8")
            except UnicodeDecodeError as e:
                raise self.fail("text string is not valid UTF-8") from e
        if major == 4:
            if n > len(self.data) - self.pos:
                raise self.fail("array longer than the input")
            return [self.item(depth + 1) for _ in range(n)]
        if major == 5:
            if n > len(self.data) - self.pos:
                raise self.fail("map longer than the input")
            out: dict[Any, Any] = {}
            prev = b""
            for i in range(n):
                start = self.pos
                key = self.item(depth + 1)
                if not isinstance(key, int | str) or isinstance(key, bool):
                    raise self.fail("map key must be an integer or a text string")
                kb = self.data[start : self.pos]
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


def decode(data: bytes, *, max_size: int, tags: frozenset[int] = frozenset()) -> Any:
    """Decode exactly one deterministic CBOR item filling ``data``; refuse anything else."""
    if not isinstance(data, bytes):
        raise MalformedError("CBOR: input must be bytes")
    if len(data) > max_size:
        raise MalformedError(f"CBOR: input larger than {max_size} bytes")
    if not data:
        raise MalformedError("CBOR: empty input")
    dec = _Decoder(data, tags)
    value = dec.item(0)
    if dec.pos != len(data):
        raise dec.fail("trailing bytes after the item")
    return value
