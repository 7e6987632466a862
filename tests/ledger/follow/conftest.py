"""A licensing ledger served by a real `lic serve` (a subprocess on 127.0.0.1) behind a
loopback proxy that counts, forks, lies and fails on demand (helpers.log_proxy). The served
ledger lives on each backend (``ledger_at``: a file, or a PostgreSQL schema), so every
follower test runs against a server over either."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from helpers import bundle_scenario as bs
from helpers.log_proxy import LogProxy, lic_serve
from keys import SigningKey

LOG_VKEY = bs.LOG.public_key.verifier_key(bs.ORIGIN)


@dataclass
class Served:
    s: bs.Scenario
    proxy: LogProxy

    @property
    def url(self) -> str:
        return self.proxy.url

    def add_keys(self, n: int, start: int = 0) -> None:
        """``n`` key registrations by the log (each a record that replays clean)."""
        for i in range(start, start + n):
            k = SigningKey.from_seed(hashlib.sha256(b"follow test key %d" % i).digest())
            payload = {"key": k.public_key.raw, "role": "attester", "name": f"attester {i}"}
            self.s.append("key.add", payload, bs.LOG)


@pytest.fixture
def served(ledger_at) -> Iterator[Served]:
    """The bundle scenario (issuer, three links), cosigned; served and proxied."""
    s = bs.build(ledger_at("log"), links=3)
    s.checkpoint(bs.T0 + 100)
    with lic_serve(s.path) as url:
        proxy = LogProxy(url)
        try:
            yield Served(s, proxy)
        finally:
            proxy.close()
            s.led.close()
