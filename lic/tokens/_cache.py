"""The fast readers' memo: one bounded cache type, one cache object, ``CACHE.reset()``.

What it holds is derived from bytes the strict checks accepted (an issuer's header and its
kid, a license claim's bytes and their ``License``, a holder key's bytes and the validated
key, and for CWT the segments one issuer's tokens share, with their reading: a ``Route``),
keyed by those exact bytes. A hit therefore gives what the strict check would give for
the same bytes: the memo changes how fast a result comes, never which result. The strict
readers (``_jwt``, ``_cwt``) never read it. ``reset()`` empties it (tests use that to start
cold).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from keys import PublicKey, b64url_encode

from .._model import License

K = TypeVar("K")
V = TypeVar("V")


class Bounded(dict[K, V], Generic[K, V]):
    """A dict of at most ``cap`` entries: when full, ``put`` empties it first. (Verifiers meet
    few distinct issuers' headers, licenses and holders; emptying is cheaper than tracking
    recency, and a miss costs one strict check.)"""

    __slots__ = ("cap",)

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (emptying the cache first when it is full)."""
        if len(self) >= self.cap:
            self.clear()
        self[key] = value
        return value


class JwtTail:
    """A license's JWT claims tail ``,"lic":<license>}`` and its base64url for each of the
    three alignments the tail can have in a payload: for alignment r (the bytes before the
    tail, mod 3), the tail's first (3 - r) % 3 bytes share a base64 group with the head; the
    rest is encoded on its own (``encoded[r]``)."""

    __slots__ = ("encoded", "license", "raw")

    def __init__(self, raw: bytes, license: License) -> None:
        self.raw = raw
        self.license = license
        self.encoded = tuple(b64url_encode(raw[(3 - r) % 3 :]).encode() for r in range(3))


class TokenCache:
    """Every memo the fast readers keep, by what it maps from (see the module docstring)."""

    def __init__(self) -> None:
        # JWT: a header's base64url bytes -> its kid (the header checked strictly once)
        self.jwt_headers: Bounded[bytes, str] = Bounded(256)
        # JWT: a license tail's last 16 base64url characters -> (tail, alignment) candidates
        self.jwt_tails: Bounded[bytes, list[tuple[JwtTail, int]]] = Bounded(512)
        # JWT: a holder's first 124 base64url characters of the claims -> the holder key
        self.jwt_holders: Bounded[bytes, PublicKey] = Bounded(4096)
        # JWT: a JWK's x -> the validated holder key
        self.jwk_x: Bounded[str, PublicKey] = Bounded(4096)
        # CWT: protected header bytes -> (kid, the Sig_structure's bytes before the payload)
        self.cose_headers: Bounded[bytes, tuple[str, bytes]] = Bounded(256)
        # CWT: a license claim's last 32 bytes -> (the claim's bytes, its License)
        self.cbor_licenses: Bounded[bytes, tuple[bytes, License]] = Bounded(512)
        # CWT: the bytes before a payload -> the route of the last token read with them
        self.cwt_routes: Bounded[bytes, Any] = Bounded(256)
        # both: a holder key's 32 bytes -> the validated key
        self.holder_keys: Bounded[bytes, PublicKey] = Bounded(4096)

    def reset(self) -> None:
        """Empty every memo (the next token of each kind is read through the strict checks)."""
        for value in vars(self).values():
            value.clear()


CACHE = TokenCache()
