"""Child process for the crash and concurrency tests (run with PYTHONPATH at the repo root).

    python tests/ledger/store/ledger_worker.py crash DB SEED
        append forever, print "ack INDEX LEAFHEX"
    python tests/ledger/store/ledger_worker.py append DB NAME COUNT
        COUNT single appends, same output

Every line is printed only after the append returned (the record is durable)."""

import random
import sys

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger

LOG = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
AUTHOR = SigningKey.from_seed(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
)


def ack(appended):
    sys.stdout.write("".join(f"ack {a.index} {a.leaf_hash.hex()}\n" for a in appended))
    sys.stdout.flush()


def crash(db, seed):
    rng = random.Random(seed)
    led = Ledger.open(db)
    print("ready", flush=True)
    n = 0
    while True:
        key = LOG if rng.random() < 0.05 else None
        k = rng.choice([1, 1, 1, 2, 5, 10])
        items = [("test", sign_entry("test", f"{seed}-{n + j}".encode(), AUTHOR)) for j in range(k)]
        n += k
        if k == 1 and rng.random() < 0.5:
            ack([led.append(*items[0], log_key=key)])
        else:
            ack(led.append_batch(items, log_key=key))
        if rng.random() < 0.05:
            led.checkpoint(LOG)


def append(db, name, count):
    led = Ledger.open(db)
    for j in range(count):
        e = sign_entry("test", f"{name}-{j}".encode(), AUTHOR)
        ack([led.append("test", e, log_key=LOG if j % 20 == 19 else None)])


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2], int(sys.argv[3]))
    else:
        append(sys.argv[2], sys.argv[3], int(sys.argv[4]))
