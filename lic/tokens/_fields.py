"""Token types, limits, base64url, and the claim, time and input checks both formats share."""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from keys import PublicKey, time_text
from keys.errors import ExpiredError, MalformedError, UntrustedKeyError

from .._model import MAX_INT, License

TokenFormat = Literal["jwt", "cwt"]
MAX_TOKEN_SIZE = 64 * 1024
MAX_TOKEN_JSON_DEPTH = 8
DEFAULT_LEEWAY = 60
MAX_LEEWAY = 300
JWT_TYP = "lic+jwt"
CWT_TYP = "application/lic+cwt"
ROLE_ISSUER = "issuer"


class Trust(Protocol):
    """What verification needs of a trust store (``keys.TrustStore`` provides it)."""

    def lookup(self, kid: str, role: str, now: int) -> PublicKey:
        """The key of ``kid`` trusted for ``role`` at ``now``; raise UntrustedKeyError otherwise."""


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
        """SHA-256 of the token's bytes (``token_digest``)."""
        return token_digest(self.raw)

    def describe(self) -> dict[str, Any]:
        """The fields as JSON-ready values (the holder as its thumbprint, the license as its
        claim)."""
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


_object_new = object.__new__
_object_setattr = object.__setattr__


def construct(
    cls: type[TokenFields], format: TokenFormat, raw: bytes, kid: str, iss: str, sub: str,
    aud: tuple[str, ...], iat: int, nbf: int, exp: int, jti: str, holder: PublicKey,
    license: License,
) -> Any:  # fmt: skip
    """``cls(...)`` for values already checked, in fewer steps: the frozen dataclass's
    ``__init__`` stores each field through ``object.__setattr__``; this gives the instance its
    attribute dict whole. The result is the same value."""
    t = _object_new(cls)
    _object_setattr(t, "__dict__", {
        "format": format, "raw": raw, "kid": kid, "iss": iss, "sub": sub, "aud": aud, "iat": iat,
        "nbf": nbf, "exp": exp, "jti": jti, "holder": holder, "license": license,
    })  # fmt: skip
    return t


# --- input -----------------------------------------------------------------------------------


def token_bytes(token: bytes | str) -> bytes:
    """The token's bytes, within the size cap (a JWT may come as ASCII text)."""
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


def is_cwt(token: bytes) -> bool:
    """Whether the token is a CWT: it begins with tag 18 (COSE_Sign1), 0xd2; else a JWT."""
    return token[0] == 0xD2


def check_leeway(now: int, leeway: int) -> None:
    """``now`` an integer, ``leeway`` an integer of 0 to ``MAX_LEEWAY`` seconds."""
    if type(now) is not int or type(leeway) is not int or not 0 <= leeway <= MAX_LEEWAY:
        raise MalformedError(f"now must be an integer and leeway 0 to {MAX_LEEWAY} seconds")


# --- base64url ---------------------------------------------------------------------------------

B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Allowed last characters of a canonical encoding, by length mod 4 (unused bits zero).
B64URL_TAIL = {
    2: frozenset(B64URL_ALPHABET[i] for i in range(0, 64, 16)),
    3: frozenset(B64URL_ALPHABET[i] for i in range(0, 64, 4)),
}
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
# base64url's "-" and "_" to the standard alphabet's "+" and "/", and the standard alphabet's
# own "+", "/" and "=" to "!", which no decoder takes: the strict standard decoder then takes
# the translated data exactly when it was unpadded base64url of a whole number of groups
URL_TO_STRICT = bytes.maketrans(b"-_+/=", b"+/!!!")
STD_TO_URL = bytes.maketrans(b"+/", b"-_")
SIG_TAIL = B64URL_TAIL[2]  # a 64-byte signature is 86 characters
_PAD = (b"", b"", b"==", b"=")


def b64url(data: bytes, what: str) -> bytes:
    """Same acceptance and errors as ``keys.b64url_decode`` (tested), in fewer steps: the
    alphabet is checked first, so the standard decoder sees only its own alphabet."""
    rest = len(data) % 4
    if rest == 1 or data.translate(None, B64URL_ALPHABET):
        raise MalformedError(f"{what}: not unpadded base64url")
    if rest and data[-1] not in B64URL_TAIL[rest]:
        raise MalformedError(f"{what}: non-canonical base64url")
    return binascii.a2b_base64(data.translate(_URL_TO_STD) + _PAD[rest])


def b64url_fast(data: bytes) -> bytes:
    """``b64url`` for data whose length is 0 mod 4, raising binascii.Error instead (the fast
    readers inline it): see ``URL_TO_STRICT``; the strict decoder refuses a length that is
    not 0 mod 4 without padding."""
    return binascii.a2b_base64(data.translate(URL_TO_STRICT), strict_mode=True)


def b64url_encode_fast(data: bytes) -> str:
    """``keys.b64url_encode``, in fewer steps."""
    return binascii.b2a_base64(data, newline=False).translate(STD_TO_URL).rstrip(b"=").decode()


# --- claims --------------------------------------------------------------------------------


def int_claim(v: Any, name: str) -> int:
    """A NumericDate: an int (not a bool or float) from 0 to 2**53 - 1."""
    if type(v) is not int or not 0 <= v <= MAX_INT:
        raise MalformedError(f"claim {name}: must be an integer NumericDate")
    return v


def str_claim(v: Any, name: str) -> str:
    """A non-empty string of at most 1024 characters."""
    if type(v) is not str or not v or len(v) > 1024:
        raise MalformedError(f"claim {name}: must be a non-empty string")
    return v


def aud_claim(v: Any) -> tuple[str, ...]:
    """``aud``: absent, one string, or a non-empty array of at most 64 strings."""
    if v is None:
        return ()
    if isinstance(v, str):
        return (str_claim(v, "aud"),)
    if isinstance(v, list) and v and len(v) <= 64:
        return tuple(str_claim(a, "aud") for a in v)
    raise MalformedError("claim aud: must be a string or a non-empty array of strings")


def build(cls: type[TokenFields], f: dict[str, Any]) -> Any:
    """The token of the fields a strict reader gathered, after the claim checks."""
    nbf, exp = int_claim(f["nbf"], "nbf"), int_claim(f["exp"], "exp")
    if exp <= nbf:
        raise MalformedError("claims: exp must be after nbf")
    lic = f["lic"]
    return cls(
        f["format"], f["raw"], f["kid"], str_claim(f["iss"], "iss"), str_claim(f["sub"], "sub"),
        aud_claim(f["aud"]), int_claim(f["iat"], "iat"), nbf, exp, f["jti"], f["holder"],
        lic if isinstance(lic, License) else License.from_mapping(lic, known_codes=False),
    )  # fmt: skip


def check_time(t: TokenFields, now: int, leeway: int) -> None:
    """Raise ExpiredError unless ``now`` lies in the token's window, give or take ``leeway``."""
    if t.nbf > now + leeway:
        raise ExpiredError(f"token not valid before {time_text(t.nbf)} (now {time_text(now)})")
    if t.exp + leeway <= now:
        raise ExpiredError(f"token expired at {time_text(t.exp)} (now {time_text(now)})")
    if t.iat > now + leeway:
        raise ExpiredError(f"token issued in the future ({time_text(t.iat)}, now {time_text(now)})")


class OneKey:
    """A ``Trust`` of one key: the signer ``verify_with_key`` expects, whatever the role."""

    __slots__ = ("key", "kid")

    def __init__(self, key: PublicKey, kid: str) -> None:
        self.key = key
        self.kid = kid

    def lookup(self, kid: str, role: str, now: int) -> PublicKey:
        """The key, when ``kid`` is the expected signer's."""
        if kid != self.kid:
            raise UntrustedKeyError(f"token kid {kid!r} is not the expected signer")
        return self.key
