"""License tokens: JWT (JWS compact, EdDSA) and CWT (COSE_Sign1), issuance and strict verification.

Verification is pure: it takes the token bytes, a trust store and ``now``. It refuses anything
outside SPEC.md section 4 and raises our exception; it never reads keys from the token.
"""

from __future__ import annotations

import binascii
import dataclasses
import hashlib
import json
import os
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from keys import (
    PublicKey,
    SigningKey,
    b64url_decode,
    b64url_encode,
    json_dumps_canonical,
    json_loads_strict,
)
from keys.errors import ExpiredError, InvalidSignatureError, MalformedError, UntrustedKeyError

from . import _cwt_fast, cbor, cose
from ._model import MAX_INT, License

__all__ = [
    "CWT_TYP",
    "JWT_TYP",
    "MAX_LEEWAY",
    "MAX_TOKEN_SIZE",
    "TokenFields",
    "TokenFormat",
    "Trust",
    "UnverifiedToken",
    "VerifiedToken",
    "decode_unverified",
    "issue",
    "sign_token",
    "token_digest",
    "verify",
    "verify_with_key",
]

TokenFormat = Literal["jwt", "cwt"]
MAX_TOKEN_SIZE = 64 * 1024
MAX_TOKEN_JSON_DEPTH = 8
DEFAULT_LEEWAY = 60
MAX_LEEWAY = 300
JWT_TYP = "lic+jwt"
CWT_TYP = "application/lic+cwt"
ROLE_ISSUER = "issuer"

# CWT claim keys (RFC 8392 section 4, RFC 8747 for cnf); the license claim keeps its text name.
C_ISS, C_SUB, C_AUD, C_EXP, C_NBF, C_IAT, C_CTI, C_CNF = 1, 2, 3, 4, 5, 6, 7, 8
C_LIC = "lic"
_CWT_KEYS = frozenset({C_ISS, C_SUB, C_AUD, C_EXP, C_NBF, C_IAT, C_CTI, C_CNF, C_LIC})
_JWT_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "cnf", "lic"})
_JWT_REQUIRED = ("iss", "sub", "iat", "nbf", "exp", "jti", "cnf", "lic")
_CWT_REQUIRED = (C_ISS, C_SUB, C_IAT, C_NBF, C_EXP, C_CTI, C_CNF, C_LIC)
_CWT_NAMES = {C_ISS: "iss", C_SUB: "sub", C_AUD: "aud", C_EXP: "exp", C_NBF: "nbf",
              C_IAT: "iat", C_CTI: "cti", C_CNF: "cnf", C_LIC: "lic"}  # fmt: skip
# Header parameters that would let a token choose its own key: never honoured, always refused.
_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")
_COSE_KEY_LABELS = (33, 34, 35, -1)  # x5chain, x5t, x5u, and COSE_Key in headers (RFC 9360)


class Trust(Protocol):
    """What verification needs of a trust store (``keys.TrustStore`` provides it)."""

    def lookup(self, kid: str, role: str, now: int) -> PublicKey: ...


def token_digest(token: bytes | str) -> bytes:
    """SHA-256 of the token exactly as transmitted (JWS compact ASCII, or COSE_Sign1 bytes)."""
    return hashlib.sha256(token.encode("ascii") if isinstance(token, str) else token).digest()


@dataclass(frozen=True)
class TokenFields:
    """The fields of a decoded token; see ``VerifiedToken`` and ``UnverifiedToken``."""

    format: TokenFormat
    raw: bytes
    kid: str
    iss: str
    sub: str
    aud: tuple[str, ...]
    iat: int
    nbf: int
    exp: int
    jti: str
    holder: PublicKey
    license: License

    @property
    def digest(self) -> bytes:
        return token_digest(self.raw)

    def describe(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "kid": self.kid,
            "iss": self.iss,
            "sub": self.sub,
            "aud": list(self.aud),
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "jti": self.jti,
            "holder": self.holder.thumbprint,
            "digest": self.digest.hex(),
            "lic": self.license.to_claim(),
        }


@dataclass(frozen=True)
class UnverifiedToken(TokenFields):
    """A token decoded WITHOUT checking its signature, issuer or time: never trust it."""


@dataclass(frozen=True)
class VerifiedToken(TokenFields):
    """A token whose signature, issuer key, header and validity were checked."""


# The fast paths build tokens by giving the instance its attribute dict whole (the frozen
# dataclass __init__ goes through object.__setattr__ once per field); the result is the same
# value. The classes have no __slots__ for this: one dict build beats twelve slot stores.
_FIELDS = ("format", "raw", "kid", "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "holder",
           "license")  # fmt: skip
assert tuple(f.name for f in dataclasses.fields(TokenFields)) == _FIELDS
_object_new = object.__new__
_object_setattr = object.__setattr__


def _construct(
    cls: type[TokenFields], format: TokenFormat, raw: bytes, kid: str, iss: str, sub: str,
    aud: tuple[str, ...], iat: int, nbf: int, exp: int, jti: str, holder: PublicKey,
    license: License,
) -> Any:  # fmt: skip
    """``cls(...)`` for values already checked, in fewer steps."""
    t = _object_new(cls)
    _object_setattr(t, "__dict__", {
        "format": format, "raw": raw, "kid": kid, "iss": iss, "sub": sub, "aud": aud, "iat": iat,
        "nbf": nbf, "exp": exp, "jti": jti, "holder": holder, "license": license,
    })  # fmt: skip
    return t


# --- issuance ------------------------------------------------------------------------------


def _jwt_bytes(header: dict[str, Any], claims: dict[str, Any], key: SigningKey) -> bytes:
    """Compact JSON, member names sorted, except that ``lic`` comes last (SPEC.md 4.2)."""
    rest = {k: v for k, v in claims.items() if k != "lic"}
    payload = json_dumps_canonical(rest)[:-1] + b',"lic":' + json_dumps_canonical(claims["lic"])
    h = b64url_encode(json_dumps_canonical(header)).encode()
    p = b64url_encode(payload + b"}").encode()
    signing_input = h + b"." + p
    return signing_input + b"." + b64url_encode(key.sign(signing_input)).encode()


def _cose_key(pub: PublicKey) -> dict[int, Any]:
    return {1: 1, -1: 6, -2: pub.raw}  # kty OKP, crv Ed25519, x


def sign_token(
    license: License,
    key: SigningKey,
    holder: PublicKey,
    *,
    iss: str,
    sub: str,
    iat: int,
    nbf: int,
    exp: int,
    aud: Sequence[str] = (),
    fmt: TokenFormat = "jwt",
    jti: bytes | None = None,
) -> bytes:
    """Encode and sign a token exactly as given (no vocabulary check; see ``issue``)."""
    for name, v in (("iss", iss), ("sub", sub), *(("aud", a) for a in aud)):
        if not isinstance(v, str) or not v or len(v) > 1024:
            raise MalformedError(f"{name}: must be a non-empty string")
    for name, t in (("iat", iat), ("nbf", nbf), ("exp", exp)):
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= MAX_INT:
            raise MalformedError(f"{name}: must be an integer number of seconds")
    if exp <= nbf:
        raise MalformedError("exp must be after nbf")
    jti = os.urandom(16) if jti is None else jti
    kid = key.public_key.thumbprint
    if fmt == "jwt":
        claims: dict[str, Any] = {"iss": iss, "sub": sub, "iat": iat, "nbf": nbf, "exp": exp,
                                  "jti": b64url_encode(jti), "cnf": {"jwk": holder.jwk()},
                                  "lic": license.to_claim()}  # fmt: skip
        if aud:
            claims["aud"] = aud[0] if len(aud) == 1 else list(aud)
        token = _jwt_bytes({"alg": "EdDSA", "kid": kid, "typ": JWT_TYP}, claims, key)
    elif fmt == "cwt":
        cclaims: dict[Any, Any] = {C_ISS: iss, C_SUB: sub, C_IAT: iat, C_NBF: nbf, C_EXP: exp,
                                   C_CTI: jti, C_CNF: {1: _cose_key(holder)},
                                   C_LIC: license.to_claim()}  # fmt: skip
        if aud:
            cclaims[C_AUD] = aud[0] if len(aud) == 1 else list(aud)
        protected = {cose.HDR_ALG: cose.ALG_EDDSA, cose.HDR_KID: b64url_decode(kid),
                     cose.HDR_TYP: CWT_TYP}  # fmt: skip
        token = cose.sign1(protected, cbor.encode(cclaims), key)
    else:
        raise MalformedError("token format must be jwt or cwt")
    if len(token) > MAX_TOKEN_SIZE:
        raise MalformedError(f"token larger than {MAX_TOKEN_SIZE} bytes")
    return token


def issue(
    license: License,
    key: SigningKey,
    holder: PublicKey,
    *,
    iss: str,
    sub: str,
    now: int,
    lifetime: int = 365 * 86400,
    nbf: int | None = None,
    aud: Sequence[str] = (),
    fmt: TokenFormat = "jwt",
    jti: bytes | None = None,
) -> bytes:
    """Issue a root license token signed by an issuer key. Unknown vocabulary codes are refused.

    Valid from ``nbf`` (default ``now``) for ``lifetime`` seconds; ``holder`` goes into ``cnf``.
    """
    license.check_known_codes()
    if license.parent is not None:
        raise MalformedError("a root license has no parent; use delegate for a sublicense")
    start = now if nbf is None else nbf
    if not isinstance(lifetime, int) or lifetime <= 0:
        raise MalformedError("lifetime: must be a positive number of seconds")
    return sign_token(license, key, holder, iss=iss, sub=sub, iat=now, nbf=start,
                      exp=start + lifetime, aud=aud, fmt=fmt, jti=jti)  # fmt: skip


# --- decoding ------------------------------------------------------------------------------


def _as_bytes(token: bytes | str) -> bytes:
    if isinstance(token, str):
        if len(token) > MAX_TOKEN_SIZE:
            raise MalformedError(f"token larger than {MAX_TOKEN_SIZE} bytes")
        try:
            token = token.encode("ascii")
        except UnicodeEncodeError as e:
            raise MalformedError("token: a JWT is ASCII") from e
    if not isinstance(token, bytes):
        raise MalformedError("token must be bytes")
    if len(token) > MAX_TOKEN_SIZE:
        raise MalformedError(f"token larger than {MAX_TOKEN_SIZE} bytes")
    if not token:
        raise MalformedError("token is empty")
    return token


def _format_of(token: bytes) -> TokenFormat:
    return "cwt" if token[0] == 0xD2 else "jwt"  # 0xd2 = tag 18 (COSE_Sign1)


def _check_jwt_header(header: Any) -> str:
    if not isinstance(header, dict):
        raise MalformedError("JWT header: must be a JSON object")
    for name in _KEY_HEADERS:
        if name in header:
            raise UntrustedKeyError(
                f"JWT header: {name!r} is refused; keys come from the trust store"
            )
    if "crit" in header:
        raise MalformedError("JWT header: no critical extension ('crit') is understood")
    if "b64" in header:
        raise MalformedError("JWT header: 'b64' is refused (RFC 7797 payloads are not accepted)")
    extra = set(header) - {"alg", "typ", "kid"}
    if extra:
        raise MalformedError(f"JWT header: unexpected parameter(s) {sorted(extra)}")
    if header.get("alg") != "EdDSA":
        raise InvalidSignatureError("JWT header: alg must be EdDSA, the algorithm of the key")
    if header.get("typ") != JWT_TYP:
        raise MalformedError(f"JWT header: typ must be {JWT_TYP!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise MalformedError("JWT header: kid must be a non-empty string")
    return kid


_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Allowed last characters of a canonical encoding, by length mod 4 (unused bits zero).
_B64URL_TAIL = {
    2: frozenset(_B64URL_ALPHABET[i] for i in range(0, 64, 16)),
    3: frozenset(_B64URL_ALPHABET[i] for i in range(0, 64, 4)),
}


_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
# base64url's "-" and "_" to the standard alphabet's "+" and "/", and the standard alphabet's
# own "+", "/" and "=" to "!", which no decoder takes: the strict standard decoder then takes
# the translated data exactly when it was unpadded base64url of a whole number of groups
_URL_TO_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_SIG_TAIL = _B64URL_TAIL[2]  # a 64-byte signature is 86 characters
_PAD = (b"", b"", b"==", b"=")


def _b64url(data: bytes, what: str) -> bytes:
    """Same acceptance and errors as ``keys.b64url_decode`` (tested), in fewer steps: the
    alphabet is checked first, so the standard decoder sees only its own alphabet."""
    rest = len(data) % 4
    if rest == 1 or data.translate(None, _B64URL_ALPHABET):
        raise MalformedError(f"{what}: not unpadded base64url")
    if rest and data[-1] not in _B64URL_TAIL[rest]:
        raise MalformedError(f"{what}: non-canonical base64url")
    return binascii.a2b_base64(data.translate(_URL_TO_STD) + _PAD[rest])


def _b64url_fast(data: bytes) -> bytes:
    """``_b64url`` for data whose length is 0 mod 4, raising binascii.Error instead (the fast
    paths inline it): see ``_URL_TO_STRICT``; the strict decoder refuses a length that is
    not 0 mod 4 without padding."""
    return binascii.a2b_base64(data.translate(_URL_TO_STRICT), strict_mode=True)


_HEADER_CACHE: dict[bytes, str] = {}
# The last JWT header verify() met: (its bytes with the dot after them, their length, kid).
_JWT_NO_HEADER = (b"", 1 << 62, "")  # (its dot lies beyond any token: no token matches)
_jwt_last: tuple[bytes, int, str] = _JWT_NO_HEADER
_HEADER_CACHE_CAP = 256


def _split_jwt(token: bytes) -> tuple[bytes, bytes, bytes, str]:
    parts = token.split(b".")
    if len(parts) != 3:
        raise MalformedError("JWT: must be three base64url parts separated by dots (JWS compact)")
    h, p, s = parts
    kid = _HEADER_CACHE.get(h)  # one issuer key writes one header: check each distinct one once
    if kid is None:
        header = json_loads_strict(
            _b64url(h, "JWT header"), max_size=MAX_TOKEN_SIZE, what="JWT header",
            max_depth=MAX_TOKEN_JSON_DEPTH,
        )  # fmt: skip
        kid = _check_jwt_header(header)
        if len(_HEADER_CACHE) >= _HEADER_CACHE_CAP:
            _HEADER_CACHE.clear()
        _HEADER_CACHE[h] = kid
    return h, p, s, kid


_COSE_HEADER_CACHE: dict[bytes, str] = {}


def _check_cose_headers(msg: cose.Sign1) -> str:
    """The kid, after checking both header buckets; a protected header accepted before (with
    an empty unprotected one) is not checked again."""
    if not msg.unprotected:
        kid = _COSE_HEADER_CACHE.get(msg.protected_bytes)
        if kid is not None:
            return kid
    kid = _check_cose_headers_fully(msg)
    if len(_COSE_HEADER_CACHE) >= _HEADER_CACHE_CAP:
        _COSE_HEADER_CACHE.clear()
    _COSE_HEADER_CACHE[msg.protected_bytes] = kid
    return kid


def _check_cose_headers_fully(msg: cose.Sign1) -> str:
    prot, unprot = msg.protected, msg.unprotected
    for label in _COSE_KEY_LABELS:
        if label in prot or label in unprot:
            raise UntrustedKeyError(
                "CWT: key material in a header is refused; keys come from the trust store"
            )
    if cose.HDR_CRIT in prot or cose.HDR_CRIT in unprot:
        raise MalformedError("CWT: no critical header parameter ('crit') is understood")
    if unprot:
        raise MalformedError("CWT: the unprotected header must be empty")
    extra = set(prot) - {cose.HDR_ALG, cose.HDR_KID, cose.HDR_TYP}
    if extra:
        raise MalformedError(f"CWT: unexpected protected header label(s) {sorted(map(str, extra))}")
    if prot.get(cose.HDR_ALG) != cose.ALG_EDDSA:
        raise InvalidSignatureError("CWT: alg must be EdDSA (-8), the algorithm of the key")
    if prot.get(cose.HDR_TYP) != CWT_TYP:
        raise MalformedError(f"CWT: typ must be {CWT_TYP!r}")
    kid = prot.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != 32:
        raise MalformedError("CWT: kid must be the 32-byte RFC 7638 thumbprint")
    return b64url_encode(kid)


def _int_claim(v: Any, name: str) -> int:
    if type(v) is not int or not 0 <= v <= MAX_INT:
        raise MalformedError(f"claim {name}: must be an integer NumericDate")
    return v


def _str_claim(v: Any, name: str) -> str:
    if type(v) is not str or not v or len(v) > 1024:
        raise MalformedError(f"claim {name}: must be a non-empty string")
    return v


def _aud(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (_str_claim(v, "aud"),)
    if isinstance(v, list) and v and len(v) <= 64:
        return tuple(_str_claim(a, "aud") for a in v)
    raise MalformedError("claim aud: must be a string or a non-empty array of strings")


_LIC_CACHE_CAP = 512
_LIC_CACHE_MAX_ITEM = 16 * 1024
_JSON_LIC_CACHE: dict[bytes, License] = {}
_CBOR_LIC_CACHE: dict[bytes, License] = {}


def _cached_license(
    raw: bytes, parse: Callable[[bytes], Any], cache: dict[bytes, License]
) -> License:
    """The license parsed from its exact claim bytes (one cache per encoding). Strict parsing
    is a pure function of the bytes, so bytes parsed before need not be parsed again: the
    tokens of one license share them."""
    license = cache.get(raw)
    if license is None:
        license = License.from_mapping(parse(raw), known_codes=False)
        if len(raw) <= _LIC_CACHE_MAX_ITEM:
            if len(cache) >= _LIC_CACHE_CAP:
                cache.clear()
            cache[raw] = license
    return license


def _json(data: bytes, what: str, depth: int = MAX_TOKEN_JSON_DEPTH) -> Any:
    return json_loads_strict(data, max_size=MAX_TOKEN_SIZE, what=what, max_depth=depth)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise MalformedError(f"duplicate JSON member name {k!r}")
            seen.add(k)
    return out


def _no_constant(name: str) -> Any:
    raise MalformedError(f"JSON constant {name} is not allowed")


# One decoder, built once (json.loads builds a new one per call when given hooks).
_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _json_head(data: bytes, what: str) -> Any:
    """Strict JSON (duplicates, NaN/Infinity, UTF-8 refused) for the claims other than ``lic``.

    No separate depth walk: the claim schema admits nothing deeper than 3 levels, so deeper
    input is refused by the schema checks that follow, and the C parser's own recursion
    guard (RecursionError) bounds the parse itself.
    """
    try:
        return _STRICT_JSON.decode(data.decode("utf-8"))
    except MalformedError as e:
        raise MalformedError(f"{what}: {e}") from e
    except UnicodeDecodeError as e:
        raise MalformedError(f"{what}: not UTF-8") from e
    except (ValueError, RecursionError) as e:
        raise MalformedError(f"{what}: not valid JSON ({e})") from e


def _jwt_claims(payload: bytes) -> Any:
    """Strict JSON claims. Fast path: when ``"lic"`` is the last member, written without
    whitespace, the head and the license are parsed apart (the license through the cache).
    The split is exact: if both parts parse, the whole is precisely that object, as JSON text
    cannot hold an unescaped quote inside a string."""
    cut = payload.rfind(b',"lic":')
    if cut > 0 and payload.endswith(b"}"):
        try:
            head = _json_head(payload[:cut] + b"}", "JWT claims")
        except MalformedError:
            head = None
        if isinstance(head, dict) and "lic" not in head:
            lic_raw = payload[cut + 7 : -1]
            try:
                head["lic"] = _cached_license(
                    lic_raw,
                    lambda b: _json(b, "JWT claims", MAX_TOKEN_JSON_DEPTH - 1),
                    _JSON_LIC_CACHE,
                )
            except MalformedError:
                pass  # parse the whole below, for the error a reader expects
            else:
                return head
    return _json(payload, "JWT claims")


class _Tail:
    """A license's JWT claims tail ``,"lic":<license>}`` and its base64url for each of the
    three alignments the tail can have in a payload."""

    __slots__ = ("encoded", "license", "raw")

    def __init__(self, raw: bytes, license: License) -> None:
        self.raw = raw
        self.license = license
        # alignment r = (bytes before the tail) mod 3; the first (3 - r) % 3 bytes of the tail
        # (_SHARED[r]: the tail begins ',"lic":') share a base64 group with the head, which
        # the head's patterns match; the rest is encoded on its own.
        self.encoded = tuple(b64url_encode(raw[(3 - r) % 3 :]).encode() for r in range(3))


_TAILS: dict[bytes, list[tuple[_Tail, int]]] = {}
_TAILS_CAP = 512
_SUFFIX = 16


def _remember_tail(payload: bytes, claims: Any) -> None:
    if not isinstance(claims, dict) or not isinstance(claims.get("lic"), License):
        return
    cut = payload.rfind(b',"lic":')
    tail = _Tail(payload[cut:], claims["lic"])
    if len(tail.raw) > _LIC_CACHE_MAX_ITEM or min(map(len, tail.encoded)) < _SUFFIX:
        return
    if len(_TAILS) >= _TAILS_CAP:
        _TAILS.clear()
    for r, enc in enumerate(tail.encoded):
        entries = _TAILS.setdefault(enc[-_SUFFIX:], [])
        if all(t.raw != tail.raw for t, _ in entries) and len(entries) < 8:
            entries.append((tail, r))


def _jwt_tail_split(p: bytes) -> tuple[bytes, License] | None:
    """When the base64url payload ``p`` ends with the exact encoding of a license tail seen
    before: (the decoded head, without its closing brace; that license). ``p`` is then the
    head's base64 groups followed by that encoding, so it decodes to head + tail, byte for
    byte (SPEC.md 4.2 note)."""
    for tail, r in _TAILS.get(p[-_SUFFIX:], ()):
        enc = tail.encoded[r]
        start = len(p) - len(enc)
        skip = (3 - r) % 3
        if start <= 0 or start % 4 or not p.endswith(enc):
            continue
        prefix = _b64url(p[:start], "JWT payload")
        head_len = len(prefix) - skip
        if head_len <= 0 or head_len % 3 != r or prefix[head_len:] != tail.raw[:skip]:
            continue
        return prefix[:head_len], tail.license
    return None


def _jwt_claims_b64(p: bytes) -> Any:
    """The claims of the base64url payload ``p``. When ``p`` ends with a license tail seen
    before (``_jwt_tail_split``), only the head is parsed; anything else takes the full path."""
    got = _jwt_tail_split(p)
    if got is not None:
        try:
            head = _json_head(got[0] + b"}", "JWT claims")
        except MalformedError:
            head = None
        if isinstance(head, dict) and "lic" not in head:
            head["lic"] = got[1]
            return head
    payload = _b64url(p, "JWT payload")
    claims = _jwt_claims(payload)
    _remember_tail(payload, claims)
    return claims


# The claims head our issuers write (SPEC.md 4.2: compact, members sorted, lic last), with
# strings free of escapes (1 to 1024 characters, as the claim checks require) and integers in
# plain digits. A head of exactly this shape is valid JSON, has exactly these members once
# each, and its strings are their text: it parses to what the strict decoder gives. Anything
# else takes the strict path. Matched on the head decoded from UTF-8 (which the strict decoder
# requires of the whole payload), so the groups are the claims' text.
_JS = r'"([^"\\\x00-\x1f]{1,1024})"'
_JN = r"(0|[1-9][0-9]{0,14})"  # at most 15 digits: below MAX_INT (2**53 - 1)
# The head ends inside the base64 group it shares with the license tail: with the first
# (3 - r) % 3 bytes of the tail, "," + '"' or ",", for alignment r (see _Tail).
_SHARED = ("", ',"', ",")
_JWT_HEAD = tuple(
    re.compile(
        r'\{(?:"aud":' + _JS + r",)?"
        r'"cnf":\{"jwk":\{"crv":"Ed25519","kty":"OKP","x":"([A-Za-z0-9_-]{43})"\}\},'
        r'"exp":' + _JN + r',"iat":' + _JN + r',"iss":' + _JS + r',"jti":' + _JS
        + r',"nbf":' + _JN + r',"sub":' + _JS + re.escape(shared)
    )
    for shared in _SHARED
)  # fmt: skip
_JWK_X: dict[str, PublicKey] = {}
# The head without aud begins {"cnf":{"jwk":{"crv":"Ed25519","kty":"OKP","x":"<x>"} (93
# bytes, 124 base64 characters): one holder's tokens share those characters. Once a head
# with them has matched _JWT_HEAD, they map to the holder key, and the rest of the head
# (decoded apart: 124 is 0 mod 4) must match the rest of the pattern.
_CNF_B64 = 124
_JWT_CNF: dict[bytes, PublicKey] = {}
# The last license tail (tail, alignment, its base64) and holder (124 characters, key) met.
_jwt_last_tail: tuple[_Tail, int, bytes] | None = None
_jwt_last_cnf: tuple[bytes, PublicKey] | None = None
_JWT_REST = tuple(
    re.compile(
        r'\},"exp":' + _JN + r',"iat":' + _JN + r',"iss":' + _JS + r',"jti":' + _JS
        + r',"nbf":' + _JN + r',"sub":' + _JS + re.escape(shared)
    )
    for shared in _SHARED
)  # fmt: skip


def _jwt_fast(cls: type[TokenFields], raw: bytes, i: int, j: int, kid: str) -> Any:
    """The token of the JWT ``raw`` whose payload ``raw[i + 1 : j]`` (between its two dots)
    is a known license tail after a head of the shape above, every claim check passed;
    ``None`` for anything else, including any check that fails (the caller then takes
    ``_jwt_fields``, which explains). Whatever this accepts, ``_jwt_fields`` accepts with the
    same result (tested by mutation). ``_jwt_tail_split`` inline, on offsets into ``raw``:
    the payload is not copied. The last tail and the last holder met are tried first, in
    place: a licensor's tokens share them."""
    global _jwt_last_tail, _jwt_last_cnf
    hit = _jwt_last_tail
    if hit is None or not raw.endswith(hit[2], 0, j):
        for tail, r in _TAILS.get(raw[j - _SUFFIX : j], ()):
            enc = tail.encoded[r]
            if raw.endswith(enc, 0, j):
                hit = _jwt_last_tail = (tail, r, enc)
                break
        else:
            return None
    tail, r, enc = hit
    start = j - len(enc)
    # the head's base64 (its length 0 mod 4, or the strict decoder refuses it), after the
    # holder's 124 characters when they are known; = _b64url_fast, inline
    cnf = _jwt_last_cnf
    holder: PublicKey | None
    if cnf is not None and raw.startswith(cnf[0], i + 1):
        holder = cnf[1]
    else:
        cnf_b64 = raw[i + 1 : i + 1 + _CNF_B64]
        holder = _JWT_CNF.get(cnf_b64)
        if holder is not None:
            _jwt_last_cnf = (cnf_b64, holder)
    data = raw[i + 1 : start] if holder is None else raw[i + 1 + _CNF_B64 : start]
    try:
        text = binascii.a2b_base64(data.translate(_URL_TO_STRICT), strict_mode=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    # the decoded text: the head, then the tail's first (3 - r) % 3 bytes (matched by the
    # pattern for r), which share the head's last base64 group
    if holder is not None:
        m = _JWT_REST[r].fullmatch(text)
        if m is None:
            return None
        exp, iat, iss, jti, nbf, sub = m.groups()
        aud = None
    else:
        m = _JWT_HEAD[r].fullmatch(text)
        if m is None:
            return None
        aud, x, exp, iat, iss, jti, nbf, sub = m.groups()
        holder = _JWK_X.get(x)
        if holder is None:
            try:
                holder = _holder_jwk({"crv": "Ed25519", "kty": "OKP", "x": x})
            except MalformedError:
                return None
            if len(_JWK_X) >= _KEY_CACHE_CAP:
                _JWK_X.clear()
            _JWK_X[x] = holder
        if aud is None:
            if len(_JWT_CNF) >= _KEY_CACHE_CAP:
                _JWT_CNF.clear()
            _JWT_CNF[raw[i + 1 : i + 1 + _CNF_B64]] = holder
    nbf_i, exp_i = int(nbf), int(exp)
    if exp_i <= nbf_i:
        return None
    t = _object_new(cls)  # = _construct(...), inline
    _object_setattr(t, "__dict__", {
        "format": "jwt", "raw": raw, "kid": kid, "iss": iss, "sub": sub,
        "aud": () if aud is None else (aud,), "iat": int(iat), "nbf": nbf_i, "exp": exp_i,
        "jti": jti, "holder": holder, "license": tail.license,
    })  # fmt: skip
    return t


class _JwtRoute:
    """What the last JWT verified through the holder route shares with the tokens one issuer
    writes for one holder and license, each compared in place (``_jwt_template``): the
    header with its dot (``i`` bytes before the dot; ``kid`` checked), the holder's 124
    base64url characters at the payload's start (``holder``), and the license tail's
    encoding for each alignment of the head (``tails``: by its last 16 characters, the
    encoding and the alignment; ``license``)."""

    __slots__ = ("cnf_b64", "header", "holder", "i", "kid", "license", "tails")

    def __init__(self, raw: bytes, i: int, kid: str, t: TokenFields, tail: _Tail) -> None:
        self.header, self.i, self.kid = raw[: i + 1], i, kid
        self.cnf_b64, self.holder = raw[i + 1 : i + 1 + _CNF_B64], t.holder
        self.license = tail.license
        self.tails = {enc[-_SUFFIX:]: (enc, r) for r, enc in enumerate(tail.encoded)}

    def shared_with(self, raw: bytes, t: TokenFields) -> bool:
        """Whether the token ``t`` (from ``raw``) has this route's header, holder and license:
        then it missed the route for a reason of its own, and the route stays."""
        return (
            raw.startswith(self.header)
            and t.holder is self.holder
            and t.license is self.license
            and raw.startswith(self.cnf_b64, self.i + 1)
        )


_jwt_route: _JwtRoute | None = None


def _jwt_route_of(raw: bytes, i: int, kid: str, t: TokenFields) -> _JwtRoute | None:
    """The route of the token ``t`` just verified from ``raw`` through ``_jwt_fast``, when
    that read it on the holder route (no aud; the holder's characters known) with the last
    license tail; ``None`` otherwise."""
    tail = _jwt_last_tail
    cnf = _jwt_last_cnf
    if t.aud or tail is None or cnf is None or t.license is not tail[0].license:
        return None
    if cnf[1] is not t.holder or not raw.startswith(cnf[0], i + 1):
        return None
    return _JwtRoute(raw, i, kid, t, tail[0])


def _jwt_template(
    raw: bytes, route: _JwtRoute, trust: Trust, now: int, leeway: int
) -> VerifiedToken | None:
    """The verified token of a JWT that starts with ``route.header`` and whose payload is
    the route's holder characters, the base64url of the rest of a head of the shape of
    ``_JWT_REST``, and the license tail's encoding, with an 86-character signature: what
    ``_jwt_fast`` reads on its holder route, with the same checks. ``None`` for any other
    token (the caller takes the full route); raises when the key is not trusted, the
    signature is not valid or the time is outside the token's window."""
    i = route.i
    j = len(raw) - 87
    if not raw.startswith(route.cnf_b64, i + 1) or raw[j] != 46:  # (then j > i + 1)
        return None
    got = route.tails.get(raw[j - _SUFFIX : j])
    if got is None:
        return None
    enc, r = got
    start = j - len(enc)
    s = raw[j + 1 :]
    if not raw.endswith(enc, 0, j) or s[85] not in _SIG_TAIL:
        return None
    try:  # see _URL_TO_STRICT; the head's base64 starts after the holder's 124 characters
        sig = binascii.a2b_base64(s.translate(_URL_TO_STRICT) + b"==", strict_mode=True)
        text = binascii.a2b_base64(
            raw[i + 1 + _CNF_B64 : start].translate(_URL_TO_STRICT), strict_mode=True
        ).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    m = _JWT_REST[r].fullmatch(text)
    if m is None:
        return None
    exp, iat, iss, jti, nbf, sub = m.groups()
    nbf_i, exp_i, iat_i = int(nbf), int(exp), int(iat)
    if exp_i <= nbf_i:
        return None
    trust.lookup(route.kid, ROLE_ISSUER, now).verify(sig, raw, j)  # over raw[:j], not copied
    t = _object_new(VerifiedToken)  # = _construct(...), inline
    _object_setattr(t, "__dict__", {
        "format": "jwt", "raw": raw, "kid": route.kid, "iss": iss, "sub": sub, "aud": (),
        "iat": iat_i, "nbf": nbf_i, "exp": exp_i, "jti": jti, "holder": route.holder,
        "license": route.license,
    })  # fmt: skip
    if nbf_i > now + leeway or exp_i + leeway <= now or iat_i > now + leeway:
        _check_time(t, now, leeway)  # raises, with the reason
    return t


def _jwt_fields(token: bytes, p: bytes, kid: str) -> dict[str, Any]:
    claims = _jwt_claims_b64(p)
    if not isinstance(claims, dict):
        raise MalformedError("JWT claims: must be a JSON object")
    extra = claims.keys() - _JWT_CLAIMS
    if extra:
        raise MalformedError(f"JWT claims: unexpected claim(s) {sorted(extra)}")
    for name in _JWT_REQUIRED:
        if name not in claims:
            raise MalformedError(f"JWT claims: missing required claim {name!r}")
    cnf = claims["cnf"]
    if not isinstance(cnf, dict) or set(cnf) != {"jwk"}:
        raise MalformedError("claim cnf: must be {'jwk': <OKP Ed25519 JWK>}")
    jti = claims["jti"]
    _str_claim(jti, "jti")
    return {
        "format": "jwt", "raw": token, "kid": kid,
        "iss": claims["iss"], "sub": claims["sub"], "aud": claims.get("aud"),
        "iat": claims["iat"], "nbf": claims["nbf"], "exp": claims["exp"], "jti": jti,
        "holder": _holder_jwk(cnf["jwk"]), "lic": claims["lic"],
    }  # fmt: skip


def _cwt_fields(token: bytes, payload: bytes, kid: str) -> dict[str, Any]:
    fast = _cwt_fast.claims_head(payload) if len(payload) <= MAX_TOKEN_SIZE else None
    lic_raw: bytes | None
    if fast is not None:
        claims, lic_raw = fast
    else:
        claims, lic_raw = cbor.decode_map_split(payload, max_size=MAX_TOKEN_SIZE, last_key=C_LIC)
    if lic_raw is not None:
        claims[C_LIC] = _cached_license(
            lic_raw, lambda b: cbor.decode(b, max_size=MAX_TOKEN_SIZE, depth=1), _CBOR_LIC_CACHE
        )
    extra = claims.keys() - _CWT_KEYS
    if extra:
        raise MalformedError(f"CWT claims: unexpected claim key(s) {sorted(map(str, extra))}")
    for label in _CWT_REQUIRED:
        if label not in claims:
            raise MalformedError(f"CWT claims: missing required claim {_CWT_NAMES[label]!r}")
    cti = claims[C_CTI]
    if not isinstance(cti, bytes) or not 1 <= len(cti) <= 64:
        raise MalformedError("claim cti: must be 1 to 64 bytes")
    cnf = claims[C_CNF]
    if not isinstance(cnf, dict) or set(cnf) != {1}:
        raise MalformedError("claim cnf: must be {1: COSE_Key}")
    ck = cnf[1]
    if not isinstance(ck, dict) or set(ck) != {1, -1, -2} or ck[1] != 1 or ck[-1] != 6:
        raise MalformedError(
            "claim cnf: COSE_Key must be exactly {1: 1 (OKP), -1: 6 (Ed25519), -2: x}"
        )
    if not isinstance(ck[-2], bytes):
        raise MalformedError("claim cnf: COSE_Key x must be a byte string")
    return {
        "format": "cwt", "raw": token, "kid": kid,
        "iss": claims[C_ISS], "sub": claims[C_SUB], "aud": claims.get(C_AUD),
        "iat": claims[C_IAT], "nbf": claims[C_NBF], "exp": claims[C_EXP],
        "jti": b64url_encode(cti), "holder": _holder_key(ck[-2]), "lic": claims[C_LIC],
    }  # fmt: skip


def _cwt_token_fast(cls: type[TokenFields], token: bytes, payload: bytes, kid: str) -> Any:
    """The token of a CWT whose claims have the common shape (``_cwt_fast.claims_quick``),
    every claim check passed; ``None`` for anything else, including any check that fails
    (the caller then takes ``_cwt_fields``, which explains). Tested against it by mutation."""
    got = _cwt_fast.claims_quick(payload)
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
    # the license: by its last bytes, then exactly (no hash of the whole claim per token)
    known = _CBOR_TAILS.get(payload[-32:])
    if known is not None and len(payload) - len(known[0]) == lic_at and payload.endswith(known[0]):
        license = known[1]
    else:
        lic_raw = payload[lic_at:]
        try:
            license = _cached_license(
                lic_raw, lambda b: cbor.decode(b, max_size=MAX_TOKEN_SIZE, depth=1), _CBOR_LIC_CACHE
            )
        except MalformedError:
            return None
        if len(lic_raw) <= _LIC_CACHE_MAX_ITEM:
            if len(_CBOR_TAILS) >= _LIC_CACHE_CAP:
                _CBOR_TAILS.clear()
            _CBOR_TAILS[lic_raw[-32:]] = (lic_raw, license)
    holder = _KEY_CACHE.get(x)
    if holder is None:
        try:
            holder = _holder_key(x)
        except MalformedError:
            return None
    jti = binascii.b2a_base64(cti, newline=False).translate(_STD_TO_URL).rstrip(b"=").decode()
    return _construct(cls, "cwt", token, kid, iss_s, sub_s, auds, iat, nbf, exp, jti, holder,
               license)  # fmt: skip


_CBOR_TAILS: dict[bytes, tuple[bytes, License]] = {}

# Protected headers accepted before (see _check_cose_headers) -> (kid, the Sig_structure's
# bytes up to the payload's head).
_COSE_FAST: dict[bytes, tuple[str, bytes]] = {}


class _CwtRoute:
    """The segments of the last CWT verified through the fast route that one issuer's tokens
    for one holder and license share, each with its parse: verify() compares them in place
    and parses only what lies between them (``_cwt_template``).

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
        self.holder_seg = b"\x08" + _cwt_fast.CNF_PREFIX + t.holder.raw + _cwt_fast.LIC_KEY
        self.lic_sig = b""

    @classmethod
    def of(cls, raw: bytes, at: int, kid: str, tbs_head: bytes, t: TokenFields) -> _CwtRoute | None:
        """The route of the token ``t`` just verified from ``raw`` (``raw[at:]`` its payload's
        head), or ``None`` when it has another shape (aud, an iss of 24 bytes or more)."""
        if t.aud or raw[at] != 0x59 or len(t.iss.encode()) >= 24:
            return None
        payload = raw[at + 3 : -66]
        got = _cwt_fast.claims_quick(payload)
        if got is None:
            return None
        lic_at = got[-1]  # where the license's bytes begin, after the key "lic"
        route = cls(raw, at, kid, tbs_head, t)
        seg = route.holder_seg
        if not payload.startswith(route.iss_seg):
            return None
        if payload[lic_at - len(seg) : lic_at] != seg:
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


_cwt_route: _CwtRoute | None = None
# 04 1a exp, 05 1a nbf, 06 1a iat (each 4 bytes: values from 2**16 in shortest form), key 07
# and the head of cti
_DATES_CTI = struct.Struct(">HIHIHIBB")
_BSTR16 = struct.Struct(">BH")  # a byte string's head with a 2-byte length


def _cwt_template(
    raw: bytes, route: _CwtRoute, trust: Trust, now: int, leeway: int
) -> VerifiedToken | None:
    """The verified token of a CWT that starts with ``route.prefix`` and whose payload is
    ``route.iss_seg``, a sub of 1 to 23 bytes, the three dates, a cti of 1 to 23 bytes,
    ``route.holder_seg`` and the license's bytes, in deterministic CBOR with every head in
    shortest form: exactly what the strict decoder reads with these values. ``None`` for any
    other token (the caller takes the full route); raises when the key is not trusted, the
    signature is not valid or the time is outside the token's window."""
    at = route.at
    n = len(raw) - at - 69  # the payload's length, if the signature is 58 40 + 64 bytes
    if n < 0x100:
        return None
    head, length = _BSTR16.unpack_from(raw, at)
    if head != 0x59 or length != n or not raw.startswith(route.iss_seg, at + 3):
        return None
    pos = at + 3 + len(route.iss_seg)
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
    if not raw.startswith(route.holder_seg, pos):
        return None
    pos += len(route.holder_seg)
    # the license's bytes, then the signature's head 58 40, then the 64 bytes of the signature
    if pos + len(route.lic_sig) != len(raw) - 64 or not raw.startswith(route.lic_sig, pos):
        return None
    try:
        sub_s = sub.decode()
    except UnicodeDecodeError:
        return None
    trust.lookup(route.kid, ROLE_ISSUER, now).verify(raw[-64:], route.tbs_head + raw[at:-66])
    t = _object_new(VerifiedToken)  # = _construct(...), inline
    _object_setattr(t, "__dict__", {
        "format": "cwt", "raw": raw, "kid": route.kid, "iss": route.iss, "sub": sub_s,
        "aud": (), "iat": iat, "nbf": nbf, "exp": exp,
        "jti": binascii.b2a_base64(cti, newline=False).translate(_STD_TO_URL).rstrip(b"=").decode(),
        "holder": route.holder, "license": route.license,
    })  # fmt: skip
    if nbf > now + leeway or exp + leeway <= now or iat > now + leeway:
        _check_time(t, now, leeway)  # raises, with the reason
    return t


_KEY_CACHE: dict[bytes, PublicKey] = {}
_KEY_CACHE_CAP = 4096


def _holder_key(raw: bytes) -> PublicKey:
    """Holder keys, validated once per distinct key (validation costs milliseconds in Python)."""
    key = _KEY_CACHE.get(raw)
    if key is None:
        key = PublicKey.from_raw(raw)
        if len(_KEY_CACHE) >= _KEY_CACHE_CAP:
            _KEY_CACHE.clear()
        _KEY_CACHE[raw] = key
    return key


def _holder_jwk(jwk: Any) -> PublicKey:
    if not isinstance(jwk, dict) or set(jwk) - {"kid"} != {"kty", "crv", "x"}:
        return PublicKey.from_jwk(jwk)  # the full parser, for its precise error
    if jwk["kty"] != "OKP" or jwk["crv"] != "Ed25519" or not isinstance(jwk["x"], str):
        return PublicKey.from_jwk(jwk)
    key = _holder_key(_b64url(jwk["x"].encode("ascii", "replace"), "JWK x"))
    if "kid" in jwk and jwk["kid"] != key.thumbprint:
        raise MalformedError("JWK: kid does not equal the key's RFC 7638 thumbprint")
    return key


def _build(cls: type[TokenFields], f: dict[str, Any]) -> Any:
    nbf, exp = _int_claim(f["nbf"], "nbf"), _int_claim(f["exp"], "exp")
    if exp <= nbf:
        raise MalformedError("claims: exp must be after nbf")
    return cls(
        f["format"], f["raw"], f["kid"], _str_claim(f["iss"], "iss"), _str_claim(f["sub"], "sub"),
        _aud(f["aud"]), _int_claim(f["iat"], "iat"), nbf, exp, f["jti"], f["holder"],
        f["lic"] if isinstance(f["lic"], License) else _license_from_claim(f["lic"]),
    )  # fmt: skip


def _license_from_claim(value: Any) -> License:
    return License.from_mapping(value, known_codes=False)


def decode_unverified(token: bytes | str) -> UnverifiedToken:
    """Decode strictly WITHOUT verifying signature, issuer or time (to read kid/iss/sub/cnf)."""
    raw = _as_bytes(token)
    if _format_of(raw) == "cwt":
        msg = _cwt_fast.parse_sign1(raw, MAX_TOKEN_SIZE)
        kid = _check_cose_headers(msg)
        fields = _cwt_fields(raw, msg.payload, kid)
    else:
        _h, p, _s, kid = _split_jwt(raw)
        fields = _jwt_fields(raw, p, kid)
    result: UnverifiedToken = _build(UnverifiedToken, fields)
    return result


def _check_time(t: TokenFields, now: int, leeway: int) -> None:
    if t.nbf > now + leeway:
        raise ExpiredError(f"token not valid before {t.nbf} (now {now})")
    if t.exp + leeway <= now:
        raise ExpiredError(f"token expired at {t.exp} (now {now})")
    if t.iat > now + leeway:
        raise ExpiredError(f"token issued in the future ({t.iat}, now {now})")


def _check_leeway(now: int, leeway: int) -> None:
    if type(now) is not int or type(leeway) is not int or not 0 <= leeway <= MAX_LEEWAY:
        raise MalformedError(f"now must be an integer and leeway 0 to {MAX_LEEWAY} seconds")


class _OneKey:
    """A ``Trust`` of one key: the signer ``verify_with_key`` expects, whatever the role."""

    __slots__ = ("key", "kid")

    def __init__(self, key: PublicKey, kid: str) -> None:
        self.key = key
        self.kid = kid

    def lookup(self, kid: str, role: str, now: int) -> PublicKey:
        if kid != self.kid:
            raise UntrustedKeyError(f"token kid {kid!r} is not the expected signer")
        return self.key


def verify_with_key(
    token: bytes | str,
    key: PublicKey,
    *,
    kid: str | None = None,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
) -> VerifiedToken:
    """Verify against one given key (a sublicense link against its parent's holder key)."""
    _check_leeway(now, leeway)
    return verify(_as_bytes(token), _OneKey(key, kid or key.thumbprint), now=now, leeway=leeway)


def verify(
    token: bytes | str, trust: Trust, *, now: int, leeway: int = DEFAULT_LEEWAY
) -> VerifiedToken:
    """Verify a token issued by a key the trust store holds with the issuer role, at ``now``.

    Raises MalformedError, InvalidSignatureError, UntrustedKeyError or ExpiredError; returns
    the verified token (its ``license`` is ready for ``evaluate``). ``trust.lookup(kid, role,
    now)`` gives the signer's key or raises.
    """
    if type(now) is not int or leeway is not DEFAULT_LEEWAY:  # (identity: 60.0 is checked)
        _check_leeway(now, leeway)
    raw = token if type(token) is bytes and 0 < len(token) <= MAX_TOKEN_SIZE else _as_bytes(token)
    result: VerifiedToken | None
    if raw[0] == 0xD2:
        global _cwt_route
        route = _cwt_route
        if route is not None and raw.startswith(route.prefix):
            result = _cwt_template(raw, route, trust, now, leeway)
            if result is not None:
                return result
        # Fast route: the exact shape 18([protected, {}, payload, sig64]) with a protected
        # header checked before (the same checks as below, done once per header bytes).
        parts = _cwt_fast.sign1(raw)
        known = _COSE_FAST.get(parts[0]) if parts is not None else None
        if parts is not None and known is not None:
            _protected, payload, sig, at = parts
            kid, tbs_head = known
            # the Sig_structure: its head, then the payload as raw holds it (shortest form)
            trust.lookup(kid, ROLE_ISSUER, now).verify(sig, tbs_head + raw[at:-66])
            result = _cwt_token_fast(VerifiedToken, raw, payload, kid)
            if result is None:
                result = _build(VerifiedToken, _cwt_fields(raw, payload, kid))
            elif route is None or not route.shared_with(raw, result):
                _cwt_route = _CwtRoute.of(raw, at, kid, tbs_head, result) or route
            if result.nbf > now + leeway or result.exp + leeway <= now or result.iat > now + leeway:
                _check_time(result, now, leeway)  # raises, with the reason
            return result
        msg = _cwt_fast.parse_sign1(raw, MAX_TOKEN_SIZE)
        kid = _check_cose_headers(msg)
        key: PublicKey = trust.lookup(kid, ROLE_ISSUER, now)
        cose.verify_sign1(msg, key)
        fields = _cwt_fields(raw, msg.payload, kid)
        if not msg.unprotected and msg.protected.get(cose.HDR_ALG) == cose.ALG_EDDSA:
            if len(_COSE_FAST) >= _HEADER_CACHE_CAP:
                _COSE_FAST.clear()
            pb = msg.protected_bytes
            head = b"\x84\x6aSignature1" + cbor.encode_bstr_head(len(pb)) + pb + b"\x40"
            _COSE_FAST[pb] = (kid, head)
    else:
        # One issuer key writes one header: the last header seen is compared in place (no
        # slice to hash), and the last dot is where the signature's 86 characters begin.
        # No other dot is looked for: the strict decoders refuse one in the signature or in
        # the head of the payload, and the payload's tail must equal a known encoding. When
        # the token is refused, _split_jwt says first whether it has three parts.
        global _jwt_last, _jwt_route
        jroute = _jwt_route
        if jroute is not None and raw.startswith(jroute.header):
            result = _jwt_template(raw, jroute, trust, now, leeway)
            if result is not None:
                return result
        header, i, kid = _jwt_last
        j = len(raw) - 87
        if not (j > i and raw[j] == 46 and raw.startswith(header)):
            # the two dots, and no third: the header cached by its exact bytes, the payload
            # and the signature used in place (``_split_jwt`` gives the same parts and errors)
            i = raw.find(b".")
            j = raw.find(b".", i + 1)
            known_kid = (
                _HEADER_CACHE.get(raw[:i])
                if i > 0 and j > 0 and raw.find(b".", j + 1) < 0
                else None
            )
            if known_kid is None:
                h, p, _s, kid = _split_jwt(raw)  # checks the header (or raises)
                i, j = len(h), len(h) + 1 + len(p)
            else:
                kid = known_kid
            _jwt_last = (raw[: i + 1], i, kid)
        key = trust.lookup(kid, ROLE_ISSUER, now)
        s = raw[j + 1 :]
        try:  # = _b64url, inline: see _URL_TO_STRICT; 86 characters end in a canonical one
            if len(s) != 86 or s[85] not in _SIG_TAIL:
                raise binascii.Error
            sig = binascii.a2b_base64(s.translate(_URL_TO_STRICT) + b"==", strict_mode=True)
        except binascii.Error:
            _split_jwt(raw)  # raises for a token of more than three parts
            sig = _b64url(s, "JWT signature")  # raises, with the reason
        try:
            key.verify(sig, raw, j)  # over raw[:j], not copied
        except InvalidSignatureError:
            _split_jwt(raw)  # raises for a token of more than three parts
            raise
        result = _jwt_fast(VerifiedToken, raw, i, j, kid)
        if result is None:
            _split_jwt(raw)  # raises for a token of more than three parts
            result = _build(VerifiedToken, _jwt_fields(raw, raw[i + 1 : j], kid))
        elif jroute is None or not jroute.shared_with(raw, result):
            _jwt_route = _jwt_route_of(raw, i, kid, result) or jroute
        if result.nbf > now + leeway or result.exp + leeway <= now or result.iat > now + leeway:
            _check_time(result, now, leeway)  # raises, with the reason
        return result
    built: VerifiedToken = _build(VerifiedToken, fields)
    _check_time(built, now, leeway)
    return built
