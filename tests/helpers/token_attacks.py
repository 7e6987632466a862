# ruff: noqa: E501  (one attack per line reads best as a table)
"""Builders of the attack tokens in tests/regressions/ (one file per attack, named after it).

Every attack token is signed by a real key so that it fails for exactly the reason in its
name. ``python tests/helpers/token_attacks.py`` rewrites the files; a test regenerates and compares them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers.*
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the product

from helpers.licenses import HOLDER, ISSUER, NOW, OTHER, issue
from helpers.paths import REGRESSIONS
from keys import (
    SMALL_ORDER_ENCODINGS,
    ExpiredError,
    InvalidSignatureError,
    MalformedError,
    SigningKey,
    UntrustedKeyError,
    b64url_decode,
    b64url_encode,
)
from lic import cbor

L = 2**252 + 27742317777372353535851937790883648493
SMALL = sorted(SMALL_ORDER_ENCODINGS)[1]


def J(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def b64(b: bytes) -> bytes:
    return b64url_encode(b).encode()


def jws(header: bytes, payload: bytes, key: SigningKey = ISSUER, sig: bytes | None = None) -> bytes:
    h, p = b64(header), b64(payload)
    s = key.sign(h + b"." + p) if sig is None else sig
    return h + b"." + p + b"." + b64(s)


def header(key: SigningKey = ISSUER, **over: Any) -> dict[str, Any]:
    h = {"alg": "EdDSA", "kid": key.public_key.thumbprint, "typ": "lic+jwt"}
    h.update(over)
    return {k: v for k, v in h.items() if v is not None}


def claims(**over: Any) -> dict[str, Any]:
    c = json.loads(b64url_decode(issue("jwt").split(b".")[1]))
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def jwt(h: dict[str, Any] | None = None, c: dict[str, Any] | None = None, **kw: Any) -> bytes:
    return jws(J(h or header()), J(c or claims()), **kw)


def replace_member(text: bytes, name: str, raw_value: str) -> bytes:
    """Swap a numeric member's JSON text for raw text (for NaN, floats and the like)."""
    obj = json.loads(text)
    marker = "__X__"
    obj[name] = marker
    return J(obj).replace(f'"{marker}"'.encode(), raw_value.encode())


def s_plus_l(sig: bytes) -> bytes:
    s = int.from_bytes(sig[32:], "little") + L
    return sig[:32] + s.to_bytes(32, "little")


# --- CWT -----------------------------------------------------------------------------------


def bstr(b: bytes) -> bytes:
    return cbor.encode(b)


def protected(key: SigningKey = ISSUER, **over: Any) -> dict[Any, Any]:
    p: dict[Any, Any] = {
        1: -8,
        4: b64url_decode(key.public_key.thumbprint),
        16: "application/lic+cwt",
    }
    for k, v in over.items():
        label = int(k.removeprefix("l").replace("m", "-"))
        if v is None:
            p.pop(label, None)
        else:
            p[label] = v
    return p


def cwt_claims() -> dict[Any, Any]:
    tok = issue("cwt")
    return cbor.decode(
        cbor.decode(tok, max_size=1 << 16, tags=frozenset({18})).value[2], max_size=1 << 16
    )


def sign1_raw(pbytes: bytes, unprot: bytes, payload: bytes, key: SigningKey = ISSUER,
              sig: bytes | None = None, tag: bytes = b"\xd2") -> bytes:  # fmt: skip
    tbs = cbor.encode(["Signature1", pbytes, b"", payload])
    s = key.sign(tbs) if sig is None else sig
    return tag + b"\x84" + bstr(pbytes) + unprot + bstr(payload) + bstr(s)


def cwt(p: dict[Any, Any] | None = None, c: dict[Any, Any] | None = None, *,
        payload: bytes | None = None, unprot: dict[Any, Any] | None = None, **kw: Any) -> bytes:  # fmt: skip
    body = payload if payload is not None else cbor.encode(c if c is not None else cwt_claims())
    return sign1_raw(cbor.encode(p or protected()), cbor.encode(unprot or {}), body, **kw)


def cwt_with(**over: Any) -> bytes:
    c = cwt_claims()
    for k, v in over.items():
        label: Any = "lic" if k == "lic" else int(k.removeprefix("c"))
        if v is None:
            c.pop(label)
        else:
            c[label] = v
    return cwt(c=c)


def head(major: int, n: int, size: int) -> bytes:
    """A CBOR head with a deliberately chosen (possibly non-shortest) argument size."""
    ai = {1: 24, 2: 25, 4: 26, 8: 27}[size]
    return bytes([major << 5 | ai]) + n.to_bytes(size, "big")


def claims_map_bytes(items: list[tuple[bytes, bytes]], indefinite: bool = False) -> bytes:
    if indefinite:
        return b"\xbf" + b"".join(k + v for k, v in items) + b"\xff"
    return bytes([0xA0 | len(items)]) + b"".join(k + v for k, v in items)


def claim_items(c: dict[Any, Any] | None = None) -> list[tuple[bytes, bytes]]:
    c = c or cwt_claims()
    items = [(cbor.encode(k), cbor.encode(v)) for k, v in c.items()]
    return sorted(items)


def with_item(label: Any, raw_value: bytes) -> list[tuple[bytes, bytes]]:
    k = cbor.encode(label)
    return [(kk, raw_value if kk == k else vv) for kk, vv in claim_items()]


def deep(n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = [v]
    return v


# --- the table -----------------------------------------------------------------------------

E = type[Exception]
Attack = tuple[Callable[[], bytes], E, str]


def _good_jwt() -> bytes:
    return issue("jwt")


def _good_cwt() -> bytes:
    return issue("cwt")


def _jwt_sig_s_plus_l() -> bytes:
    h, p, s = _good_jwt().split(b".")
    return h + b"." + p + b"." + b64(s_plus_l(b64url_decode(s)))


def _cwt_sig_s_plus_l() -> bytes:
    tok = _good_cwt()
    return tok[:-32] + s_plus_l(tok[-64:])[32:]


def _hs256() -> bytes:
    h, p = b64(J(header(alg="HS256"))), b64(J(claims()))
    secret = ISSUER.public_key.pem()
    return h + b"." + p + b"." + b64(hmac.new(secret, h + b"." + p, hashlib.sha256).digest())


def _small_order_jwk() -> dict[str, Any]:
    return {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(SMALL)}}


ATTACKS: dict[str, Attack] = {
    # algorithm confusion
    "alg-none.jwt": (lambda: b64(J(header(alg="none"))) + b"." + b64(J(claims())) + b".", InvalidSignatureError, "alg"),
    "alg-None-capitalised.jwt": (lambda: jwt(header(alg="None")), InvalidSignatureError, "alg"),
    "alg-hs256-public-key-as-secret.jwt": (_hs256, InvalidSignatureError, "alg"),
    "alg-es256.jwt": (lambda: jwt(header(alg="ES256")), InvalidSignatureError, "alg"),
    "alg-ed25519-not-eddsa.jwt": (lambda: jwt(header(alg="Ed25519")), InvalidSignatureError, "alg"),
    "alg-missing.jwt": (lambda: jwt(header(alg=None)), InvalidSignatureError, "alg"),
    # who signed
    "kid-unknown.jwt": (lambda: jwt(header(HOLDER), key=HOLDER), UntrustedKeyError, "trust"),
    "kid-without-issuer-role.jwt": (lambda: jwt(header(OTHER), key=OTHER), UntrustedKeyError, "trust"),
    "kid-missing.jwt": (lambda: jwt(header(kid=None)), MalformedError, "kid"),
    "kid-of-issuer-signed-by-other.jwt": (lambda: jwt(header(), key=OTHER), InvalidSignatureError, "invalid"),
    "header-jwk-embedded-key.jwt": (lambda: jwt(header(HOLDER, jwk=HOLDER.public_key.jwk()), key=HOLDER), UntrustedKeyError, "jwk"),
    "header-jku.jwt": (lambda: jwt(header(jku="https://evil.example/jwks")), UntrustedKeyError, "jku"),
    "header-x5u.jwt": (lambda: jwt(header(x5u="https://evil.example/cert")), UntrustedKeyError, "x5u"),
    "header-x5c.jwt": (lambda: jwt(header(x5c=["MIIB"])), UntrustedKeyError, "x5c"),
    "header-crit-unknown.jwt": (lambda: jwt(header(crit=["exp"], exp=1)), MalformedError, "crit"),
    "header-b64-false-with-crit.jwt": (lambda: jwt(header(b64=False, crit=["b64"])), MalformedError, "crit"),
    "header-b64-false.jwt": (lambda: jwt(header(b64=False)), MalformedError, "b64"),
    "header-unknown-parameter.jwt": (lambda: jwt(header(cty="JWT")), MalformedError, "unexpected"),
    "header-duplicate-alg.jwt": (lambda: jws(J(header()).replace(b'{"alg":"EdDSA"', b'{"alg":"none","alg":"EdDSA"'), J(claims())), MalformedError, "duplicate"),
    "header-not-an-object.jwt": (lambda: jws(b'["EdDSA"]', J(claims())), MalformedError, "object"),
    "typ-wrong.jwt": (lambda: jwt(header(typ="JWT")), MalformedError, "typ"),
    "typ-missing.jwt": (lambda: jwt(header(typ=None)), MalformedError, "typ"),
    "typ-presentation.jwt": (lambda: jwt(header(typ="lic-pres+jwt")), MalformedError, "typ"),
    # claims
    "claims-duplicate-exp.jwt": (lambda: jws(J(header()), J(claims()).replace(b'"exp":', b'"exp":9999999999,"exp":', 1)), MalformedError, "duplicate"),
    "claims-duplicate-in-lic.jwt": (lambda: jws(J(header()), J(claims()).replace(b'"tier":', b'"tier":"academic","tier":', 1)), MalformedError, "duplicate"),
    "claims-unknown-claim.jwt": (lambda: jwt(c=claims(admin=True)), MalformedError, "unexpected"),
    "claims-not-an-object.jwt": (lambda: jws(J(header()), b"[1,2]"), MalformedError, "object"),
    "claims-lic-unknown-member.jwt": (lambda: jwt(c=claims(lic={**claims()["lic"], "anything": 1})), MalformedError, "unknown member"),
    "claims-aud-number.jwt": (lambda: jwt(c=claims(aud=7)), MalformedError, "aud"),
    "claims-cnf-with-jku.jwt": (lambda: jwt(c=claims(cnf={**claims()["cnf"], "jku": "https://evil.example"})), MalformedError, "cnf"),
    "exp-bool.jwt": (lambda: jwt(c=claims(exp=True)), MalformedError, "exp"),
    "exp-float.jwt": (lambda: jwt(c=claims(exp=float(NOW + 86400))), MalformedError, "exp"),
    "exp-float-exponent.jwt": (lambda: jws(J(header()), replace_member(J(claims()), "exp", "1.8e9")), MalformedError, "exp"),
    "exp-string.jwt": (lambda: jwt(c=claims(exp=str(NOW + 86400))), MalformedError, "exp"),
    "exp-nan.jwt": (lambda: jws(J(header()), replace_member(J(claims()), "exp", "NaN")), MalformedError, "NaN"),
    "exp-infinity.jwt": (lambda: jws(J(header()), replace_member(J(claims()), "exp", "Infinity")), MalformedError, "Infinity"),
    "exp-negative.jwt": (lambda: jwt(c=claims(exp=-1)), MalformedError, "exp"),
    "exp-huge.jwt": (lambda: jwt(c=claims(exp=2**64)), MalformedError, "exp"),
    "nbf-float.jwt": (lambda: jwt(c=claims(nbf=float(NOW - 10))), MalformedError, "nbf"),
    "iat-string.jwt": (lambda: jwt(c=claims(iat="yesterday")), MalformedError, "iat"),
    "iat-bool.jwt": (lambda: jwt(c=claims(iat=False)), MalformedError, "iat"),
    "expired.jwt": (lambda: jwt(c=claims(exp=NOW - 61)), ExpiredError, "expired"),
    "not-yet-valid.jwt": (lambda: jwt(c=claims(nbf=NOW + 61)), ExpiredError, "not valid before"),
    "issued-in-the-future.jwt": (lambda: jwt(c=claims(iat=NOW + 3600)), ExpiredError, "future"),
    "exp-before-nbf.jwt": (lambda: jwt(c=claims(exp=NOW - 200, nbf=NOW - 100)), MalformedError, "after nbf"),
    **{
        f"missing-{name}.jwt": ((lambda n=name: jwt(c=claims(**{n: None}))), MalformedError, name)
        for name in ("iss", "sub", "iat", "nbf", "exp", "jti", "cnf", "lic")
    },
    # holder key
    "holder-small-order-key.jwt": (lambda: jwt(c=claims(cnf=_small_order_jwk())), MalformedError, "small order"),
    "holder-non-canonical-key.jwt": (lambda: jwt(c=claims(cnf={"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode((2**255 - 19 + 1).to_bytes(32, "little"))}})), MalformedError, "non-canonical"),
    "holder-rsa-key.jwt": (lambda: jwt(c=claims(cnf={"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}})), MalformedError, "JWK"),
    # signature and encoding
    "sig-s-plus-l.jwt": (_jwt_sig_s_plus_l, InvalidSignatureError, "invalid signature"),
    "sig-wrong-length.jwt": (lambda: jwt(sig=bytes(63)), InvalidSignatureError, "invalid signature"),
    "sig-empty.jwt": (lambda: jwt(sig=b""), InvalidSignatureError, "invalid signature"),
    "sig-small-order-r.jwt": (lambda: jwt(sig=SMALL + bytes(32)), InvalidSignatureError, "invalid signature"),
    "payload-swapped-after-signing.jwt": (lambda: jwt().split(b".")[0] + b"." + b64(J(claims(sub="mallory"))) + b"." + jwt().split(b".")[2], InvalidSignatureError, "invalid signature"),
    "b64-padded.jwt": (lambda: jwt().replace(b".", b"=.", 1), MalformedError, "base64url"),
    "b64-standard-alphabet.jwt": (lambda: jwt().split(b".")[0] + b"." + jwt().split(b".")[1] + b"." + b64url_encode(b"\xfb" * 64).replace("-", "+").encode(), MalformedError, "base64url"),
    "five-parts-jwe.jwt": (lambda: jwt() + b".AAAA.BBBB", MalformedError, "three"),
    "oversized.jwt": (lambda: jwt(c=claims(aud=["x" * 1000] * 64)), MalformedError, "larger than"),
    "deep-nesting.jwt": (lambda: jwt(c=claims(lic={**claims()["lic"], "duties": deep(40)})), MalformedError, "deeper"),
    # CWT
    "cwt-alg-es256.cwt": (lambda: cwt(protected(l1=-7)), InvalidSignatureError, "alg"),
    "cwt-alg-missing.cwt": (lambda: cwt(protected(l1=None)), InvalidSignatureError, "alg"),
    "cwt-alg-in-unprotected.cwt": (lambda: cwt(protected(l1=None), unprot={1: -8}), MalformedError, "unprotected"),
    "cwt-kid-unknown.cwt": (lambda: cwt(protected(HOLDER), key=HOLDER), UntrustedKeyError, "trust"),
    "cwt-kid-without-issuer-role.cwt": (lambda: cwt(protected(OTHER), key=OTHER), UntrustedKeyError, "trust"),
    "cwt-kid-in-unprotected.cwt": (lambda: cwt(protected(l4=None), unprot={4: b64url_decode(ISSUER.public_key.thumbprint)}), MalformedError, "unprotected"),
    "cwt-kid-text.cwt": (lambda: cwt(protected(l4=ISSUER.public_key.thumbprint)), MalformedError, "kid"),
    "cwt-x5chain-header.cwt": (lambda: cwt(protected(l33=b"\x30\x82")), UntrustedKeyError, "key material"),
    "cwt-crit.cwt": (lambda: cwt(protected(l2=[99], l99=1)), MalformedError, "crit"),
    "cwt-typ-wrong.cwt": (lambda: cwt(protected(l16="application/cwt")), MalformedError, "typ"),
    "cwt-typ-missing.cwt": (lambda: cwt(protected(l16=None)), MalformedError, "typ"),
    "cwt-untagged.cwt": (lambda: cwt(tag=b""), MalformedError, "JWT"),
    "cwt-tag61-wrapped.cwt": (lambda: cwt(tag=b"\xd8\x3d\xd2"), MalformedError, "JWT"),
    "cwt-label-in-both-buckets.cwt": (lambda: cwt(protected(), unprot={16: "application/lic+cwt"}), MalformedError, "both"),
    "cwt-expired.cwt": (lambda: cwt_with(c4=NOW - 61), ExpiredError, "expired"),
    "cwt-not-yet-valid.cwt": (lambda: cwt_with(c5=NOW + 61), ExpiredError, "not valid before"),
    "cwt-exp-bool.cwt": (lambda: cwt_with(c4=True), MalformedError, "exp"),
    "cwt-exp-text.cwt": (lambda: cwt_with(c4=str(NOW + 86400)), MalformedError, "exp"),
    "cwt-exp-float.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(4, b"\xfb" + struct.pack(">d", 1.8e9)))), MalformedError, "float"),
    "cwt-missing-cnf.cwt": (lambda: cwt_with(c8=None), MalformedError, "cnf"),
    "cwt-missing-lic.cwt": (lambda: cwt_with(lic=None), MalformedError, "lic"),
    "cwt-unknown-claim.cwt": (lambda: cwt(c={**cwt_claims(), 99: 1}), MalformedError, "unexpected"),
    "cwt-holder-small-order-key.cwt": (lambda: cwt_with(c8={1: {1: 1, -1: 6, -2: SMALL}}), MalformedError, "small order"),
    "cwt-holder-x25519-key.cwt": (lambda: cwt_with(c8={1: {1: 1, -1: 4, -2: HOLDER.public_key.raw}}), MalformedError, "COSE_Key"),
    "cwt-sig-s-plus-l.cwt": (_cwt_sig_s_plus_l, InvalidSignatureError, "invalid signature"),
    "cwt-sig-wrong-length.cwt": (lambda: cwt(sig=bytes(65)), InvalidSignatureError, "invalid signature"),
    "cwt-signed-by-other.cwt": (lambda: cwt(key=OTHER), InvalidSignatureError, "invalid"),
    "cbor-indefinite-length-map.cwt": (lambda: cwt(payload=claims_map_bytes(claim_items(), indefinite=True)), MalformedError, "indefinite"),
    "cbor-indefinite-length-text.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(2, b"\x7f\x64acme\xff"))), MalformedError, "indefinite"),
    "cbor-duplicate-key.cwt": (lambda: cwt(payload=claims_map_bytes(claim_items()[:1] + claim_items())), MalformedError, "duplicated"),
    "cbor-unsorted-keys.cwt": (lambda: cwt(payload=claims_map_bytes(claim_items()[::-1])), MalformedError, "order"),
    "cbor-non-shortest-integer.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(6, head(0, cwt_claims()[6], 8)))), MalformedError, "shortest"),
    "cbor-non-shortest-length.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(2, head(3, 4, 1) + b"acme"))), MalformedError, "shortest"),
    "cbor-unknown-tag.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(4, b"\xc1" + cbor.encode(NOW + 86400)))), MalformedError, "tag"),
    "cbor-trailing-bytes-in-payload.cwt": (lambda: cwt(payload=cbor.encode(cwt_claims()) + b"\x00"), MalformedError, "trailing"),
    "cbor-trailing-bytes-after-message.cwt": (lambda: _good_cwt() + b"\x00", MalformedError, "trailing"),
    "cbor-undefined-value.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(2, b"\xf7"))), MalformedError, "simple"),
    "cbor-invalid-utf8.cwt": (lambda: cwt(payload=claims_map_bytes(with_item(2, b"\x62\xc3\x28"))), MalformedError, "UTF-8"),
    "cbor-deep-nesting.cwt": (lambda: cwt(c={**cwt_claims(), "lic": {**cwt_claims()["lic"], "duties": deep(20)}}), MalformedError, "deeper"),
    "cwt-oversized.cwt": (lambda: cwt_with(c3=["x" * 1000] * 66), MalformedError, "larger than"),
}  # fmt: skip


def write_all() -> None:
    REGRESSIONS.mkdir(exist_ok=True)
    for old in REGRESSIONS.glob("*.[jc]wt"):
        old.unlink()
    for name, (build, _, _) in ATTACKS.items():
        (REGRESSIONS / name).write_bytes(build())


if __name__ == "__main__":
    write_all()
    print(f"wrote {len(ATTACKS)} files to {REGRESSIONS}")
