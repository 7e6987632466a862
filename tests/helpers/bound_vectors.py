"""Generates tests/vectors/lic_tokens_bound.json: licenses bound to a model directory
(``model.manifest``, SPEC 15.6), JWT and CWT, from the fixed published test keys.

The directory is SPEC 15.2's worked example. ``python tests/helpers/bound_vectors.py``
rewrites the file; tests/lic/test_bound_vectors.py regenerates and compares, and reads the
tokens with pyjwt, joserfc and python-cwt.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers.*
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the product

import lic
from helpers.licenses import COMMERCIAL, HOLDER, ISSUER, JTI, LIFETIME, NOW, T0, example, issue
from helpers.paths import VECTORS
from lic.oms import directory_binding, manifest_of

VECTOR = VECTORS / "lic_tokens_bound.json"
# SPEC 15.2's example directory "m" (its .git/HEAD is ignored)
FILES = {
    "config.json": "{}",
    "tokenizer.json": '{"v":1}',
    "tokenizer/vocab.txt": "a\n",
    ".git/HEAD": "ref: refs/heads/main\n",
}


def write_model(parent: Path) -> Path:
    """SPEC 15.2's example directory ``m`` under ``parent``."""
    model = parent / "m"
    for name, text in FILES.items():
        path = model / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return model


def bound_license() -> tuple[lic.License, dict]:
    """examples/commercial-geofenced.toml bound to the example directory, and its manifest."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = manifest_of(write_model(Path(tmp)))
    binding = directory_binding(manifest)
    claim = example(COMMERCIAL).to_claim()
    claim["model"] = {"name": "m", "sha256": manifest.root, "manifest": binding.to_claim()}
    return lic.License.from_mapping(claim, known_codes=True), manifest.to_json()


def generate() -> dict:
    license, manifest = bound_license()
    cases = []
    for fmt in ("jwt", "cwt"):
        token = issue(fmt, license)
        cases.append(
            {
                "format": fmt,
                "token": token.decode() if fmt == "jwt" else token.hex(),
                "digest_hex": lic.token_digest(token).hex(),
            }
        )
    return {
        "source": "ours; issuer key RFC 8032 TEST 1, holder key RFC 8032 TEST 2",
        "directory": FILES,
        "resources": manifest["resources"],
        "root": manifest["root"],
        "license_file": f"examples/{COMMERCIAL}",
        "model": license.model.to_claim(),
        "issuer_kid": ISSUER.public_key.thumbprint,
        "holder_kid": HOLDER.public_key.thumbprint,
        "iss": "https://issuer.example",
        "sub": "acme",
        "iat": T0,
        "exp": T0 + LIFETIME,
        "jti_hex": JTI.hex(),
        "verify_at": NOW,
        "cases": cases,
    }


if __name__ == "__main__":
    VECTOR.write_text(json.dumps(generate(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {VECTOR}")
