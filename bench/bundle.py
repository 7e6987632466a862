"""Offline bundle verification benchmark (SPEC 10), as a ratio to its raw Ed25519 floor.

    python bench/bundle.py            # about 10 s
    python bench/bundle.py --full     # longer runs, steadier numbers

A bundle with a 3-link chain (issuer -> licensee -> sublicensee -> sub-sublicensee) and a
checkpoint cosigned by 2 of 3 witnesses needs these Ed25519 verifications: 3 token signatures
(the chain), 3 grant-entry signatures (each record's grantor), 1 log signature on the
checkpoint and 2 cosignatures: 9. The baseline is 9 raw verifications of 64-byte signatures
over short messages with the same library, measured in the same run; the ratio says how much
the rest (parsing, Merkle and revoked-set proofs, narrowing checks, evaluation) costs on top.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import lic  # noqa: E402
from helpers import bundle_scenario as bs  # noqa: E402  (the tests' fixed scenario)
from keys import SigningKey  # noqa: E402
from ledger.bundle import create_bundle, verify_bundle  # noqa: E402

SIGNATURES = 3 + 3 + 1 + 2  # chain, grant entries, log, cosignatures


def rate(fn, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(20):
            fn()
        n += 20
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="measure longer (5 s per figure)")
    args = ap.parse_args()
    seconds = 5.0 if args.full else 2.0
    with tempfile.TemporaryDirectory() as d:
        s = bs.build(Path(d) / "l.db", links=3)
        s.checkpoint(bs.T0 + 500)
        bundle = create_bundle(s.led, s.tokens)
        s.led.close()
    policy = bs.policy()
    now = bs.T0 + 1000
    use = lic.Use(action="run.inference", purpose="enterprise", region="DE", channel="api")
    r = verify_bundle(bundle, policy, now=now, use=use)
    assert r.checkpoint_size and all(c.status != "fail" for c in r.checks[:-1]), r.to_dict()

    key = SigningKey.from_seed(bytes(range(32)))
    pub = key.public_key
    msgs = [b"raw %d" % i for i in range(SIGNATURES)]
    sigs = [key.sign(m) for m in msgs]

    def raw() -> None:
        for m, sg in zip(msgs, sigs, strict=True):
            pub.verify(sg, m)

    def full() -> None:
        verify_bundle(bundle, policy, now=now, use=use)

    raw()
    full()
    floor = rate(raw, seconds)  # sets of 9 raw verifications per second
    got = rate(full, seconds)
    print(f"bundle: {len(bundle)} bytes, 3-link chain, checkpoint cosigned by 2 of 3 witnesses")
    print(f"raw Ed25519 verifications/s:     {floor * SIGNATURES:10.0f}")
    print(f"floor (9 verifications) /s:      {floor:10.0f}")
    print(f"offline bundle verifications/s:  {got:10.0f}")
    print(f"ratio bundle/floor:              {got / floor:10.2f}  (1.00 = only the signatures)")


if __name__ == "__main__":
    main()
