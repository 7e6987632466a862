"""A small ledger for the OMS provenance tests: an attester, an issuer and (optionally) one
publisher key, with typed appends and raw ones (as a dishonest log could write)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.ledger_world import T0, key
from keys import SigningKey
from ledger.entries import PUBLISHER_ROLE, make_entry, oms_attestation_payload
from ledger.store import Ledger, append_entry

LOG, ATTESTER, ISSUER = key(0), key(4), key(1)


class Led:
    """A ledger with an attester, an issuer and (by default) one publisher key."""

    def __init__(self, path: Path | str, publisher: bytes | None) -> None:
        self.path, self.t = path, T0
        with Ledger.create(path, "example.com/log", LOG):
            pass
        self.add("key.add", {"key": ATTESTER.public_key.raw, "role": "attester", "name": "a"})
        self.add("key.add", {"key": ISSUER.public_key.raw, "role": "issuer", "name": "i"})
        if publisher is not None:
            self.add("key.add", {"key": publisher, "role": PUBLISHER_ROLE, "name": "acme"})

    def add(self, etype: str, payload: dict[str, Any], author: SigningKey = LOG) -> int:
        """Append one typed entry at the next time (10 s on) and sign a checkpoint."""
        self.t += 10
        with Ledger.open(self.path) as led:
            a = append_entry(led, etype, {"at": self.t, **payload}, author, now=self.t)
            led.checkpoint(LOG)
        return a.index

    def attest(self, data: bytes, **extra: Any) -> int:
        """Append an attest entry carrying the OMS signature file ``data`` (typed checks)."""
        p = oms_attestation_payload(data, at=0)
        del p["at"]
        return self.add("attest", {**p, **extra}, ATTESTER)

    def raw_attest(self, payload: dict[str, Any]) -> int:
        """Append WITHOUT the typed checks, as a dishonest or buggy log could."""
        self.t += 10
        with Ledger.open(self.path) as led:
            p = {"at": self.t, **payload}
            index = led.append("attest", make_entry("attest", p, ATTESTER), now=self.t).index
            led.checkpoint(LOG)
        return index
