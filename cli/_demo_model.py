"""The demo's guarded load: a small model directory, a license bound to it, ``lic guard``
permitting the load, and a tampered copy refused with the file named (SPEC 15.7)."""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import lic
from keys import MalformedError, SigningKey, TrustStore
from lic.oms import (
    ModelMismatchError,
    Resource,
    directory_binding,
    guard_model,
    manifest_of,
    open_bound_directory,
)

__all__ = ["guarded_load", "read_safetensors_header", "safetensors_bytes"]

MODEL_DIR = "example-lm-7b"
TAMPERED_DIR = "example-lm-7b-tampered"
USE_OK = "--action run --purpose research.academic --region DE --no-data"


class Story(Protocol):
    """What the demo offers a step: its directory, clock, and ways to write and narrate."""

    dir: Path
    now: int

    def step(self, title: str, said: str, *commands: str) -> None: ...

    def write(self, name: str, data: str | bytes, mode: int = 0o644) -> Path: ...


def safetensors_bytes(tensors: dict[str, tuple[str, list[int], bytes]]) -> bytes:
    """A safetensors file: the 8-byte little-endian header length, the JSON header (each
    tensor's dtype, shape and data offsets), then the data."""
    header: dict[str, object] = {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def read_safetensors_header(data: bytes) -> dict[str, dict[str, object]]:
    """The tensors a safetensors file declares (name -> dtype, shape, data_offsets)."""
    if len(data) < 8:
        raise MalformedError("safetensors: shorter than its header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise MalformedError("safetensors: the header runs past the end")
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    return {str(k): dict(v) for k, v in header.items()}


def _write_model(d: Story) -> Path:
    weights = safetensors_bytes(
        {
            "embed.weight": ("F32", [2, 2], struct.pack("<4f", 0.5, -1.0, 2.0, 0.25)),
            "lm_head.weight": ("F32", [2, 2], struct.pack("<4f", 1.0, 0.0, 0.0, 1.0)),
        }
    )
    files = {
        "config.json": b'{"hidden_size": 2, "vocab_size": 2}\n',
        "model.safetensors": weights,
        "tokenizer.json": b'{"vocab": {"a": 0, "b": 1}}\n',
    }
    (d.dir / MODEL_DIR).mkdir()
    for name, data in files.items():
        d.write(f"{MODEL_DIR}/{name}", data)
    return d.dir / MODEL_DIR


def guarded_load(
    d: Story, issuer: SigningKey, holder: SigningKey, trust: TrustStore,
    license_text: Callable[[str], str], sub: Callable[[SigningKey], str],
) -> None:  # fmt: skip
    """Bind a license to a model directory, load it through ``lic guard``'s library path, and
    refuse a tampered copy. ``license_text(root)`` is the license file for weights ``root``."""
    model = _write_model(d)
    manifest = manifest_of(model)
    d.write(f"{MODEL_DIR}.manifest.json", json.dumps(manifest.to_json(), indent=2) + "\n")
    text = license_text(manifest.root)
    d.write("academic-model.toml", text)
    plain = lic.load_license(text.encode())
    bound = lic.ModelBinding(plain.model.name, manifest.root, directory_binding(manifest))
    license = lic.License.from_mapping({**plain.to_claim(), "model": bound.to_claim()},
                                       known_codes=True)  # fmt: skip
    token = lic.issue(license, issuer, holder.public_key, iss=sub(issuer), sub=sub(holder),
                      now=d.now, lifetime=365 * 86400)  # fmt: skip
    d.write("licensee-model.jwt", token + b"\n")
    d.step(
        "Model directory bound",
        f"The model is a directory ({MODEL_DIR}/: config, safetensors weights, tokenizer). The "
        f"issuer signed a license bound to it (licensee-model.jwt): its OpenSSF Model Signing "
        f"root sha256:{manifest.root[:16]}... and the digest of its {len(manifest.resources)} "
        "file names and digests.",
        f"lic model digest {MODEL_DIR} --json   # saved as {MODEL_DIR}.manifest.json",
        "lic token issue --key issuer --holder licensee.jwk --license academic-model.toml "
        f"--model-dir {MODEL_DIR} --out licensee-model.jwt",
    )
    use = lic.Use(action="run", purpose="research.academic", region="DE", data=frozenset(),
                  time=d.now)  # fmt: skip
    guarded = guard_model(model, [token], trust, use, now=d.now)
    with guarded.model() as files:
        tensors = read_safetensors_header(files.read_bytes("model.safetensors"))
    shapes = ", ".join(f"{n} {t['dtype']} {t['shape']}" for n, t in sorted(tensors.items()))
    d.step(
        "Guarded load",
        "Before loading, the model host ran the guard: the token verified, the use was "
        f"PERMITTED, and every file of {MODEL_DIR}/ hashed to the bound list. The host then "
        f"read model.safetensors from the very files that were hashed: {shapes}.",
        f"lic guard {MODEL_DIR} --token licensee-model.jwt --trust verifier-trust.json {USE_OK}",
    )
    _tampered(d, license, manifest.resources)


def _tampered(d: Story, license: lic.License, resources: tuple[Resource, ...]) -> None:
    shutil.copytree(d.dir / MODEL_DIR, d.dir / TAMPERED_DIR)
    d.write(f"{TAMPERED_DIR}/tokenizer.json", b'{"vocab": {"a": 1, "b": 0}}\n')
    try:
        open_bound_directory(d.dir / TAMPERED_DIR, license, manifest=resources)
    except ModelMismatchError as e:
        refused = e
    else:
        raise MalformedError("demo: the tampered model directory was accepted")
    d.step(
        "Guarded load: tampered",
        f"A copy with one edited file ({TAMPERED_DIR}/) was REFUSED, naming it: {refused}. "
        "Files added, removed or renamed are refused the same way.",
        f"lic guard {TAMPERED_DIR} --token licensee-model.jwt --trust verifier-trust.json "
        f"--manifest {MODEL_DIR}.manifest.json {USE_OK}   # exits 1: tokenizer.json changed",
    )
