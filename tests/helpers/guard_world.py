"""A model directory, licenses bound to it (as tokens and in a bundle) and the trust files,
for the `lic guard` and model-host tests. Fixed keys and times (helpers.licenses and
helpers.bundle_scenario)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lic
from helpers import bundle_scenario as bs
from helpers.licenses import HOLDER, ISSUER, LIFETIME, NOW, T0, trust
from helpers.oms_dirs import TREES, make_tree
from helpers.paths import ROOT
from ledger.bundle import create_bundle
from ledger.store import Ledger
from lic.oms import directory_binding, manifest_of

ACADEMIC = lic.load_license((ROOT / "examples" / "academic-research.toml").read_bytes())
FILES = {**TREES["nested"], "tokenizer.json": b'{"v": 1}', "tokenizer/vocab.txt": b"a\nb\n"}
USE = ["--action", "run", "--purpose", "research.academic", "--region", "DE", "--no-data"]


def bound(license: lic.License, model: Path) -> lic.License:
    """``license`` bound to the directory ``model``."""
    manifest = manifest_of(model)
    binding = lic.ModelBinding(license.model.name, manifest.root, directory_binding(manifest))
    return lic.License.from_mapping({**license.to_claim(), "model": binding.to_claim()},
                                    known_codes=True)  # fmt: skip


@dataclass(frozen=True)
class World:
    """Files of one guard world under ``dir``: the model, its manifest (``lic model digest
    --json``), a bound and an unbound token with the trust store, and a bundle of the bound
    token with its policy, verified at ``bundle_at``."""

    dir: Path
    model: Path
    manifest: Path
    token: Path
    unbound: Path
    trust: Path
    bundle: Path
    policy: Path
    bundle_at: int
    at: int = NOW


def build(directory: Path) -> World:
    import json

    model = make_tree(directory / "llama-tiny", FILES)
    (directory / "manifest.json").write_text(json.dumps(manifest_of(model).to_json()))
    license = bound(ACADEMIC, model)
    token = lic.issue(license, ISSUER, HOLDER.public_key, iss="issuer.example", sub="licensee",
                      now=T0, lifetime=LIFETIME)  # fmt: skip
    (directory / "bound.jwt").write_bytes(token)
    plain = lic.issue(ACADEMIC, ISSUER, HOLDER.public_key, iss="issuer.example", sub="licensee",
                      now=T0, lifetime=LIFETIME)  # fmt: skip
    (directory / "unbound.jwt").write_bytes(plain)
    trust().save(directory / "trust.json")
    bundle_at = _bundle(directory, license)
    return World(directory, model, directory / "manifest.json", directory / "bound.jwt",
                 directory / "unbound.jwt", directory / "trust.json", directory / "bound.bundle",
                 directory / "policy.json", bundle_at)  # fmt: skip


def _bundle(directory: Path, license: lic.License) -> int:
    """Grant a bound license (bundle_scenario's keys) on a ledger, cosign, bundle it."""
    led = Ledger.create(directory / "ledger.db", bs.ORIGIN, bs.LOG)
    s = bs.Scenario(directory / "ledger.db", led)
    s.append("key.add", {"key": bs.ISSUER.public_key.raw, "role": "issuer", "name": "issuer"},
             bs.LOG)  # fmt: skip
    root = lic.issue(license, bs.ISSUER, bs.HOLDER.public_key, iss="issuer.example",
                     sub="licensee", now=bs.T0, lifetime=bs.LIFETIME)  # fmt: skip
    s.grant(root, bs.ISSUER, b"licensee")
    cosigned = s.t + 5
    s.checkpoint(cosigned)
    (directory / "bound.bundle").write_bytes(create_bundle(led, [root]))
    led.close()
    bs.policy().save(directory / "policy.json")
    return cosigned + 60
