"""Generates tests/vectors/lic_tokens.json: our token formats from fixed published test keys.

``python tests/helpers/token_vectors.py`` rewrites the file; tests/lic/test_vectors.py regenerates
and compares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers.*
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the product

import lic
from helpers.licenses import HOLDER, ISSUER, JTI, LIFETIME, NOW, T0, example, issue
from helpers.paths import VECTORS

VECTOR = VECTORS / "lic_tokens.json"
USES = [
    {"action": "run.inference", "purpose": "enterprise.product", "region": "DE", "channel": "api",
     "platform": "search", "data": [], "rate": "1000/PT1H", "mau": 10},
    {"action": "run.inference", "purpose": "surveillance.biometric.realtime", "region": "FR"},
    {"action": "modify.fine-tune", "purpose": "research.academic", "region": "US",
     "data": ["public-web"]},
]  # fmt: skip


def use_from(d: dict, digest: str) -> lic.Use:
    d = dict(d)
    if "data" in d:
        d["data"] = frozenset(d["data"])
    if "rate" in d:
        d["rate"] = lic.Rate.parse(d["rate"])
    return lic.Use(model_digest=digest, **d)


def generate() -> dict:
    cases = []
    for name in ("commercial-geofenced.toml", "academic-research.toml", "open-rail.json"):
        license = example(name)
        for fmt in ("jwt", "cwt"):
            token = issue(fmt, license)
            cases.append(
                {
                    "license_file": f"examples/{name}",
                    "format": fmt,
                    "token": token.decode() if fmt == "jwt" else token.hex(),
                    "digest_hex": lic.token_digest(token).hex(),
                    "decisions": [
                        lic.evaluate(license, use_from(u, license.model.sha256)).effect
                        for u in USES
                    ],
                }
            )
    return {
        "source": "ours; issuer key RFC 8032 TEST 1, holder key RFC 8032 TEST 2",
        "issuer_kid": ISSUER.public_key.thumbprint,
        "holder_kid": HOLDER.public_key.thumbprint,
        "iss": "https://issuer.example",
        "sub": "acme",
        "iat": T0,
        "nbf": T0,
        "exp": T0 + LIFETIME,
        "jti_hex": JTI.hex(),
        "verify_at": NOW,
        "uses": USES,
        "cases": cases,
    }


if __name__ == "__main__":
    VECTOR.write_text(json.dumps(generate(), indent=1) + "\n")
    print(f"wrote {VECTOR}")
