"""The floor under issue 3's token target: what a strict verify+evaluate costs at the least.

    python bench/token_floor.py          # 1,000 tokens per format, 7 rounds
    python bench/token_floor.py --full   # 5,000 tokens per format, 9 rounds

Issue 3 asks for verify+evaluate >= 0.9 of raw Ed25519 verification with the backend we use:
libsodium, called without an output buffer (what ``keys`` calls). At V us per verification,
0.9 leaves V/9 (about 7.5 us when V is 67 us) for everything else a verifier does per token.

This script measures, in the same run and the same alternating rounds as bench/tokens.py:

    raw     libsodium's crypto_sign_open on the signed bytes, split beforehand
    floor   a skeleton that does only what no strict verifier of our formats can skip, each
            step the cheapest way we know, with every cache warm (the issuer's header, the
            license, the holder and the issuer name already known, compared in place):
              JWT  header compare, the last dot, trust lookup, the signature's base64url
                   (translate + strict decode), libsodium on the signature and the token's
                   prefix, the license tail and holder compared in place, the rest of the
                   claims decoded (translate + strict decode + UTF-8), checked and split by
                   the claims pattern, three integers, the token's attributes, the time
                   window, and evaluation's memo lookup with the digest and limit checks
              CWT  prefix compare, payload head, iss, sub, the dates and cti read with one
                   struct, holder and license compared in place, the Sig_structure and
                   libsodium, jti's base64url, the token's attributes, the time window, the
                   same evaluation
            It is no verifier: it skips every fallback and error path, which cost nothing
            on valid tokens, and the input checks below.
    checks  the floor, with the input checks the issue requires and a valid token passes:
            ``now`` an integer, the token bytes within the size cap, the signature's last
            character canonical and its length 64, exp after nbf (JWT); the payload's length,
            sub's and cti's lengths, the dates' keys and shortest forms, exp after nbf (CWT);
            and evaluation's test of the use's time
    ours    lic.verify + lic.evaluate

and prints each as a ratio to raw. A complete verifier does all that "checks" does, and
decides which route a token takes, so its ratio is below that one's.

Results: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import binascii
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cbor2  # noqa: E402
from nacl._sodium import ffi, lib  # noqa: E402
from tokens import rates  # noqa: E402  (bench/tokens.py: the same alternating rounds)

import lic  # noqa: E402
from keys import SigningKey, TrustEntry, TrustStore, b64url_decode  # noqa: E402
from lic import _evaluate  # noqa: E402
from lic.tokens import _cwt_fast, _jwt_fast  # noqa: E402
from lic.tokens._cache import CACHE  # noqa: E402

URL = bytes.maketrans(b"-_+/=", b"+/!!!")
SIG_TAIL = frozenset(b"AQgw")  # a canonical 86-character signature's last character
MAX = 64 * 1024
STD_TO_URL = bytes.maketrans(b"+/", b"-_")
NULL = ffi.NULL
OPEN = lib.crypto_sign_open
DATES = struct.Struct(">HIHIHIBB")


class Tok:
    """The token's attributes, set the way the product sets them (one dict)."""


Floor = Callable[[bytes, lic.Use], Any]


def jwt_floor(tokens: list[bytes], trust: TrustStore, now: int, checks: bool) -> Floor:
    """The JWT skeleton, primed on the first token (shapes as our issuer writes them); with
    ``checks``, also the input checks the issue requires (see ``CHECKS``)."""
    t0 = tokens[0]
    i = t0.index(b".")
    hdr, kid = t0[: i + 1], CACHE.jwt_headers[t0[:i]]
    tails = {}
    for tail, r in (x for v in CACHE.jwt_tails.values() for x in v):
        tails[tail.encoded[r][-16:]] = (tail.encoded[r], r, tail.license)
    cnf = t0[i + 1 : i + 125]
    holder = CACHE.jwt_holders[cnf]
    rest = _jwt_fast._REST
    memo = _evaluate._MEMO

    def run(raw: bytes, use: lic.Use) -> object:
        if checks and (type(now) is not int or not 0 < len(raw) <= MAX or type(raw) is not bytes):
            raise AssertionError
        j = len(raw) - 87
        if raw[j] != 46 or not raw.startswith(hdr):
            raise AssertionError
        key = trust.lookup(kid, "issuer", now)
        if checks and raw[-1] not in SIG_TAIL:
            raise AssertionError
        sig = binascii.a2b_base64(raw[j + 1 :].translate(URL) + b"==", strict_mode=True)
        if checks and len(sig) != 64:
            raise AssertionError
        if OPEN(NULL, NULL, sig + raw, j + 64, key.raw):
            raise AssertionError
        enc, r, license = tails[raw[j - 16 : j]]
        start = j - len(enc)
        if not raw.endswith(enc, 0, j) or not raw.startswith(cnf, i + 1):
            raise AssertionError
        text = binascii.a2b_base64(raw[i + 125 : start].translate(URL), strict_mode=True).decode()
        exp, iat, iss, jti, nbf, sub = rest[r].fullmatch(text).groups()  # type: ignore[union-attr]
        nbf_i, exp_i, iat_i = int(nbf), int(exp), int(iat)
        if checks and exp_i <= nbf_i:
            raise AssertionError
        t = Tok()
        t.__dict__ = {"format": "jwt", "raw": raw, "kid": kid, "iss": iss, "sub": sub,
                      "aud": (), "iat": iat_i, "nbf": nbf_i, "exp": exp_i, "jti": jti,
                      "holder": holder, "license": license}  # fmt: skip
        if nbf_i > now + 60 or exp_i + 60 <= now or iat_i > now + 60:
            raise AssertionError
        return evaluate_floor(t, use, memo, checks)

    return run


class Route:
    """The parts of a CWT that one issuer's tokens for one holder and license share: the
    bytes before the payload's head (``prefix``, ``at`` long), the claims' head up to sub
    (``iss_seg``), cnf and the key "lic" (``holder_seg``), the license and the signature's
    head (``lic_sig``), with the header's kid and the Sig_structure's head from the memo."""

    def __init__(self, raw: bytes) -> None:
        t = lic.decode_unverified(raw)
        got = _cwt_fast.sign1(raw)
        assert got is not None
        protected, payload, _sig, self.at = got
        self.prefix = raw[: self.at]
        self.kid, self.tbs_head = CACHE.cose_headers[protected]
        self.iss, self.holder, self.license = t.iss, t.holder, t.license
        iss = t.iss.encode()
        self.iss_seg = b"\xa8\x01" + bytes([0x60 + len(iss)]) + iss + b"\x02"
        self.holder_seg = b"\x08" + _cwt_fast.CNF_PREFIX + t.holder.raw + _cwt_fast.LIC_KEY
        quick = _cwt_fast.claims_quick(payload)
        assert quick is not None
        self.lic_sig = payload[quick[-1] :] + b"\x58\x40"


def cwt_floor(tokens: list[bytes], trust: TrustStore, now: int, checks: bool) -> Floor:
    """The CWT skeleton, primed on the first token (what one issuer's tokens for one holder
    and license share); with ``checks``, also the input checks the issue requires (see
    ``CHECKS``)."""
    route = Route(tokens[0])
    at, kid, tbs_head, iss_seg = route.at, route.kid, route.tbs_head, route.iss_seg
    holder_seg, lic_sig = route.holder_seg, route.lic_sig
    memo = _evaluate._MEMO

    def run(raw: bytes, use: lic.Use) -> object:
        if checks and (type(now) is not int or not 0 < len(raw) <= MAX or type(raw) is not bytes):
            raise AssertionError
        if not raw.startswith(route.prefix) or raw[at] != 0x59:
            raise AssertionError
        if checks and (raw[at + 1] << 8 | raw[at + 2]) != len(raw) - at - 69:
            raise AssertionError
        pos = at + 3 + len(iss_seg)
        if not raw.startswith(iss_seg, at + 3):
            raise AssertionError
        b = raw[pos] - 0x60
        if checks and not 0 < b < 24:
            raise AssertionError
        sub = raw[pos + 1 : pos + 1 + b].decode()
        pos += 1 + b
        k4, exp, k5, nbf, k6, iat, k7, c = DATES.unpack_from(raw, pos)
        if checks and (
            (k4, k5, k6, k7) != (0x041A, 0x051A, 0x061A, 7) or not 0x40 < c < 0x58
            or exp < 0x10000 or nbf < 0x10000 or iat < 0x10000 or exp <= nbf
        ):  # fmt: skip
            raise AssertionError
        pos += 20
        cti = raw[pos : pos + c - 0x40]
        pos += c - 0x40
        if not raw.startswith(holder_seg, pos) or not raw.endswith(lic_sig, 0, len(raw) - 64):
            raise AssertionError
        key = trust.lookup(kid, "issuer", now)
        msg = tbs_head + raw[at:-66]
        if OPEN(NULL, NULL, raw[-64:] + msg, len(msg) + 64, key.raw):
            raise AssertionError
        t = Tok()
        t.__dict__ = {"format": "cwt", "raw": raw, "kid": kid, "iss": route.iss, "sub": sub,
                      "aud": (), "iat": iat, "nbf": nbf, "exp": exp,
                      "jti": binascii.b2a_base64(cti, newline=False).translate(STD_TO_URL)
                      .rstrip(b"=").decode(),
                      "holder": route.holder, "license": route.license}  # fmt: skip
        if nbf > now + 60 or exp + 60 <= now or iat > now + 60:
            raise AssertionError
        return evaluate_floor(t, use, memo, checks)

    return run


def evaluate_floor(t: Tok, use: lic.Use, memo: dict[Any, Any], checks: bool) -> Any:
    """Evaluation's memo lookup, then the digest and limit checks of a permitted use; with
    ``checks``, also the use's time against the token's window."""
    if checks and (isinstance(t, lic.License) or use.time is not None):
        raise AssertionError
    c = t.license._compiled  # type: ignore[attr-defined]
    entry = memo[(c, use.action, use.purpose, use.region, use.channel, use.platform, use.data)]
    limit, rate = c.rate, use.rate
    assert rate is not None and use.mau is not None
    if use.model_digest != c.sha256 or rate.count * limit.seconds > limit.count * rate.seconds:
        raise AssertionError
    if use.mau > c.mau:
        raise AssertionError
    return entry[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="more tokens and rounds")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round: runs, no figure")
    args = ap.parse_args()
    n, rounds = (5000, 9) if args.full else (60, 1) if args.smoke else (1000, 7)
    issuer, holder = SigningKey.generate(), SigningKey.generate()
    license = lic.load_license((ROOT / "examples" / "commercial-geofenced.toml").read_bytes())
    trust = TrustStore([TrustEntry(issuer.public_key, "issuer", "issuer")])
    now = int(time.time())
    use = lic.Use(
        action="run.inference", purpose="enterprise.product", region="DE", channel="api.public",
        platform="search", data=frozenset(), rate=lic.Rate(100, "PT1M"), mau=1000,
        model_digest=license.model.sha256,
    )  # fmt: skip
    pub = issuer.public_key.raw
    print(f"{n} distinct tokens per format, best of {rounds} alternating rounds\n")
    summary = []
    for fmt in ("jwt", "cwt"):
        tokens = [
            lic.issue(license, issuer, holder.public_key, iss="https://issuer.example",
                      sub=f"licensee-{i}", now=now, fmt=fmt)
            for i in range(n)
        ]  # fmt: skip
        for t in tokens[:3]:  # teach the product's memo (and the floor) the shared parts
            lic.evaluate(lic.verify(t, trust, now=now), use)
        if fmt == "jwt":
            h, p, s = zip(*(t.split(b".") for t in tokens), strict=True)
            parts = [(a + b"." + b, b64url_decode(c)) for a, b, c in zip(h, p, s, strict=True)]
            floor = jwt_floor(tokens, trust, now, False)
            checked = jwt_floor(tokens, trust, now, True)
        else:
            parts = []
            for t in tokens:
                top = cbor2.loads(t).value
                parts.append((cbor2.dumps(["Signature1", top[0], b"", top[2]]), top[3]))
            floor = cwt_floor(tokens, trust, now, False)
            checked = cwt_floor(tokens, trust, now, True)
        for t in tokens:
            if floor(t, use).effect != "permit" or checked(t, use).effect != "permit":
                raise AssertionError

        def floored(t: bytes, floor: Floor = floor) -> None:
            floor(t, use)

        def with_checks(t: bytes, checked: Floor = checked) -> None:
            checked(t, use)

        def ours(t: bytes) -> None:
            if lic.evaluate(lic.verify(t, trust, now=now), use).effect != "permit":
                raise AssertionError

        got = rates({
            "raw": (lambda q: OPEN(NULL, NULL, q[1] + q[0], len(q[0]) + 64, pub), parts),
            "floor": (floored, tokens),
            "checks": (with_checks, tokens),
            "ours": (ours, tokens),
        }, rounds)  # fmt: skip
        raw = got["raw"]
        print(f"{fmt.upper()}  raw libsodium (no copy): {raw:8.0f}/s  {1e6 / raw:6.1f} us")
        for name in ("floor", "checks", "ours"):
            extra = 1e6 / got[name] - 1e6 / raw
            rate = got[name]
            print(f"     {name:6s} verify+evaluate: {rate:8.0f}/s  ratio {rate / raw:5.3f}"
                  f"   ({extra:4.1f} us per token beyond the signature)")  # fmt: skip
        summary.append(
            f"{fmt.upper()} floor {got['floor'] / raw:.3f}, with checks {got['checks'] / raw:.3f},"
            f" ours {got['ours'] / raw:.3f}"
        )
        print()
    print("summary (target >= 0.9): " + "; ".join(summary))


if __name__ == "__main__":
    main()
