"""Token verification and evaluation speed, as ratios to baselines measured in the same run.

    python bench/tokens.py           # quick (a few seconds)
    python bench/tokens.py --full    # larger sizes

Prints, for JWT and CWT: our verify+evaluate per second over distinct tokens (each verified
once; the tokens share one license and one holder, as a licensor's tokens for one product do),
as a ratio to raw Ed25519 verification of the same signed bytes with cryptography (OpenSSL) and
with libsodium, and to pyjwt's / python-cwt's decode of the same tokens. Then re-evaluation of
an already verified license over distinct uses. Targets (issue 3): verify+evaluate >= 0.9 of raw
verification with the backend we use; >= 250,000 re-evaluations per second.

Two libsodium baselines: PyNaCl's public crypto_sign_open, and libsodium's crypto_sign_open
called with NULL out-pointers (no output buffer, no copy), which is what our sodium backend
calls; the summary gives the ratio to both. Re-evaluation is also measured with the
evaluation memo emptied before every call (every code combination new).

Results, dated, with the machine's load: bench/RESULTS.md (section "bench/tokens.py").
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

import cbor2
import cwt
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cwt import COSEKey
from nacl._sodium import ffi as sodium_ffi
from nacl._sodium import lib as sodium_lib
from nacl.bindings import crypto_sign_open

import lic
from keys import (
    BACKENDS,
    DEFAULT_BACKEND,
    PublicKey,
    SigningKey,
    TrustEntry,
    TrustStore,
    b64url_decode,
)
from lic import _evaluate

warnings.filterwarnings("ignore")
ROOT = Path(__file__).parent.parent


def trust_store(key: PublicKey) -> TrustStore:
    """The product's trust store with the issuer key, as a verifier loads it."""
    return TrustStore([TrustEntry(key, "issuer", "issuer")])


def rates(
    candidates: dict[str, tuple[object, list]], rounds: int = 7, chunk: int = 50
) -> dict[str, float]:
    """Calls per second of each candidate ``fn`` over its items. The machine is shared and its
    load drifts, so the candidates take turns every ``chunk`` items (each sees the same load),
    and the best of ``rounds`` passes counts."""
    best = dict.fromkeys(candidates, 0.0)
    size = min(len(items) for _, items in candidates.values())
    for _ in range(rounds):
        spent = dict.fromkeys(candidates, 0.0)
        counted = dict.fromkeys(candidates, 0)
        for start in range(0, size, chunk):
            for name, (fn, items) in candidates.items():
                part = items[start : start + chunk]
                t0 = time.perf_counter()
                for x in part:
                    fn(x)  # type: ignore[operator]
                spent[name] += time.perf_counter() - t0
                counted[name] += len(part)
        for name in candidates:
            best[name] = max(best[name], counted[name] / spent[name])
    return best


def signed_parts(token: bytes, fmt: str) -> tuple[bytes, bytes]:
    """(message, signature) exactly as verified: the JWS signing input or the Sig_structure."""
    if fmt == "jwt":
        h, p, s = token.split(b".")
        return h + b"." + p, b64url_decode(s)
    top = cbor2.loads(token).value
    return cbor2.dumps(["Signature1", top[0], b"", top[2]]), top[3]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="larger sizes (slower, steadier)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round: runs, no figure")
    args = ap.parse_args()
    n_tokens = 5000 if args.full else 60 if args.smoke else 1000
    n_uses = 200_000 if args.full else 2_000 if args.smoke else 50_000
    rounds = 1 if args.smoke else 7

    issuer = SigningKey.generate()
    holder = SigningKey.generate()
    license = lic.load_license((ROOT / "examples" / "commercial-geofenced.toml").read_bytes())
    now = int(time.time())
    print(f"Ed25519 backends: {', '.join(BACKENDS)}; ours uses {DEFAULT_BACKEND!r}")
    print(f"{n_tokens} distinct tokens per format, each verified once per pass\n")
    use = lic.Use(
        action="run.inference", purpose="enterprise.product", region="DE", channel="api.public",
        platform="search", data=frozenset(), rate=lic.Rate(100, "PT1M"), mau=1000,
        model_digest=license.model.sha256,
    )  # fmt: skip
    raw_crypto = Ed25519PublicKey.from_public_bytes(issuer.public_key.raw)
    pub = issuer.public_key.raw
    results = {}
    for fmt in ("jwt", "cwt"):
        tokens = [
            lic.issue(
                license,
                issuer,
                holder.public_key,
                iss="https://issuer.example",
                sub=f"licensee-{i}",
                now=now,
                fmt=fmt,
            )
            for i in range(n_tokens)
        ]
        parts = [signed_parts(t, fmt) for t in tokens]
        cands: dict[str, tuple[object, list]] = {
            "raw cryptography": (lambda p: raw_crypto.verify(p[1], p[0]), parts),
            "raw sodium": (lambda p: crypto_sign_open(p[1] + p[0], pub), parts),
            # libsodium's own call without PyNaCl's output buffer and copy: the least any
            # libsodium verification from Python costs (and what our sodium backend calls)
            "raw sodium direct": (
                lambda p: sodium_lib.crypto_sign_open(
                    sodium_ffi.NULL, sodium_ffi.NULL, p[1] + p[0], len(p[0]) + 64, pub
                ),
                parts,
            ),
        }
        for backend in BACKENDS:
            trust = trust_store(issuer.public_key.with_backend(backend))

            def go(t, trust=trust):
                if lic.evaluate(lic.verify(t, trust, now=now), use).effect != "permit":
                    raise AssertionError("expected permit")

            cands[backend] = (go, tokens)
        if fmt == "jwt":
            theirs_name = "pyjwt decode"
            texts = [t.decode() for t in tokens]
            cands[theirs_name] = (
                lambda t: pyjwt.decode(t, raw_crypto, algorithms=["EdDSA"]),
                texts,
            )
        else:
            theirs_name = "python-cwt decode"
            ck = COSEKey.new(
                {1: 1, -1: 6, -2: pub, 2: b64url_decode(issuer.public_key.thumbprint), 3: -8}
            )
            cands[theirs_name] = (lambda t, ck=ck: cwt.decode(t, ck), tokens)
        got = rates(cands, rounds)
        r_crypto, r_sodium, theirs = got["raw cryptography"], got["raw sodium"], got[theirs_name]
        r_direct = got["raw sodium direct"]
        ours = {b: got[b] for b in BACKENDS}
        mine = ours[DEFAULT_BACKEND]
        print(f"{fmt.upper()}  verify+evaluate: {mine:9.0f}/s  ({DEFAULT_BACKEND} backend)")
        for backend, r in ours.items():
            if backend != DEFAULT_BACKEND:
                print(f"     verify+evaluate: {r:9.0f}/s  ({backend} backend)")
        print(f"     raw Ed25519 cryptography: {r_crypto:9.0f}/s   ratio {mine / r_crypto:5.2f}")
        print(
            f"     raw Ed25519 libsodium:    {r_sodium:9.0f}/s   ratio {mine / r_sodium:5.2f}"
            "   (PyNaCl crypto_sign_open)"
        )
        print(f"     raw libsodium, no copy:   {r_direct:9.0f}/s   ratio {mine / r_direct:5.2f}"
              "   (crypto_sign_open, NULL output)")  # fmt: skip
        print(f"     {theirs_name + ':':26s}{theirs:9.0f}/s   ratio {mine / theirs:5.2f}")
        if "cryptography" in ours:
            ratio = ours["cryptography"] / r_crypto
            print(f"     (cryptography backend vs raw cryptography: ratio {ratio:5.2f})")
        results[fmt] = (
            (mine / r_sodium, mine / r_direct)
            if DEFAULT_BACKEND == "sodium"
            else (mine / r_crypto, mine / r_crypto)
        )
        print()

    verified = lic.verify(tokens[0], trust_store(issuer.public_key), now=now)
    codes = itertools.cycle(itertools.product(
        ["run.inference", "run.embed", "modify.fine-tune.adapter", "host.api"],
        ["enterprise.product", "enterprise.internal", "consumer.app", "research.industrial"],
        [*sorted(lic.region_groups()["EEA"]), "CH", "US", "GB", "JP", "CN"],
        ["api.public", "hosted.web", "device.mobile"],
    ))  # fmt: skip
    uses = []
    for i in range(n_uses):
        a, p, r, c = next(codes)
        uses.append(lic.Use(action=a, purpose=p, region=r, channel=c, platform="search",
                            data=frozenset(), rate=lic.Rate(i % 2000, "PT1M"), mau=i,
                            model_digest=license.model.sha256))  # fmt: skip
    assert len(set(uses)) == len(uses)
    permits = [u for u in uses if lic.evaluate(verified, u).effect == "permit"]
    others = [u for u in uses if lic.evaluate(verified, u).effect != "permit"]
    got = {
        name: rates({name: (lambda u: lic.evaluate(verified, u), items)}, min(rounds, 3))[name]
        for name, items in (("all", uses), ("permit", permits), ("other", others))
    }

    # Evaluation keeps the code-list part of a decision per (license, codes); this use mix
    # has 1728 code combinations, so after the first pass those parts come from the memo.
    # Emptying the memo before every call makes each decision compute its codes afresh.
    def cold(u: lic.Use) -> lic.Decision:
        _evaluate._MEMO.clear()
        return lic.evaluate(verified, u)

    got["cold"] = rates({"cold": (cold, uses)}, min(rounds, 3))["cold"]
    print(f"re-evaluation of a verified license over {n_uses} distinct uses (target >= 250,000/s):")
    print(f"     all of them (mixed):       {got['all']:9.0f} decisions/s")
    print(f"     the {len(permits):6d} permitted ones: {got['permit']:9.0f} decisions/s")
    print(
        f"     the {len(others):6d} denied or indeterminate (reasons built): {got['other']:9.0f}/s"
    )
    print(f"     all of them, codes never memoised: {got['cold']:9.0f} decisions/s")
    print(f"\nsummary: JWT {results['jwt'][0]:.2f}, CWT {results['cwt'][0]:.2f} of raw "
          "verification "
          f"with the {DEFAULT_BACKEND} backend (target >= 0.9); against its no-copy call: "
          f"JWT {results['jwt'][1]:.2f}, CWT {results['cwt'][1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
