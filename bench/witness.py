"""Witness and revoked-set benchmark (SPEC 12-13), ratios against baselines of the same run.

    python bench/witness.py           # revoked sets of 10^3 and 10^5 digests (well under a minute)
    python bench/witness.py --full    # also 10^6

- cosignature verification/s as a ratio to raw Ed25519 verifications/s (the floor: one each);
- non-membership proof verifications/s for each set size, and the SHA-256 compressions each
  one needs as a ratio to raw SHA-256/s (cost should grow with log n, not n);
- durable witness add-checkpoint/s (check, cosign, store with fsync) as a ratio to a raw
  write+fsync on the same disk.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import CosignatureV1Verifier, RevokedSet, cosign, parse_note, verify_absent
from ledger.witness import Witness

LOG = SigningKey.from_seed(bytes(range(32)))
WIT = SigningKey.from_seed(bytes(range(1, 33)))
ORIGIN = "bench.example/log"


def rate(fn, seconds: float = 1.0) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        n += 50
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n / dt


def fsync_floor(d: Path, n: int = 200) -> float:
    p = d / "fsync.bin"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        t = time.perf_counter()
        for _ in range(n):
            os.write(fd, b"x" * 400)
            os.fsync(fd)
        return n / (time.perf_counter() - t)
    finally:
        os.close(fd)
        p.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--dir", type=Path, default=Path(".bench-tmp"))
    args = ap.parse_args()
    d = args.dir
    d.mkdir(exist_ok=True)
    try:
        led = Ledger.create(d / "log.db", ORIGIN, LOG)
        led.append("bench", sign_entry("bench", b"x", LOG))
        note = led.checkpoint(LOG).note
        text = parse_note(note).text.encode()
        line = cosign(text, WIT, "w.example/w1", 1_700_000_000)
        sig = parse_note(note + line.encode()).signatures[-1].signature
        v = CosignatureV1Verifier("w.example/w1", WIT.public_key)
        raw_sig = WIT.sign(b"m" * 120)
        raw = rate(lambda: WIT.public_key.verify(raw_sig, b"m" * 120))
        cos = rate(lambda: v.timestamp(text, sig))
        print(
            f"Ed25519 verify: {raw:,.0f}/s; cosignature verify: {cos:,.0f}/s "
            f"(ratio {cos / raw:.2f})"
        )

        sha = rate(lambda: hashlib.sha256(b"\x01" + b"h" * 64).digest())
        sizes = [10**3, 10**5] + ([10**6] if args.full else [])
        for n in sizes:
            ds = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
            t = time.perf_counter()
            s = RevokedSet(ds)
            build = time.perf_counter() - t
            probe = hashlib.sha256(b"absent").digest()
            proof = s.prove_absent(probe)
            hashes = 2 + sum(len(x.path) for x in (proof.left, proof.right) if x is not None)
            r = rate(
                lambda s=s, proof=proof, probe=probe: verify_absent(s.root, s.size, probe, proof)
            )
            print(
                f"revoked set n={n:>9,}: build {build:.2f}s; verify_absent {r:,.0f}/s "
                f"(~{hashes} hashes each; {r * hashes / sha:.2f} of raw SHA-256 throughput)"
            )

        w = Witness.create(d / "w.db", "w.example/w1", WIT, [led.log_verifier.vkey])
        floor = fsync_floor(d)
        size, old, n, t0 = 1, 0, 0, time.perf_counter()
        cps = []
        for i in range(100):
            led.append("bench", sign_entry("bench", b"%d" % i, LOG))
            cps.append((led.checkpoint(LOG).note, led.size))
        t0 = time.perf_counter()
        for cp_note, size in cps:
            proof = led.consistency_proof(old, size) if old else []
            out = w.add_checkpoint(old, proof, cp_note, 1_700_000_000)
            assert out.status == 200, out.reason
            old, n = size, n + 1
        adds = n / (time.perf_counter() - t0)
        print(
            f"raw write+fsync: {floor:,.0f}/s; witness add-checkpoint: {adds:,.0f}/s "
            f"(ratio {adds / floor:.2f})"
        )
        w.close()
        led.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
