"""The byte-exact JWT reader: the token ``_jwt`` would give for the tokens our issuers write,
or ``None``.

It recognises only the exact shape SPEC.md 4.2 has issuers write (compact JSON, members
sorted, ``lic`` last, strings free of escapes, integers in plain digits) and declines
anything else, including any token a claim check would refuse; the caller then asks the
strict reader, which decides with its precise error. Where it accepts, the strict reader
accepts with an equal token (tested by mutating real tokens). Per token it checks the header
and decodes the license claim only when their exact bytes are new (``CACHE``): the tokens of
one issuer share the header, and those of one license share the claims' tail.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

from keys import PublicKey, json_loads_strict
from keys.errors import LicError, MalformedError

from .._model import License
from . import _jwt
from ._cache import CACHE, JwtTail
from ._fields import (
    MAX_TOKEN_JSON_DEPTH,
    MAX_TOKEN_SIZE,
    SIG_TAIL,
    URL_TO_STRICT,
    TokenFields,
    b64url,
    construct,
)

_LIC_MAX = 16 * 1024  # license tails longer than this are not remembered
_SUFFIX = 16  # tails are looked up by their encoding's last 16 characters
_JS = r'"([^"\\\x00-\x1f]{1,1024})"'
_JN = r"(0|[1-9][0-9]{0,14})"  # at most 15 digits: below MAX_INT (2**53 - 1)
# The head ends inside the base64 group it shares with the license tail: with the first
# (3 - r) % 3 bytes of the tail, "," + '"' or ",", for alignment r (see JwtTail).
_SHARED = ("", ',"', ",")
# A head of exactly this shape is valid JSON with exactly these members once each, and its
# strings are their text: it parses to what the strict decoder gives. Matched on the head
# decoded from UTF-8 (which the strict decoder requires of the whole payload).
_HEAD = tuple(
    re.compile(
        r'\{(?:"aud":' + _JS + r",)?"
        r'"cnf":\{"jwk":\{"crv":"Ed25519","kty":"OKP","x":"([A-Za-z0-9_-]{43})"\}\},'
        r'"exp":' + _JN + r',"iat":' + _JN + r',"iss":' + _JS + r',"jti":' + _JS
        + r',"nbf":' + _JN + r',"sub":' + _JS + re.escape(shared)
    )
    for shared in _SHARED
)  # fmt: skip
# A head without aud begins {"cnf":{"jwk":{"crv":"Ed25519","kty":"OKP","x":"<x>"} (93 bytes,
# 124 base64 characters): one holder's tokens share those characters. Once a head with them
# has matched _HEAD, they map to the holder key (CACHE.jwt_holders), and the rest of the head
# (decoded apart: 124 is 0 mod 4) must match _REST.
_CNF_B64 = 124
_REST = tuple(
    re.compile(
        r'\},"exp":' + _JN + r',"iat":' + _JN + r',"iss":' + _JS + r',"jti":' + _JS
        + r',"nbf":' + _JN + r',"sub":' + _JS + re.escape(shared)
    )
    for shared in _SHARED
)  # fmt: skip


def read(cls: type[TokenFields], raw: bytes) -> tuple[Any, bytes, int] | None:
    """(the token of ``cls``, the signature, the length of the signed prefix) of the JWT
    ``raw``, exactly as ``_jwt`` reads it; ``None`` when it is not of the shape above. The
    signature is not checked here."""
    # the last dot is where the signature's 86 characters begin; no other dot is looked for:
    # the strict decoders below refuse one in the payload or the signature
    i = raw.find(b".")
    j = len(raw) - 87
    if i <= 0 or j <= i or raw[j] != 46:
        return None
    kid = CACHE.jwt_headers.get(raw[:i])
    if kid is None:
        try:
            kid = CACHE.jwt_headers.put(raw[:i], _jwt.header_kid(raw[:i]))
        except LicError:
            return None
    s = raw[j + 1 :]
    if s[85] not in SIG_TAIL:
        return None
    try:  # = b64url, inline: see URL_TO_STRICT; 86 characters end in a canonical one
        sig = binascii.a2b_base64(s.translate(URL_TO_STRICT) + b"==", strict_mode=True)
    except binascii.Error:
        return None
    token = claims(cls, raw, i, j, kid)
    return None if token is None else (token, sig, j)


def _find_tail(raw: bytes, j: int) -> tuple[JwtTail, int, bytes] | None:
    for tail, r in CACHE.jwt_tails.get(raw[j - _SUFFIX : j], ()):
        enc = tail.encoded[r]
        if raw.endswith(enc, 0, j):
            return tail, r, enc
    return None


def _learn_tail(p: bytes) -> None:
    """Remember the license tail of the base64url payload ``p`` when its license claim (the
    bytes after the last ``,"lic":``) parses strictly on its own. That is exact: a member
    separator with a bare quote cannot stand inside a JSON string, and a head that matches
    ``_HEAD`` before it completes the object the strict reader reads whole."""
    try:
        payload = b64url(p, "JWT payload")
    except MalformedError:
        return
    cut = payload.rfind(b',"lic":')
    if cut <= 0 or not payload.endswith(b"}") or len(payload) - cut > _LIC_MAX:
        return
    try:
        value = json_loads_strict(
            payload[cut + 7 : -1], max_size=MAX_TOKEN_SIZE, what="JWT claims",
            max_depth=MAX_TOKEN_JSON_DEPTH - 1,
        )  # fmt: skip
        license = License.from_mapping(value, known_codes=False)
    except MalformedError:
        return
    tail = JwtTail(payload[cut:], license)
    if min(map(len, tail.encoded)) < _SUFFIX:
        return
    for r, enc in enumerate(tail.encoded):
        entries = CACHE.jwt_tails.get(enc[-_SUFFIX:])
        if entries is None:
            entries = CACHE.jwt_tails.put(enc[-_SUFFIX:], [])
        if all(t.raw != tail.raw for t, _ in entries) and len(entries) < 8:
            entries.append((tail, r))


def _holder(x: str) -> PublicKey | None:
    """The holder key of a JWK's ``x`` (validated once per distinct key), or ``None`` where
    the strict reader refuses it."""
    holder = CACHE.jwk_x.get(x)
    if holder is None:
        try:
            holder = CACHE.jwk_x.put(x, PublicKey.from_raw(b64url(x.encode(), "JWK x")))
        except MalformedError:
            return None
    return holder


def claims(cls: type[TokenFields], raw: bytes, i: int, j: int, kid: str) -> Any:
    """The token of the JWT ``raw`` whose payload lies between its dots at ``i`` and ``j``:
    a known license tail after a head of the shape of ``_HEAD``, every claim check passed;
    ``None`` for anything else. The payload is read in place, not copied."""
    hit = _find_tail(raw, j)
    if hit is None:
        _learn_tail(raw[i + 1 : j])
        hit = _find_tail(raw, j)
        if hit is None:
            return None
    tail, r, enc = hit
    start = j - len(enc)
    # the head's base64 (its length 0 mod 4, or the strict decoder refuses it), after the
    # holder's 124 characters when they are known; = b64url_fast, inline
    holder = CACHE.jwt_holders.get(raw[i + 1 : i + 1 + _CNF_B64])
    data = raw[i + 1 : start] if holder is None else raw[i + 1 + _CNF_B64 : start]
    try:
        text = binascii.a2b_base64(data.translate(URL_TO_STRICT), strict_mode=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    # the decoded text: the head, then the tail's first (3 - r) % 3 bytes (matched by the
    # pattern for r), which share the head's last base64 group
    if holder is not None:
        m = _REST[r].fullmatch(text)
        if m is None:
            return None
        exp, iat, iss, jti, nbf, sub = m.groups()
        aud = None
    else:
        m = _HEAD[r].fullmatch(text)
        if m is None:
            return None
        aud, x, exp, iat, iss, jti, nbf, sub = m.groups()
        holder = _holder(x)
        if holder is None:
            return None
        if aud is None:
            CACHE.jwt_holders.put(raw[i + 1 : i + 1 + _CNF_B64], holder)
    nbf_i, exp_i = int(nbf), int(exp)
    if exp_i <= nbf_i:
        return None
    return construct(cls, "jwt", raw, kid, iss, sub, () if aud is None else (aud,), int(iat),
                     nbf_i, exp_i, jti, holder, tail.license)  # fmt: skip
