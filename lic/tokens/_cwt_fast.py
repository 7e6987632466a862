"""The byte-exact CWT reader: the token ``_cwt`` would give for the tokens our issuers
write, or ``None``.

Each function recognises only the exact deterministic encoding our issuers write (every head
in shortest form, strings shorter than 256 bytes, dates as 32-bit integers) and returns
``None`` for anything else, including any token a claim check would refuse; the caller then
asks the strict reader (``cose.parse_sign1``, ``cbor.decode_map_split``), which decides with
its precise error. Whatever this accepts, the strict reader accepts with an equal token
(tested by mutating every byte of real tokens). It checks a protected header, decodes a
license claim and validates a holder key only when their exact bytes are new (``CACHE``);
the tokens one issuer writes for one holder and license are read along a ``Route``.
"""

from __future__ import annotations

import struct
from typing import Any

from keys import PublicKey
from keys.errors import LicError, MalformedError

from .. import cbor, cose
from .._model import License
from . import _cwt
from ._cache import CACHE
from ._fields import MAX_TOKEN_SIZE, TokenFields, b64url_encode_fast, construct

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
    """The claims map our issuers write, in straight-line code: ``{1: iss, 2: sub, [3: aud
    text,] 4: exp, 5: nbf, 6: iat, 7: cti, 8: cnf, "lic": ...}`` with strings shorter than 256
    bytes, dates as 32-bit integers. -> (iss, sub, aud or None, exp, nbf, iat, cti, holder x,
    lic bytes) with iss, sub and aud still UTF-8; ``None`` for any other shape. Whatever this
    accepts, the strict decoder (``cbor.decode_map_split``) accepts with the same values
    (tested).

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


_LIC_MAX = 16 * 1024  # license claims longer than this are not remembered


def read(cls: type[TokenFields], raw: bytes) -> tuple[Any, bytes, bytes] | None:
    """(the token of ``cls``, the signature, the signed Sig_structure) of the CWT ``raw``,
    exactly as ``_cwt`` reads it; ``None`` when it is not of the shape above. The signature
    is not checked here. A token that shares its issuer's route (``Route``) is read by it."""
    route: Route | None = None
    if len(raw) > 0x100:  # the bytes before the payload: 18([protected, {}, ...
        b = raw[2]
        if 0x41 <= b < 0x58:  # a protected header of 1 to 23 bytes
            route = CACHE.cwt_routes.get(raw[: b - 0x3C])  # 3 + (b - 0x40) + 1
        elif b == 0x58:  # of 24 to 255 bytes
            route = CACHE.cwt_routes.get(raw[: raw[3] + 5])
    if route is not None:
        got = route.read(cls, raw)
        if got is not None:
            return got
    parts = sign1(raw)
    if parts is None:
        return None
    protected, payload, sig, at = parts
    known = CACHE.cose_headers.get(protected)
    if known is None:
        try:
            kid = _cwt.check_headers(cose.decode_protected(protected, MAX_TOKEN_SIZE), {})
        except LicError:
            return None
        head = b"\x84\x6aSignature1" + cbor.encode_bstr_head(len(protected)) + protected
        known = CACHE.cose_headers.put(protected, (kid, head + b"\x40"))
    kid, tbs_head = known
    token = claims(cls, raw, payload, kid)
    if token is None:
        return None
    if route is None or not route.shared_with(raw, token):
        learned = Route.of(raw, at, kid, tbs_head, token)
        if learned is not None:
            CACHE.cwt_routes.put(raw[:at], learned)
    # the Sig_structure: its head, then the payload as raw holds it (shortest form)
    return token, sig, tbs_head + raw[at:-66]


# 04 1a exp, 05 1a nbf, 06 1a iat (each 4 bytes: values from 2**16 in shortest form), key 07
# and the head of cti
_DATES_CTI = struct.Struct(">HIHIHIBB")
_BSTR16 = struct.Struct(">BH")  # a byte string's head with a 2-byte length


class Route:
    """The segments that one issuer's tokens for one holder and license share, each with its
    reading, learned from a token read above: ``read`` compares them in place and reads only
    what lies between them. Kept in ``CACHE.cwt_routes`` by ``prefix``.

    ``prefix``: tag 18, the array head, the protected header and the empty unprotected map
    (``at`` bytes; ``kid`` checked, ``tbs_head`` the Sig_structure's bytes before the
    payload's head); ``iss_seg``: the claims' map head (8 members: no aud), key 1, ``iss``,
    key 2; ``holder_seg``: key 8, the cnf of ``holder``, the key "lic"; ``lic_sig``: the
    bytes of ``license``, then the signature's head (58 40)."""

    __slots__ = ("at", "holder", "holder_seg", "iss", "iss_seg", "kid", "lic_sig", "license",
                 "prefix", "tbs_head")  # fmt: skip

    def __init__(self, raw: bytes, at: int, kid: str, tbs_head: bytes, t: TokenFields) -> None:
        self.prefix, self.at, self.kid, self.tbs_head = raw[:at], at, kid, tbs_head
        self.iss, self.holder, self.license = t.iss, t.holder, t.license
        iss = t.iss.encode()
        self.iss_seg = b"\xa8\x01" + bytes([0x60 + len(iss)]) + iss + b"\x02"
        self.holder_seg = b"\x08" + CNF_PREFIX + t.holder.raw + LIC_KEY
        self.lic_sig = b""

    @classmethod
    def of(cls, raw: bytes, at: int, kid: str, tbs_head: bytes, t: TokenFields) -> Route | None:
        """The route of the token ``t`` just read from ``raw`` (``raw[at:]`` its payload's
        head), or ``None`` when it has another shape (aud, an iss of 24 bytes or more, a
        protected header of 256 bytes or more)."""
        if t.aud or raw[at] != 0x59 or len(t.iss.encode()) >= 24 or not 0x41 <= raw[2] <= 0x58:
            return None
        payload = raw[at + 3 : -66]
        got = claims_quick(payload)
        if got is None:
            return None
        lic_at = got[-1]  # where the license's bytes begin, after the key "lic"
        route = cls(raw, at, kid, tbs_head, t)
        seg = route.holder_seg
        if not payload.startswith(route.iss_seg) or payload[lic_at - len(seg) : lic_at] != seg:
            return None
        route.lic_sig = payload[lic_at:] + b"\x58\x40"
        return route

    def shared_with(self, raw: bytes, t: TokenFields) -> bool:
        """Whether the token ``t`` (from ``raw``) has this route's header, iss, holder and
        license: then it missed the route for a reason of its own, and the route stays."""
        return (
            raw.startswith(self.prefix)
            and t.license is self.license
            and t.holder is self.holder
            and t.iss == self.iss
        )

    def read(self, cls: type[TokenFields], raw: bytes) -> tuple[Any, bytes, bytes] | None:
        """``read``'s answer for a CWT that starts with ``prefix`` and whose payload is
        ``iss_seg``, a sub of 1 to 23 bytes, the three dates, a cti of 1 to 23 bytes,
        ``holder_seg`` and the license's bytes, in deterministic CBOR with every head in
        shortest form: exactly what the strict decoder reads with these values. ``None`` for
        any other token."""
        at = self.at
        n = len(raw) - at - 69  # the payload's length, if the signature is 58 40 + 64 bytes
        if n < 0x100:
            return None
        head, length = _BSTR16.unpack_from(raw, at)
        if head != 0x59 or length != n or not raw.startswith(self.iss_seg, at + 3):
            return None
        pos = at + 3 + len(self.iss_seg)
        b = raw[pos] - 0x60
        if not 0 < b < 24:
            return None
        sub = raw[pos + 1 : pos + 1 + b]
        pos += 1 + b
        try:
            k4, exp, k5, nbf, k6, iat, k7, c = _DATES_CTI.unpack_from(raw, pos)
        except struct.error:
            return None
        c -= 0x40
        if (
            (k4, k5, k6, k7) != (0x041A, 0x051A, 0x061A, 7) or not 0 < c < 24
            or exp < 0x10000 or nbf < 0x10000 or iat < 0x10000 or exp <= nbf
        ):  # fmt: skip
            return None
        pos += 20
        cti = raw[pos : pos + c]
        pos += c
        if not raw.startswith(self.holder_seg, pos):
            return None
        pos += len(self.holder_seg)
        # the license's bytes, then the signature's head 58 40, then the signature's 64 bytes
        if pos + len(self.lic_sig) != len(raw) - 64 or not raw.startswith(self.lic_sig, pos):
            return None
        try:
            sub_s = sub.decode()
        except UnicodeDecodeError:
            return None
        token = construct(cls, "cwt", raw, self.kid, self.iss, sub_s, (), iat, nbf, exp,
                          b64url_encode_fast(cti), self.holder, self.license)  # fmt: skip
        return token, raw[-64:], self.tbs_head + raw[at:-66]


def _license(payload: bytes, lic_at: int) -> License | None:
    """The license of the claim at ``payload[lic_at:]``: by its last bytes, then exactly (no
    hash of the whole claim per token); ``None`` where the strict reader refuses it."""
    known = CACHE.cbor_licenses.get(payload[-32:])
    if known is not None and len(payload) - len(known[0]) == lic_at and payload.endswith(known[0]):
        return known[1]
    lic_raw = payload[lic_at:]
    try:
        license = License.from_mapping(_cwt.decode_license_claim(lic_raw), known_codes=False)
    except MalformedError:
        return None
    if len(lic_raw) <= _LIC_MAX:
        CACHE.cbor_licenses.put(lic_raw[-32:], (lic_raw, license))
    return license


def claims(cls: type[TokenFields], token: bytes, payload: bytes, kid: str) -> Any:
    """The token of a CWT whose claims have the shape ``claims_quick`` reads, every claim
    check passed; ``None`` for anything else."""
    got = claims_quick(payload)
    if got is None:
        return None
    iss, sub, aud, exp, nbf, iat, cti, x, lic_at = got
    # claims_quick gives 32-bit dates (below MAX_INT) and strings shorter than 256 bytes
    # (so at most 1024 characters): of the claim checks, these remain
    if exp <= nbf or not iss or not sub or not cti or len(cti) > 64:
        return None
    try:
        iss_s, sub_s = iss.decode(), sub.decode()
        if aud is None:
            auds: tuple[str, ...] = ()
        elif aud:
            auds = (aud.decode(),)
        else:
            return None
    except UnicodeDecodeError:
        return None
    license = _license(payload, lic_at)
    if license is None:
        return None
    holder = CACHE.holder_keys.get(x)
    if holder is None:
        try:
            holder = CACHE.holder_keys.put(x, PublicKey.from_raw(x))
        except MalformedError:
            return None
    return construct(cls, "cwt", token, kid, iss_s, sub_s, auds, iat, nbf, exp,
                     b64url_encode_fast(cti), holder, license)  # fmt: skip
