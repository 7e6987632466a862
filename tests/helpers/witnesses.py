"""Shared fixtures for the witness tests: a log keyed by the RFC 8032 TEST 1 seed, witnesses
keyed by fixed seeds, and ledgers grown to given sizes (real stores, real checkpoints)."""

from pathlib import Path

from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.tlog import CosignatureV1Verifier, Ed25519NoteSigner, SignedCheckpoint
from ledger.witness import Witness

RFC8032_TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_TEST2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_TEST3 = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
ORIGIN = "example.com/lic-log"
LOG_KEY = SigningKey.from_seed(RFC8032_TEST1)
LOG = Ed25519NoteSigner(ORIGIN, LOG_KEY).verifier
WITNESS_SEEDS = (RFC8032_TEST2, RFC8032_TEST3, bytes(range(32)))
WITNESS_KEYS = tuple(SigningKey.from_seed(s) for s in WITNESS_SEEDS)
WITNESS_NAMES = tuple(f"witness.example/w{i + 1}" for i in range(3))


def witness_verifier(i: int) -> CosignatureV1Verifier:
    return CosignatureV1Verifier(WITNESS_NAMES[i], WITNESS_KEYS[i].public_key)


def new_witness(path: Path, i: int = 0, logs=(LOG.vkey,)) -> Witness:
    return Witness.create(path, WITNESS_NAMES[i], WITNESS_KEYS[i], list(logs))


class Log:
    """A real ledger that grows by ``grow(k)`` and returns its new signed checkpoint."""

    def __init__(self, path: Path | str, salt: bytes = b"") -> None:
        self.led = Ledger.create(path, ORIGIN, LOG_KEY.public_key)
        self.salt = salt
        self.n = 0

    def grow(self, k: int) -> SignedCheckpoint:
        for _ in range(k):
            entry = sign_entry("note", self.salt + b"entry %d" % self.n, LOG_KEY)
            self.led.append("note", entry, now=1_700_000_000 + self.n)
            self.n += 1
        return self.led.checkpoint(LOG_KEY)

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.led.consistency_proof(m, n) if 0 < m < n else []
