"""Fixed test keys, times and a license shared by the lic tests (RFC 8032 TEST 1-3 seeds)."""

from __future__ import annotations

import lic
from helpers.paths import ROOT
from keys import PublicKey, SigningKey, TrustEntry, TrustStore

ISSUER = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
HOLDER = SigningKey.from_seed(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
)
OTHER = SigningKey.from_seed(
    bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
)
T0 = 1_700_000_000  # iat and nbf of the fixed tokens
NOW = T0 + 100  # verification time of the fixed tokens
LIFETIME = 30 * 86400
JTI = bytes(range(16))


def trust(issuer: SigningKey = ISSUER, backend: str | None = None) -> TrustStore:
    """The issuer trusted as issuer; OTHER present but only with the log role."""

    def key(k: SigningKey) -> PublicKey:
        return k.public_key if backend is None else k.public_key.with_backend(backend)

    return TrustStore(
        [TrustEntry(key(issuer), "issuer", "issuer"), TrustEntry(key(OTHER), "log", "log")]
    )


def example(name: str) -> lic.License:
    return lic.load_license((ROOT / "examples" / name).read_bytes())


COMMERCIAL = "commercial-geofenced.toml"
ACADEMIC = "academic-research.toml"
OPEN_RAIL = "open-rail.json"


def issue(fmt: str = "jwt", license: lic.License | None = None, **kw) -> bytes:
    args = dict(iss="https://issuer.example", sub="acme", now=T0, lifetime=LIFETIME, jti=JTI)
    args.update(kw)
    return lic.issue(license or example(COMMERCIAL), ISSUER, HOLDER.public_key, fmt=fmt, **args)
