"""Child process for the stored-state concurrency and crash tests (PYTHONPATH at the repo root).

    python tests/ledger/store/state_worker.py setup DB
        create the ledger and register the issuer
    python tests/ledger/store/state_worker.py typed DB NAME COUNT
        COUNT typed appends (grants, and every third a revocation of this worker's previous
        grant), print "ack INDEX TYPE DIGESTHEX" after each returned (durable)
    python tests/ledger/store/state_worker.py typed DB NAME 0
        the same, forever (a checkpoint now and then), until killed

Every line is printed only after the append returned."""

import hashlib
import itertools
import sys

from keys import SigningKey
from ledger.store import Ledger, append_entry

LOG = SigningKey.from_seed(bytes([1]) * 32)
ISSUER = SigningKey.from_seed(bytes([2]) * 32)
HOLDER = SigningKey.from_seed(bytes([3]) * 32)
ORIGIN = "example.com/state-log"
T0 = 1_790_000_000


def digest(name: str, j: int) -> bytes:
    return hashlib.sha256(f"{name}-{j}".encode()).digest()


def setup(db: str) -> None:
    with Ledger.create(db, ORIGIN, LOG) as led:
        payload = {"at": T0, "key": ISSUER.public_key.raw, "role": "issuer", "name": "issuer"}
        append_entry(led, "key.add", payload, LOG, now=T0)


def typed(db: str, name: str, count: int) -> None:
    led = Ledger.open(db)
    print("ready", flush=True)
    steps = itertools.count() if count == 0 else range(count)
    for j in steps:
        t = T0 + 10 + j
        d = digest(name, j)
        if j % 3 == 2:
            etype = "revoke"
            d = digest(name, j - 1)
            p = {"tokens": [d], "reason": "duty_breach", "effective": t, "cascade": True}
        else:
            etype = "grant"
            p = {"token_digest": d, "holder": HOLDER.public_key.raw, "licensee": bytes(32),
                 "tier": "academic", "not_before": T0, "not_after": T0 + 10**6}  # fmt: skip
        a = append_entry(led, etype, {"at": t, **p}, ISSUER, now=t)
        print(f"ack {a.index} {etype} {d.hex()}", flush=True)
        if count == 0 and j % 7 == 6:
            led.checkpoint(LOG)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2])
    else:
        typed(sys.argv[2], sys.argv[3], int(sys.argv[4]))
