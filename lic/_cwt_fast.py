"""Fast paths for the common shape of a CWT license token. Pure; no I/O.

Each function recognises only the exact deterministic encoding our issuers write and returns
``None`` for anything else, so that the caller falls back to the generic strict decoder
(``cbor.decode_map_split``, ``cose.parse_sign1``), which then decides, with its precise error.
Whatever a fast path accepts, the generic path accepts with the same result (tested by
mutating every byte of real tokens).
"""

from __future__ import annotations

import struct
from typing import Any

from . import cose

__all__ = ["claims_head", "sign1"]

# cnf = {1: COSE_Key}, COSE_Key = {1: 1 (OKP), -1: 6 (Ed25519), -2: bstr(32)}, canonical.
CNF_PREFIX = bytes.fromhex("a101a301012006215820")
LIC_KEY = b"\x63lic"


def _head(data: bytes, pos: int, major: int) -> tuple[int, int] | None:
    """The argument of a head of ``major`` at ``pos`` in shortest form, and the next position."""
    b = data[pos]
    if b >> 5 != major:
        return None
    info = b & 0x1F
    if info < 24:
        return info, pos + 1
    if info == 24:
        v = data[pos + 1]
        return (v, pos + 2) if v >= 24 else None
    if info == 25:
        v = int.from_bytes(data[pos + 1 : pos + 3], "big")
        return (v, pos + 3) if v >= 0x100 and pos + 3 <= len(data) else None
    if info == 26:
        v = int.from_bytes(data[pos + 1 : pos + 5], "big")
        return (v, pos + 5) if v >= 0x10000 and pos + 5 <= len(data) else None
    if info == 27:
        v = int.from_bytes(data[pos + 1 : pos + 9], "big")
        return (v, pos + 9) if v >= 0x100000000 and pos + 9 <= len(data) else None
    return None


def _string(data: bytes, pos: int, major: int) -> tuple[bytes, int] | None:
    h = _head(data, pos, major)
    if h is None:
        return None
    n, pos = h
    end = pos + n
    if end > len(data):
        return None
    return data[pos:end], end


def claims_head(payload: bytes) -> tuple[dict[Any, Any], bytes] | None:
    """``{1: iss, 2: sub, [3: aud text,] 4: exp, 5: nbf, 6: iat, 7: cti, 8: cnf, "lic": ...}``
    -> (the claims but lic, lic's bytes); ``None`` for any other shape."""
    try:
        count = payload[0]
        if count not in (0xA8, 0xA9):  # maps of 8 members, or 9 with aud
            return None
        out: dict[Any, Any] = {}
        pos = 1
        for key in (1, 2, 3, 4, 5, 6, 7, 8) if count == 0xA9 else (1, 2, 4, 5, 6, 7, 8):
            if payload[pos] != key:
                return None
            pos += 1
            if key in (1, 2, 3):
                got = _string(payload, pos, 3)
                if got is None:
                    return None
                out[key] = got[0].decode("utf-8")
                pos = got[1]
            elif key == 7:
                got = _string(payload, pos, 2)
                if got is None:
                    return None
                out[key], pos = got
            elif key == 8:
                end = pos + len(CNF_PREFIX) + 32
                if payload[pos : pos + len(CNF_PREFIX)] != CNF_PREFIX or end > len(payload):
                    return None
                out[key] = {1: {1: 1, -1: 6, -2: payload[end - 32 : end]}}
                pos = end
            else:
                h = _head(payload, pos, 0)
                if h is None:
                    return None
                out[key], pos = h
        if payload[pos : pos + 4] != LIC_KEY or pos + 4 >= len(payload):
            return None
        return out, payload[pos + 4 :]
    except (IndexError, UnicodeDecodeError):
        return None


def sign1(raw: bytes) -> tuple[bytes, bytes, bytes, int] | None:
    """``18([bstr protected, {}, bstr payload, bstr(64) signature])`` -> (protected bytes,
    payload, signature, the offset in ``raw`` of the payload's byte-string head);
    ``None`` for any other shape. Every head is in shortest form, so ``raw[at:-66]`` is
    the payload exactly as the Sig_structure encodes it."""
    try:
        if raw[0] != 0xD2 or raw[1] != 0x84:
            return None
        b = raw[2]
        if 0x41 <= b < 0x58:  # the usual protected header: shorter than 24 bytes
            pos = b - 0x3D  # 3 + (b - 0x40)
            protected = raw[3:pos]
        else:
            got = _string(raw, 2, 2)
            if got is None or not got[0]:
                return None
            protected, pos = got
        if raw[pos] != 0xA0:
            return None
        at = pos + 1
        if raw[at] == 0x59:  # the usual payload: 256 to 65535 bytes
            n = raw[at + 1] << 8 | raw[at + 2]
            if n < 0x100:
                return None
            pos = at + 3 + n
            payload = raw[at + 3 : pos]
        else:
            got = _string(raw, at, 2)
            if got is None:
                return None
            payload, pos = got
        if pos + 66 != len(raw) or raw[pos] != 0x58 or raw[pos + 1] != 0x40:
            return None
        return protected, payload, raw[pos + 2 :], at
    except IndexError:
        return None


def parse_sign1(raw: bytes, max_size: int) -> cose.Sign1:
    """``cose.parse_sign1`` with the fast path first."""
    got = sign1(raw) if len(raw) <= max_size else None
    if got is None:
        return cose.parse_sign1(raw, max_size=max_size)
    protected, payload, signature, _at = got
    return cose.Sign1(protected, cose.decode_protected(protected, max_size), {}, payload, signature)


def _short(data: bytes, pos: int, base: int) -> tuple[bytes, int]:
    """A text (``base`` 0x60) or byte (0x40) string at ``pos`` whose length is below 256, in
    shortest form; raises IndexError (caught by the caller: not this shape) otherwise."""
    b = data[pos] - base
    if 0 <= b < 24:
        end = pos + 1 + b
        pos += 1
    elif b == 24 and data[pos + 1] >= 24:
        end = pos + 2 + data[pos + 1]
        pos += 2
    else:
        raise IndexError
    if end > len(data):
        raise IndexError
    return data[pos:end], end


_DATES = struct.Struct(">HIHIHIB")  # 04 1a exp, 05 1a nbf, 06 1a iat, then the key 07


def claims_quick(
    payload: bytes,
) -> tuple[bytes, bytes, bytes | None, int, int, int, bytes, bytes, int] | None:
    """The common case of ``claims_head`` in straight-line code: strings shorter than 256
    bytes, dates as 32-bit integers. -> (iss, sub, aud or None, exp, nbf, iat, cti, holder x,
    lic bytes) with iss, sub and aud still UTF-8; ``None`` for any other shape. Whatever this
    accepts, ``claims_head`` accepts with the same values (tested).

    Each string is read inline (= ``_short``): a head 0x60 + n (or 0x40 + n for bytes) with
    n < 24, or 0x78 n (0x58 n) with 24 <= n < 256. A string running past the end leaves the
    next read out of range (IndexError or struct.error: not this shape)."""
    try:
        n = payload[0]
        if payload[1] != 1 or n not in (0xA8, 0xA9):
            return None
        b = payload[2] - 0x60
        if 0 <= b < 24:
            pos = 3 + b
            iss = payload[3:pos]
        elif b == 24 and payload[3] >= 24:
            pos = 4 + payload[3]
            iss = payload[4:pos]
        else:
            return None
        if payload[pos] != 2:
            return None
        b = payload[pos + 1] - 0x60
        if 0 <= b < 24:
            sub = payload[pos + 2 : pos + 2 + b]
            pos += 2 + b
        elif b == 24 and payload[pos + 2] >= 24:
            sub = payload[pos + 3 : pos + 3 + payload[pos + 2]]
            pos += 3 + payload[pos + 2]
        else:
            return None
        aud = None
        if n == 0xA9:
            if payload[pos] != 3:
                return None
            aud, pos = _short(payload, pos + 1, 0x60)
        # 4: exp, 5: nbf, 6: iat, each 1a + 4 bytes (shortest form for values >= 2^16), 7
        k4, exp, k5, nbf, k6, iat, k7 = _DATES.unpack_from(payload, pos)
        if (
            k4 != 0x041A
            or k5 != 0x051A
            or k6 != 0x061A
            or k7 != 7
            or exp < 0x10000
            or nbf < 0x10000
            or iat < 0x10000
        ):
            return None
        b = payload[pos + 19] - 0x40
        if 0 <= b < 24:
            cti = payload[pos + 20 : pos + 20 + b]
            pos += 20 + b
        elif b == 24 and payload[pos + 20] >= 24:
            cti = payload[pos + 21 : pos + 21 + payload[pos + 20]]
            pos += 21 + payload[pos + 20]
        else:
            return None
        if payload[pos] != 8 or payload[pos + 1 : pos + 11] != CNF_PREFIX:
            return None
        end = pos + 43
        if payload[end : end + 4] != LIC_KEY or end + 4 >= len(payload):
            return None
        return iss, sub, aud, exp, nbf, iat, cti, payload[end - 32 : end], end + 4
    except (IndexError, struct.error):
        return None
