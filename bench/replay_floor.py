"""The floor under issue 5's replay target: what a replay costs that only reads, hashes, decodes.

    python bench/replay_floor.py          # 20,000 records
    python bench/replay_floor.py --full   # 100,000 records

Issue 5 asks for replayed records/s >= 0.8 of (2 cores x raw Ed25519 verifications/s). With
both cores busy, a replay that spends V us of CPU per record on the signature and W us on
everything else reaches 1 / (1 + W/V) of that floor; 0.8 needs W <= V/4 (about 17 us when V
is 67 us).

This script measures V in the same run (``keys.verify_raw`` over the ledger's own signatures,
the call the audit's workers make) and the CPU per record of skeletons that do only steps no
replay can skip, each with the fastest implementation at hand, cumulatively:

    read    every record from SQLite (the store's own reader)
    hash    + its RFC 9162 leaf hash
    decode  + record, entry and payload through cbor2's C decoder (no strictness at all)
    cbor2   + the deterministic-encoding check the spec requires, done with cbor2: a canonical
              re-encode with its C encoder, compared bytewise
    ours    instead of the two above, our strict decoding (the audit's byte-exact fast paths
              for record, entry and payload; each falls back to the strict decoder)
    schema  + each entry's schema check (the audit's fast accept path)

and prints the best ratio each skeleton would allow if author roles, cross-references, derived
state, Merkle roots, checkpoints and the hand-off of every signature to the second core cost
nothing at all.

Recorded figures: bench/RESULTS.md; what they mean for the replay: ADR 0005.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cbor2  # noqa: E402

from keys import SigningKey, verify_raw  # noqa: E402
from ledger import tlog as mk  # noqa: E402
from ledger.audit._core import _open  # noqa: E402
from ledger.entries import entry_problems  # noqa: E402
from ledger.state import Finding, state_of  # noqa: E402
from ledger.store import Ledger, synthesize  # noqa: E402


def signatures(path: Path, sample: int) -> list[tuple[bytes, bytes, bytes]]:
    """(author key, signature, signed bytes) of the first ``sample`` records."""
    from ledger.entries import decode_record, open_entry

    out = []
    with Ledger.open(path) as led:
        n = min(led.size, sample)
        state = state_of(led.iter_records(0, n), led.log_verifier.public_key.raw)
        for _, raw in led.iter_records(0, n):
            e = open_entry(decode_record(raw))
            author = state.author_key(e.kid, e.payload)
            if author is not None:
                out.append((author, e.signature, e.to_be_signed))
    return out


def verify_us(jobs: list[tuple[bytes, bytes, bytes]]) -> float:
    """CPU per raw verification, one pass over ``jobs``."""
    t0 = time.process_time()
    for key, sig, msg in jobs:
        if not verify_raw(key, sig, msg):
            raise AssertionError("a ledger signature does not verify")
    return (time.process_time() - t0) / len(jobs) * 1e6


def skeleton_us(led: Ledger, stage: str) -> float:
    """CPU per record of one skeleton, one pass over the whole ledger."""
    loads, dumps, leaf = cbor2.loads, cbor2.dumps, mk.leaf_hash
    findings: list[Finding] = []
    n = 0
    t0 = time.process_time()
    if stage == "read":
        for _pos, _raw in led.iter_raw():
            n += 1
    elif stage == "hash":
        for _pos, raw in led.iter_raw():
            leaf(raw)
            n += 1
    elif stage == "decode":
        for _pos, raw in led.iter_raw():
            leaf(raw)
            loads(loads(loads(raw)["entry"]).value[2])
            n += 1
    elif stage in ("ours", "schema"):
        for _pos, raw in led.iter_raw():
            leaf(raw)
            fields = _open(raw, n, findings)
            if fields is None or findings:
                raise AssertionError("a record does not decode")
            if stage == "schema" and entry_problems(fields[3], fields[4]):
                raise AssertionError("an entry breaks its schema")
            n += 1
    else:
        for _pos, raw in led.iter_raw():
            leaf(raw)
            record = loads(raw)
            entry = loads(record["entry"])
            payload = loads(entry.value[2])
            if (
                dumps(record, canonical=True) != raw
                or dumps(entry, canonical=True) != record["entry"]
                or dumps(payload, canonical=True) != entry.value[2]
            ):
                raise AssertionError("a record is not in canonical form")
            n += 1
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="10^5 records (the issue's size)")
    n = 100_000 if ap.parse_args().full else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "floor.db"
        log = SigningKey.from_seed(bytes(32))
        with Ledger.create(path, "bench.example/log", log) as led:
            synthesize(led, n, log_key=log, seed=7)
        jobs = signatures(path, 3000)
        stages = ("read", "hash", "decode", "cbor2", "ours", "schema")
        # The machine is shared: the measurements take turns, round after round, and the
        # best of each counts, so that a burst of load elsewhere hits none of them alone.
        best = dict.fromkeys(("verify", *stages), float("inf"))
        with Ledger.open(path) as led:
            for _ in range(5):
                best["verify"] = min(best["verify"], verify_us(jobs))
                for stage in stages:
                    best[stage] = min(best[stage], skeleton_us(led, stage))
        v = best["verify"]
        print(f"{n:,} records; one raw verification V = {v:.1f} us of CPU")
        print(f"ratio 0.8 leaves W <= V/4 = {v / 4:.1f} us per record for everything else\n")
        print(f"  {'skeleton':8s} {'W (us/record)':>14s} {'best ratio it allows':>22s}")
        for stage in stages:
            w = best[stage]
            print(f"  {stage:8s} {w:14.1f} {1 / (1 + w / v):22.3f}")


if __name__ == "__main__":
    main()
